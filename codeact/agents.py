"""The agent loop, written once, and the two kinds of agent that plug into it.

    messages = [system, task]
    for each step:   reply = model(messages)        think
                     act on the reply               run code in the sandbox | call tools
                     messages += [reply, observation]
                     stop when the action gave a final answer
    out of steps:    ask the model once for its best answer

The loop (``Agent._loop``) is a generator that does no I/O itself: it yields what it needs done
— ``Think`` (a model reply) or ``Act`` (an action carried out) — and gets the outcome sent back,
and it yields each finished ``Step``. Two small drivers do the work: ``run`` (in this thread:
``model.generate``, ``sandbox.run``) and ``arun``/``astream`` (on the event loop: the model
awaited, async tools awaited, blocking work in ``codeact.blocking``'s threads). So sync and async
runs share every line of the loop, and a run needs no thread of its own.

A ``CodeAgent`` acts by running the code of the reply in a sandbox; a ``ToolCallingAgent`` by
calling the tools the model named. Mistakes of the model (no code, a syntax error, an exception,
an unknown tool, bad arguments, a timeout) become observations the model can react to; errors of
the environment (no API key, no Docker engine) are raised at once.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import functools
import json
import logging
import os
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from codeact import blocking, console, prompts, telemetry
from codeact.memory import RunResult, Step, ToolUse, scripted_reply
from codeact.models import (
    RAW_ARGUMENTS_KEY,
    ChatMessage,
    Model,
    ModelError,
    TokenUsage,
    ToolCall,
)
from codeact.tools import Tool, ToolError, final_answer
from sandboxes import Execution, Sandbox, make_sandbox

StepCallback = Callable[[Step], None]

log = logging.getLogger("codeact")
#: The step whose action is running in this context: host tools record their calls into it.
_STEP: contextvars.ContextVar[Step | None] = contextvars.ContextVar("codeact_step", default=None)
#: The tool call running in this context: a sub-agent called as a tool files its run there.
_TOOL_USE: contextvars.ContextVar[ToolUse | None] = contextvars.ContextVar(
    "codeact_tool_use", default=None
)
_MAX_RECORDED_CHARS = 10_000  # longer tool results are kept shortened in the step record


@dataclass
class Think:
    """What the loop yields to get the model's next reply (a ``ChatMessage`` is sent back)."""

    messages: list[dict[str, Any]]
    options: dict[str, Any]


@dataclass
class Act:
    """What the loop yields to have an action carried out (its outcome is sent back): code for
    a ``CodeAgent`` (an ``Execution`` back), tool calls for a ``ToolCallingAgent``."""

    action: Any


#: The loop: yields ``Think``/``Act`` requests and finished ``Step``s, returns the ``RunResult``.
Loop = Generator[Think | Act | Step, Any, RunResult]


class _Run:
    """What one run accumulates; ``result()`` turns it into a ``RunResult`` at any point."""

    def __init__(self, task: str, meta: dict[str, Any]) -> None:
        self.task = task
        self.meta = meta
        self.started = time.perf_counter()
        self.steps: list[Step] = []
        self.usage = TokenUsage()
        self.outputs: list[Any] = []
        self.costs: list[float] = []

    def record(self, reply: ChatMessage) -> None:
        self.outputs.append(scripted_reply(reply))
        self.usage = self.usage + reply.usage
        if reply.cost_usd is not None:
            self.costs.append(reply.cost_usd)

    def result(self, state: str, output: Any = None, error: str | None = None) -> RunResult:
        cost = sum(self.costs) if self.costs else None
        duration = time.perf_counter() - self.started
        return RunResult(
            output,
            state,
            list(self.steps),
            self.usage,
            duration,
            self.task,
            error,
            list(self.outputs),
            cost,
            self.meta,
        )

    def interrupted(self) -> RunResult:
        return self.result("interrupted", error="the stream was left early")


class RunStream:
    """Iterate to get each ``Step`` as it completes; ``result`` holds the ``RunResult`` after.

    Leaving the loop early (``break``) ends the run: ``result`` is then the partial run, with
    state ``"interrupted"``.
    """

    def __init__(self, steps: Generator[Step, None, RunResult], run: _Run) -> None:
        self._steps = steps
        self._run = run
        self.result: RunResult | None = None

    def __iter__(self) -> Iterator[Step]:
        try:
            self.result = yield from self._steps
        finally:
            if self.result is None:
                self._steps.close()
                self.result = self._run.interrupted()


