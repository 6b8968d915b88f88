"""The agent loop, written once, for both kinds of agent and for sync and async runs.

    conversation = [system, task]           (with reset=False: the last run's, plus the task)
    until a budget is spent:
        every planning_interval actions:    the model writes its plan (nothing runs)
        reply   = model(conversation)       think (token by token, when someone watches)
        action  = parse(reply)              code | tool calls (none: the model is told)
        approve(action)                     a refused action does not run (the model is told)
        outcome = act(action)               sandbox.run(code) | call tools
        a final answer is checked           wrong type, failed check: the model is told
        conversation += [reply, outcome]    compacted when over its budget; checkpointed
        stop on an accepted final answer
    a budget spent: ask the model once for its best answer

The loop (``Agent._loop``) is a generator that does no I/O itself: it yields what it needs done —
``Think`` (a model reply), ``Act`` (an action carried out), ``Ask`` (an approval) — gets the
outcome sent back, and yields each finished ``Step``. Drivers do the work: ``run`` (in this
thread) and ``arun``/``astream`` (on the event loop; blocking work in ``codeact.blocking``'s
threads), so sync and async runs share every line of the loop and a run needs no thread of its
own. Each capability is a module the loop calls: ``budgets``, ``approval``, ``output``,
``planning``, ``context`` (compaction), ``checkpoints``, ``variables``, ``images``. The two kinds
of agent (``codeact.code_agent``, ``codeact.tool_agent``) say how a reply becomes an action.

Mistakes of the model (no code, a syntax error, an exception, an unknown tool, bad arguments, a
timeout, an answer of the wrong type) become observations the model can react to; errors of the
environment (no API key, no Docker engine) and of the caller (bad variables) are raised at once.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping, Sequence
from typing import Any, Literal

from codeact import blocking, checkpoints, console, planning, prompts, telemetry, tool_calls
from codeact.approval import Approve, refusal_reason
from codeact.budgets import FINAL_ANSWER_GRACE_S, Budget, Limits, Spent
from codeact.context import Compactor, Conversation
from codeact.driving import (
    Act,
    Ask,
    AsyncRunStream,
    Loop,
    RunState,
    RunStream,
    Think,
    TokenCallback,
    drive,
)
from codeact.images import image_part
from codeact.memory import RunResult, Step
from codeact.models import ChatMessage, Model, ModelError, accepted_options
from codeact.output import AnswerRejected, Check, OutputSpec
from codeact.tools import Tool, ToolError

StepCallback = Callable[[Step], None]

_CONTEXT_SHARE = 0.6  # of the model's context window, the default conversation budget


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
        max_tokens: int | None = None,
        max_time_s: float | None = None,
        max_cost_usd: float | None = None,
        max_tool_calls: int | None = None,
        approve: Approve | None = None,
        output_type: Any = None,
        final_answer_checks: Sequence[Check] = (),
        planning_interval: int | None = None,
        max_context_tokens: int | Literal["auto"] | None = "auto",
        instructions: str | None = None,
        name: str | None = None,
        description: str | None = None,
        step_callbacks: Sequence[StepCallback] = (),
        token_callbacks: Sequence[TokenCallback] = (),
        verbose: bool | None = None,
    ) -> None:
        """Args:
        model: The ``Model`` to think with (``LiteLLMModel``, ``ScriptedModel``, ...).
        tools: ``Tool``s or typed, documented functions.
        max_steps: Actions before the run stops and asks for a best answer.
        max_tokens: Input + output tokens over the run (sub-agents' included) before it
            stops the same way (state ``"max_tokens"``).
        max_time_s: Wall-clock seconds; model calls and sandbox runs get no more than what
            is left (state ``"max_time"``).
        max_cost_usd: Dollars, as LiteLLM prices the replies (state ``"max_cost"``; a
            warning when the model has no known price).
        max_tool_calls: Host tool calls per run; past it a call fails with an error the
            model sees, and the run goes on.
        approve: Called with each ``Action`` before it runs; returns ``True``, ``False`` or a
            reason for refusing (``ConsoleApprover()`` asks at the terminal).
        output_type: What the final answer must be (a pydantic model, dataclass, TypedDict
            or plain type): told to the model, validated on the host; ``RunResult.output``
            is the validated instance.
        final_answer_checks: ``check(answer, run_so_far)`` returning ``True`` or a reason;
            a failed check is an observation and the run goes on.
        planning_interval: A planning step before the first action and every this many
            actions after (``None``: never).
        max_context_tokens: The conversation's budget: past it, older observations are
            elided, then older steps summarised (``"auto"``: 60% of the model's context
            window where LiteLLM knows it; ``None``: never compact).
        instructions: Added to the system prompt.
        name: How teams and ``as_tool`` present the agent.
        description: How teams and ``as_tool`` present the agent.
        step_callbacks: Called with each finished ``Step``.
        token_callbacks: Called with each ``TokenDelta`` while the model writes.
        verbose: The live console view (``None``: on when stdout is a terminal or a
            notebook, or as ``CODEACT_VERBOSE`` says).
        """
        self.model = model
        self.tools: dict[str, Tool] = {}
        for t in tools:
            t = t if isinstance(t, Tool) else Tool(t)
            if t.name in self.tools or t.name == "final_answer":
                raise ValueError(f"two tools are named {t.name!r}; tool names must be unique")
            self.tools[t.name] = t
        Limits(max_steps, max_tokens, max_time_s, max_cost_usd, max_tool_calls)  # checked now
        self.max_steps = max_steps
        self.max_tokens = max_tokens
        self.max_time_s = max_time_s
        self.max_cost_usd = max_cost_usd
        self.max_tool_calls = max_tool_calls
        self.approve = approve
        self.output_type = output_type
        self.output = OutputSpec(output_type, final_answer_checks)
        if planning_interval is not None and planning_interval < 1:
            raise ValueError(f"planning_interval must be 1 or more, got {planning_interval}")
        self.planning_interval = planning_interval
        if max_context_tokens not in ("auto", None) and not (
            isinstance(max_context_tokens, int) and max_context_tokens > 0
        ):
            raise ValueError("max_context_tokens must be 'auto', None or a positive number")
        self.max_context_tokens = max_context_tokens
        self.instructions = instructions
        self.name = name or self.default_name
        self.description = (
            description or f"An agent that can use: {', '.join(self.tools) or 'no tools'}."
        )
        self.step_callbacks = list(step_callbacks)
        self.token_callbacks = list(token_callbacks)
        self.verbose = verbose
        self._memory: Conversation | None = None  # the last run's conversation (reset=False)

    # --- running: drivers of one loop -----------------------------------------------------

    def run(
        self,
        task: str,
        *,
        reset: bool = True,
        variables: Mapping[str, Any] | None = None,
        images: Sequence[Any] | None = None,
        stream: bool = False,
        checkpoint: checkpoints.CheckpointPath | None = None,
    ) -> RunResult | RunStream:
        """Solve ``task``; with ``stream=True`` return a ``RunStream`` that yields steps live.

        ``reset=False`` continues the last run's conversation (the model sees the earlier tasks
        and steps). ``variables`` are put into the sandbox before the first step and listed in
        the prompt (JSON data, numpy arrays, pandas DataFrames; as data, never pickled).
        ``images`` (paths, bytes, PIL images, URLs) go to the model with the task. With
        ``checkpoint`` (a file path) the run's state is saved there after every step, and
        running again with the same task and path resumes it (``resume(path)`` needs only the
        path); a finished run's file gives its result back without running.

        Raises ``ModelError`` when the model cannot be reached (after its retries), with the
        partial run as ``exc.result``; the model's own mistakes are observations, not errors.
        """
        run, done = self._start(task, reset, variables, images, checkpoint)
        steps = RunStream(drive(self, run) if run else None, run, done)
        if stream:
            return steps
        for _ in steps:
            pass
        assert steps.result is not None
        return steps.result

    async def arun(
        self,
        task: str,
        *,
        reset: bool = True,
        variables: Mapping[str, Any] | None = None,
        images: Sequence[Any] | None = None,
        checkpoint: checkpoints.CheckpointPath | None = None,
    ) -> RunResult:
        """The async twin of ``run``: the model awaited, async tools awaited, blocking work
        (sandbox runs, plain tools) in the bounded threads of ``codeact.blocking``."""
        steps = self.astream(
            task, reset=reset, variables=variables, images=images, checkpoint=checkpoint
        )
        async for _ in steps:
            pass
        assert steps.result is not None
        return steps.result

    def astream(
        self,
        task: str,
        *,
        reset: bool = True,
        variables: Mapping[str, Any] | None = None,
        images: Sequence[Any] | None = None,
        checkpoint: checkpoints.CheckpointPath | None = None,
    ) -> AsyncRunStream:
        """The async twin of ``run(task, stream=True)``: ``async for step in agent.astream(t)``
        (``.events()`` for the tokens too)."""
        run, done = self._start(task, reset, variables, images, checkpoint)
        return AsyncRunStream(self, run, done)

    def resume(
        self, checkpoint: checkpoints.CheckpointPath, *, stream: bool = False
    ) -> RunResult | RunStream:
        """Go on with the run saved at ``checkpoint`` (by ``run(..., checkpoint=path)``, in
        this process or another). The sandbox's variables are not part of a checkpoint: the
        model is told its Python session starts empty."""
        state = checkpoints.load(checkpoint, agent=self.name)
        if state is None:
            raise FileNotFoundError(f"no checkpoint at {checkpoint}; start with run(task, ...)")
        return self.run(state["task"], stream=stream, checkpoint=checkpoint)

    async def aresume(self, checkpoint: checkpoints.CheckpointPath) -> RunResult:
        """The async twin of ``resume``."""
        state = checkpoints.load(checkpoint, agent=self.name)
        if state is None:
            raise FileNotFoundError(f"no checkpoint at {checkpoint}; start with arun(task, ...)")
        return await self.arun(state["task"], checkpoint=checkpoint)

    def _start(
        self,
        task: str,
        reset: bool,
        variables: Mapping[str, Any] | None,
        images: Sequence[Any] | None,
        checkpoint: checkpoints.CheckpointPath | None,
    ) -> tuple[RunState | None, RunResult | None]:
        """A new run (or one resumed from ``checkpoint``), or the saved result of a finished
        one. The caller's mistakes (bad variables or images) are raised here, before anything
        runs."""
        limits = Limits(
            self.max_steps, self.max_tokens, self.max_time_s, self.max_cost_usd, self.max_tool_calls
        )
        state = checkpoints.load(checkpoint, agent=self.name, task=task) if checkpoint else None
        if state is not None and state.get("finished"):
            return None, RunResult.from_dict(state["result"])
        spent = Spent.from_dict(state["spent"]) if state else None
        model_id = getattr(self.model, "model_id", type(self.model).__name__)
        run = RunState(task, self.describe_run(), Budget(limits, spent, model_id))
        run.checkpoint = checkpoint
        run.compactor = Compactor(self._context_limit())
        run.token_callbacks = list(self.token_callbacks)
        run.prelude = self._prelude(dict(variables or {}))
        if state is not None:
            checkpoints.restore(run, state)
            run.conversation.add("note", [{"role": "user", "content": self._resumed_note()}])
            return run, None
        if not reset and self._memory is not None:
            run.conversation = Conversation.from_dict(self._memory.to_dict())
            run.conversation.set_system_prompt(run.meta["system_prompt"])
        else:
            run.conversation = Conversation.start(run.meta["system_prompt"])
        content = self._task_content(task, dict(variables or {}), list(images or ()))
        run.conversation.add("task", [{"role": "user", "content": content}])
        return run, None

    def _open(self, run: RunState) -> Loop:
        """The loop of ``run``; in an ``invoke_agent`` span when ``codeact.telemetry`` is on."""
        loop = self._loop(run)
        return loop if telemetry.tracer is None else telemetry.trace_loop(self, run, loop)

    def _perform(self, request: Think | Act | Ask) -> Any:
        if isinstance(request, Think):
            if telemetry.tracer is not None:
                return telemetry.think(self.model, request.messages, request.options)
            return self.model.generate(request.messages, **request.options)
        if isinstance(request, Ask):
            return refusal_reason(self.approve, request.action)
        return self._execute(request.action, request.time_left)

    async def _aperform(self, request: Think | Act | Ask) -> Any:
        if isinstance(request, Think):
            if telemetry.tracer is not None:
                return await telemetry.athink(self.model, request.messages, request.options)
            return await self.model.agenerate(request.messages, **request.options)
        if isinstance(request, Ask):  # in a thread: an approver may wait for a human
            return await blocking.run(refusal_reason, self.approve, request.action)
        return await self._aexecute(request.action, request.time_left)

    # --- the loop -------------------------------------------------------------------------

    def _loop(self, run: RunState) -> Loop:
        shown = console.view_for(self.verbose)
        run.view, run.depth = shown if shown else (None, 0)
        if run.view:
            run.view.run_started(run.depth, run.task, run.meta)
        try:
            if run.prelude is not None:
                self._after_prelude((yield Act(run.prelude)))
            while (cap := run.budget.exceeded()) is None:
                if self._plan_due(run):
                    yield (yield from self._plan(run))
                step = yield from self._step(run)
                yield step
                if step.is_final:
                    return self._finish(run, run.result("success", step.final_answer))
            return self._finish(run, (yield from self._best_answer(run, *cap)))
        except ModelError as exc:
            cap = run.budget.exceeded()
            if cap is not None and cap[0] == "max_time":  # the call was cut at the time cap
                return self._finish(run, (yield from self._best_answer(run, *cap)))
            raise _failed(exc, self._finish(run, run.result("error", error=str(exc)))) from None
        except BaseException:
            if run.view:
                run.view.run_abandoned(run.depth)
            raise

    def _step(self, run: RunState) -> Generator[Any, Any, Step]:
        """One think → act → observe cycle."""
        index, started = len(run.steps) + 1, time.perf_counter()
        if run.view:
            run.view.step_started(run.depth, index, self.name)
        reply = yield self._think(run, index, run.conversation.messages(), self._think_options())
        run.record(reply)
        step = _step_of(index, reply)
        action = self._parse(step)
        if action is not None and self.approve is not None:
            action = yield from self._approvals(step, action)
        if action is not None:
            if run.view:
                run.view.acting(run.depth, "calling tools" if step.tool_calls else "running")
            with tool_calls.acting(run, step):
                outcome = yield Act(action, run.budget.time_left())
            self._observe(step, outcome)
        if step.is_final and self.output.active:
            self._check_answer(run, step)
        run.budget.add_step()
        step.duration_s = time.perf_counter() - started
        yield from self._record(run, step, "step", self._render(step))
        return step

    def _plan(self, run: RunState) -> Generator[Any, Any, Step]:
        """A planning step: the model writes what it knows and what it will do; nothing runs."""
        index, started = len(run.steps) + 1, time.perf_counter()
        if run.view:
            run.view.step_started(run.depth, index, self.name, kind="plan")
        ask = {"role": "user", "content": planning.request(run.budget.spent.steps)}
        reply = yield self._think(run, index, [*run.conversation.messages(), ask], {})
        run.record(reply)
        step = _step_of(index, reply, kind="plan")
        step.duration_s = time.perf_counter() - started
        plan = {"role": "assistant", "content": reply.content or ""}
        go_on = {"role": "user", "content": planning.GO_ON}
        yield from self._record(run, step, "plan", [ask, plan, go_on])
        return step

    def _record(
        self, run: RunState, step: Step, kind: str, messages: list[dict[str, Any]]
    ) -> Generator[Any, Any, None]:
        """Keep a finished step: in the run, in the conversation (compacted if need be), in
        the checkpoint; then show it and call the step callbacks."""
        run.steps.append(step)
        run.conversation.add(kind, messages, step.index)
        step.compaction = yield from self._compact(run)
        self._save(run)
        if run.view:
            run.view.step_finished(run.depth, step)
        for callback in self.step_callbacks:
            callback(step)

    def _compact(self, run: RunState) -> Generator[Any, Any, str | None]:
        """Keep the conversation in its budget; a summary is one model call of its own."""
        compaction = run.compactor.compact(run.conversation)
        try:
            request = next(compaction)
            while True:
                reply = yield self._think(run, len(run.steps), request, {}, stream=False)
                run.record(reply)
                request = compaction.send(reply.content or "")
        except StopIteration as done:
            return done.value

    def _best_answer(self, run: RunState, state: str, why: str) -> Generator[Any, Any, RunResult]:
        """A budget is spent: ask the model once for its best answer (given a short grace)."""
        shape = self.output.describe()
        ask = {"role": "user", "content": prompts.best_answer_request(state, shape)}
        if run.view:
            run.view.wait("asking for a best answer", run.depth)
        left = run.budget.time_left()
        timeout = None if left is None else max(left, FINAL_ANSWER_GRACE_S)
        try:
            messages = [*run.conversation.messages(), ask]
            reply = yield self._think(run, len(run.steps), messages, {}, timeout=timeout)
        except ModelError as exc:
            return run.result(state, error=f"{why}; no best answer came: {exc}")
        finally:
            if run.view:
                run.view.done_waiting()
        run.record(reply)
        run.conversation.add("note", [ask, {"role": "assistant", "content": reply.content or ""}])
        answer, problem = self.output.best_answer(prompts.strip_thinking(reply.content or ""))
        return run.result(state, answer, f"{why}; {problem}" if problem else why)

    def _finish(self, run: RunState, result: RunResult) -> RunResult:
        self._memory = run.conversation
        if run.checkpoint and result.state != "error":
            self._save(run, result)
        if run.view:
            run.view.run_finished(run.depth, result)
        return result

    # --- what the loop asks of its parts ----------------------------------------------------

    def _think(
        self,
        run: RunState,
        step: int,
        messages: list[dict[str, Any]],
        options: dict[str, Any],
        *,
        timeout: float | None = None,
        stream: bool | None = None,
    ) -> Think:
        """A model request, with the time the run has left and whether tokens are watched."""
        left = timeout if timeout is not None else run.budget.time_left()
        offered = accepted_options(self.model.generate, **options, timeout=left)
        if stream is None:
            stream = bool(run.token_callbacks or run.events or (run.view and run.view.live))
        return Think(messages, offered, step, stream)

    def _plan_due(self, run: RunState) -> bool:
        done = run.budget.spent.steps
        planned = run.steps and run.steps[-1].kind == "plan"
        return planning.plan_due(done, self.planning_interval) and not planned

    def _check_answer(self, run: RunState, step: Step) -> None:
        """Validate and check a final answer; a rejected one is told to the model."""
        try:
            so_far = run.result("running", step.final_answer)
            step.final_answer = self.output.accept(step.final_answer, so_far)
        except AnswerRejected as exc:
            step.is_final, step.final_answer = False, None
            step.error = str(exc)
            self._reject(step, str(exc))

    def _save(self, run: RunState, result: RunResult | None = None) -> None:
        if run.checkpoint:
            state = checkpoints.state_of(run, self.name, self.kind, result)
            checkpoints.save(run.checkpoint, state)

    def _context_limit(self) -> int | None:
        if self.max_context_tokens != "auto":
            return self.max_context_tokens
        window = getattr(self.model, "context_window", None)
        return int(window * _CONTEXT_SHARE) if isinstance(window, int) and window > 0 else None

    def _task_content(
        self, task: str, variables: dict[str, Any], images: list[Any]
    ) -> str | list[dict[str, Any]]:
        """The task's message: its text, the variables given with it, its images."""
        text = task + (self._variables_note(variables) if variables else "")
        if not images:
            return text
        return [{"type": "text", "text": text}, *(image_part(i) for i in images)]

    def describe_run(self) -> dict[str, Any]:
        """What a saved run records about how it was made (``RunResult.meta``)."""
        from codeact import __version__

        settings = {
            key: getattr(self, key)
            for key in ("max_tokens", "max_time_s", "max_cost_usd", "max_tool_calls")
            if getattr(self, key) is not None
        }
        if self.planning_interval:
            settings["planning_interval"] = self.planning_interval
        return {
            "codeact_version": __version__,
            "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "agent_kind": self.kind,
            "agent_name": self.name,
            "model_id": getattr(self.model, "model_id", type(self.model).__name__),
            "tools": list(self.tools),
            "max_steps": self.max_steps,
            **settings,
            "instructions": self.instructions,
            "system_prompt": self.system_prompt(),
        }

    def _use_tool(self, tool: Tool, arguments: dict[str, Any], call: Callable[[], Any]) -> Any:
        """Make a host tool call for the running step, recording it (and a sub-agent's run)."""
        with tool_calls.recording(tool, arguments) as use:
            if telemetry.tracer is not None:
                return tool_calls.seen(use, telemetry.call_tool(tool, arguments, call))
            return tool_calls.seen(use, call())

    async def _ause_tool(
        self, tool: Tool, arguments: dict[str, Any], call: Callable[[], Awaitable[Any]]
    ) -> Any:
        """``_use_tool`` for an async tool call, awaited on the event loop."""
        with tool_calls.recording(tool, arguments) as use:
            if telemetry.tracer is not None:
                return tool_calls.seen(use, await telemetry.acall_tool(tool, arguments, call))
            return tool_calls.seen(use, await call())

    # --- what each kind supplies -----------------------------------------------------------

    def system_prompt(self) -> str:
        raise NotImplementedError

    def _prepare(self) -> None:
        """Get ready for a run (e.g. start the sandbox); may block."""

    def _prelude(self, variables: dict[str, Any]) -> Any:
        """An action to carry out before the first step (a ``CodeAgent`` sets the variables);
        raises on variables it cannot take."""
        return None

    def _after_prelude(self, outcome: Any) -> None:
        """Raise if the prelude failed (the variables could not be set)."""

    def _variables_note(self, variables: dict[str, Any]) -> str:
        """What the task message says about the variables given with it."""
        raise NotImplementedError

    def _resumed_note(self) -> str:
        return checkpoints.RESUMED_NOTE_TOOLS

    def _think_options(self) -> dict[str, Any]:
        return {}

    def _parse(self, step: Step) -> Any:
        """The action of the step's reply; ``None`` when it has none (after saying why in the
        step's ``error`` and ``observation``)."""
        raise NotImplementedError

    def _approvals(self, step: Step, action: Any) -> Generator[Ask, Any, Any]:
        """Ask ``approve`` about each part of ``action``; the action as it may run (refused
        parts recorded in ``step.refusals`` and marked), or ``None`` if nothing may."""
        raise NotImplementedError

    def _execute(self, action: Any, time_left: float | None) -> Any:
        """Carry out the action (may block); returns its outcome for ``_observe``."""
        raise NotImplementedError

    async def _aexecute(self, action: Any, time_left: float | None) -> Any:
        """``_execute`` under asyncio; by default in a thread of ``codeact.blocking``."""
        return await blocking.run(self._execute, action, time_left)

    def _observe(self, step: Step, outcome: Any) -> None:
        """Fill in the step's observation (and error, final answer) from the action's outcome."""
        raise NotImplementedError

    def _reject(self, step: Step, why: str) -> None:
        """Tell the model its final answer was rejected (in the step's observation)."""
        raise NotImplementedError

    def _render(self, step: Step) -> list[dict[str, Any]]:
        """The chat messages that show the model this step."""
        raise NotImplementedError

    # --- composition ----------------------------------------------------------------------

    def as_tool(self, name: str | None = None, description: str | None = None) -> Tool:
        """This agent as a tool other agents can call with one argument, ``task``.

        The sub-agent's run is recorded under the calling step (``ToolUse.run``) and its tokens
        and cost count in the caller's totals and budgets. A sub-agent that did not finish (a
        spent budget, a failure) says so to the caller as an error, instead of passing its
        guess off as an answer.
        """
        agent = self

        def delegate(task: str) -> Any:
            """Give a task to another agent and get its answer.

            Args:
                task: The task, with everything the agent needs to know to do it.
            """
            result = agent.run(task)
            use = tool_calls.current_call()
            if use is not None:
                use.run = result
            if result.state != "success":
                raise ToolError(_unfinished(agent.name, result))
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


def __getattr__(name: str) -> Any:
    """``CodeAgent`` and ``ToolCallingAgent`` live in modules of their own; importable here
    too, as they always were."""
    if name == "CodeAgent":
        from codeact.code_agent import CodeAgent

        return CodeAgent
    if name == "ToolCallingAgent":
        from codeact.tool_agent import ToolCallingAgent

        return ToolCallingAgent
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _step_of(index: int, reply: ChatMessage, kind: str = "action") -> Step:
    return Step(
        index,
        reply.content,
        list(reply.tool_calls),
        token_usage=reply.usage,
        cost_usd=reply.cost_usd,
        kind=kind,
        reasoning=reply.reasoning,
        model_id=reply.model_id,
        thinking_blocks=reply.thinking_blocks,
    )


def _unfinished(name: str, result: RunResult) -> str:
    if result.state == "error":
        return f"agent {name!r} failed: {result.error}"
    guess = "" if result.output is None else f" Its unchecked best guess: {result.output!r}"[:500]
    return f"agent {name!r} did not finish the task ({result.state}: {result.error}).{guess}"


def _failed(exc: ModelError, result: RunResult) -> ModelError:
    """``exc`` carrying the partial run, so that nothing is lost when the model fails."""
    exc.result = result
    return exc
