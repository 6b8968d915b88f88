"""``codeact report``: saved runs and chats as one self-contained page, checked in Chromium."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from browser import load, screenshot

from codeact import CodeAgent, ScriptedModel, ToolCallingAgent, chat, tool
from codeact.report import render, write_report

ROOT = Path(__file__).resolve().parent.parent


@tool
def population(city: str) -> int:
    """Inhabitants of a city.

    Args:
        city: The city.
    """
    return {"Paris": 2_100_000, "Rome": 2_750_000}[city]


def code(thought: str, body: str) -> str:
    return f"{thought}\n```python\n{body}\n```"


def saved_run_with_a_sub_agent() -> dict:
    """A real run whose step 2 delegated to a helper agent (``as_tool``); the loop records the
    helper's run in that step's ``tool_uses``."""
    helper_model = ScriptedModel(
        [
            code("Look both up.", "p, r = population('Paris'), population('Rome')\nprint(p, r)"),
            code("Rome is larger.", "final_answer('Rome')"),
        ]
    )
    model = ScriptedModel(
        [
            code("Start with a mistake.", "1 / 0"),
            code("Ask the researcher.", "bigger = researcher('Which is bigger, Paris or Rome?')"),
            code("Done.", "final_answer(f'{bigger} has more people')"),
        ]
    )
    helper = CodeAgent(helper_model, tools=[population], sandbox="inline", name="researcher")
    with helper, CodeAgent(model, tools=[helper.as_tool()], sandbox="inline", name="boss") as agent:
        data = agent.run("Is Paris or Rome bigger?").to_dict()
    assert data["steps"][1]["tool_uses"][0]["run"]["steps"], "the sub-agent's run is nested"
    return data


def tool_calling_run() -> dict:
    model = ScriptedModel(
        [
            {
                "content": "Looking up.",
                "tool_calls": [{"name": "population", "arguments": {"city": "Rome"}}],
            },
            {"content": None, "tool_calls": [{"name": "final_answer", "arguments": {"answer": 2}}]},
        ]
    )
    return ToolCallingAgent(model, tools=[population]).run("How many people in Rome?").to_dict()


class Elements(HTMLParser):
    """The elements of a page as (tag, attributes, text inside) — enough to check structure."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))

    def all(self, tag: str, cls: str | None = None) -> list[dict[str, str | None]]:
        return [
            a
            for t, a in self.found
            if t == tag and (cls is None or cls in (a.get("class") or "").split())
        ]


def report_file(tmp_path: Path, data: dict, name: str = "run") -> Path:
    source = tmp_path / f"{name}.json"
    source.write_text(json.dumps(data))
    return write_report(source, tmp_path / f"{name}.html")


