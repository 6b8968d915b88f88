"""What a run remembers: step records and the run's result, saved and loaded as JSON.

The step list is the memory; chat messages are rendered from it by the agent. A saved run
keeps every model reply in ``model_outputs``, so ``ScriptedModel.from_run(path)`` replays it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from codeact.models import ChatMessage, TokenUsage, ToolCall


@dataclass
class Step:
    """One think → act → observe cycle.

    ``action`` is the code that ran (CodeAgent) or the tool calls made (ToolCallingAgent);
    ``observation`` is exactly what the model was shown next; ``error`` is the model's mistake
    of this step, if any (no code, syntax error, exception, unknown tool, bad arguments).
    """

    index: int
    model_output: str | None
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_results: list[str] = field(default_factory=list)
    action: str | None = None
    observation: str = ""
    error: str | None = None
    is_final: bool = False
    final_answer: Any = None
    duration_s: float = 0.0
    token_usage: TokenUsage = field(default_factory=TokenUsage)
    cost_usd: float | None = None

    def reply(self) -> ChatMessage:
        """The model's reply of this step, as it came."""
        return ChatMessage(content=self.model_output, tool_calls=list(self.tool_calls))


@dataclass
class RunResult:
    """The outcome of ``agent.run``: ``state`` is ``"success"``, ``"max_steps"`` or ``"error"``."""

    output: Any
    state: str
    steps: list[Step]
    token_usage: TokenUsage
    duration_s: float
    task: str = ""
    error: str | None = None
    model_outputs: list[Any] = field(default_factory=list)
    cost_usd: float | None = None  # summed over the replies whose price the model knew

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["output"] = _jsonable(self.output)
        for step in data["steps"]:
            step["final_answer"] = _jsonable(step["final_answer"])
        return data

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the run as JSON; ``ScriptedModel.from_run(path)`` replays it."""
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, indent=2, ensure_ascii=False)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RunResult:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        steps = [
            Step(
                **{
                    **s,
                    "tool_calls": [ToolCall(**c) for c in s.get("tool_calls", [])],
                    "token_usage": TokenUsage(**s.get("token_usage", {})),
                }
            )
            for s in data.pop("steps")
        ]
        usage = TokenUsage(**data.pop("token_usage"))
        return cls(steps=steps, token_usage=usage, **data)


def scripted_reply(message: ChatMessage) -> str | dict[str, Any]:
    """A model reply in ``ScriptedModel``'s format: the text, or a dict when it has tool calls."""
    if not message.tool_calls:
        return message.content or ""
    calls = [{"name": c.name, "arguments": c.arguments} for c in message.tool_calls]
    return {"content": message.content, "tool_calls": calls}


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)
