"""The conversation loop shared by two-agent chats, group chats and handoffs.

    messages = [opening message]
    until a condition ends it:
        speaker = pick(messages)                         # the team's rule
        message = speaker.run(render_turn(speaker, messages)).output
        messages.append({"name": speaker.name, "content": message})
        save a checkpoint; call the turn callbacks; check the conditions
    summary = summarise(messages)

Each team supplies only how the next speaker is picked (and, for handoffs, when an answer ends
the conversation). The loop is a generator run by ``driver.drive`` or ``driver.adrive``, so the
same code serves ``run`` and ``arun``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Sequence
from typing import Any, Protocol

from codeact import telemetry
from codeact.memory import RunResult
from codeact.models import Model, ModelConfigError, ModelError, TokenUsage
from codeact.teams import checkpoint as checkpoints
from codeact.teams import summary as summaries
from codeact.teams.checkpoint import CheckpointPath
from codeact.teams.driver import Call, Loop, adrive, drive
from codeact.teams.result import _CURRENT, ChatResult, Turn, TurnInfo, add_cost, current_turn
from codeact.teams.termination import ChatState, MaxTurns, Termination
from codeact.tools import Tool

TurnCallback = Callable[[Turn], None]


class Speaker(Protocol):
    """Anything that can take a turn: agents, ``HumanAgent``, ``NestedChats``.

    A speaker may also have ``respond(task, messages)`` (and ``arespond``): then the chat calls
    that instead of ``run``, with the raw messages besides the rendered task.
    """

    name: str
    description: str

    def run(self, task: str) -> Any: ...


def render_turn(
    speaker: Speaker, others: Sequence[Speaker], messages: list[dict[str, str]], note: str = ""
) -> str:
    """The task given to ``speaker`` for its turn: who it is, and the conversation so far."""
    names = ", ".join(o.name for o in others if o is not speaker) or "others"
    return (
        f"You are {speaker.name} ({speaker.description}) in a conversation with {names}.\n"
        f"The conversation so far:\n\n{summaries.transcript(messages)}\n\n"
        f"{note}"
        f"Write {speaker.name}'s next message. Give exactly that message as your final answer."
    )


def turn_call(speaker: Speaker, task: str, messages: list[dict[str, str]], info: TurnInfo) -> Call:
    """One turn of ``speaker``, run with ``current_turn()`` telling who and which turn it is;
    it gives ``(what the speaker returned, seconds it took)``."""
    respond = getattr(speaker, "respond", None)
    seen = list(messages)

    def sync() -> tuple[Any, float]:
        token = _CURRENT.set(info)
        started = time.perf_counter()
        try:
            outcome = respond(task, seen) if respond else speaker.run(task)
        except ModelError as exc:
            outcome = _failed_run(exc)
        finally:
            _CURRENT.reset(token)
        return outcome, time.perf_counter() - started

    async def async_() -> tuple[Any, float]:
        token = _CURRENT.set(info)
        started = time.perf_counter()
        try:
            if hasattr(speaker, "arespond"):
                outcome = await speaker.arespond(task, seen)  # type: ignore[attr-defined]
            elif respond is None and hasattr(speaker, "arun"):
                outcome = await speaker.arun(task)  # type: ignore[attr-defined]
            else:  # a speaker with only a sync API: off the event loop
                import asyncio

                return await asyncio.to_thread(sync)
        except ModelError as exc:
            outcome = _failed_run(exc)
        finally:
            _CURRENT.reset(token)
        return outcome, time.perf_counter() - started

    return Call(sync, async_)


def _failed_run(exc: ModelError) -> RunResult:
    """The partial run of a turn whose model could not be reached: the conversation ends with
    the reason (and a checkpoint lets it retry the turn). A misconfiguration is raised."""
    if isinstance(exc, ModelConfigError) or not isinstance(exc.result, RunResult):
        raise exc
    return exc.result


def model_call(model: Model, messages: list[dict[str, Any]]) -> Call:
    """One request to a model (the speaker selector's, the summariser's)."""
    return Call(lambda: model.generate(messages), lambda: model.agenerate(messages))


def as_turn(index: int, speaker: str, outcome: Any, task: str, duration: float) -> Turn:
    """A turn record from what a speaker returned: a ``RunResult``, the ``ChatResult`` s of
    nested chats, or (from a speaker of the user's own) a plain value."""
    if isinstance(outcome, list) and all(isinstance(c, ChatResult) for c in outcome):
        usage, cost = TokenUsage(), None
        for c in outcome:
            usage, cost = usage + c.token_usage, add_cost(cost, c.cost_usd)
        summary = outcome[-1].summary if outcome else ""
        result = RunResult(summary, "success", [], usage, duration, task, cost_usd=cost)
        return Turn(index, speaker, summary, result, duration, nested=outcome)
    if not isinstance(outcome, RunResult):
        outcome = RunResult(outcome, "success", [], TokenUsage(), duration, task)
    output = outcome.output
    content = output if isinstance(output, str) else "" if output is None else str(output)
    return Turn(index, speaker, content, outcome, duration)


def turn_limit(parameter: str, turns: int) -> MaxTurns:
    """The cap on turns every conversation has (``max_turns``, ``max_rounds``), checked."""
    if not isinstance(turns, int) or turns < 1:
        raise ValueError(f"{parameter} must be a whole number of turns, at least 1 (got {turns!r})")
    return MaxTurns(turns)


class Conversation:
    """A team whose agents take turns on one message list (two-agent, group, handoff chats)."""

    kind = "conversation"

    def __init__(
        self,
        speakers: Sequence[Speaker],
        *,
        until: Termination | None,
        limit: Termination,
        summary: summaries.Summary = "last",
        summary_model: Model | None = None,
        summary_prompt: str = summaries.SUMMARY_PROMPT,
        turn_callbacks: Sequence[TurnCallback] = (),
        name: str,
    ) -> None:
        if len({s.name for s in speakers}) != len(speakers):
            raise ValueError("agents in a conversation need distinct names (pass name=...)")
        summaries.check_summary(summary, summary_model)
        self.speakers = list(speakers)
        self.until = limit if until is None else limit | until
        self.summary, self.summary_model, self.summary_prompt = (
            summary,
            summary_model,
            summary_prompt,
        )
        self.turn_callbacks = list(turn_callbacks)
        self.name = name

    # --- what each team supplies -----------------------------------------------------------

    def _opening(self, task: str) -> dict[str, str]:
        return {"name": "user", "content": task}

    def _pick(self, state: ChatState, turns: list[Turn]) -> Speaker | Generator[Any, Any, Speaker]:
        """The next speaker, or a generator that yields model calls and returns it."""
        raise NotImplementedError

    def _task(self, speaker: Speaker, state: ChatState) -> str:
        """The task of ``speaker`` 's turn (asked for just before the turn)."""
        return render_turn(speaker, self.speakers, state.messages)

    def _took_turn(self, speaker: Speaker, turn: Turn) -> None:
        """After a turn: fill in what the team tracks on it (e.g. a handoff)."""

    def _ends(self, turn: Turn) -> str | None:
        """Why the team's own rule ends the conversation after ``turn`` (handoffs), if it does."""
        return None

    def _saved(self) -> dict[str, Any]:
        """What the team's selection needs, beyond the turns, to resume (JSON data)."""
        return {}

    def _restore(self, saved: dict[str, Any]) -> None:
        pass

    # --- running -----------------------------------------------------------------------------

    def run(self, task: str, *, checkpoint: CheckpointPath | None = None) -> ChatResult:
        """Work on ``task`` until a condition ends the conversation.

        With ``checkpoint`` (a file path), the state is saved there after every turn, and a run
        given a path that holds a saved state resumes from it (a finished one is returned as
        it was). A turn that failed is not saved: resuming retries it. Restored turns keep
        their runs without the task text (the conversation up to them, already saved once).
        """
        if telemetry.tracer is not None:
            loop = self._loop(task, checkpoint)
            return telemetry.trace_workflow(self.kind, task, lambda: drive(loop))
        return drive(self._loop(task, checkpoint))

    async def arun(self, task: str, *, checkpoint: CheckpointPath | None = None) -> ChatResult:
        """The async twin of ``run``: each turn is the agent's ``arun``."""
        if telemetry.tracer is not None:
            loop = self._loop(task, checkpoint)
            return await telemetry.atrace_workflow(self.kind, task, adrive(loop))
        return await adrive(self._loop(task, checkpoint))

    def as_tool(self, name: str, description: str) -> Tool:
        """This conversation as a tool (a nested chat): an agent pauses, runs it on ``task``,
        and gets its summary back."""
        return summary_tool(self.run, name, description)

    def _loop(self, task: str, checkpoint: CheckpointPath | None) -> Loop:
        started_perf = time.perf_counter()
        names = [s.name for s in self.speakers]
        saved = (
            checkpoints.load(checkpoint, kind=self.kind, task=task, speakers=names)
            if checkpoint
            else None
        )
        if saved is not None and saved.get("finished"):
            return ChatResult.from_dict(saved["result"])
        state = ChatState([self._opening(task)], 0, time.monotonic(), TokenUsage())
        turns: list[Turn] = []
        if saved is not None:
            state.messages = saved["messages"]
            turns = [Turn.from_dict(t) for t in saved["turns"]]
            state.turns = len(turns)
            state.token_usage = TokenUsage(**saved["token_usage"])
            state.cost_usd = saved["cost_usd"]
            state.started -= saved["elapsed_s"]
            started_perf -= saved["elapsed_s"]
            self._restore(saved["team"])
        saved_turns = [t.to_dict(tasks=False) for t in turns]  # kept, not redone every turn

        def save(finished: ChatResult | None = None) -> None:
            if not checkpoint:
                return
            about = {"kind": self.kind, "task": task, "speakers": names}
            if finished is not None:  # the result holds everything
                data = finished.to_dict(tasks=False)
                checkpoints.save(checkpoint, {**about, "finished": True, "result": data})
                return
            checkpoints.save(
                checkpoint,
                {
                    **about,
                    "messages": state.messages,
                    "turns": saved_turns,
                    "token_usage": vars(state.token_usage),
                    "cost_usd": state.cost_usd,
                    "elapsed_s": time.perf_counter() - started_perf,
                    "team": self._saved(),
                },
            )

        if saved is None:
            save()  # before any turn: a path that cannot be written fails before work is lost
        done = True  # ended by the team's rules (not by a failed turn): saved as finished
        reason = (self.until.check(state) or self._ends(turns[-1])) if turns else None
        while reason is None:
            picked = self._pick(state, turns)
            speaker = (yield from picked) if isinstance(picked, Generator) else picked
            info = TurnInfo(self.name, state.turns + 1, speaker.name, current_turn())
            turn_task = self._task(speaker, state)
            outcome, seconds = yield turn_call(speaker, turn_task, state.messages, info)
            turn = as_turn(info.turn, speaker.name, outcome, turn_task, seconds)
            state.token_usage = state.token_usage + turn.result.token_usage
            state.cost_usd = add_cost(state.cost_usd, turn.result.cost_usd)
            if turn.result.state == "error":
                reason, done = f"{speaker.name} failed: {turn.result.error}", False
                break
            self._took_turn(speaker, turn)
            state.messages.append({"name": speaker.name, "content": turn.content})
            state.turns += 1
            turns.append(turn)
            if checkpoint:
                saved_turns.append(turn.to_dict(tasks=False))
                save()
            for callback in self.turn_callbacks:
                callback(turn)
            reason = self.until.check(state) or self._ends(turn)

        summary, summary_error = yield from self._summarise(state)
        result = ChatResult(
            state.messages,
            summary,
            reason,
            state.token_usage,
            time.perf_counter() - started_perf,
            state.cost_usd,
            turns,
            summary_error,
        )
        if done:
            save(result)
        return result

    def _summarise(self, state: ChatState) -> Generator[Any, Any, tuple[str, str | None]]:
        last = summaries.last_message(state.messages, state.turns, self.until)
        if callable(self.summary):
            return self.summary(list(state.messages)), None
        if self.summary == "last" or state.turns == 0:
            return last, None
        assert self.summary_model is not None
        request = summaries.reflection_request(state.messages, self.summary_prompt)
        try:
            reply = yield model_call(self.summary_model, request)
        except ModelConfigError:
            raise
        except ModelError as exc:
            return last, f"the summary model failed ({exc}); the summary is the last message"
        state.token_usage = state.token_usage + reply.usage
        state.cost_usd = add_cost(state.cost_usd, reply.cost_usd)
        return (reply.content or "").strip() or last, None


def summary_tool(run: Callable[[str], ChatResult], name: str, description: str) -> Tool:
    """A team as a tool: the tool's ``task`` opens the conversation, its summary comes back."""

    def nested_chat(task: str) -> str:
        """Run a conversation and return its summary.

        Args:
            task: What the conversation should work out.
        """
        return run(task).summary

    return Tool(nested_chat, name=name, description=description)
