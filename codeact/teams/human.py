"""A person in the conversation, taking turns like any agent."""

from __future__ import annotations

import time
from collections.abc import Callable

from codeact.memory import RunResult
from codeact.models import TokenUsage
from codeact.teams.summary import transcript


class HumanAgent:
    """A person in the conversation: each turn shows them what was said and asks for their
    message through ``input_fn`` (default: ``input()``).

    In a chat they see the messages since they last spoke (all of them on their first turn),
    then the prompt ``"<name>> "``; never the instructions meant for a model.
    """

    def __init__(
        self,
        name: str = "human",
        description: str = "A human who can answer questions and give feedback.",
        input_fn: Callable[[str], str] = input,
    ) -> None:
        self.name, self.description, self.input_fn = name, description, input_fn

    def run(self, task: str) -> RunResult:
        """Outside a chat: show ``task`` and ask for the answer."""
        return self._ask(f"{task}\n{self.name}> ", task)

    def respond(self, task: str, messages: list[dict[str, str]]) -> RunResult:
        """A turn in a chat: the new messages, then the prompt."""
        own = [i for i, m in enumerate(messages) if m["name"] == self.name]
        unseen = messages[own[-1] + 1 :] if own else messages
        shown = transcript(unseen)
        return self._ask(f"{shown}\n{self.name}> " if shown else f"{self.name}> ", shown)

    async def arespond(self, task: str, messages: list[dict[str, str]]) -> RunResult:
        import asyncio

        return await asyncio.to_thread(self.respond, task, messages)

    def _ask(self, prompt: str, task: str) -> RunResult:
        started = time.perf_counter()
        answer = self.input_fn(prompt)
        return RunResult(answer, "success", [], TokenUsage(), time.perf_counter() - started, task)
