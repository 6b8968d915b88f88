"""The live console view of a run (rich): what the agent is doing, while it does it.

A banner with the task, model, agent kind and sandbox before the first model call; each step's
header before the model is called, with a spinner and the elapsed time while it thinks; then the
thought, the code, its output or error, the step's time, tokens and cost; a line when a request
is retried; a closing summary. Runs started inside another run (a sub-agent called as a tool, a
chat's turns) are shown nested under it, with the agent's name.

Agents show it when ``verbose`` says so (``True``; or ``None`` with stdout on a terminal or in a
notebook, unless ``CODEACT_VERBOSE=0``). Everything the model or the code wrote is printed as
text, never read as rich markup.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from codeact import prompts
from codeact.memory import RunResult, Step, ToolUse

if TYPE_CHECKING:
    from rich.console import Console

#: The view of the run this context is inside, and how deep: sub-runs print into it, indented.
_ACTIVE: contextvars.ContextVar[tuple[LiveView, int] | None] = contextvars.ContextVar(
    "codeact_live_view", default=None
)
_MAX_OBSERVATION_LINES = 40
_STREAMED_LINES = 12  # of a reply still being written, the last lines are shown
_LOGGERS = ("codeact", "sandboxes")  # whose warnings (retries, restarts) the view shows


def wants_view(verbose: bool | None) -> bool:
    """Whether a run with this ``verbose`` setting shows the live view."""
    if verbose is not None:
        return verbose
    setting = os.environ.get("CODEACT_VERBOSE", "").strip().lower()
    if setting in ("1", "true", "yes", "on"):
        return True
    if setting in ("0", "false", "no", "off"):
        return False
    return _in_notebook() or _is_terminal(sys.stdout)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    get_ipython = getattr(shell, "get_ipython", None)
    kernel = get_ipython() if get_ipython else None
    return type(kernel).__name__ == "ZMQInteractiveShell"


def view_for(verbose: bool | None) -> tuple[LiveView, int] | None:
    """The view a new run prints into and its depth, or ``None`` for a quiet run.

    Inside another shown run it is that run's view, one level deeper (unless ``verbose`` is
    ``False``); otherwise a new view when ``wants_view(verbose)``.
    """
    active = _ACTIVE.get()
    if verbose is False:
        return None
    if active is not None:
        return active[0], active[1] + 1
    return (LiveView(), 0) if wants_view(verbose) else None


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Hold the live view's spinner (if a run in this context shows one) while the terminal
    is used for something else, such as asking a human to approve an action."""
    active = _ACTIVE.get()
    if active is None:
        yield
        return
    view = active[0]
    with view._lock:
        view._stop_spinner()
        try:
            yield
        finally:
            view._show_spinner()


