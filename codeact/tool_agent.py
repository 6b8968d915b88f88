"""``ToolCallingAgent``: acts through the model's native tool calls; finishes with the
``final_answer`` tool (whose ``answer`` has the agent's ``output_type``'s schema, if it has one).
"""

from __future__ import annotations

import contextvars
import functools
import json
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from codeact import blocking, prompts, variables
from codeact.agents import Agent, Ask
from codeact.approval import Action
from codeact.memory import Refusal, Step
from codeact.models import RAW_ARGUMENTS_KEY, ToolCall
from codeact.tool_calls import with_images
from codeact.tools import Tool, ToolError, final_answer

#: What one tool call gave: (what the model sees, the error or None).
Outcome = tuple[str, "str | None"]
#: A step's action: each tool call, with what the model is told instead if it was refused.
Calls = list[tuple[ToolCall, "str | None"]]


class ToolCallingAgent(Agent):
    """Acts through the model's native tool calls; finishes with the ``final_answer`` tool.

    The tool calls of one reply run concurrently (threads under ``run``; under ``arun`` async
    tools are awaited together and plain ones run in threads); one failing call doesn't lose the
    others. Variables given to a run are shown to the model as JSON in the task.
    """

    default_name = "tool_agent"
    kind = "tool"

    def system_prompt(self) -> str:
        return prompts.tool_calling_system_prompt(self.instructions, self.output.describe())

    def _think_options(self) -> dict[str, Any]:
        schemas = [t.to_schema() for t in self.tools.values()]
        finish = final_answer.to_schema()
        if self.output.typed:
            function = {**finish["function"], "parameters": self.output.final_answer_parameters()}
            finish = {**finish, "function": function}
        return {"tools": [*schemas, finish]}

    def _prelude(self, given: dict[str, Any]) -> None:
        variables.as_json(given)  # refuses what cannot be shown as JSON, before the run starts

    def _variables_note(self, given: dict[str, Any]) -> str:
        lines = [
            f"- `{name}`: {json.dumps(value, ensure_ascii=False)}"
            for name, value in variables.as_json(given).items()
        ]
        return "\n\nValues given with the task (as JSON):\n" + "\n".join(lines)

    def _parse(self, step: Step) -> Calls | None:
        if not step.tool_calls:
            step.error = "the reply called no tool"
            step.observation = prompts.NO_TOOL_CALL
            return None
        step.action = json.dumps(
            [{"name": c.name, "arguments": c.arguments} for c in step.tool_calls], default=repr
        )
        return [(call, None) for call in step.tool_calls]

    def _approvals(self, step: Step, calls: Calls) -> Generator[Ask, Any, Calls]:
        checked: Calls = []
        for call, _ in calls:
            if call.name == "final_answer":  # nothing runs: the answer is checked, not approved
                checked.append((call, None))
                continue
            arguments = call.arguments if isinstance(call.arguments, dict) else {}
            action = Action("tool", self.name, step.index, tool=call.name, arguments=arguments)
            reason = yield Ask(action)
            if reason is not None:
                step.refusals.append(Refusal(action.describe(), reason))
            checked.append((call, reason))
        return checked

    def _execute(self, calls: Calls, time_left: float | None) -> list[Outcome]:
        if len(calls) == 1:
            return [self._call(*calls[0])]
        with ThreadPoolExecutor(max_workers=min(len(calls), 8)) as pool:
            # each call in a copy of this context: it records into this step, nests views
            runs = [pool.submit(contextvars.copy_context().run, self._call, *c) for c in calls]
            return [future.result() for future in runs]

    async def _aexecute(self, calls: Calls, time_left: float | None) -> list[Outcome]:
        import asyncio  # not at module level: keeps `import codeact` fast

        return list(await asyncio.gather(*(self._acall(*call) for call in calls)))

    def _observe(self, step: Step, outcomes: list[Outcome]) -> None:
        done = list(zip(step.tool_calls, outcomes, strict=True))
        step.tool_results = [text for _, (text, _) in done]
        step.observation = _observation(step)
        step.error = "; ".join(f"{call.name}: {err}" for call, (_, err) in done if err) or None
        for call, (_, err) in done:
            if call.name == "final_answer" and err is None:
                step.is_final, step.final_answer = True, call.arguments.get("answer")

    def _reject(self, step: Step, why: str) -> None:
        for i, call in enumerate(step.tool_calls):
            if call.name == "final_answer":
                step.tool_results[i] = f"Error: {why}"
        step.observation = _observation(step)

    def _call(self, call: ToolCall, refused: str | None = None) -> Outcome:
        """Run one tool call (in this thread), unless it was refused."""
        if refused is not None:
            return refused, None
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

    async def _acall(self, call: ToolCall, refused: str | None = None) -> Outcome:
        """Run one tool call under asyncio: an async tool awaited here, others in a thread."""
        tool = self._tool_for(call)
        if refused is not None or not isinstance(tool, Tool) or tool is final_answer:
            return self._call(call, refused)
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
        messages = [reply] + [
            {"role": "tool", "tool_call_id": call.id, "content": text}
            for call, text in zip(step.tool_calls, step.tool_results, strict=True)
        ]
        if step.images:
            shown = with_images(step, "The images the tools returned:")
            messages.append({"role": "user", "content": shown})
        return messages


def _observation(step: Step) -> str:
    pairs = zip(step.tool_calls, step.tool_results, strict=True)
    return "\n".join(f"{call.name}: {text}" for call, text in pairs)


def _call_failed(exc: Exception) -> Outcome:
    if isinstance(exc, ToolError):
        return f"Error: {exc}", str(exc)
    error = f"{type(exc).__name__}: {exc}"
    return f"Error: {error}", error


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        return repr(value)
