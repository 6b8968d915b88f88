"""The agent loop, written once, and the two kinds of agent that plug into it.

    messages = [system, task]
    for each step:   reply = model(messages)        think
                     act on the reply               run code in the sandbox | call tools
                     messages += [reply, observation]
                     stop when the action gave a final answer
    out of steps:    ask the model once for its best answer

A ``CodeAgent`` acts by running the code of the reply in a sandbox; a ``ToolCallingAgent`` by
calling the tools the model named. Mistakes of the model (no code, a syntax error, an exception,
an unknown tool, bad arguments, a timeout) become observations the model can react to; errors of
the environment (no API key, no Docker engine) are raised at once.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from codeact import prompts
from codeact.memory import RunResult, Step, scripted_reply
from codeact.models import (
    RAW_ARGUMENTS_KEY,
    ChatMessage,
    Model,
    ModelConfigError,
    ModelError,
    TokenUsage,
    ToolCall,
)
from codeact.tools import Tool, ToolError, final_answer
from sandboxes import Sandbox, make_sandbox

Think = Callable[..., ChatMessage]
StepCallback = Callable[[Step], None]


class RunStream:
    """Iterate to get each ``Step`` as it completes; ``result`` holds the ``RunResult`` after."""

    def __init__(self, steps: Generator[Step, None, RunResult]) -> None:
        self._steps = steps
        self.result: RunResult | None = None

    def __iter__(self) -> Iterator[Step]:
        self.result = yield from self._steps


class Agent:
    """The loop shared by both agent kinds; subclasses say how a reply becomes an action."""

    default_name = "agent"

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
    ) -> None:
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

    # --- the loop -------------------------------------------------------------------------

    def run(self, task: str, *, stream: bool = False) -> RunResult | RunStream:
        """Solve ``task``; with ``stream=True`` return a ``RunStream`` that yields steps live."""
        steps = self._loop(task, self.model.generate)
        if stream:
            return RunStream(steps)
        return _drain(steps)

    async def arun(self, task: str) -> RunResult:
        """The async twin of ``run``: the model's async API, the sandbox in a worker thread."""
        import asyncio  # not at module level: keeps `import codeact` fast

        loop = asyncio.get_running_loop()

        def think(messages: list[dict[str, Any]], **kwargs: Any) -> ChatMessage:
            call = self.model.agenerate(messages, **kwargs)
            return asyncio.run_coroutine_threadsafe(call, loop).result()

        return await asyncio.to_thread(lambda: _drain(self._loop(task, think)))

    def _loop(self, task: str, think: Think) -> Generator[Step, None, RunResult]:
        self._prepare()
        started = time.perf_counter()
        messages = [
            {"role": "system", "content": self.system_prompt()},
            {"role": "user", "content": task},
        ]
        steps: list[Step] = []
        usage = TokenUsage()
        outputs: list[Any] = []
        costs: list[float] = []

        def record(reply: ChatMessage) -> None:
            nonlocal usage
            outputs.append(scripted_reply(reply))
            usage = usage + reply.usage
            if reply.cost_usd is not None:
                costs.append(reply.cost_usd)

        def result(state: str, output: Any = None, error: str | None = None) -> RunResult:
            duration = time.perf_counter() - started
            cost = sum(costs) if costs else None
            return RunResult(output, state, steps, usage, duration, task, error, outputs, cost)

        for index in range(1, self.max_steps + 1):
            step_start = time.perf_counter()
            try:
                reply = think(messages, **self._think_options())
            except ModelConfigError:
                raise
            except ModelError as exc:
                return result("error", error=str(exc))
            record(reply)
            step = Step(
                index,
                reply.content,
                list(reply.tool_calls),
                token_usage=reply.usage,
                cost_usd=reply.cost_usd,
            )
            self._act(step)
            step.duration_s = time.perf_counter() - step_start
            steps.append(step)
            messages += self._render(step)
            for callback in self.step_callbacks:
                callback(step)
            yield step
            if step.is_final:
                return result("success", step.final_answer)

        messages.append({"role": "user", "content": prompts.OUT_OF_STEPS})
        try:
            reply = think(messages)
        except ModelError as exc:
            return result("max_steps", error=f"no final answer after {self.max_steps} steps: {exc}")
        record(reply)
        answer = prompts.strip_thinking(reply.content or "").strip()
        return result("max_steps", answer or None, f"stopped after max_steps={self.max_steps}")

    # --- what each kind supplies -----------------------------------------------------------

    def system_prompt(self) -> str:
        raise NotImplementedError

    def _prepare(self) -> None:
        """Get ready for a run (e.g. start the sandbox)."""

    def _think_options(self) -> dict[str, Any]:
        return {}

    def _act(self, step: Step) -> None:
        """Turn the step's reply into an action, run it, and fill in the observation."""
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

    def __init__(
        self,
        model: Model,
        tools: Iterable[Tool | Callable[..., Any]] = (),
        *,
        sandbox: str | Sandbox | None = None,
        allowed_imports: Iterable[str] = (),
        sandbox_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(model, tools, **kwargs)
        self.allowed_imports = list(allowed_imports)
        if sandbox is None or isinstance(sandbox, str):
            kind = sandbox or os.environ.get("CODEACT_SANDBOX") or "local"
            options = {"allowed_imports": self.allowed_imports, **(sandbox_options or {})}
            self.sandbox: Sandbox = make_sandbox(kind, **options)
            self._owns_sandbox = True
        else:
            self.sandbox = sandbox
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

    def _prepare(self) -> None:
        with self._lock:
            if not self._started:
                self.sandbox.start(dict(self.tools))
                self._started = True

    def _think_options(self) -> dict[str, Any]:
        return {"stop": ["\nObservation:"]}

    def _act(self, step: Step) -> None:
        code = prompts.extract_code(step.model_output)
        if code is None:
            step.error = "the reply contained no code block"
            step.observation = prompts.NO_CODE
            return
        step.action = code
        ex = self.sandbox.run(code)
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


class ToolCallingAgent(Agent):
    """Acts through the model's native tool calls; finishes with the ``final_answer`` tool.

    The tool calls of one reply run concurrently; one failing call doesn't lose the others.
    """

    default_name = "tool_agent"

    def system_prompt(self) -> str:
        return prompts.tool_calling_system_prompt(self.instructions)

    def _think_options(self) -> dict[str, Any]:
        schemas = [t.to_schema() for t in self.tools.values()]
        return {"tools": [*schemas, final_answer.to_schema()]}

    def _act(self, step: Step) -> None:
        calls = step.tool_calls
        if not calls:
            step.error = "the reply called no tool"
            step.observation = prompts.NO_TOOL_CALL
            return
        step.action = json.dumps(
            [{"name": c.name, "arguments": c.arguments} for c in calls], default=repr
        )
        if len(calls) == 1:
            outcomes = [self._call(calls[0])]
        else:
            with ThreadPoolExecutor(max_workers=min(len(calls), 8)) as pool:
                outcomes = list(pool.map(self._call, calls))
        done = list(zip(calls, outcomes, strict=True))
        step.tool_results = [text for _, (text, _) in done]
        step.observation = "\n".join(f"{call.name}: {text}" for call, (text, _) in done)
        step.error = "; ".join(f"{call.name}: {err}" for call, (_, err) in done if err) or None
        for call, (_, err) in done:
            if call.name == "final_answer" and err is None:
                step.is_final, step.final_answer = True, call.arguments.get("answer")

    def _call(self, call: ToolCall) -> tuple[str, str | None]:
        """Run one tool call; returns (what the model sees, the error or None)."""
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
        try:
            return _as_text(tool(**call.arguments)), None
        except ToolError as exc:
            return f"Error: {exc}", str(exc)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            return f"Error: {error}", error

    def _render(self, step: Step) -> list[dict[str, Any]]:
        reply = step.reply().to_dict()
        if not step.tool_calls:
            return [reply, {"role": "user", "content": step.observation}]
        return [reply] + [
            {"role": "tool", "tool_call_id": call.id, "content": text}
            for call, text in zip(step.tool_calls, step.tool_results, strict=True)
        ]


def _drain(steps: Generator[Step, None, RunResult]) -> RunResult:
    stream = RunStream(steps)
    for _ in stream:
        pass
    assert stream.result is not None
    return stream.result


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        return repr(value)
