"""Nested chats triggered by messages: an agent that answers some messages by holding a chat.

    reviewed = NestedChats(writer, Chat(editor, fact_checker, max_turns=2), when="draft")

In a conversation, ``reviewed`` speaks as ``writer``; when the conversation's last message
matches ``when``, the nested chats run on it instead (in order, with carryover, like
``sequential_chats``) and the last one's summary is the reply. Otherwise ``writer`` takes its
turn as usual. (A chat can also be a tool an agent decides to call: ``Chat.as_tool``.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from codeact.teams.chat import Team, sequence_loop
from codeact.teams.conversation import Speaker, turn_call
from codeact.teams.driver import Loop, adrive, drive
from codeact.teams.result import ChatResult, TurnInfo, current_turn

Trigger = str | Callable[[list[dict[str, str]]], bool]


class NestedChats:
    """``agent``, answering with nested ``chats`` when the last message matches ``when``.

    ``when`` is a string (found in the last message, ignoring case) or a function
    ``(messages) -> bool``. ``message`` builds the nested chats' opening message from the
    conversation (default: the last message's text). Everything else (``name``, ``model``,
    ``tools`` ...) is the agent's.
    """

    def __init__(
        self,
        agent: Speaker,
        chats: Team | Sequence[Team],
        *,
        when: Trigger,
        message: Callable[[list[dict[str, str]]], str] | None = None,
    ) -> None:
        self.agent = agent
        self.chats: list[Team] = list(chats) if isinstance(chats, Sequence) else [chats]
        if not self.chats or not all(hasattr(c, "run") for c in self.chats):
            raise TypeError("chats must be a chat (Chat, GroupChat, ...) or a list of them")
        if not (isinstance(when, str) or callable(when)):
            raise TypeError("when must be a string or a function (messages) -> bool")
        self.when, self.message = when, message
        self.name, self.description = agent.name, agent.description

    def __getattr__(self, attribute: str) -> Any:
        if attribute == "agent":  # not set yet (during unpickling, copying)
            raise AttributeError(attribute)
        return getattr(self.agent, attribute)

    def triggered(self, messages: list[dict[str, str]]) -> bool:
        """Whether this conversation's last message starts the nested chats."""
        if not messages:
            return False
        if isinstance(self.when, str):
            return self.when.lower() in messages[-1]["content"].lower()
        return bool(self.when(list(messages)))

    def run(self, task: str) -> Any:
        """Outside a chat: the agent's own run."""
        return self.agent.run(task)

    def respond(self, task: str, messages: list[dict[str, str]]) -> Any:
        """A turn: the nested chats' results when triggered, else the agent's turn."""
        if self.triggered(messages):
            return drive(self._nested(messages))
        return self._own_turn(task, messages).sync()[0]

    async def arespond(self, task: str, messages: list[dict[str, str]]) -> Any:
        if self.triggered(messages):
            return await adrive(self._nested(messages))
        return (await self._own_turn(task, messages).async_())[0]

    def _own_turn(self, task: str, messages: list[dict[str, str]]) -> Any:
        info = current_turn() or TurnInfo("chat", 1, self.name)
        return turn_call(self.agent, task, messages, info)

    def _nested(self, messages: list[dict[str, str]]) -> Loop:
        opening = self.message(list(messages)) if self.message else messages[-1]["content"]
        results: list[ChatResult] = yield from sequence_loop([(c, opening) for c in self.chats], ())
        return results

    def __repr__(self) -> str:
        return f"NestedChats({self.agent!r}, {len(self.chats)} chat(s))"