class AsyncRunStream:
    """``async for`` it to get each ``Step`` as it completes; ``result`` holds the ``RunResult``
    after. Leaving the loop early (``break``) ends the run: ``result`` is then the partial run,
    with state ``"interrupted"``."""

    def __init__(self, agent: Agent, run: _Run) -> None:
        self._agent = agent
        self._run = run
        self._loop: Loop | None = None
        self._result: RunResult | None = None

    def __aiter__(self) -> AsyncRunStream:
        return self

    async def __anext__(self) -> Step:
        if self._result is not None:
            raise StopAsyncIteration
        try:
            if self._loop is None:
                await blocking.run(self._agent._prepare)
                self._loop = self._agent._start(self._run)
            value, error = None, None
            while True:
                item = _resume(self._loop, value, error)
                if isinstance(item, Step):
                    return item
                value, error = None, None
                try:
                    value = await self._agent._aperform(item)
                except BaseException as exc:  # back into the loop, which decides
                    error = exc
        except StopIteration as done:
            self._result = done.value
            raise StopAsyncIteration from None
        except BaseException:
            self._close()
            raise

    @property
    def result(self) -> RunResult | None:
        """The run's result once iteration has stopped (``None`` before it started)."""
        if self._result is None and self._loop is not None:
            self._close()
        return self._result

    def _close(self) -> None:
        if self._loop is not None:
            self._loop.close()
        if self._result is None:
            self._result = self._run.interrupted()


