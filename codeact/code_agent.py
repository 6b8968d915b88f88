"""``CodeAgent``: acts by writing Python that runs in a sandbox where the tools are functions.

The code comes in the reply's text, in a fenced block (``code_action="text"``), or as the
argument of the one native tool the model is offered, ``python(code)`` (``code_action="tool"``,
for models tuned for tool calling: no fence parsing). Both share the loop, the prompt's tool
stubs, the sandbox and the observations.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from codeact import checkpoints, prompts, telemetry, variables
from codeact.agents import Agent, Ask, StepCallback, TokenCallback
from codeact.approval import Action, Approve
from codeact.budgets import capped
from codeact.memory import Refusal, Step
from codeact.models import Model
from codeact.output import Check
from codeact.tool_calls import with_images
from codeact.tools import Tool
from sandboxes import Execution, Sandbox, make_sandbox

_NOT_RUN = "Not run: an earlier call in this reply gave the final answer."


@dataclass
class Cell:
    """One piece of code to run: the reply's code, or one call of the ``python`` tool.

    ``refused`` is what the model is told instead when ``approve`` refused it; ``problem``
    says what was wrong with a malformed call (another tool's name, no ``code``)."""

    code: str | None
    call_id: str | None = None
    refused: str | None = None
    problem: str | None = None


#: What running a step's cells gave: each cell with its ``Execution`` (``None``: not run).
Outcome = list[tuple[Cell, "Execution | None"]]


class CodeAgent(Agent):
    """Acts by writing Python that runs in a sandbox where the tools are plain functions.

    ``sandbox`` is a backend name (``"local"``, ``"inline"``, ``"docker"``) or a ``Sandbox``;
    by default ``$CODEACT_SANDBOX``, else ``"local"``. ``allowed_imports`` extends the safe set
    of modules the code may import; ``sandbox_options`` (``timeout``, ``memory_mb``, ``image``...)
    go to the backend. The sandbox keeps its variables across runs of the same agent.
    ``code_action`` is ``"text"`` (code in a fenced block of the reply) or ``"tool"`` (the model
    calls a native tool ``python(code)``). Every other parameter is as for ``Agent``.
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
        code_action: Literal["text", "tool"] = "text",
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
        if code_action not in ("text", "tool"):
            raise ValueError(f"code_action must be 'text' or 'tool', not {code_action!r}")
        super().__init__(
            model,
            tools,
            max_steps=max_steps,
            max_tokens=max_tokens,
            max_time_s=max_time_s,
            max_cost_usd=max_cost_usd,
            max_tool_calls=max_tool_calls,
            approve=approve,
            output_type=output_type,
            final_answer_checks=final_answer_checks,
            planning_interval=planning_interval,
            max_context_tokens=max_context_tokens,
            instructions=instructions,
            name=name,
            description=description,
            step_callbacks=step_callbacks,
            token_callbacks=token_callbacks,
            verbose=verbose,
        )
        self.code_action = code_action
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
        return prompts.code_system_prompt(
            self.tools.values(),
            imports,
            self.instructions,
            code_action=self.code_action,
            answer_shape=self.output.describe(),
        )

    def describe_run(self) -> dict[str, Any]:
        meta = {**super().describe_run(), "sandbox": self.sandbox_kind}
        if self.code_action != "text":
            meta["code_action"] = self.code_action
        return meta

    def _prepare(self) -> None:
        with self._lock:
            if not self._started:
                calls = {
                    n: functools.partial(self._call_from_code, t) for n, t in self.tools.items()
                }
                self.sandbox.start(calls)
                self._started = True

    def _call_from_code(self, tool: Tool, *args: Any, **kwargs: Any) -> Any:
        """A tool as the sandboxed code calls it: a Python call, recorded."""
        named = _named_arguments(tool, args, kwargs)
        return self._use_tool(tool, named, lambda: tool(*args, **kwargs))

    # --- variables and resuming -----------------------------------------------------------

    def _prelude(self, given: dict[str, Any]) -> list[Cell] | None:
        taken = [name for name in given if name in self.tools or name == "final_answer"]
        if taken:
            raise ValueError(f"variables: {taken[0]!r} is the name of a tool; rename the variable")
        return [Cell(variables.assignment_code(given))] if given else None

    def _after_prelude(self, outcome: Outcome) -> None:
        execution = outcome[0][1]
        if execution is not None and execution.error:
            raise RuntimeError(
                f"could not put the variables into the sandbox: {execution.error.splitlines()[0]}"
                " (numpy arrays and pandas frames need numpy/pandas importable there: "
                "allowed_imports=[...] for local and inline, an image that has them for docker)"
            )

    def _variables_note(self, given: dict[str, Any]) -> str:
        return (
            "\n\nThese variables are already defined in your Python session, given with the "
            f"task:\n{variables.describe(given)}"
        )

    def _resumed_note(self) -> str:
        return checkpoints.RESUMED_NOTE

    # --- a step ---------------------------------------------------------------------------

    def _think_options(self) -> dict[str, Any]:
        if self.code_action == "tool":
            return {"tools": [prompts.PYTHON_TOOL]}
        return {"stop": ["\nObservation:"]}

    def _parse(self, step: Step) -> list[Cell] | None:
        if self.code_action == "tool":
            return self._parse_calls(step)
        code = prompts.extract_code(step.model_output)
        if code is None:
            step.error = "the reply contained no code block"
            step.observation = prompts.NO_CODE
            return None
        step.action = code
        return [Cell(code)]

    def _parse_calls(self, step: Step) -> list[Cell] | None:
        if not step.tool_calls:
            step.error = "the reply called no tool"
            step.observation = prompts.NO_PYTHON_CALL
            return None
        cells = []
        for call in step.tool_calls:
            code = call.arguments.get("code") if isinstance(call.arguments, dict) else None
            if call.name != "python":
                where = "inside your code" if call.name in self.tools else "in Python code"
                problem = f"there is no tool {call.name!r}: call python, and {call.name} {where}"
                cells.append(Cell(None, call.id, problem=problem))
            elif not isinstance(code, str):
                problem = "python takes one argument, code: the Python to run, as a string"
                cells.append(Cell(None, call.id, problem=problem))
            else:
                cells.append(Cell(code, call.id))
        step.action = "\n\n".join(c.code for c in cells if c.code is not None) or None
        return cells

    def _approvals(self, step: Step, cells: list[Cell]) -> Generator[Ask, Any, list[Cell]]:
        for cell in cells:
            if cell.code is None:
                continue
            reason = yield Ask(Action("code", self.name, step.index, code=cell.code))
            if reason is not None:
                cell.refused = reason
                step.refusals.append(Refusal(cell.code, reason))
        return cells

    def _execute(self, cells: list[Cell], time_left: float | None) -> Outcome:
        done: Outcome = []
        with _time_capped(self.sandbox, time_left):
            for cell in cells:
                finished = any(ex is not None and ex.is_final for _, ex in done)
                runnable = cell.code is not None and not cell.refused and not finished
                done.append((cell, self._run_code(cell.code) if runnable else None))  # type: ignore[arg-type]
        return done

    def _run_code(self, code: str) -> Execution:
        if telemetry.tracer is None:
            return self.sandbox.run(code)
        return telemetry.trace_sandbox_run(self.sandbox_kind, self.sandbox.run, code)

    def _observe(self, step: Step, outcome: Outcome) -> None:
        texts, errors = [], []
        for cell, ex in outcome:
            if cell.problem:
                texts.append(f"Error: {cell.problem}")
                errors.append(cell.problem)
            elif cell.refused:
                texts.append(cell.refused)
            elif ex is None:
                texts.append(_NOT_RUN)
            else:
                final = (ex.final_answer,) if ex.is_final else ()
                texts.append(prompts.code_observation(ex.stdout, ex.value, ex.error, *final))
                if ex.error:
                    errors.append(ex.error)
                if ex.is_final:
                    step.is_final, step.final_answer = True, ex.final_answer
        step.error = "; ".join(errors) or None
        if self.code_action == "tool":
            step.tool_results = texts
        step.observation = "\n".join(texts)

    def _reject(self, step: Step, why: str) -> None:
        step.observation += f"\n{why}"
        if step.tool_results:
            step.tool_results[-1] += f"\n{why}"

    def _render(self, step: Step) -> list[dict[str, Any]]:
        if self.code_action == "tool" and step.tool_calls:
            messages = [step.reply().to_dict()] + [
                {"role": "tool", "tool_call_id": call.id, "content": text}
                for call, text in zip(step.tool_calls, step.tool_results, strict=True)
            ]
            if step.images:
                shown = with_images(step, "The images your code's tools returned:")
                messages.append({"role": "user", "content": shown})
            return messages
        reply: dict[str, Any] = {"role": "assistant", "content": step.model_output or ""}
        if step.thinking_blocks:
            reply["thinking_blocks"] = step.thinking_blocks
        observation = f"Observation:\n{step.observation}"
        content = with_images(step, observation) if step.images else observation
        return [reply, {"role": "user", "content": content}]

    def close(self) -> None:
        if self._owns_sandbox:
            self.sandbox.close()
        self._started = False


@contextlib.contextmanager
def _time_capped(sandbox: Sandbox, left: float | None) -> Iterator[None]:
    """Give the sandbox's runs no more than the run's time left (when it has a ``timeout``)."""
    if left is None or not hasattr(sandbox, "timeout"):
        yield
        return
    before = sandbox.timeout
    sandbox.timeout = capped(before, max(left, 0.1))
    try:
        yield
    finally:
        sandbox.timeout = before


def _named_arguments(tool: Tool, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """A call's arguments by parameter name, as far as they bind (else ``args`` + keywords)."""
    try:
        return dict(tool.signature.bind(*args, **kwargs).arguments)
    except TypeError:
        return {**({"args": list(args)} if args else {}), **kwargs}
