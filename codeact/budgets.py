"""Caps on a run: steps, tokens, wall-clock time, cost and tool calls.

A ``Budget`` counts what a run has spent and says which cap, if any, it has hit; the loop then
asks the model once for its best answer and ends the run in the state named for the cap
(``"max_steps"``, ``"max_tokens"``, ``"max_time"``, ``"max_cost"``). Time is also passed down:
the loop gives a model call and a sandbox run no more than the time left, so neither overruns
``max_time_s`` by more than the sandbox's own interrupt grace. The tool-call cap is different:
past it a tool call fails with an error the model sees, and the run goes on.
"""

from __future__ import annotations

import threading
import time
import warnings
from dataclasses import asdict, dataclass, fields
from typing import Any

from codeact.models import ChatMessage, TokenUsage
from codeact.tools import ToolError

#: The last request for a best answer may take this long after ``max_time_s`` ran out.
FINAL_ANSWER_GRACE_S = 30.0


@dataclass
class Limits:
    """The caps of one run; ``None`` is no cap. Steps count actions, not planning steps."""

    max_steps: int = 10
    max_tokens: int | None = None
    max_time_s: float | None = None
    max_cost_usd: float | None = None
    max_tool_calls: int | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and (isinstance(value, bool) or not value > 0):
                raise ValueError(f"{f.name} must be a positive number or None, got {value!r}")


@dataclass
class Spent:
    """What a run has used so far (saved in checkpoints, so a resumed run keeps counting)."""

    steps: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    time_s: float = 0.0
    cost_usd: float = 0.0
    tool_calls: int = 0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Spent:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


class Budget:
    """Counts one run's spending against its ``Limits``."""

    def __init__(self, limits: Limits, spent: Spent | None = None, model_id: str = "") -> None:
        self.limits = limits
        self.spent = spent or Spent()
        self.model_id = model_id
        self._clock = time.monotonic()
        self._time_before = self.spent.time_s  # spent by earlier processes (a resumed run)
        self._lock = threading.Lock()
        self._warned_unpriced = False

    def elapsed(self) -> float:
        return self._time_before + time.monotonic() - self._clock

    def add_reply(self, reply: ChatMessage) -> None:
        """Count a model reply's tokens and price."""
        self.add_usage(reply.usage, reply.cost_usd, getattr(reply, "model_id", None))

    def add_usage(self, usage: TokenUsage, cost_usd: float | None, model: str | None) -> None:
        """Count tokens and cost (a reply's, or a sub-agent's whole run)."""
        with self._lock:
            self.spent.input_tokens += usage.input_tokens
            self.spent.output_tokens += usage.output_tokens
            if cost_usd is not None:
                self.spent.cost_usd += cost_usd
            elif self.limits.max_cost_usd is not None and usage.total_tokens:
                self._warn_unpriced(model or self.model_id)

    def add_step(self) -> None:
        self.spent.steps += 1

    def take_tool_call(self, name: str) -> None:
        """Count one tool call; past ``max_tool_calls`` raise the ``ToolError`` the model sees."""
        cap = self.limits.max_tool_calls
        with self._lock:
            if cap is not None and self.spent.tool_calls >= cap:
                raise ToolError(
                    f"{name}() was not called: this run has used all {cap} tool calls it may "
                    "make (max_tool_calls); finish with what you have"
                )
            self.spent.tool_calls += 1

    def exceeded(self) -> tuple[str, str] | None:
        """``(state, why)`` for the first cap reached, or ``None`` while the run may go on."""
        limits, spent = self.limits, self.spent
        if spent.steps >= limits.max_steps:
            return "max_steps", f"stopped after max_steps={limits.max_steps}"
        if limits.max_tokens is not None and spent.tokens >= limits.max_tokens:
            return "max_tokens", (
                f"stopped at {spent.tokens:,} tokens (max_tokens={limits.max_tokens:,})"
            )
        if limits.max_time_s is not None and self.elapsed() >= limits.max_time_s:
            return "max_time", (
                f"stopped after {self.elapsed():.1f} s (max_time_s={limits.max_time_s:g})"
            )
        if limits.max_cost_usd is not None and spent.cost_usd >= limits.max_cost_usd:
            return "max_cost", (
                f"stopped at ${spent.cost_usd:.4f} (max_cost_usd={limits.max_cost_usd:g})"
            )
        return None

    def time_left(self) -> float | None:
        """Seconds until ``max_time_s`` (never below zero), or ``None`` without a time cap."""
        if self.limits.max_time_s is None:
            return None
        return max(0.0, self.limits.max_time_s - self.elapsed())

    def snapshot(self) -> Spent:
        """What has been spent, with the time so far (for checkpoints)."""
        with self._lock:
            return Spent(**{**self.spent.to_dict(), "time_s": self.elapsed()})

    def _warn_unpriced(self, model: str) -> None:
        if self._warned_unpriced:
            return
        self._warned_unpriced = True
        warnings.warn(
            f"max_cost_usd is set but model {model!r} has no known price (LiteLLM cannot price "
            "it), so its replies are not counted against the cost cap",
            RuntimeWarning,
            stacklevel=2,
        )


def capped(seconds: float | None, left: float | None) -> float | None:
    """The smaller of a configured timeout and the time left (``None`` is no limit)."""
    if left is None:
        return seconds
    return left if seconds is None else min(seconds, left)