class Agent:
    """The loop shared by both agent kinds; subclasses say how a reply becomes an action."""

    default_name = "agent"
    kind = "agent"

    def __init__(
        self,
        model: Model,
        tools: Iterable[Tool | Callable[..., Any]] = (),
        *,
        max_steps: int = 10,
        instructions: str | None = None,
        name: str | None = None,
        description: str | None = None,
        step_callbacks: Sequence[StepCallback] = (),
        verbose: bool | None = None,
    ) -> None:
        """``tools``: ``Tool``s or typed, documented functions. ``max_steps``: model calls
        before the run stops and asks for a best answer. ``instructions``: added to the system
        prompt. ``name`` and ``description``: how teams and ``as_tool`` present the agent.
        ``step_callbacks``: called with each finished ``Step``. ``verbose``: the live console
        view (``None``: on when stdout is a terminal or a notebook, or as ``CODEACT_VERBOSE``
        says)."""
        self.model = model
        self.tools: dict[str, Tool] = {}
        for t in tools:
            t = t if isinstance(t, Tool) else Tool(t)
            if t.name in self.tools or t.name == "final_answer":
                raise ValueError(f"two tools are named {t.name!r}; tool names must be unique")
            self.tools[t.name] = t
        self.max_steps = max_steps
        self.instructions = instructions
        self.name = name or self.default_name
        self.description = (
            description or f"An agent that can use: {', '.join(self.tools) or 'no tools'}."
        )
        self.step_callbacks = list(step_callbacks)
        self.verbose = verbose

    # --- running: two drivers of one loop -------------------------------------------------

    def run(self, task: str, *, stream: bool = False) -> RunResult | RunStream:
        """Solve ``task``; with ``stream=True`` return a ``RunStream`` that yields steps live.

        Raises ``ModelError`` when the model cannot be reached (after its retries), with the
        partial run as ``exc.result``; the model's own mistakes are observations, not errors.
        """
        run = _Run(task, self.describe_run())
        steps = RunStream(self._drive(run), run)
        if stream:
            return steps
        for _ in steps:
            pass
        assert steps.result is not None
        return steps.result

    async def arun(self, task: str) -> RunResult:
        """The async twin of ``run``: the model awaited, async tools awaited, blocking work
        (sandbox runs, plain tools) in the bounded threads of ``codeact.blocking``."""
        steps = self.astream(task)
        async for _ in steps:
            pass
        assert steps.result is not None
        return steps.result

    def astream(self, task: str) -> AsyncRunStream:
        """The async twin of ``run(task, stream=True)``: ``async for step in agent.astream(t)``."""
        return AsyncRunStream(self, _Run(task, self.describe_run()))

    def _drive(self, run: _Run) -> Generator[Step, None, RunResult]:
        """The loop, driven in this thread: ``model.generate``, actions carried out here."""
        self._prepare()
        loop = self._start(run)
        value, error = None, None
        try:
            while True:
                try:
                    item = _resume(loop, value, error)
                except StopIteration as done:
                    return done.value
                value, error = None, None
                if isinstance(item, Step):
                    yield item
                    continue
                try:
                    value = self._perform(item)
                except BaseException as exc:  # back into the loop, which decides
                    error = exc
        finally:
            loop.close()

    def _start(self, run: _Run) -> Loop:
        """The loop of ``run``; in an ``invoke_agent`` span when ``codeact.telemetry`` is on."""
        loop = self._loop(run)
        return loop if telemetry.tracer is None else telemetry.trace_loop(self, run, loop)

    def _perform(self, request: Think | Act) -> Any:
        if isinstance(request, Think):
            if telemetry.tracer is not None:
                return telemetry.think(self.model, request.messages, request.options)
            return self.model.generate(request.messages, **request.options)
        return self._execute(request.action)

    async def _aperform(self, request: Think | Act) -> Any:
        if isinstance(request, Think):
            if telemetry.tracer is not None:
                return await telemetry.athink(self.model, request.messages, request.options)
            return await self.model.agenerate(request.messages, **request.options)
        return await self._aexecute(request.action)

    def _loop(self, run: _Run) -> Loop:
        shown = console.view_for(self.verbose)
        view, depth = shown if shown else (None, 0)
        messages = [
            {"role": "system", "content": run.meta["system_prompt"]},
            {"role": "user", "content": run.task},
        ]

        def finish(result: RunResult) -> RunResult:
            if view:
                view.run_finished(depth, result)
            return result

        if view:
            view.run_started(depth, run.task, run.meta)
        for index in range(1, self.max_steps + 1):
            step_start = time.perf_counter()
            if view:
                view.step_started(depth, index, self.name)
            try:
                reply = yield Think(messages, self._think_options())
            except ModelError as exc:
                raise _failed(exc, finish(run.result("error", error=str(exc)))) from None
            run.record(reply)
            step = Step(
                index,
                reply.content,
                list(reply.tool_calls),
                token_usage=reply.usage,
                cost_usd=reply.cost_usd,
            )
            action = self._parse(step)
            if action is not None:
                token = _STEP.set(step)
                try:
                    with view.active(depth) if view else _nothing():
                        outcome = yield Act(action)
                finally:
                    _STEP.reset(token)
                self._observe(step, outcome)
            step.duration_s = time.perf_counter() - step_start
            run.steps.append(step)
            messages += self._render(step)
            if view:
                view.step_finished(depth, step)
            for callback in self.step_callbacks:
                callback(step)
            yield step
            if step.is_final:
                return finish(run.result("success", step.final_answer))

        messages.append({"role": "user", "content": prompts.OUT_OF_STEPS})
        if view:
            view.wait("asking for a best answer", depth)
        try:
            reply = yield Think(messages, {})
        except ModelError as exc:
            error = f"no final answer after {self.max_steps} steps: {exc}"
            return finish(run.result("max_steps", error=error))
        finally:
            if view:
                view.done_waiting()
        run.record(reply)
        answer = prompts.strip_thinking(reply.content or "").strip()
        stopped = f"stopped after max_steps={self.max_steps}"
        return finish(run.result("max_steps", answer or None, stopped))

    def describe_run(self) -> dict[str, Any]:
        """What a saved run records about how it was made (``RunResult.meta``)."""
        from codeact import __version__

        return {
            "codeact_version": __version__,
            "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "agent_kind": self.kind,
            "agent_name": self.name,
            "model_id": getattr(self.model, "model_id", type(self.model).__name__),
            "tools": list(self.tools),
            "max_steps": self.max_steps,
            "instructions": self.instructions,
            "system_prompt": self.system_prompt(),
        }

    def _call_from_code(self, tool: Tool, *args: Any, **kwargs: Any) -> Any:
        """A tool as the sandboxed code calls it: a Python call, recorded."""
        named = _named_arguments(tool, args, kwargs)
        return self._use_tool(tool, named, lambda: tool(*args, **kwargs))

    def _use_tool(self, tool: Tool, arguments: dict[str, Any], call: Callable[[], Any]) -> Any:
        """Make a host tool call for the running step, recording it (and a sub-agent's run)."""
        with _recording(tool, arguments) as use:
            if telemetry.tracer is None:
                result = call()
            else:
                result = telemetry.call_tool(tool, arguments, call)
            use.result = _recordable(result)
            return result

    async def _ause_tool(
        self, tool: Tool, arguments: dict[str, Any], call: Callable[[], Awaitable[Any]]
    ) -> Any:
        """``_use_tool`` for an async tool call, awaited on the event loop."""
        with _recording(tool, arguments) as use:
            if telemetry.tracer is None:
                result = await call()
            else:
                result = await telemetry.acall_tool(tool, arguments, call)
            use.result = _recordable(result)
            return result

    # --- what each kind supplies -----------------------------------------------------------

    def system_prompt(self) -> str:
        raise NotImplementedError

    def _prepare(self) -> None:
        """Get ready for a run (e.g. start the sandbox); may block."""

    def _think_options(self) -> dict[str, Any]:
        return {}

    def _parse(self, step: Step) -> Any:
        """The action of the step's reply; ``None`` when it has none (after saying why in the
        step's ``error`` and ``observation``)."""
        raise NotImplementedError

    def _execute(self, action: Any) -> Any:
        """Carry out the action (may block); returns its outcome for ``_observe``."""
        raise NotImplementedError

    async def _aexecute(self, action: Any) -> Any:
        """``_execute`` under asyncio; by default in a thread of ``codeact.blocking``."""
        return await blocking.run(self._execute, action)

    def _observe(self, step: Step, outcome: Any) -> None:
        """Fill in the step's observation (and error, final answer) from the action's outcome."""
        raise NotImplementedError

    def _render(self, step: Step) -> list[dict[str, Any]]:
        """The chat messages that show the model this step."""
        raise NotImplementedError

    # --- composition ----------------------------------------------------------------------

    def as_tool(self, name: str | None = None, description: str | None = None) -> Tool:
        """This agent as a tool other agents can call with one argument, ``task``."""
        agent = self

        def delegate(task: str) -> Any:
            """Give a task to another agent and get its answer.

            Args:
                task: The task, with everything the agent needs to know to do it.
            """
            result = agent.run(task)
            use = _TOOL_USE.get()
            if use is not None:
                use.run = result
            if result.state == "error":
                raise RuntimeError(f"agent {agent.name!r} failed: {result.error}")
            return result.output

        tool_name = name or self.name
        if not tool_name.isidentifier():
            raise ValueError(f"agent name {tool_name!r} is not a valid tool name; pass name=")
        return Tool(delegate, name=tool_name, description=description or self.description)

    def close(self) -> None:
        """Release what the agent holds (its sandbox)."""

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, tools={list(self.tools)})"