class LiveView:
    """Prints runs to a rich console as they happen; one view serves a run and its sub-runs."""

    def __init__(self, console: Console | None = None) -> None:
        if console is None:
            from rich.console import Console

            console = Console()
        self.console = console
        self._lock = threading.RLock()
        self._live: Any = None  # the spinner of the innermost waiting step, if any
        self._waiting: list[_Wait] = []  # innermost last
        self._log_handler: _RetryLines | None = None

    @property
    def live(self) -> bool:
        """Whether this view redraws as things happen (a terminal): it then shows the model's
        tokens as they arrive, and runs stream them for it."""
        return self.console.is_terminal and not self.console.is_jupyter

    # --- what the loop calls --------------------------------------------------------------

    @contextlib.contextmanager
    def active(self, depth: int) -> Iterator[None]:
        """Mark this context as inside the run at ``depth`` (sub-runs nest under it)."""
        token = _ACTIVE.set((self, depth))
        try:
            yield
        finally:
            _ACTIVE.reset(token)

    def run_started(self, depth: int, task: str, about: dict[str, Any]) -> None:
        from rich.panel import Panel
        from rich.text import Text

        if depth == 0:
            self._attach_log()
        details = " · ".join(
            str(about[key])
            for key in ("agent_name", "agent_kind", "model_id", "sandbox")
            if about.get(key)
        )
        turn, limit = _turn(), 2000
        if turn is not None:  # a chat's turn: say whose and which; its task is the whole chat
            details, limit = f"{turn.chat} · turn {turn.turn} · {details}", 600
        body = Text(task if len(task) <= limit else "… " + task[-limit:])
        title = Text(details, style="bold")
        self._print(Panel(body, title=title, title_align="left", border_style="blue"), depth)

    def step_started(self, depth: int, index: int, name: str, kind: str = "step") -> None:
        from rich.rule import Rule
        from rich.text import Text

        label = Text(f"{kind} {index} · {name}", style="bold")
        self._print(Rule(label, align="left", style="blue"), depth)
        self.wait("thinking", depth)

    def wait(self, what: str, depth: int) -> None:
        """Show a spinner with the elapsed time until the next line is printed."""
        with self._lock:
            self._waiting.append(_Wait(what, time.monotonic(), depth))
            self._show_spinner()

    def delta(self, depth: int, delta: Any) -> None:
        """A piece of the model's reply (a ``TokenDelta``): shown under the spinner as it
        arrives, until the step is printed whole."""
        with self._lock:
            waiting = next((w for w in reversed(self._waiting) if w.depth == depth), None)
            if waiting is None:
                return
            if delta.kind == "restart":
                waiting.text = ""
            elif delta.kind != "reasoning":
                waiting.text += delta.text

    def acting(self, depth: int, what: str) -> None:
        """The model has answered and its action runs: the spinner says so (the streamed
        reply stays shown above it) and counts from now."""
        with self._lock:
            waiting = next((w for w in reversed(self._waiting) if w.depth == depth), None)
            if waiting is not None:
                waiting.what, waiting.since = what, time.monotonic()

    def run_abandoned(self, depth: int) -> None:
        """The run at ``depth`` ended by an exception (Ctrl-C, a bug): its spinners go, so
        nothing is redrawn after the message that says why."""
        with self._lock:
            self._waiting = [w for w in self._waiting if w.depth < depth]
            self._show_spinner()
        if depth == 0:
            self._detach_log()

    def done_waiting(self) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.pop()
            self._show_spinner()

    def step_finished(self, depth: int, step: Step) -> None:
        from rich.panel import Panel
        from rich.syntax import Syntax
        from rich.text import Text

        self.done_waiting()
        if step.kind == "plan":
            plan = Panel(Text(step.model_output or ""), title="plan", title_align="left")
            for part in (plan, Text(_figures(step), style="dim")):
                self._print(part, depth)
            return
        parts: list[Any] = []
        thought = _thought(step)
        if thought:
            parts.append(Text(thought, style="italic dim"))
        if step.action:
            lexer = "json" if step.tool_calls else "python"
            parts.append(Syntax(step.action, lexer, theme="ansi_dark", word_wrap=True))
        for use in step.tool_uses:
            parts.append(Text(_tool_line(use), style="red dim" if use.error else "dim"))
        observation = _clip_lines(step.observation, _MAX_OBSERVATION_LINES)
        style = "red" if step.error else "yellow" if step.refusals else "green"
        title = "error" if step.error else "refused" if step.refusals else "observation"
        parts.append(Panel(Text(observation), title=title, title_align="left", border_style=style))
        parts.append(Text(_figures(step), style="dim"))
        for part in parts:
            self._print(part, depth)

    def run_finished(self, depth: int, result: RunResult, saved: str | None = None) -> None:
        from rich.text import Text

        with self._lock:
            self._waiting = [w for w in self._waiting if w.depth < depth]
            self._show_spinner()
        style = {"success": "bold green", "max_steps": "bold yellow"}.get(result.state, "bold red")
        summary = Text(str(result), style=style if depth == 0 else "")
        if saved:
            summary.append(f"\nsaved: {saved}", style="dim")
        self._print(summary, depth)
        if depth == 0:
            self._detach_log()

    def replay(self, result: RunResult) -> None:
        """Show a saved run as it happened (nothing runs; sub-agent runs shown nested)."""
        self._replay(result, 0)

    def _replay(self, result: RunResult, depth: int) -> None:
        meta = result.meta
        self.run_started(depth, result.task, meta)
        for step in result.steps:
            name = str(meta.get("agent_name") or "agent")
            self.step_started(
                depth, step.index, name, kind="plan" if step.kind == "plan" else "step"
            )
            for use in step.tool_uses:
                if use.run is not None:
                    self._replay(use.run, depth + 1)
            self.step_finished(depth, step)
        self.run_finished(depth, result)

    def note(self, text: str, depth: int = 0, style: str = "yellow") -> None:
        """One line of news (a retry, a fallback, a restarted sandbox), never wrapped, so that
        a path or a command in it can be copied."""
        from rich.text import Text

        self._print(Text(" " * 4 * depth + text, style=style), 0, soft_wrap=True)

    # --- internals ------------------------------------------------------------------------

    def _print(self, renderable: Any, depth: int, soft_wrap: bool = False) -> None:
        from rich.padding import Padding

        with self._lock:
            self._stop_spinner()
            shown = Padding(renderable, (0, 0, 0, 4 * depth)) if depth else renderable
            self.console.print(shown, soft_wrap=soft_wrap)
            self._show_spinner()

    def _show_spinner(self) -> None:
        self._stop_spinner()
        if not self._waiting or not self.console.is_terminal or self.console.is_jupyter:
            return
        from rich.live import Live

        self._live = Live(
            _Elapsed(self._waiting[-1]), console=self.console, transient=True, refresh_per_second=8
        )
        self._live.start()

    def _stop_spinner(self) -> None:
        if self._live is not None:
            live, self._live = self._live, None
            live.stop()

    def _attach_log(self) -> None:
        self._log_handler = _RetryLines(self)
        for name in _LOGGERS:
            logging.getLogger(name).addHandler(self._log_handler)

    def _detach_log(self) -> None:
        if self._log_handler is not None:
            for name in _LOGGERS:
                logging.getLogger(name).removeHandler(self._log_handler)
            self._log_handler = None


