"""Many runs at once: ``run_batch`` and ``arun_batch``.

Each task gets a fresh agent from ``make_agent`` (so runs share no sandbox, memory or model
state) and runs as an ``arun`` on one event loop, at most ``concurrency`` at a time: a run
waiting for its model holds no thread, so a hundred runs need a handful of threads, not a
hundred. The batch owns what ``make_agent`` returns: each agent and its sandbox are closed
after its run. A run that fails — its model unreachable (the partial run is kept), its sandbox or
``make_agent`` raising — comes back as that run's ``RunResult`` with ``state="error"``; the
others go on. Ctrl-C cancels every run, closes every agent (so every sandbox: worker processes
killed, containers removed), then raises ``KeyboardInterrupt``.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from codeact import blocking
from codeact.agents import Agent
from codeact.memory import RunResult
from codeact.models import ModelError, TokenUsage

MakeAgent = Callable[[], Agent]


def run_batch(
    make_agent: MakeAgent,
    tasks: Iterable[str],
    *,
    concurrency: int = 8,
    progress: bool | None = None,
) -> list[RunResult]:
    """Run every task on a fresh agent from ``make_agent``, ``concurrency`` at a time; the
    results in task order. ``progress``: a progress bar (``None``: when stdout is a terminal).

    Called from inside a running event loop (a notebook), the batch runs on a loop of its own
    in a helper thread; ``await arun_batch(...)`` is the better call there.
    """
    import asyncio  # not at module level: keeps `import codeact` fast

    batch = arun_batch(make_agent, tasks, concurrency=concurrency, progress=progress)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(batch)
    return _run_beside_the_loop(batch)


async def arun_batch(
    make_agent: MakeAgent,
    tasks: Iterable[str],
    *,
    concurrency: int = 8,
    progress: bool | None = None,
) -> list[RunResult]:
    """The coroutine twin of ``run_batch``: the runs are ``arun``s on the running loop."""
    import asyncio

    tasks = checked_arguments(make_agent, tasks, concurrency)
    slots = asyncio.Semaphore(concurrency)
    bar = ProgressBar(len(tasks)) if wants_progress(progress) and tasks else None

    async def one(task: str) -> RunResult:
        async with slots:
            result = await _run_one(make_agent, task)
        if bar is not None:
            bar.advance(result.state)
        return result

    runs = [asyncio.ensure_future(one(task)) for task in tasks]
    try:
        if runs:
            await asyncio.wait(runs)  # unlike gather, being cancelled leaves the runs to us
    except BaseException:  # cancelled (Ctrl-C): every run stops, once, and closes its agent
        for run in runs:
            run.cancel()
        await asyncio.wait(runs)
        raise
    finally:
        if bar is not None:
            bar.close()
    return [run.result() for run in runs]


async def _run_one(make_agent: MakeAgent, task: str) -> RunResult:
    """One task on a fresh agent; any failure is the run's ``state="error"``."""
    started = time.perf_counter()
    agent: Any = None
    try:
        agent = await blocking.run(make_agent)  # may start a sandbox: off the event loop
        return await checked(agent).arun(task)
    except ModelError as exc:
        return exc.result if isinstance(exc.result, RunResult) else failed(task, exc, started)
    except Exception as exc:
        return failed(task, exc, started)
    finally:
        if agent is not None:
            await _close(agent)


async def _close(agent: Agent) -> None:
    """Close the agent and its sandbox (the batch owns what ``make_agent`` made, also a sandbox
    passed in as an instance), in the default executor, not ``blocking``'s pool: when the batch
    is cancelled, that pool's threads may all be busy in cells that only the close will end."""
    import asyncio

    await asyncio.get_running_loop().run_in_executor(None, close_agent, agent)


def close_agent(agent: Any) -> None:
    """Close an agent made for one run, and its sandbox; a failing close is not the run's
    failure (it must not hide the run's result)."""
    with contextlib.suppress(Exception):
        agent.close()
    sandbox = getattr(agent, "sandbox", None)
    if callable(getattr(sandbox, "close", None)):
        with contextlib.suppress(Exception):
            sandbox.close()


def checked_arguments(make_agent: Any, tasks: Iterable[str], concurrency: Any) -> list[str]:
    """The tasks as a list, after refusing what cannot be a batch (one line saying why)."""
    if not callable(make_agent):
        raise TypeError("make_agent must be a function returning a new agent, e.g. lambda: ...")
    if isinstance(tasks, str):
        raise TypeError("tasks must be a list of tasks, not one string")
    if not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a whole number >= 1, not {concurrency!r}")
    return list(tasks)


def checked(agent: Any) -> Agent:
    """What ``make_agent`` returned, if it is an agent, made quiet unless asked to show: the
    progress bar replaces many interleaved live views."""
    if not isinstance(agent, Agent):
        raise TypeError(f"make_agent() returned {type(agent).__name__}, not an agent")
    if agent.verbose is None:
        agent.verbose = False
    return agent


def failed(task: str, exc: BaseException, started: float) -> RunResult:
    """The result of a run that could not finish: ``state="error"``, saying why."""
    return RunResult(
        output=None,
        state="error",
        steps=[],
        token_usage=TokenUsage(),
        duration_s=time.perf_counter() - started,
        task=task,
        error=f"{type(exc).__name__}: {exc}",
    )


def _run_beside_the_loop(batch: Any) -> list[RunResult]:
    """Run ``batch`` on a new event loop in a helper thread; Ctrl-C here cancels it there."""
    import asyncio

    loop = asyncio.new_event_loop()
    job = loop.create_task(batch)

    def work() -> None:
        try:
            loop.run_until_complete(asyncio.wait([job]))
            loop.run_until_complete(loop.shutdown_default_executor())  # agents' closes done
        finally:
            loop.close()

    worker = threading.Thread(target=work, name="codeact-batch", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.1)
    except KeyboardInterrupt:
        loop.call_soon_threadsafe(job.cancel)
        worker.join()
        raise
    return job.result()


def wants_progress(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    try:
        return bool(sys.stdout.isatty())
    except (AttributeError, ValueError):
        return False


class ProgressBar:
    """A rich progress bar: runs done of all, how they ended, elapsed time and time left."""

    def __init__(self, total: int) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.states: dict[str, int] = {}
        self.progress = Progress(
            TextColumn("runs"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[states]}"),
        )
        self.task = self.progress.add_task("runs", total=total, states="")
        self.progress.start()

    def advance(self, state: str) -> None:
        self.states[state] = self.states.get(state, 0) + 1
        summary = " ".join(f"{name} {count}" for name, count in sorted(self.states.items()))
        self.progress.update(self.task, advance=1, states=summary)

    def close(self) -> None:
        self.progress.stop()
