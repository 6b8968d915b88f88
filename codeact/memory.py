"""What a run remembers: step records and the run's result, saved and loaded as JSON.

The step list is the memory; chat messages are rendered from it by the agent. A saved run
keeps every model reply in ``model_outputs``, so ``ScriptedModel.from_run(path)`` replays it,
and what is needed to understand it later (``RunResult.meta``: model, agent, tools, sandbox,
settings, system prompt, library version, start time; each tool call with its result).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from codeact.models import ChatMessage, TokenUsage, ToolCall


@dataclass
class ToolUse:
    """One call of a host tool during a step, as the tool saw it.

    ``arguments`` are by parameter name (positional ones as ``"args"``); ``result`` is the value
    returned (long values shortened), ``error`` the short message the model was shown and
    ``traceback`` the full host-side traceback, for whoever debugs the tool. ``run`` is the
    sub-agent's own run when the tool was an agent (``agent.as_tool()``).
    """

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    error: str | None = None
    traceback: str | None = None
    duration_s: float = 0.0
    run: RunResult | None = None


@dataclass
class Refusal:
    """An action that ``approve`` refused: what it was (the code, or ``name(arguments)``) and
    what the model was told."""

    action: str
    reason: str


@dataclass
class Step:
    """One think → act → observe cycle, or a planning step.

    ``kind`` is ``"action"`` or ``"plan"`` (the model wrote its plan; nothing ran). ``action``
    is the code that ran (CodeAgent) or the tool calls made (ToolCallingAgent); ``observation``
    is exactly what the model was shown next (``images`` too: ``data:`` URLs of images the
    tools returned); ``error`` is the model's mistake of this step, if any (no code, syntax
    error, exception, unknown tool, bad arguments, an answer of the wrong type).
    ``tool_uses`` are the host tools the action called, in order, with their results;
    ``refusals`` the actions ``approve`` did not let run. ``reasoning`` is a reasoning model's
    thinking, ``model_id`` the model that answered (one of a ``LiteLLMModel``'s fallbacks), and
    ``compaction`` says what was done to keep the conversation in its budget after this step.
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
    tool_uses: list[ToolUse] = field(default_factory=list)
    kind: str = "action"
    refusals: list[Refusal] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    reasoning: str | None = None
    model_id: str | None = None
    compaction: str | None = None
    thinking_blocks: list[dict[str, Any]] | None = None

    def reply(self) -> ChatMessage:
        """The model's reply of this step, as it came (as it is sent back to the model)."""
        return ChatMessage(
            self.model_output, list(self.tool_calls), thinking_blocks=self.thinking_blocks
        )


@dataclass
class RunResult:
    """The outcome of ``agent.run``.

    ``state`` is ``"success"``; ``"max_steps"``, ``"max_tokens"``, ``"max_time"`` or
    ``"max_cost"`` (a cap was reached: ``output`` is then the model's best answer, unchecked);
    ``"error"``; or ``"interrupted"`` (a streamed run left early). ``output`` is the final answer
    (an instance of the agent's ``output_type`` when it has one; ``None`` unless there was an
    answer); ``error`` says why a run did not succeed. ``token_usage`` and ``cost_usd`` include
    the runs of sub-agents called as tools. ``str(result)`` is a one-paragraph summary.
    """

    output: Any
    state: str
    steps: list[Step]
    token_usage: TokenUsage
    duration_s: float
    task: str = ""
    error: str | None = None
    model_outputs: list[Any] = field(default_factory=list)
    cost_usd: float | None = None  # summed over the replies whose price the model knew
    meta: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        steps = len(self.steps)
        line = f"{self.state} after {steps} step{'s' * (steps != 1)} in {self.duration_s:.1f} s"
        line += f", {self.token_usage.total_tokens:,} tokens"
        if self.cost_usd is not None:
            line += f", ${self.cost_usd:.4f}"
        if self.state == "success" or self.output is not None:
            line += f"\nanswer: {_short(self.output)}"
        if self.error:
            line += f"\nerror: {_short(self.error)}"
        return line

    def to_dict(self) -> dict[str, Any]:
        """The run as JSON-ready data (values that are not JSON as their ``repr``)."""
        data = asdict(self)
        data["output"] = _jsonable(self.output)
        data["meta"] = _jsonable(self.meta)
        for step, raw in zip(self.steps, data["steps"], strict=True):
            raw["final_answer"] = _jsonable(step.final_answer)
            for use, raw_use in zip(step.tool_uses, raw["tool_uses"], strict=True):
                raw_use["arguments"] = _jsonable(use.arguments)
                raw_use["result"] = _jsonable(use.result)
                raw_use["run"] = use.run.to_dict() if use.run is not None else None
        return data

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the run as JSON; ``ScriptedModel.from_run(path)`` replays it."""
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, indent=2, ensure_ascii=False)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RunResult:
        """Read a run written by ``save``."""
        with open(path, encoding="utf-8") as fh:
            return cls.from_dict(json.load(fh))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        """The inverse of ``to_dict``; missing fields get defaults, unknown ones are ignored
        (a run saved by another version still loads)."""
        return cls(
            **{
                **_known(cls, data),
                "output": data.get("output"),
                "state": data.get("state", "unknown"),
                "duration_s": data.get("duration_s", 0.0),
                "steps": [_step_from_dict(s) for s in data.get("steps", [])],
                "token_usage": _usage(data.get("token_usage")),
            }
        )


def _step_from_dict(data: dict[str, Any]) -> Step:
    uses = [
        ToolUse(
            **{**_known(ToolUse, u), "run": RunResult.from_dict(u["run"]) if u.get("run") else None}
        )
        for u in data.get("tool_uses", [])
    ]
    return Step(
        **{
            **_known(Step, data),
            "index": data.get("index", 0),
            "model_output": data.get("model_output"),
            "tool_calls": [ToolCall(**_known(ToolCall, c)) for c in data.get("tool_calls", [])],
            "token_usage": _usage(data.get("token_usage")),
            "tool_uses": uses,
            "refusals": [Refusal(**_known(Refusal, r)) for r in data.get("refusals", [])],
        }
    )


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def _usage(data: Any) -> TokenUsage:
    return TokenUsage(**_known(TokenUsage, data)) if isinstance(data, dict) else TokenUsage()


def scripted_reply(message: ChatMessage) -> str | dict[str, Any]:
    """A model reply in ``ScriptedModel``'s format: the text, or a dict when it has tool calls
    or reasoning."""
    if not message.tool_calls and not message.reasoning:
        return message.content or ""
    reply: dict[str, Any] = {"content": message.content}
    if message.tool_calls:
        reply["tool_calls"] = [
            {"name": c.name, "arguments": c.arguments} for c in message.tool_calls
        ]
    if message.reasoning:
        reply["reasoning"] = message.reasoning
    return reply


def _short(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _jsonable(value: Any, depth: int = 0) -> Any:
    """``value`` if it is JSON, else its JSON parts kept and the rest as ``repr`` (typed
    answers as their data: a pydantic model's ``model_dump``, a dataclass's fields)."""
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError, RecursionError):
        pass
    if hasattr(value, "model_dump") and not isinstance(value, type):
        with contextlib.suppress(Exception):
            return _jsonable(value.model_dump(mode="json"), depth + 1)
    if dataclasses.is_dataclass(value) and not isinstance(value, type) and depth < 20:
        return _jsonable(dataclasses.asdict(value), depth + 1)
    if isinstance(value, dict) and depth < 20:
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and depth < 20:
        return [_jsonable(v, depth + 1) for v in value]
    try:
        return repr(value)
    except Exception:
        return f"<{type(value).__name__} object>"
