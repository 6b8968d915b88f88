"""Where blocking work goes when agents run under asyncio (``arun``, ``astream``, ``arun_batch``).

Model calls are awaited on the event loop. What cannot be awaited runs in threads: a sandbox's
``run`` (the ``Sandbox`` protocol is synchronous, and under ``inline`` the code runs in the
calling thread), a sandbox's ``start`` (it may spawn a process), and tools that are plain
functions (they may block on I/O). Those go to pools owned here, not to the event loop's default
executor, for three reasons:

- The default executor is small (``min(32, cpus + 4)``) and shared: LiteLLM's async call itself
  borrows a thread from it, so runs that hold its threads while waiting for a model deadlock
  (issue 8: six concurrent ``arun``s hung). Here a thread is held only while blocking work runs,
  never while a model answers.
- The pools are bounded (``CODEACT_THREADS``, default 64, per level below): a thousand
  concurrent runs queue their cells instead of starting a thousand threads.
- Work can wait for work: sandboxed code that calls an async tool blocks its thread until the
  tool's coroutine has run on the event loop, and that coroutine may itself run an agent whose
  cells need a thread. With one bounded pool, enough such waits would take every thread and
  deadlock. So each nesting level has its own pool: work started from inside level-``n`` work
  (a context variable says which) goes to pool ``n + 1``. Work only ever waits for deeper work,
  so the waits cannot form a cycle, and the number of levels is the depth of agent nesting.

An async sandbox API would free the thread while a ``local`` or ``docker`` worker runs, but not
under ``inline``, and not in the middle of a cell that calls a tool: to the code, a tool call is
a synchronous function call, so some thread must wait for it either way.
"""

from __future__ import annotations

import contextvars
import functools
import os
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

#: How deep in nested blocking work this context is (0: on the event loop, not inside any).
_DEPTH: contextvars.ContextVar[int] = contextvars.ContextVar("codeact_blocking_depth", default=0)
#: The event loop of the async run this context works for: async tools called from its blocking
#: work (sandboxed code) run there, beside the run's other coroutines.
_LOOP: contextvars.ContextVar[Any] = contextvars.ContextVar("codeact_event_loop", default=None)

_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def max_threads() -> int:
    """Threads per nesting level: ``$CODEACT_THREADS``, else 64."""
    try:
        return max(1, int(os.environ.get("CODEACT_THREADS") or 64))
    except ValueError:
        raise ValueError("CODEACT_THREADS must be a whole number of threads, e.g. 64") from None


def _pool(depth: int) -> ThreadPoolExecutor:
    with _pools_lock:
        pool = _pools.get(depth)
        if pool is None:
            pool = _pools[depth] = ThreadPoolExecutor(
                max_threads(), thread_name_prefix=f"codeact-blocking-{depth}"
            )
        return pool


async def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Await ``fn(*args, **kwargs)`` run in a thread of this nesting level's pool, in a copy of
    the caller's context (so tools see the running step, and sub-runs nest their views)."""
    import asyncio  # not at module level: keeps `import codeact` fast

    loop = asyncio.get_running_loop()
    depth = _DEPTH.get()
    context = contextvars.copy_context()
    context.run(_DEPTH.set, depth + 1)
    context.run(_LOOP.set, loop)
    call = functools.partial(context.run, fn, *args, **kwargs)
    return await loop.run_in_executor(_pool(depth), call)


def wait(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion from synchronous code (an async tool called by sandboxed
    code, or by a synchronous run).

    Under an async run it runs on that run's event loop, where the tool's own resources (an
    HTTP session, a lock) live; otherwise on a new event loop of its own, in this thread.
    """
    import asyncio

    loop = _LOOP.get()
    if loop is not None and loop.is_running():
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if not on_loop:
            return asyncio.run_coroutine_threadsafe(coroutine, loop).result()
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    coroutine.close()
    raise RuntimeError(
        "an async tool was called synchronously from inside a running event loop; "
        "use `await agent.arun(...)` instead of `agent.run(...)` there"
    )
