"""What a conversation leaves: its turns and a ``ChatResult``; and which turn is running now.

``current_turn()`` tells code running inside a turn (a step callback, a live view, a tool) which
chat, turn and speaker it belongs to, with the outer turn when chats are nested.
"""

from __future__ import annotations

import contextvars
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from codeact.memory import RunResult
from codeact.models import TokenUsage


@dataclass(frozen=True)
class TurnInfo:
    """The turn being taken: ``speaker`` speaks turn ``turn`` (from 1) of the chat named
    ``chat``; ``parent`` is the turn this chat runs inside, when it is nested."""

    chat: str
    turn: int
    speaker: str
    parent: TurnInfo | None = None

    @property
    def depth(self) -> int:
        """0 for a top-level chat, 1 for a chat nested in one of its turns, ..."""
        return 0 if self.parent is None else self.parent.depth + 1


_CURRENT: contextvars.ContextVar[TurnInfo | None] = contextvars.ContextVar(
    "codeact_turn", default=None
)


def current_turn() -> TurnInfo | None:
    """The turn this code runs in (e.g. inside a step callback), or ``None`` outside chats."""
    return _CURRENT.get()


@dataclass
class Turn:
    """One turn of a conversation: who spoke, what they said, and the run that said it.

    ``result`` is the speaker's ``RunResult`` (its steps, tokens, cost). When the turn was a
    nested chat, ``nested`` holds those chats' results and ``result`` sums them up.
    ``handoff_to`` names the agent this turn handed the conversation to, if any.
    """

    index: int
    speaker: str
    content: str
    result: RunResult
    duration_s: float = 0.0
    handoff_to: str | None = None
    nested: list[ChatResult] = field(default_factory=list)

    def to_dict(self, *, tasks: bool = True) -> dict[str, Any]:
        """As JSON data; ``tasks=False`` leaves out the task each run was given (in a chat it
        is the whole conversation so far, so keeping it would grow a checkpoint quadratically)."""
        result = self.result.to_dict()
        if not tasks:
            result.pop("task", None)
        return {
            "index": self.index,
            "speaker": self.speaker,
            "content": self.content,
            "result": result,
            "duration_s": self.duration_s,
            "handoff_to": self.handoff_to,
            "nested": [n.to_dict(tasks=tasks) for n in self.nested],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Turn:
        return cls(
            data["index"],
            data["speaker"],
            data["content"],
            RunResult.from_dict(data["result"]),
            data.get("duration_s", 0.0),
            data.get("handoff_to"),
            [ChatResult.from_dict(n) for n in data.get("nested", [])],
        )


@dataclass
class ChatResult:
    """A finished conversation.

    ``messages`` are ``{"name", "content"}`` dicts, the opening one first; ``summary`` is what
    the conversation concluded (see ``summary=``); ``stop_reason`` says why it ended. The totals
    (``token_usage``, ``cost_usd``, ``duration_s``) cover every model call the conversation
    made: the turns, the speaker selector and the summariser. ``turns[i].result`` is each
    turn's ``RunResult``. ``cost_usd`` is ``None`` when no call's price was known.
    """

    messages: list[dict[str, str]]
    summary: str
    stop_reason: str
    token_usage: TokenUsage = field(default_factory=TokenUsage)
    duration_s: float = 0.0
    cost_usd: float | None = None
    turns: list[Turn] = field(default_factory=list)
    summary_error: str | None = None  # why a reflection summary fell back to the last message

    def __str__(self) -> str:
        speakers = Counter(t.speaker for t in self.turns)
        who = ", ".join(f"{n} ×{c}" if c > 1 else n for n, c in speakers.items())
        parts = [
            f"{len(self.turns)} turn{'s' if len(self.turns) != 1 else ''}"
            + (f" ({who})" if who else ""),
            f"stopped: {self.stop_reason}",
            f"{self.token_usage.total_tokens} tokens",
        ]
        if self.cost_usd is not None:
            parts.append(f"${self.cost_usd:.4f}")
        parts.append(f"{self.duration_s:.2f} s")
        summary = " ".join(self.summary.split())
        if len(summary) > 200:
            summary = summary[:199] + "…"
        return " · ".join(parts) + f"\nsummary: {summary}"

    def to_dict(self, *, tasks: bool = True) -> dict[str, Any]:
        """As JSON data (``tasks``: as for ``Turn.to_dict``)."""
        return {
            "messages": [dict(m) for m in self.messages],
            "summary": self.summary,
            "stop_reason": self.stop_reason,
            "token_usage": {
                "input_tokens": self.token_usage.input_tokens,
                "output_tokens": self.token_usage.output_tokens,
            },
            "duration_s": self.duration_s,
            "cost_usd": self.cost_usd,
            "turns": [t.to_dict(tasks=tasks) for t in self.turns],
            "summary_error": self.summary_error,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatResult:
        return cls(
            [dict(m) for m in data["messages"]],
            data["summary"],
            data["stop_reason"],
            TokenUsage(**data.get("token_usage", {})),
            data.get("duration_s", 0.0),
            data.get("cost_usd"),
            [Turn.from_dict(t) for t in data.get("turns", [])],
            data.get("summary_error"),
        )


def add_cost(total: float | None, more: float | None) -> float | None:
    """Sum costs where known: ``None`` (unknown) only while nothing had a price."""
    if more is None:
        return total
    return more if total is None else total + more