class _Wait:
    """What a run waits for, since when, how deep, and the reply so far (while it streams)."""

    def __init__(self, what: str, since: float, depth: int) -> None:
        self.what, self.since, self.depth = what, since, depth
        self.text = ""


class _Elapsed:
    """A spinner saying what the run waits for and for how long, with the tail of the reply
    streaming in (re-rendered by ``Live``)."""

    def __init__(self, waiting: _Wait) -> None:
        from rich.spinner import Spinner

        self.waiting = waiting
        self.spinner = Spinner("dots", style="cyan")

    def __rich__(self) -> Any:
        from rich.console import Group
        from rich.padding import Padding
        from rich.text import Text

        w = self.waiting
        self.spinner.update(text=Text(f"{w.what} {time.monotonic() - w.since:.1f} s"))
        shown: Any = self.spinner
        if w.text:
            tail = "\n".join(w.text.splitlines()[-_STREAMED_LINES:])
            shown = Group(Text(tail, style="dim"), self.spinner)
        return Padding(shown, (0, 0, 0, 4 * w.depth))


class _RetryLines(logging.Handler):
    """Shows warnings of codeact and its sandboxes (retries, fallbacks, restarts) in the view."""

    def __init__(self, view: LiveView) -> None:
        super().__init__(logging.WARNING)
        self.view = view

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            active = _ACTIVE.get()
            self.view.note(record.getMessage(), active[1] if active else 0)


def _turn() -> Any:
    """The chat turn this run is, if any (no chat can run before ``codeact.teams`` is loaded)."""
    teams = sys.modules.get("codeact.teams.result")
    return teams.current_turn() if teams is not None else None


def _thought(step: Step) -> str:
    text = prompts.strip_thinking(step.model_output or "")
    if step.action and not step.tool_calls:  # a code reply: the prose before the code
        text = text.split("```")[0].split("<code>")[0]
    return text.strip()


def _tool_line(use: ToolUse) -> str:
    arguments = ", ".join(f"{k}={_short(v, 60)}" for k, v in use.arguments.items())
    outcome = f"error: {use.error}" if use.error else _short(use.result, 120)
    return f"→ {use.name}({arguments}) = {outcome}  ({use.duration_s * 1000:.1f} ms)"


def _short(value: object, limit: int) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _figures(step: Step) -> str:
    usage = step.token_usage
    line = f"{step.duration_s:.2f} s · {usage.input_tokens:,} in / {usage.output_tokens:,} out"
    if step.cost_usd is not None:
        line += f" · ${step.cost_usd:.4f}"
    return line


def _clip_lines(text: str, limit: int) -> str:
    lines = text.splitlines()
    if len(lines) <= limit:
        return text
    return "\n".join(lines[:limit] + [f"… {len(lines) - limit} more lines"])


def print_step(step: Step) -> None:
    """A step callback printing one finished step (for runs without the live view)."""
    LiveView().step_finished(0, step)
