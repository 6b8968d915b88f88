"""One loop, two drivers: team loops are generators that yield what they need done.

A loop yields a ``Call`` (do this one thing: run a turn, ask a model) or an ``All`` (do these
concurrently) and gets the outcome back; an exception is thrown back into the loop where the
call was made. ``drive`` runs a loop with plain calls and threads, ``adrive`` with ``await`` and
``asyncio.gather``. So every team is written once and runs both sync and async.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any


@dataclass
class Call:
    """One thing to do, in both colours: ``sync()`` returns it, ``async_()`` awaits it."""

    sync: Callable[[], Any]
    async_: Callable[[], Awaitable[Any]]


@dataclass
class All:
    """Several ``Call`` s at once; the loop gets a list of ``Outcome`` s, in order."""

    calls: Sequence[Call]


@dataclass
class Outcome:
    """What one of ``All`` 's calls gave: its value, or the exception it raised."""

    value: Any = None
    error: Exception | None = None


Loop = Generator["Call | All", Any, Any]


def drive(loop: Loop) -> Any:
    """Run ``loop`` in this thread; ``All`` runs its calls in threads (each in a copy of the
    caller's context, so what a turn knows about itself reaches its steps)."""
    value: Any = None
    error: Exception | None = None
    while True:
        try:
            request = loop.throw(error) if error is not None else loop.send(value)
        except StopIteration as stop:
            return stop.value
        value, error = None, None
        try:
            value = _threads(request.calls) if isinstance(request, All) else request.sync()
        except Exception as exc:
            error = exc


async def adrive(loop: Loop) -> Any:
    """Run ``loop`` on the running event loop; ``All`` gathers its calls concurrently."""
    import asyncio  # here, not at module level: keeps `import codeact` fast

    value: Any = None
    error: Exception | None = None
    while True:
        try:
            request = loop.throw(error) if error is not None else loop.send(value)
        except StopIteration as stop:
            return stop.value
        value, error = None, None
        try:
            if isinstance(request, All):
                done = await asyncio.gather(
                    *(c.async_() for c in request.calls), return_exceptions=True
                )
                value = [_outcome(d) for d in done]
            else:
                value = await request.async_()
        except Exception as exc:
            error = exc


def _threads(calls: Sequence[Call]) -> list[Outcome]:
    def one(call: Call) -> Outcome:
        try:
            return Outcome(call.sync())
        except Exception as exc:
            return Outcome(error=exc)

    if len(calls) <= 1:
        return [one(c) for c in calls]
    contexts = [contextvars.copy_context() for _ in calls]
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(ctx.run, one, c) for ctx, c in zip(contexts, calls, strict=True)]
        return [f.result() for f in futures]


def _outcome(done: Any) -> Outcome:
    if isinstance(done, BaseException):
        if not isinstance(done, Exception):  # cancellation, KeyboardInterrupt: not an outcome
            raise done
        return Outcome(error=done)
    return Outcome(done)
