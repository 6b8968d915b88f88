"""How the loop is driven, and what a run accumulates while it is.

The loop (``Agent._loop``) yields requests — ``Think`` (a model reply), ``Act`` (an action carried
out), ``Ask`` (an approval) — and finished ``Step``s. ``drive`` carries the requests out in this
thread, for ``run`` and its ``RunStream``; ``AsyncRunStream`` awaits them on the event loop, for
``arun`` and ``astream`` (blocking work in ``codeact.blocking``'s threads). A request to think
while someone watches the tokens is read from the model's ``stream``/``astream``, and each
``TokenDelta`` goes to the token callbacks, the live view and (``events()``) the stream itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from codeact import blocking, checkpoints, console
from codeact.approval import Action
from codeact.budgets import Budget
from codeact.context import Compactor, Conversation
from codeact.memory import RunResult, Step, scripted_reply
from codeact.models import ChatMessage, ModelError, TokenDelta, TokenUsage

if TYPE_CHECKING:
    from codeact.agents import Agent

TokenCallback = Callable[[TokenDelta], None]


@dataclass
class Think:
    """What the loop yields to get a model reply (a ``ChatMessage`` is sent back). ``stream``:
    someone watches the tokens (callbacks, an event stream, the live view)."""

    messages: list[dict[str, Any]]
    options: dict[str, Any]
    step: int = 0
    stream: bool = False


@dataclass
class Act:
    """What the loop yields to have an action carried out (its outcome is sent back): code
    cells for a ``CodeAgent``, tool calls for a ``ToolCallingAgent``. ``time_left``: what the
    run's ``max_time_s`` leaves the action (``None``: no cap)."""

    action: Any
    time_left: float | None = None


@dataclass
class Ask:
    """What the loop yields to have an action approved (``None`` or a refusal is sent back)."""

    action: Action


#: The loop: yields requests, finished ``Step``s; returns the ``RunResult``.
Loop = Generator["Think | Act | Ask | Step", Any, RunResult]


class RunState:
    """What one run accumulates; ``result()`` turns it into a ``RunResult`` at any point."""

    def __init__(self, task: str, meta: dict[str, Any], budget: Budget) -> None:
        self.task = task
        self.meta = meta
        self.budget = budget
        self.started = time.perf_counter()
        self.earlier_s = 0.0  # spent by the processes before a resume
        self.steps: list[Step] = []
        self.usage = TokenUsage()
        self.outputs: list[Any] = []
        self.costs: list[float] = []
        self.conversation = Conversation()
        self.compactor = Compactor(None)
        self.checkpoint: checkpoints.CheckpointPath | None = None
        self.prelude: Any = None  # what the agent does before the first step (set variables)
        self.view: console.LiveView | None = None
        self.depth = 0
        self.token_callbacks: list[TokenCallback] = []
        self.events = False  # an event stream wants the tokens

    def record(self, reply: ChatMessage) -> None:
        """Count a model reply in the totals and the budgets, and keep it for replays."""
        self.outputs.append(scripted_reply(reply))
        self.add(reply.usage, reply.cost_usd, reply.model_id)

    def add(self, usage: TokenUsage, cost: float | None, model: str | None = None) -> None:
        self.usage = self.usage + usage
        if cost is not None:
            self.costs.append(cost)
        self.budget.add_usage(usage, cost, model)

    def result(self, state: str, output: Any = None, error: str | None = None) -> RunResult:
        cost = sum(self.costs) if self.costs else None
        duration = self.earlier_s + time.perf_counter() - self.started
        return RunResult(
            output,
            state,
            list(self.steps),
            self.usage,
            duration,
            self.task,
            error,
            list(self.outputs),
            cost,
            self.meta,
        )

    def interrupted(self) -> RunResult:
        return self.result("interrupted", error="the stream was left early")

    def deliver(self, delta: TokenDelta) -> None:
        """Hand a token delta to whoever watches: the token callbacks and the live view."""
        for callback in self.token_callbacks:
            callback(delta)
        if self.view is not None:
            self.view.delta(self.depth, delta)


class RunStream:
    """Iterate to get each ``Step`` as it completes; ``result`` holds the ``RunResult`` after.

    ``events()`` iterates everything instead: the model's ``TokenDelta``s as it writes, and
    each ``Step``. Leaving the loop early (``break``) ends the run: ``result`` is then the
    partial run, with state ``"interrupted"``.
    """

    def __init__(
        self,
        items: Generator[Step | TokenDelta, None, RunResult] | None,
        run: RunState | None,
        result: RunResult | None = None,
    ) -> None:
        self._items = items
        self._run = run
        self.result: RunResult | None = result

    def __iter__(self) -> Iterator[Step]:
        for item in self._iterate():
            if isinstance(item, Step):
                yield item

    def events(self) -> Iterator[Step | TokenDelta]:
        """``TokenDelta``s and ``Step``s, as they happen."""
        if self._run is not None:
            self._run.events = True
        return self._iterate()

    def _iterate(self) -> Iterator[Step | TokenDelta]:
        if self._items is None or self._run is None:
            return
        try:
            self.result = yield from self._items
        finally:
            if self.result is None:
                self._items.close()
                self.result = self._run.interrupted()