class CodeAgent(Agent):
    """Acts by writing Python that runs in a sandbox where the tools are plain functions.

    ``sandbox`` is a backend name (``"local"``, ``"inline"``, ``"docker"``) or a ``Sandbox``;
    by default ``$CODEACT_SANDBOX``, else ``"local"``. ``allowed_imports`` extends the safe set
    of modules the code may import; ``sandbox_options`` (``timeout``, ``memory_mb``, ``image``...)
    go to the backend. The sandbox keeps its variables across runs of the same agent.
    """

    default_name = "code_agent"
    kind = "code"

    def __init__(
        self,
        model: Model,
        tools: Iterable[Tool | Callable[..., Any]] = (),
        *,
        sandbox: str | Sandbox | None = None,
        allowed_imports: Iterable[str] = (),
        sandbox_options: dict[str, Any] | None = None,
        max_steps: int = 10,
        instructions: str | None = None,
        name: str | None = None,
        description: str | None = None,
        step_callbacks: Sequence[StepCallback] = (),
        verbose: bool | None = None,
    ) -> None:
        super().__init__(
            model,
            tools,
            max_steps=max_steps,
            instructions=instructions,
            name=name,
            description=description,
            step_callbacks=step_callbacks,
            verbose=verbose,
        )
        self.allowed_imports = list(allowed_imports)
        if sandbox is None or isinstance(sandbox, str):
            self.sandbox_kind = sandbox or os.environ.get("CODEACT_SANDBOX") or "local"
            options = {"allowed_imports": self.allowed_imports, **(sandbox_options or {})}
            self.sandbox: Sandbox = make_sandbox(self.sandbox_kind, **options)
            self._owns_sandbox = True
        else:
            self.sandbox = sandbox
            self.sandbox_kind = type(sandbox).__name__
            self._owns_sandbox = False
        self._started = False
        self._lock = threading.Lock()

    def system_prompt(self) -> str:
        if hasattr(self.sandbox, "importable"):  # the backends say what their code can import
            imports = self.sandbox.importable
        else:  # a sandbox of the user's own: assume the restricted set
            from sandboxes.policy import DEFAULT_ALLOWED_IMPORTS

            imports = DEFAULT_ALLOWED_IMPORTS | set(self.allowed_imports)
        return prompts.code_system_prompt(self.tools.values(), imports, self.instructions)

    def describe_run(self) -> dict[str, Any]:
        return {**super().describe_run(), "sandbox": self.sandbox_kind}

    def _prepare(self) -> None:
        with self._lock:
            if not self._started:
                calls = {
                    n: functools.partial(self._call_from_code, t) for n, t in self.tools.items()
                }
                self.sandbox.start(calls)
                self._started = True

    def _think_options(self) -> dict[str, Any]:
        return {"stop": ["\nObservation:"]}

    def _parse(self, step: Step) -> str | None:
        code = prompts.extract_code(step.model_output)
        if code is None:
            step.error = "the reply contained no code block"
            step.observation = prompts.NO_CODE
        step.action = code
        return code

    def _execute(self, code: str) -> Execution:
        if telemetry.tracer is None:
            return self.sandbox.run(code)
        return telemetry.trace_sandbox_run(self.sandbox_kind, self.sandbox.run, code)

    def _observe(self, step: Step, ex: Execution) -> None:
        step.error = ex.error
        step.is_final, step.final_answer = ex.is_final, ex.final_answer
        final = (ex.final_answer,) if ex.is_final else ()
        step.observation = prompts.code_observation(ex.stdout, ex.value, ex.error, *final)

    def _render(self, step: Step) -> list[dict[str, Any]]:
        return [
            {"role": "assistant", "content": step.model_output or ""},
            {"role": "user", "content": f"Observation:\n{step.observation}"},
        ]

    def close(self) -> None:
        if self._owns_sandbox:
            self.sandbox.close()
        self._started = False


