"""``codeact report RUN.json -o OUT.html``: a saved run or chat as one self-contained web page.

The page is static HTML with its CSS and a few lines of JS inline and a Content-Security-Policy
that forbids loading anything, so it opens offline, can be mailed or attached to a bug, and a
run's contents (which may hold anything a model wrote) are only ever text on it, never markup.

What it reads is what ``RunResult.save`` writes (``task``, ``state``, ``output``, ``error``,
``duration_s``, ``token_usage``, ``cost_usd`` and ``steps``), or a chat (``ChatResult.to_dict``:
``messages``, ``summary``, ``stop_reason``, totals, and ``turns`` with each speaker's run as
``result`` and the chats nested in the turn as ``nested``).
A step's ``tool_uses`` (the host tools its action called: ``name``, ``arguments``, ``result``,
``error``, ``duration_s``) are listed with it; a tool use that ran another agent
(``agent.as_tool()``) carries that agent's run as ``run``, shown nested and collapsible, and so
on down.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import os
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any

_FENCE = re.compile(r"```[^\n]*\n.*?(?:```|\Z)|<code>.*?(?:</code>|\Z)", re.DOTALL)
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)


def render(data: dict[str, Any], title: str | None = None) -> str:
    """The HTML page of a saved run (a dict with ``steps``) or chat (with ``messages``)."""
    if isinstance(data.get("steps"), list):
        heading = title or "codeact run"
        body = _run(data, top=True)
    elif isinstance(data.get("messages"), list):
        heading = title or "codeact chat"
        body = _chat(data)
    else:
        raise ValueError(
            "this is neither a saved run (no 'steps') nor a saved chat (no 'messages')"
        )
    return _page(heading, body)


def write_report(source: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """Read a saved run or chat (JSON) and write its report; returns the written path."""
    with open(source, encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict):
        raise ValueError("this is neither a saved run nor a saved chat (not a JSON object)")
    path = Path(out)
    path.write_text(render(data, title=f"codeact · {Path(source).name}"), encoding="utf-8")
    return path


# --- the page -------------------------------------------------------------------------------


def _page(title: str, body: str) -> str:
    from pygments.formatters import HtmlFormatter

    assets = resources.files("codeact") / "templates"
    css = (assets / "report.css").read_text(encoding="utf-8")
    js = (assets / "report.js").read_text(encoding="utf-8")
    code_css = HtmlFormatter(style="friendly").get_style_defs(".hl")
    legend = (
        '<span class="legend">bars: <i style="background:var(--time)"></i>time'
        '<i style="background:var(--tin)"></i>input tokens'
        '<i style="background:var(--tout)"></i>output tokens</span>'
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>\n{css}\n{code_css}\n</style>\n</head>\n<body>\n"
        f"<main>\n<h1>{_e(title)}</h1>\n"
        '<div class="toolbar"><button type="button" data-action="expand">Expand all</button>'
        f'<button type="button" data-action="collapse">Collapse all</button>{legend}</div>\n'
        f"{body}\n<footer>Made by codeact report.</footer>\n</main>\n"
        f"<script>\n{js}\n</script>\n</body>\n</html>\n"
    )


def _run(run: dict[str, Any], top: bool = False) -> str:
    steps = [s for s in run.get("steps") or [] if isinstance(s, dict)]
    usage = _usage(run.get("token_usage"))
    state = str(run.get("state") or "unknown")
    totals = [
        f'<li><span class="state state-{_e(state)}">{_e(state)}</span></li>',
        f"<li>steps <b>{len(steps)}</b></li>",
        f"<li>time <b>{_seconds(run.get('duration_s'))}</b></li>",
        f"<li>tokens <b>{usage[0]:,}</b> in / <b>{usage[1]:,}</b> out</li>",
    ]
    if isinstance(run.get("cost_usd"), (int, float)):
        totals.append(f"<li>cost <b>${run['cost_usd']:.4f}</b></li>")
    meta = run.get("meta") if isinstance(run.get("meta"), dict) else {}
    about = [
        f"{label} <b>{_e(meta[key])}</b>"
        for key, label in (
            ("agent_name", "agent"),
            ("agent_kind", "kind"),
            ("model_id", "model"),
            ("sandbox", "sandbox"),
        )
        if meta.get(key)
    ]
    parts = [f'<div class="about">{" · ".join(about)}</div>'] if about else []
    parts += [
        '<div class="label">task</div>',
        f'<div class="task">{_e(run.get("task") or "")}</div>',
        f'<ul class="totals">{"".join(totals)}</ul>',
    ]
    if run.get("output") is not None:
        answer = _value(run["output"])
        parts.append(f'<div class="label">final answer</div><div class="answer">{answer}</div>')
    if run.get("error"):
        parts.append(f'<div class="label">error</div><div class="failure">{_e(run["error"])}</div>')
    if steps:
        scale = _Scale(steps)
        parts.append("<h2>Steps</h2>" if top else '<div class="label">steps</div>')
        parts += [_step(step, scale) for step in steps]
    return f'<section class="run">{"".join(parts)}</section>'


class _Scale:
    """The longest and the costliest step of a run, which the bars are measured against."""

    def __init__(self, steps: list[dict[str, Any]]) -> None:
        self.time = max((_number(s.get("duration_s")) for s in steps), default=0.0) or 1.0
        self.tokens = max((sum(_usage(s.get("token_usage"))) for s in steps), default=0) or 1


def _step(step: dict[str, Any], scale: _Scale) -> str:
    index = step.get("index", "?")
    seconds = _number(step.get("duration_s"))
    tokens_in, tokens_out = _usage(step.get("token_usage"))
    error = step.get("error")
    badges = ""
    if error:
        badges += '<span class="badge-error">error</span>'
    if step.get("is_final"):
        badges += '<span class="badge-final">final answer</span>'
    uses = [u for u in step.get("tool_uses") or [] if isinstance(u, dict)]
    runs = sum(isinstance(u.get("run"), dict) for u in uses)
    if runs:
        badges += f'<span class="summary-meta">{runs} sub-agent run{"s" * (runs != 1)}</span>'
    bars = (
        '<span class="bars">'
        f"<span>{_seconds(seconds)}</span>"
        f'<span class="bar" title="{seconds:.3f} s">'
        f'<span class="time" style="width:{_percent(seconds, scale.time)}"></span></span>'
        f"<span>{tokens_in + tokens_out:,} tok</span>"
        f'<span class="bar" title="{tokens_in} input, {tokens_out} output tokens">'
        f'<span class="tin" style="width:{_percent(tokens_in, scale.tokens)}"></span>'
        f'<span class="tout" style="width:{_percent(tokens_out, scale.tokens)}"></span></span>'
        "</span>"
    )
    summary = (
        f'<summary><span class="summary-title">Step {_e(index)}</span>{badges}'
        f'<span class="summary-meta">{tokens_in:,} in / {tokens_out:,} out</span>{bars}</summary>'
    )
    body = []
    thought = _thought(step)
    if thought:
        body.append(f'<div class="label">thought</div><div class="thought">{_e(thought)}</div>')
    action = step.get("action")
    if action:
        is_calls = bool(step.get("tool_calls"))
        label = "tool calls" if is_calls else "code"
        body.append(f'<div class="label">{label}</div>{_highlight(action, is_calls)}')
    if step.get("observation"):
        body.append(f'<div class="label">observation</div><pre>{_e(step["observation"])}</pre>')
    if error:
        body.append(f'<div class="label">error</div><pre class="error">{_e(error)}</pre>')
    if uses:
        body.append('<div class="label">tools used</div>' + "".join(_tool_use(u) for u in uses))
    classes = "step has-error" if error else "step"
    return (
        f'<details class="{classes}" data-step="{_e(index)}" open>{summary}'
        f'<div class="body">{"".join(body)}</div></details>'
    )


def _tool_use(use: dict[str, Any]) -> str:
    """One host tool call of a step: the call, how long it took, what came back."""
    arguments = use.get("arguments") if isinstance(use.get("arguments"), dict) else {}
    call = f"{use.get('name') or '?'}({', '.join(f'{k}={v!r}' for k, v in arguments.items())})"
    if use.get("error"):
        outcome = f'<pre class="error">{_e(use["error"])}</pre>'
    else:
        outcome = f"<pre>{_value(use.get('result'))}</pre>"
    run = use.get("run")
    nested = (
        f'<div class="sub-runs">{_sub_run(run, use.get("name"))}</div>'
        if isinstance(run, dict)
        else ""
    )
    return (
        f'<div class="tool-use"><div class="tool-call"><code>{_e(call)}</code>'
        f'<span class="summary-meta"> · {_seconds(use.get("duration_s"))}</span></div>'
        f"{outcome}{nested}</div>"
    )


def _sub_run(run: dict[str, Any], name: Any = None) -> str:
    meta = run.get("meta") if isinstance(run.get("meta"), dict) else {}
    name = meta.get("agent_name") or name or "sub-agent"
    steps = run.get("steps") or []
    task = " ".join(str(run.get("task") or "").split())
    task = task if len(task) <= 80 else task[:77] + "..."
    return (
        '<details class="sub-run">'
        f'<summary><span class="summary-title">{_e(name)}</span>'
        f'<span class="summary-meta">{_e(run.get("state") or "")} · {len(steps)} '
        f"step{'s' * (len(steps) != 1)} · "
        f"{_seconds(run.get('duration_s'))}</span><span>{_e(task)}</span></summary>"
        f'<div class="body">{_run(run)}</div></details>'
    )


def _chat(chat: dict[str, Any], top: bool = True) -> str:
    """A conversation: its totals and summary, the opening message, then each turn with the
    speaker's run (and the chats nested in the turn) collapsed inside it."""
    messages = [m for m in chat.get("messages") or [] if isinstance(m, dict)]
    turns = [t for t in chat.get("turns") or [] if isinstance(t, dict)]
    usage = _usage(chat.get("token_usage"))
    totals = [
        f"<li>turns <b>{len(turns) or max(len(messages) - 1, 0)}</b></li>",
        f"<li>time <b>{_seconds(chat.get('duration_s'))}</b></li>",
        f"<li>tokens <b>{usage[0]:,}</b> in / <b>{usage[1]:,}</b> out</li>",
    ]
    if isinstance(chat.get("cost_usd"), (int, float)):
        totals.append(f"<li>cost <b>${chat['cost_usd']:.4f}</b></li>")
    if chat.get("stop_reason"):
        totals.append(f"<li>stopped: <b>{_e(chat['stop_reason'])}</b></li>")
    parts = [f'<ul class="totals">{"".join(totals)}</ul>']
    if chat.get("summary"):
        summary = _e(chat["summary"])
        parts.append(f'<div class="label">summary</div><div class="answer">{summary}</div>')
    parts.append("<h2>Conversation</h2>" if top else '<div class="label">conversation</div>')
    if turns:
        if messages:
            parts.append(_turn(0, messages[0].get("name"), messages[0].get("content"), ""))
        for turn in turns:
            inner = []
            if turn.get("handoff_to"):
                inner.append(
                    f'<div class="about">handed off to <b>{_e(turn["handoff_to"])}</b></div>'
                )
            for nested in turn.get("nested") or []:
                if isinstance(nested, dict):
                    inner.append(
                        '<details class="sub-run"><summary><span class="summary-title">'
                        f'nested chat</span></summary><div class="body">{_chat(nested, False)}'
                        "</div></details>"
                    )
            if isinstance(turn.get("result"), dict):
                inner.append(_sub_run(turn["result"], turn.get("speaker")))
            body = f'<div class="sub-runs">{"".join(inner)}</div>' if inner else ""
            parts.append(
                _turn(turn.get("index", "?"), turn.get("speaker"), turn.get("content"), body)
            )
    else:
        for number, message in enumerate(messages):
            parts.append(_turn(number, message.get("name"), message.get("content"), ""))
    return f'<section class="chat">{"".join(parts)}</section>'


