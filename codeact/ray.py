"""``run_batch`` on a Ray cluster: each task a Ray task, its agent and sandbox made on the worker.

    from codeact.ray import run_batch
    results = run_batch(make_agent, tasks, concurrency=64, address="auto")

The same contract as ``codeact.run_batch`` (results in task order, a failing run is that run's
``state="error"``, a progress bar on a terminal, every agent and sandbox closed after its run),
plus ``address=``: the cluster ``ray.init`` connects to (``None``: the one ``RAY_ADDRESS`` names,
else a new local instance; ``"auto"``: the one running on this machine; ``"ray://host:10001"``:
a remote one). ``make_agent`` runs on the worker, so the sandbox (a worker process, a container)
lives on the worker's node, and tools run there too. It is sent there with Ray's cloudpickle,
with the tools and model it refers to: build models, sandboxes and clients inside it, not
outside (a lock, a socket or an open file cannot travel); what cannot be sent is refused before
anything runs, with the reason. Needs the extra ``codeact[ray]``; ``import codeact`` never loads
Ray.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from codeact.agents import Agent
from codeact.batch import (
    ProgressBar,
    checked,
    checked_arguments,
    close_agent,
    failed,
    wants_progress,
)
from codeact.memory import RunResult
from codeact.models import ModelError

#: Seconds given to cancelled runs to close their sandboxes after Ctrl-C.
_CANCEL_GRACE_S = 10.0


def run_batch(
    make_agent: Callable[[], Agent],
    tasks: Iterable[str],
    *,
    concurrency: int = 8,
    address: str | None = None,
    progress: bool | None = None,
    task_options: dict[str, Any] | None = None,
) -> list[RunResult]:
    """Run every task as a Ray task on a fresh agent from ``make_agent``, at most
    ``concurrency`` at once; the results in task order.

    ``task_options`` go to Ray's ``.options()`` for each task (``num_cpus``, ``memory``,
    ``resources``...): a run mostly waits for its model, so ``{"num_cpus": 0.25}`` fits four on
    a core. Ray is started (or connected to) only when it is not initialised yet.
    """
    ray = _ray()
    tasks = checked_arguments(make_agent, tasks, concurrency)
    if not tasks:
        return []
    _check_serialisable(ray, make_agent)
    if not ray.is_initialized():
        ray.init(address=address)
    remote = ray.remote(_run_task).options(**(task_options or {}))
    factory = ray.put(make_agent)
    results: list[RunResult | None] = [None] * len(tasks)
    pending: dict[Any, int] = {}
    bar = ProgressBar(len(tasks)) if wants_progress(progress) else None
    started = time.perf_counter()
    queue = iter(range(len(tasks)))
    try:
        for index in queue:
            pending[remote.remote(factory, tasks[index])] = index
            if len(pending) >= concurrency:
                break
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            index = pending.pop(done[0])
            results[index] = _collect(ray, done[0], tasks[index], started)
            if bar is not None:
                bar.advance(results[index].state)  # type: ignore[union-attr]
            following = next(queue, None)
            if following is not None:
                pending[remote.remote(factory, tasks[following])] = following
    except BaseException:  # Ctrl-C: the running tasks close their agents as they stop
        for ref in pending:
            ray.cancel(ref)
        ray.wait(list(pending), num_returns=len(pending), timeout=_CANCEL_GRACE_S)
        raise
    finally:
        if bar is not None:
            bar.close()
    return results  # type: ignore[return-value]


def _run_task(make_agent: Callable[[], Agent], task: str) -> RunResult:
    """One run, on a Ray worker: like ``codeact.batch``'s, with the agent's sync ``run``."""
    started = time.perf_counter()
    agent: Any = None
    try:
        agent = make_agent()
        result = checked(agent).run(task)
    except ModelError as exc:
        result = exc.result if isinstance(exc.result, RunResult) else failed(task, exc, started)
    except Exception as exc:
        result = failed(task, exc, started)
    finally:
        if agent is not None:
            close_agent(agent)
    return _sendable(result)


def _sendable(result: RunResult) -> RunResult:
    """``result`` as it can travel back: as it is, or as JSON-ready data when a value in it (a
    tool's result, the answer) cannot be pickled."""
    import ray.cloudpickle as cloudpickle

    try:
        cloudpickle.dumps(result)
        return result
    except Exception:
        return RunResult.from_dict(result.to_dict())


def _collect(ray: Any, ref: Any, task: str, started: float) -> RunResult:
    """The run's result, or its error when the Ray task itself failed (a worker that died)."""
    try:
        return ray.get(ref)
    except Exception as exc:
        cause = getattr(exc, "cause", None) or exc
        return failed(task, cause, started)


def _check_serialisable(ray: Any, make_agent: Callable[[], Agent]) -> None:
    try:
        ray.cloudpickle.dumps(make_agent)
    except Exception as exc:
        raise TypeError(
            f"make_agent cannot be sent to Ray workers ({type(exc).__name__}: {exc}): it must "
            "be picklable with everything it refers to (tools, model); create models, "
            "sandboxes, clients and locks inside make_agent, not outside it"
        ) from None


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ImportError(
            "codeact.ray needs Ray: pip install 'codeact[ray]' (on the workers too)"
        ) from None
    return ray