#: What one tool call gave: (what the model sees, the error or None).
Outcome = tuple[str, str | None]


class ToolCallingAgent(Agent):
    """Acts through the model's native tool calls; finishes with the ``final_answer`` tool.

    The tool calls of one reply run concurrently (threads under ``run``; under ``arun`` async
    tools are awaited together and plain ones run in threads); one failing call doesn't lose the
    others.
    """

    default_name = "tool_agent"
    kind = "tool"

    def system_prompt(self) -> str:
        return prompts.tool_calling_system_prompt(self.instructions)

    def _think_options(self) -> dict[str, Any]:
        schemas = [t.to_schema() for t in self.tools.values()]
        return {"tools": [*schemas, final_answer.to_schema()]}

    def _parse(self, step: Step) -> list[ToolCall] | None:
        if not step.tool_calls:
            step.error = "the reply called no tool"
            step.observation = prompts.NO_TOOL_CALL
            return None
        step.action = json.dumps(
            [{"name": c.name, "arguments": c.arguments} for c in step.tool_calls], default=repr
        )
        return step.tool_calls

    def _execute(self, calls: list[ToolCall]) -> list[Outcome]:
        if len(calls) == 1:
            return [self._call(calls[0])]
        with ThreadPoolExecutor(max_workers=min(len(calls), 8)) as pool:
            # each call in a copy of this context: it records into this step, nests views
            runs = [pool.submit(contextvars.copy_context().run, self._call, c) for c in calls]
            return [future.result() for future in runs]

    async def _aexecute(self, calls: list[ToolCall]) -> list[Outcome]:
        import asyncio  # not at module level: keeps `import codeact` fast

        return list(await asyncio.gather(*(self._acall(call) for call in calls)))

    def _observe(self, step: Step, outcomes: list[Outcome]) -> None:
        done = list(zip(step.tool_calls, outcomes, strict=True))
        step.tool_results = [text for _, (text, _) in done]
        step.observation = "\n".join(f"{call.name}: {text}" for call, (text, _) in done)
        step.error = "; ".join(f"{call.name}: {err}" for call, (_, err) in done if err) or None
        for call, (_, err) in done:
            if call.name == "final_answer" and err is None:
                step.is_final, step.final_answer = True, call.arguments.get("answer")

    def _call(self, call: ToolCall) -> Outcome:
        """Run one tool call (in this thread)."""
        tool = self._tool_for(call)
        if not isinstance(tool, Tool):
            return tool
        try:
            if tool is final_answer:
                return _as_text(tool.call_with(call.arguments)), None
            invoke = functools.partial(tool.call_with, call.arguments)
            return _as_text(self._use_tool(tool, dict(call.arguments), invoke)), None
        except Exception as exc:
            return _call_failed(exc)

    async def _acall(self, call: ToolCall) -> Outcome:
        """Run one tool call under asyncio: an async tool awaited here, others in a thread."""
        tool = self._tool_for(call)
        if not isinstance(tool, Tool) or tool is final_answer:
            return self._call(call)
        if not tool.is_async:
            return await blocking.run(self._call, call)
        try:
            invoke = functools.partial(tool.acall_with, call.arguments)
            return _as_text(await self._ause_tool(tool, dict(call.arguments), invoke)), None
        except Exception as exc:
            return _call_failed(exc)

    def _tool_for(self, call: ToolCall) -> Tool | Outcome:
        """The tool a call names, or the outcome that tells the model what is wrong with it."""
        tool = final_answer if call.name == "final_answer" else self.tools.get(call.name)
        if tool is None:
            known = ", ".join([*self.tools, "final_answer"])
            error = f"unknown tool {call.name!r}; available tools: {known}"
            return f"Error: {error}", error
        if not isinstance(call.arguments, dict) or RAW_ARGUMENTS_KEY in call.arguments:
            raw = (
                call.arguments.get(RAW_ARGUMENTS_KEY) if isinstance(call.arguments, dict) else None
            )
            error = f"arguments must be a JSON object, got: {str(raw or call.arguments)[:200]}"
            return f"Error: {error}", error
        return tool

    def _render(self, step: Step) -> list[dict[str, Any]]:
        reply = step.reply().to_dict()
        if not step.tool_calls:
            return [reply, {"role": "user", "content": step.observation}]
        return [reply] + [
            {"role": "tool", "tool_call_id": call.id, "content": text}
            for call, text in zip(step.tool_calls, step.tool_results, strict=True)
        ]


