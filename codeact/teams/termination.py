"""When a conversation ends: conditions checked after every turn, composed with ``|`` and ``&``.

    MaxTurns(6) | TextMention("APPROVED") | Timeout(60) | TokenBudget(50_000)

Conditions are checked between turns: a turn that is running when a ``Timeout`` expires or a
``TokenBudget`` runs out finishes (its work is kept), and the conversation ends right after it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from codeact.models import TokenUsage


@dataclass
class ChatState:
    """What termination conditions look at: the messages so far, how many agent turns there
    were, when the conversation started (``time.monotonic()``), and what it used (the turns,
    the speaker selector's and the summariser's model calls)."""

    messages: list[dict[str, str]]
    turns: int
    started: float
    token_usage: TokenUsage
    cost_usd: float | None = None


class Termination:
    """A condition that ends a conversation; ``a | b`` ends on either, ``a & b`` on both."""

    def check(self, state: ChatState) -> str | None:
        """The reason to stop now, or ``None`` to go on."""
        raise NotImplementedError

    def __or__(self, other: Termination) -> Termination:
        return _AnyOf([self, other])

    def __and__(self, other: Termination) -> Termination:
        return _AllOf([self, other])


@dataclass
class MaxTurns(Termination):
    """Stop after ``turns`` agent messages."""

    turns: int

    def check(self, state: ChatState) -> str | None:
        return f"max turns ({self.turns})" if state.turns >= self.turns else None


@dataclass
class TextMention(Termination):
    """Stop when the latest agent message contains ``text`` (case-insensitive by default)."""

    text: str
    case_sensitive: bool = False

    def check(self, state: ChatState) -> str | None:
        if state.turns == 0:
            return None
        content = state.messages[-1]["content"]
        found = (
            self.text in content if self.case_sensitive else self.text.lower() in content.lower()
        )
        return f"mentioned {self.text!r}" if found else None


@dataclass
class Timeout(Termination):
    """Stop once ``seconds`` have passed since the conversation started. Checked between turns:
    a turn running at the deadline finishes, then the conversation ends."""

    seconds: float

    def check(self, state: ChatState) -> str | None:
        elapsed = time.monotonic() - state.started
        return f"timeout ({self.seconds:g} s)" if elapsed >= self.seconds else None


@dataclass
class TokenBudget(Termination):
    """Stop once the conversation has used ``tokens`` tokens (input + output) in all."""

    tokens: int

    def check(self, state: ChatState) -> str | None:
        used = state.token_usage.total_tokens
        return f"token budget ({used} >= {self.tokens})" if used >= self.tokens else None


@dataclass
class _AnyOf(Termination):
    conditions: list[Termination]

    def check(self, state: ChatState) -> str | None:
        return next((r for c in self.conditions if (r := c.check(state))), None)

    def __or__(self, other: Termination) -> Termination:
        return _AnyOf([*self.conditions, other])


@dataclass
class _AllOf(Termination):
    conditions: list[Termination]

    def check(self, state: ChatState) -> str | None:
        reasons = [c.check(state) for c in self.conditions]
        return " and ".join(r for r in reasons if r) if all(reasons) else None

    def __and__(self, other: Termination) -> Termination:
        return _AllOf([*self.conditions, other])


def mentions(condition: Termination | None) -> Iterator[TextMention]:
    """Every ``TextMention`` in a composed condition (their words are stripped from summaries)."""
    if isinstance(condition, TextMention):
        yield condition
    elif isinstance(condition, (_AnyOf, _AllOf)):
        for c in condition.conditions:
            yield from mentions(c)