class AsyncRunStream:
    """``async for`` it to get each ``Step`` as it completes; ``result`` holds the ``RunResult``
    after; ``events()`` iterates ``TokenDelta``s and ``Step``s. Leaving the loop early
    (``break``) ends the run: ``result`` is then the partial run, state ``"interrupted"``."""

    def __init__(self, agent: Agent, run: RunState | None, result: RunResult | None = None) -> None:
        self._agent = agent
        self._run = run
        self._loop: Loop | None = None
        self._result: RunResult | None = result
        self._tokens: Any = None  # the model's stream of the current request, while it lasts
        self._events = False

    def __aiter__(self) -> AsyncRunStream:
        return self

    def events(self) -> AsyncRunStream:
        """Iterate ``TokenDelta``s as well as ``Step``s."""
        self._events = True
        if self._run is not None:
            self._run.events = True
        return self

    async def __anext__(self) -> Step | TokenDelta:  # type: ignore[override]
        if self._result is not None or self._run is None:
            raise StopAsyncIteration
        run = self._run
        try:
            if self._loop is None:
                await blocking.run(self._agent._prepare)
                self._loop = self._agent._open(run)
            value, error = None, None
            while True:
                if self._tokens is not None:
                    try:
                        piece = await self._tokens.__anext__()
                    except StopAsyncIteration:
                        self._tokens, error = None, ModelError("the model's stream ended early")
                    except Exception as exc:
                        self._tokens, error = None, exc
                    else:
                        if isinstance(piece, TokenDelta):
                            run.deliver(piece)
                            if self._events:
                                return piece
                            continue
                        self._tokens, value = None, piece
                item = _resume(self._loop, value, error)
                value, error = None, None
                if isinstance(item, Step):
                    return item
                if (
                    isinstance(item, Think)
                    and item.stream
                    and hasattr(self._agent.model, "astream")
                ):
                    self._tokens = _labelled_async(self._agent, item)
                    continue
                try:
                    value = await self._agent._aperform(item)
                except BaseException as exc:  # back into the loop, which decides
                    error = exc
        except StopIteration as done:
            self._result = done.value
            raise StopAsyncIteration from None
        except BaseException:
            self._close()
            raise

    @property
    def result(self) -> RunResult | None:
        """The run's result once iteration has stopped (``None`` before it started)."""
        if self._result is None and self._loop is not None:
            self._close()
        return self._result

    def _close(self) -> None:
        if self._loop is not None:
            self._loop.close()
        if self._result is None and self._run is not None:
            self._result = self._run.interrupted()


def drive(agent: Agent, run: RunState) -> Generator[Step | TokenDelta, None, RunResult]:
    """The loop, driven in this thread: ``model.generate``, actions carried out here."""
    agent._prepare()
    loop = agent._open(run)
    value, error = None, None
    try:
        while True:
            try:
                item = _resume(loop, value, error)
            except StopIteration as done:
                return done.value
            value, error = None, None
            if isinstance(item, Step):
                yield item
                continue
            try:
                if isinstance(item, Think) and item.stream and hasattr(agent.model, "stream"):
                    value = yield from _streamed(agent, run, item)
                else:
                    value = agent._perform(item)
            except GeneratorExit:
                raise
            except BaseException as exc:  # back into the loop, which decides
                error = exc
    finally:
        loop.close()


def _streamed(
    agent: Agent, run: RunState, think: Think
) -> Generator[TokenDelta, None, ChatMessage]:
    """A model reply read token by token; each delta goes to the watchers (and out, for an
    event stream)."""
    for piece in agent.model.stream(think.messages, **think.options):  # type: ignore[attr-defined]
        if not isinstance(piece, TokenDelta):
            return piece
        piece.agent, piece.step = agent.name, think.step
        run.deliver(piece)
        if run.events:
            yield piece
    raise ModelError("the model's stream ended without a reply")


def _resume(loop: Loop, value: Any, error: BaseException | None) -> Think | Act | Ask | Step:
    """Hand the loop the outcome of its last request (or the exception it raised); its next
    request or step. ``StopIteration`` carries the ``RunResult``."""
    if error is not None:
        return loop.throw(error)
    return loop.send(value)


def _labelled_async(agent: Agent, think: Think) -> Any:
    """The model's async token stream for ``think``, each delta labelled with agent and step."""

    async def tokens() -> Any:
        stream = agent.model.astream(think.messages, **think.options)  # type: ignore[attr-defined]
        async for piece in stream:
            if isinstance(piece, TokenDelta):
                piece.agent, piece.step = agent.name, think.step
            yield piece

    return tokens()
