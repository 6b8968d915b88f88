"""Conversations between agents: two-agent chat, group chat, nested chats, termination.

A conversation is a list of ``{"name", "content"}`` messages. Each turn of an agent is one
``run`` of that agent on the conversation so far; its final answer is its message. Termination
conditions compose with ``|`` and ``&``::

    chat(writer, critic, "Write a haiku about rain.", until=MaxTurns(6) | TextMention("APPROVED"))
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from codeact.memory import RunResult
from codeact.models import Model, ModelError, TokenUsage
from codeact.tools import Tool


class Speaker(Protocol):
    """Anything that can take a turn: agents, and ``HumanAgent``."""

    name: str
    description: str

    def run(self, task: str) -> Any: ...


@dataclass
class ChatResult:
    """A finished conversation: all ``messages``, a ``summary`` (the last message) and why it
    stopped (``stop_reason``), with the tokens its turns used."""

    messages: list[dict[str, str]]
    summary: str
    stop_reason: str
    token_usage: TokenUsage = field(default_factory=TokenUsage)
    duration_s: float = 0.0


@dataclass
class ChatState:
    """What termination conditions look at."""

    messages: list[dict[str, str]]
    turns: int
    started: float
    token_usage: TokenUsage


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
    """Stop once ``seconds`` have passed since the conversation started (checked between turns)."""

    seconds: float

    def check(self, state: ChatState) -> str | None:
        elapsed = time.monotonic() - state.started
        return f"timeout ({self.seconds:g} s)" if elapsed >= self.seconds else None


@dataclass
class TokenBudget(Termination):
    """Stop once the turns have used ``tokens`` tokens (input + output) in all."""

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


class HumanAgent:
    """A person in the conversation: each turn asks ``input_fn`` (default: ``input()``)."""

    def __init__(
        self,
        name: str = "human",
        description: str = "A human who can answer questions and give feedback.",
        input_fn: Callable[[str], str] = input,
    ) -> None:
        self.name, self.description, self.input_fn = name, description, input_fn

    def run(self, task: str) -> RunResult:
        started = time.perf_counter()
        answer = self.input_fn(f"{task}\n{self.name}> ")
        return RunResult(answer, "success", [], TokenUsage(), time.perf_counter() - started, task)


def render_turn(speaker: Speaker, others: Sequence[Speaker], messages: list[dict[str, str]]) -> str:
    """The task given to ``speaker`` for its turn: who it is, and the conversation so far."""
    names = ", ".join(o.name for o in others if o is not speaker) or "others"
    transcript = "\n\n".join(f"[{m['name']}]: {m['content']}" for m in messages)
    return (
        f"You are {speaker.name} ({speaker.description}) in a conversation with {names}.\n"
        f"The conversation so far:\n\n{transcript}\n\n"
        f"Write {speaker.name}'s next message. Give exactly that message as your final answer."
    )


class _Conversation:
    """The loop shared by two-agent and group chats: pick a speaker, take a turn, check."""

    def __init__(
        self, speakers: Sequence[Speaker], until: Termination | None, limit: Termination
    ) -> None:
        if len({s.name for s in speakers}) != len(speakers):
            raise ValueError("agents in a conversation need distinct names (pass name=...)")
        self.speakers = list(speakers)
        self.until = limit if until is None else limit | until

    def converse(
        self, first: dict[str, str], pick: Callable[[list[dict[str, str]], int], Speaker]
    ) -> ChatResult:
        state = ChatState([dict(first)], 0, time.monotonic(), TokenUsage())
        started = time.perf_counter()
        reason = None
        while reason is None:
            speaker = pick(state.messages, state.turns)
            try:
                result = speaker.run(render_turn(speaker, self.speakers, state.messages))
            except ModelError as exc:  # the model is unreachable: the chat ends with the reason
                if exc.result is None:
                    raise
                result = exc.result
            state.token_usage = state.token_usage + result.token_usage
            if result.state == "error":
                reason = f"{speaker.name} failed: {result.error}"
                break
            content = result.output if isinstance(result.output, str) else str(result.output)
            state.messages.append({"name": speaker.name, "content": content})
            state.turns += 1
            reason = self.until.check(state)
        summary = state.messages[-1]["content"] if state.turns else ""
        return ChatResult(
            state.messages, summary, reason, state.token_usage, time.perf_counter() - started
        )


class Chat:
    """Two agents on one conversation: ``a`` opens, then they take turns, ``b`` first."""

    def __init__(
        self, a: Speaker, b: Speaker, *, max_turns: int = 10, until: Termination | None = None
    ) -> None:
        self.a, self.b, self.max_turns, self.until = a, b, max_turns, until

    def run(self, message: str) -> ChatResult:
        """``a`` sends ``message``; the chat ends on ``until`` or after ``max_turns`` replies."""
        pair = [self.b, self.a]
        return _Conversation(pair, self.until, MaxTurns(self.max_turns)).converse(
            {"name": self.a.name, "content": message}, lambda _messages, turn: pair[turn % 2]
        )

    def as_tool(self, name: str, description: str) -> Tool:
        """This chat as a tool (a nested chat): the opening message is the tool's ``task``."""
        return _summary_tool(self.run, name, description)