def _resume(loop: Loop, value: Any, error: BaseException | None) -> Think | Act | Step:
    """Hand the loop the outcome of its last request (or the exception it raised); its next
    request or step. ``StopIteration`` carries the ``RunResult``."""
    if error is not None:
        return loop.throw(error)
    return loop.send(value)


def _failed(exc: ModelError, result: RunResult) -> ModelError:
    """``exc`` carrying the partial run, so that nothing is lost when the model fails."""
    exc.result = result
    return exc


def _call_failed(exc: Exception) -> Outcome:
    if isinstance(exc, ToolError):
        return f"Error: {exc}", str(exc)
    error = f"{type(exc).__name__}: {exc}"
    return f"Error: {error}", error


@contextlib.contextmanager
def _nothing() -> Iterator[None]:
    yield


@contextlib.contextmanager
def _recording(tool: Tool, arguments: dict[str, Any]) -> Iterator[ToolUse]:
    """Record a host tool's call into the running step (its ``result`` is set by the caller)."""
    use = ToolUse(tool.name, arguments)
    step = _STEP.get()
    if step is not None:
        step.tool_uses.append(use)
    started = time.perf_counter()
    token = _TOOL_USE.set(use)
    try:
        yield use
    except Exception as exc:
        use.error = str(exc) if isinstance(exc, ToolError) else f"{type(exc).__name__}: {exc}"
        use.traceback = traceback.format_exc()
        log.debug("tool %s failed:\n%s", tool.name, use.traceback)
        raise
    finally:
        _TOOL_USE.reset(token)
        use.duration_s = time.perf_counter() - started


def _named_arguments(tool: Tool, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """A call's arguments by parameter name, as far as they bind (else ``args`` + keywords)."""
    try:
        return dict(tool.signature.bind(*args, **kwargs).arguments)
    except TypeError:
        return {**({"args": list(args)} if args else {}), **kwargs}


def _recordable(value: Any) -> Any:
    """A tool's result as the step keeps it: as it is, or shortened when it is long."""
    if isinstance(value, (str, bytes)) and len(value) > _MAX_RECORDED_CHARS:
        return f"{value[:_MAX_RECORDED_CHARS]!r}... [{len(value):,} long]"
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        return repr(value)