def _turn(index: Any, speaker: Any, content: Any, body: str) -> str:
    return (
        f'<details class="turn" data-step="{_e(index)}" open><summary>'
        f'<span class="turn-name">{_e(speaker or "?")}</span></summary>'
        f'<div class="body"><div class="thought">{_e(content or "")}</div>{body}</div></details>'
    )


# --- pieces ---------------------------------------------------------------------------------


def _highlight(source: str, is_json: bool) -> str:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import JsonLexer, PythonLexer

    if is_json:
        with contextlib.suppress(ValueError):  # not JSON after all: shown as it is
            source = json.dumps(json.loads(source), indent=2, ensure_ascii=False)
    lexer = JsonLexer() if is_json else PythonLexer()
    return highlight(source, lexer, HtmlFormatter(cssclass="hl"))


def _thought(step: dict[str, Any]) -> str:
    text = step.get("model_output") or ""
    if not isinstance(text, str):
        return ""
    if step.get("action") and not step.get("tool_calls"):  # the code is shown on its own
        text = _FENCE.sub("", text)
    return text.strip()


def _value(value: Any) -> str:
    if isinstance(value, str):
        return _e(value)
    return _e(json.dumps(value, indent=2, ensure_ascii=False, default=repr))


def _usage(usage: Any) -> tuple[int, int]:
    if not isinstance(usage, dict):
        return 0, 0
    return int(_number(usage.get("input_tokens"))), int(_number(usage.get("output_tokens")))


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _seconds(value: Any) -> str:
    seconds = _number(value)
    if seconds < 0.01:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _percent(part: float, whole: float) -> str:
    return f"{max(0.0, min(100.0, 100.0 * part / whole)):.1f}%"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


# --- the command ----------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def main(argv: list[str]) -> int:
    """``codeact report RUN.json [-o OUT.html]``; returns the exit status."""
    parser = _Parser(prog="codeact report", description="a saved run or chat as an HTML page")
    parser.add_argument(
        "run", metavar="RUN.json", help="a run saved with RunResult.save, or a chat"
    )
    parser.add_argument("-o", "--output", metavar="OUT.html", help="default: RUN.html beside it")
    args = parser.parse_args(argv)
    out = args.output or str(Path(args.run).with_suffix(".html"))
    try:
        path = write_report(args.run, out)
    except FileNotFoundError as exc:
        parser.error(f"no such file: {exc.filename}")
    except json.JSONDecodeError as exc:
        parser.error(f"{args.run} is not JSON ({exc})")
    except (ValueError, OSError) as exc:
        parser.error(f"{args.run}: {exc}")
    print(path)
    return 0