def test_a_run_report_shows_every_step_in_a_real_browser_without_console_errors(tmp_path):
    data = saved_run_with_a_sub_agent()
    page = load(report_file(tmp_path, data))
    assert page.console == []
    assert '<html lang="en" class="js">' in page.dom  # its script ran (the CSP allowed it)
    elements = Elements(page.dom)
    steps = elements.all("details", "step")
    assert [s["data-step"] for s in steps] == ["1", "2", "1", "2", "3"]  # researcher in 2
    assert len(data["steps"]) == 3
    for text in ("Is Paris or Rome bigger?", "Rome has more people", "ZeroDivisionError"):
        assert text in page.dom
    shot = screenshot(tmp_path / "run.html", tmp_path / "run.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_sub_runs_are_nested_inside_their_step_and_collapsed(tmp_path):
    page = render(saved_run_with_a_sub_agent())
    step_two = page.split('data-step="2"', 1)[1].split('data-step="3"', 1)[0]
    assert '<details class="sub-run">' in step_two  # collapsed: no "open"
    assert "researcher(task=" in step_two and "1 sub-agent run" in step_two
    assert "Look both up." in step_two and "2 steps" in step_two
    assert "population(city=&#x27;Paris&#x27;)" in step_two and "2100000" in step_two
    assert page.count('<details class="sub-run"') == 1


def test_step_details_thought_code_output_error_timing_and_tokens():
    data = saved_run_with_a_sub_agent()
    page = render(data)
    first = page.split('data-step="1"', 1)[1].split('data-step="2"', 1)[0]
    assert "Start with a mistake." in first
    assert "```" not in first  # the thought without its code block
    assert '<div class="hl">' in first and '<span class="mi">1</span>' in first  # highlighted
    assert 'class="step has-error"' in page.split('data-step="1"', 1)[0][-60:]
    tokens = data["steps"][0]["token_usage"]
    assert f"{tokens['input_tokens']:,} in / {tokens['output_tokens']:,} out" in first
    assert 'class="time" style="width:' in first and 'class="tin"' in first
    usage = data["token_usage"]
    assert f"<b>{usage['input_tokens']:,}</b> in / <b>{usage['output_tokens']:,}</b> out" in page
    assert "state-success" in page and "Rome has more people" in page


def test_tool_calls_are_shown_as_highlighted_json(tmp_path):
    page = load(report_file(tmp_path, tool_calling_run()))
    assert page.console == []
    assert "tool calls" in page.dom and '<span class="nt">"name"</span>' in page.dom
    assert '<span class="s2">"population"</span>' in page.dom
    assert "Looking up." in page.dom
    assert len(Elements(page.dom).all("details", "step")) == 2


def test_what_a_model_wrote_is_text_never_markup(tmp_path):
    evil = '<script>console.error("pwned")</script><img src=x onerror="console.error(1)">'
    model = ScriptedModel([code(evil, f"print({evil!r})\nfinal_answer({evil!r})")])
    data = CodeAgent(model, sandbox="inline").run(evil).to_dict()
    page = load(report_file(tmp_path, data))
    assert page.console == []
    elements = Elements(page.dom)
    assert elements.all("img") == []
    assert len(elements.all("script")) == 1  # the report's own
    assert "&lt;script&gt;" in page.dom


def test_the_page_loads_nothing_from_the_network():
    page = render(saved_run_with_a_sub_agent())
    assert "default-src 'none'" in page  # the CSP forbids every fetch the page might try
    elements = Elements(page)
    for attributes in elements.all("link") + elements.all("script") + elements.all("img"):
        assert "src" not in attributes and "href" not in attributes


def test_a_chat_report_shows_every_turn_with_its_run(tmp_path):
    writer = CodeAgent(
        ScriptedModel([code("Draft.", "final_answer('Rain on tin roofs')")]),
        sandbox="inline",
        name="writer",
    )
    critic = CodeAgent(
        ScriptedModel([code("Fine.", "final_answer('APPROVED')")]), sandbox="inline", name="critic"
    )
    with writer, critic:
        data = chat(writer, critic, "Write a haiku opening.", max_turns=2).to_dict()
    page = load(report_file(tmp_path, data, "chat"))
    assert page.console == []
    elements = Elements(page.dom)
    assert len(elements.all("details", "turn")) == len(data["messages"]) == 3
    assert len(elements.all("details", "step")) == 2  # each turn's run, one step each
    assert "APPROVED" in page.dom and "max turns (2)" in page.dom and "Fine." in page.dom


def test_the_browser_check_catches_console_errors(tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><p>x</p><script>console.error('seen'); nosuch();</script>")
    console = load(broken).console
    assert any("seen" in m for m in console)
    assert any("nosuch is not defined" in m for m in console)


def codeact(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codeact.cli", "report", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_writes_the_page(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps(tool_calling_run()))
    done = codeact("run.json", "-o", "out.html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "out.html"
    assert "How many people in Rome?" in (tmp_path / "out.html").read_text()
    default = codeact("run.json", cwd=tmp_path)
    assert default.returncode == 0 and (tmp_path / "run.html").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file: missing.json"),
        ("{not json", "is not JSON"),
        ('{"a": 1}', "neither a saved run"),
        ("[1, 2]", "neither a saved run"),
    ],
)
def test_command_mistakes_exit_2_with_one_line(tmp_path, content, message):
    name = "missing.json"
    if content is not None:
        name = "bad.json"
        (tmp_path / name).write_text(content)
    done = codeact(name, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
