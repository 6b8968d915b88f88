"""Host tool calls made by a running action: recorded into its step, counted against its run.

While an action runs (``acting``), context variables say which step and run it belongs to; a
tool called then — by sandboxed code or as a native tool call, in any thread or task that
inherits the context — is recorded as a ``ToolUse`` (arguments, result, error, host traceback,
time), counted against the run's ``max_tool_calls``, and, when it is a sub-agent, has its run
filed under the call and its tokens and cost added to the caller's. An image a tool returns is
kept for the model to see after the step; the caller gets a short note in its place.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from codeact.images import describe as describe_image
from codeact.images import image_url, is_image
from codeact.memory import Step, ToolUse
from codeact.tools import Tool, ToolError

if TYPE_CHECKING:
    from codeact.driving import RunState

log = logging.getLogger("codeact")
#: The step whose action is running in this context: host tools record their calls into it.
_STEP: contextvars.ContextVar[Step | None] = contextvars.ContextVar("codeact_step", default=None)
#: The run whose action is running in this context: tool calls count against its budget.
_RUN: contextvars.ContextVar[RunState | None] = contextvars.ContextVar("codeact_run", default=None)
#: The tool call running in this context: a sub-agent called as a tool files its run there.
_TOOL_USE: contextvars.ContextVar[ToolUse | None] = contextvars.ContextVar(
    "codeact_tool_use", default=None
)
_MAX_RECORDED_CHARS = 10_000  # longer tool results are kept shortened in the step record


@contextlib.contextmanager
def acting(run: RunState, step: Step) -> Iterator[None]:
    """While an action runs: tools record into ``step``, count against ``run``, and sub-runs
    nest in the live view."""
    tokens = _STEP.set(step), _RUN.set(run)
    try:
        with run.view.active(run.depth) if run.view else contextlib.nullcontext():
            yield
    finally:
        _RUN.reset(tokens[1])
        _STEP.reset(tokens[0])


def current_call() -> ToolUse | None:
    """The tool call running in this context (a sub-agent's ``as_tool`` files its run here)."""
    return _TOOL_USE.get()


@contextlib.contextmanager
def recording(tool: Tool, arguments: dict[str, Any]) -> Iterator[ToolUse]:
    """Record a host tool's call into the running step (the caller sets its result with
    ``seen``), counted against the run's ``max_tool_calls``; a sub-agent's tokens and cost are
    added to the run's."""
    use = ToolUse(tool.name, arguments)
    step, run = _STEP.get(), _RUN.get()
    if step is not None:
        step.tool_uses.append(use)
    started = time.perf_counter()
    token = _TOOL_USE.set(use)
    try:
        if run is not None:
            run.budget.take_tool_call(tool.name)
        yield use
    except Exception as exc:
        use.error = str(exc) if isinstance(exc, ToolError) else f"{type(exc).__name__}: {exc}"
        import traceback  # here, on the failure path only: it is slow to import

        use.traceback = traceback.format_exc()
        log.debug("tool %s failed:\n%s", tool.name, use.traceback)
        raise
    finally:
        _TOOL_USE.reset(token)
        use.duration_s = time.perf_counter() - started
        if use.run is not None and run is not None:
            run.add(use.run.token_usage, use.run.cost_usd)


def seen(use: ToolUse, result: Any) -> Any:
    """A tool's result as the caller gets it, recorded; an image is kept for the model to see
    with the step's observation, and the caller gets a short note saying so."""
    if is_image(result):
        step = _STEP.get()
        if step is not None:
            step.images.append(image_url(result))
        result = f"{describe_image(result)} (you will see this image after this step)"
    use.result = _recordable(result)
    return result


def _recordable(value: Any) -> Any:
    """A tool's result as the step keeps it: as it is, or shortened when it is long."""
    if isinstance(value, (str, bytes)) and len(value) > _MAX_RECORDED_CHARS:
        return f"{value[:_MAX_RECORDED_CHARS]!r}... [{len(value):,} long]"
    return value


def with_images(step: Step, text: str) -> list[dict[str, Any]]:
    """The content parts of a message that shows the model ``text`` and the step's images."""
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    return parts + [{"type": "image_url", "image_url": {"url": url}} for url in step.images]