def chat(
    a: Speaker,
    b: Speaker,
    message: str,
    *,
    max_turns: int = 10,
    until: Termination | None = None,
) -> ChatResult:
    """``a`` sends ``message`` to ``b``; then they take turns, ``b`` first, until a condition
    (``until``, or ``max_turns`` agent turns) ends the chat."""
    return Chat(a, b, max_turns=max_turns, until=until).run(message)


Selector = Callable[[list[dict[str, str]], Sequence[Speaker]], Speaker]


class GroupChat:
    """Several agents on one conversation; ``select`` picks who speaks next.

    ``select`` is ``"round_robin"``, ``"random"``, ``"auto"`` (``model`` reads the agents'
    descriptions and names the next speaker; an answer that names no agent falls back to
    round-robin), or a callable ``(messages, agents) -> agent``.
    """

    def __init__(
        self,
        agents: Sequence[Speaker],
        *,
        select: str | Selector = "round_robin",
        model: Model | None = None,
        until: Termination | None = None,
        max_rounds: int = 10,
        seed: int | None = None,
    ) -> None:
        if not agents:
            raise ValueError("a group chat needs at least one agent")
        if select == "auto" and model is None:
            raise ValueError('select="auto" needs model= (the model that picks speakers)')
        if isinstance(select, str) and select not in ("round_robin", "random", "auto"):
            raise ValueError(
                f"unknown select {select!r}; use round_robin, random, auto or a "
                "callable (messages, agents) -> agent"
            )
        self.agents = list(agents)
        self.select, self.model = select, model
        self.until, self.max_rounds = until, max_rounds
        self._random = random.Random(seed)
        self.fallbacks = 0  # times "auto" fell back to round-robin

    def run(self, task: str) -> ChatResult:
        """Start the conversation with ``task`` (from "user") and let the agents work on it."""
        conversation = _Conversation(self.agents, self.until, MaxTurns(self.max_rounds))
        return conversation.converse({"name": "user", "content": task}, self._pick)

    def _pick(self, messages: list[dict[str, str]], turn: int) -> Speaker:
        if callable(self.select):
            chosen = self.select(messages, self.agents)
            if chosen not in self.agents:
                raise ValueError(f"select returned {chosen!r}, which is not in this group chat")
            return chosen
        if self.select == "random":
            return self._random.choice(self.agents)
        if self.select == "auto":
            chosen = self._ask_model(messages)
            if chosen is not None:
                return chosen
            self.fallbacks += 1
        return self.agents[turn % len(self.agents)]

    def _ask_model(self, messages: list[dict[str, str]]) -> Speaker | None:
        assert self.model is not None
        roster = "\n".join(f"- {a.name}: {a.description}" for a in self.agents)
        transcript = "\n\n".join(f"[{m['name']}]: {m['content']}" for m in messages)
        prompt = (
            f"These agents work together on a conversation:\n{roster}\n\n"
            f"The conversation so far:\n\n{transcript}\n\n"
            "Who should speak next? Reply with the agent's name only."
        )
        try:
            reply = self.model.generate([{"role": "user", "content": prompt}]).content or ""
        except ModelError:
            return None
        answer = reply.strip().strip("`'\".").lower()
        by_name = {a.name.lower(): a for a in self.agents}
        if answer in by_name:
            return by_name[answer]
        mentioned = [a for name, a in by_name.items() if name in answer]
        return mentioned[0] if len(mentioned) == 1 else None

    def as_tool(self, name: str, description: str) -> Tool:
        """This group chat as a tool (a nested chat): an agent pauses, runs the conversation
        on ``task``, and gets its summary back."""
        return _summary_tool(self.run, name, description)


def _summary_tool(run: Callable[[str], ChatResult], name: str, description: str) -> Tool:
    def nested_chat(task: str) -> str:
        """Run a conversation and return its summary.

        Args:
            task: What the conversation should work out.
        """
        return run(task).summary

    return Tool(nested_chat, name=name, description=description)
