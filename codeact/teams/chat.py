"""Two agents on one conversation, and chats run one after another with carryover."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from codeact.models import Model
from codeact.teams import summary as summaries
from codeact.teams.checkpoint import CheckpointPath
from codeact.teams.conversation import Conversation, Speaker, TurnCallback, turn_limit
from codeact.teams.driver import Call, Loop, adrive, drive
from codeact.teams.result import ChatResult, Turn
from codeact.teams.termination import ChatState, Termination


class Chat(Conversation):
    """Two agents on one conversation: ``a`` opens, then they take turns, ``b`` first.

    ``summary`` is ``"last"`` (the last message, without the words that ended the chat),
    ``"reflection"`` (``summary_model`` — by default ``a`` 's model — writes it, asked with
    ``summary_prompt``) or a function ``(messages) -> str``. ``turn_callbacks`` are called with
    each ``Turn`` as it ends.
    """

    kind = "chat"

    def __init__(
        self,
        a: Speaker,
        b: Speaker,
        *,
        max_turns: int = 10,
        until: Termination | None = None,
        summary: summaries.Summary = "last",
        summary_model: Model | None = None,
        summary_prompt: str = summaries.SUMMARY_PROMPT,
        turn_callbacks: Sequence[TurnCallback] = (),
        name: str = "chat",
    ) -> None:
        if summary == "reflection" and summary_model is None:
            summary_model = getattr(a, "model", None)
        super().__init__(
            [a, b],
            until=until,
            limit=turn_limit("max_turns", max_turns),
            summary=summary,
            summary_model=summary_model,
            summary_prompt=summary_prompt,
            turn_callbacks=turn_callbacks,
            name=name,
        )
        self.a, self.b, self.max_turns = a, b, max_turns

    def run(self, message: str, *, checkpoint: CheckpointPath | None = None) -> ChatResult:
        """``a`` sends ``message``; the chat ends on ``until`` or after ``max_turns`` replies.
        ``checkpoint``: a JSON file the chat is saved to after every turn and resumed from."""
        return super().run(message, checkpoint=checkpoint)

    def _opening(self, task: str) -> dict[str, str]:
        return {"name": self.a.name, "content": task}

    def _pick(self, state: ChatState, turns: list[Turn]) -> Speaker:
        return self.b if state.turns % 2 == 0 else self.a


def chat(
    a: Speaker,
    b: Speaker,
    message: str,
    *,
    max_turns: int = 10,
    until: Termination | None = None,
    summary: summaries.Summary = "last",
    summary_model: Model | None = None,
    summary_prompt: str = summaries.SUMMARY_PROMPT,
    turn_callbacks: Sequence[TurnCallback] = (),
    checkpoint: CheckpointPath | None = None,
) -> ChatResult:
    """``a`` sends ``message`` to ``b``; then they take turns, ``b`` first, until a condition
    (``until``, or ``max_turns`` agent turns) ends the chat. See ``Chat`` for the options."""
    return Chat(
        a,
        b,
        max_turns=max_turns,
        until=until,
        summary=summary,
        summary_model=summary_model,
        summary_prompt=summary_prompt,
        turn_callbacks=turn_callbacks,
    ).run(message, checkpoint=checkpoint)


async def achat(
    a: Speaker,
    b: Speaker,
    message: str,
    *,
    max_turns: int = 10,
    until: Termination | None = None,
    summary: summaries.Summary = "last",
    summary_model: Model | None = None,
    summary_prompt: str = summaries.SUMMARY_PROMPT,
    turn_callbacks: Sequence[TurnCallback] = (),
    checkpoint: CheckpointPath | None = None,
) -> ChatResult:
    """The async twin of ``chat``: each turn is the agent's ``arun``."""
    return await Chat(
        a,
        b,
        max_turns=max_turns,
        until=until,
        summary=summary,
        summary_model=summary_model,
        summary_prompt=summary_prompt,
        turn_callbacks=turn_callbacks,
    ).arun(message, checkpoint=checkpoint)


# --- sequential chats ------------------------------------------------------------------------


class Team(Protocol):
    """Anything that works on a task and returns a ``ChatResult``: ``Chat``, ``GroupChat``,
    ``HandoffChat``, ``FanOut``."""

    def run(self, task: str) -> ChatResult: ...


def with_carryover(message: str, carryover: Sequence[str]) -> str:
    """``message`` followed by the summaries of earlier chats, as its context."""
    context = "\n\n".join(c for c in carryover if c.strip())
    return f"{message}\n\nContext from earlier conversations:\n{context}" if context else message


def sequential_chats(
    steps: Sequence[tuple[Team, str]], *, carryover: Sequence[str] = ()
) -> list[ChatResult]:
    """Run chats in order, each opened with its message plus the summaries of the chats
    before it (and ``carryover``, context given to the first). Returns every ``ChatResult``.

    A step is ``(team, message)``; the team is a ``Chat``, ``GroupChat``, ``HandoffChat``,
    ``FanOut``, or anything with ``run(task) -> ChatResult``.
    """
    return drive(sequence_loop(steps, carryover))


async def asequential_chats(
    steps: Sequence[tuple[Team, str]], *, carryover: Sequence[str] = ()
) -> list[ChatResult]:
    """The async twin of ``sequential_chats``."""
    return await adrive(sequence_loop(steps, carryover))


def sequence_loop(steps: Sequence[tuple[Team, str]], carryover: Sequence[str]) -> Loop:
    for step in steps:
        if not (isinstance(step, tuple) and len(step) == 2 and hasattr(step[0], "run")):
            raise TypeError(f"each step is (team, message), got {step!r}")
    results: list[ChatResult] = []
    context = list(carryover)
    for team, message in steps:
        result = yield team_call(team, with_carryover(message, context))
        results.append(result)
        context.append(result.summary)
    return results


def team_call(team: Any, task: str) -> Call:
    """A team's run on ``task``, in both colours (``arun`` when the team has one)."""

    async def async_() -> ChatResult:
        if hasattr(team, "arun"):
            return await team.arun(task)
        import asyncio

        return await asyncio.to_thread(team.run, task)

    return Call(lambda: team.run(task), async_)
