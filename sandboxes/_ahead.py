"""A worker started ahead of a sandbox's next session, off the caller's thread.

``local`` gives each session after a run a new worker (``WorkerClient(fresh_start=True)``): a
claim on the fork server and a handshake, 2 ms with a spare waiting, a fork's 10-20 ms without.
A sandbox that has started a new session once is likely to again (an agent starts one per
``run``), so from then on the next session's worker is claimed and handed its ``start`` in the
background, and ``start()`` takes it: no message at all when the tools are the same.

Security: what is made ahead is exactly what ``start()`` would make at that moment: a fresh fork
of the zygote (never of an earlier worker) that has had one ``start`` and no code. It only waits
longer in this process, and no run reaches it before it becomes the live worker; the worker it
replaces is killed as before. A sandbox that is closed kills what it holds ahead, and one that
is collected has it killed by the client's finalizer (``held``).

Cost: one waiting worker (~6 MB of private memory, its supervisor and cell) per sandbox that
has renewed a session, and one fork too many when such a sandbox is closed.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("sandboxes")


class Ahead:
    """At most one worker being made, or made and waiting, for one client's next session.

    Holds nothing of its client's (a client that is dropped is collected at once, and its
    finalizer kills what is ``held``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._job: _Job | None = None
        #: Transports made and not taken: the client's finalizer kills what is here.
        self.held: list[Any] = []

    def prepare(self, key: Any, make: Callable[[Any], Any]) -> None:
        """Have ``make(key)`` start the next session's worker (the session ``key`` describes:
        the tools, say) and return its transport, unless one is made or being made; it runs
        on the process's background thread (``later``), ``DELAY`` seconds from now."""
        with self._lock:
            if self._job is not None:
                return
            job = self._job = _Job(key)
        later(lambda: self._run(job, make), DELAY)

    def take(self, key: Any, timeout: float) -> tuple[Any, bool] | None:
        """The worker made ahead (waiting up to ``timeout`` seconds for one being made) and
        whether it was started for ``key``; ``None`` if there is none, making it failed, or it
        has not begun (the caller's own start is sooner than waiting for its delay)."""
        with self._lock:
            job, self._job = self._job, None
            if job is not None and not job.begun:  # still waiting to begin: made here sooner
                job.cancelled = True
                return None
        if job is None:
            return None
        if not job.done.wait(timeout):
            self._drop(job)
            return None
        with self._lock:
            transport, job.transport = job.transport, None
            if transport is None:
                return None
            self.held.remove(transport)
        return transport, job.key == key

    def cancel(self) -> None:
        """Kill the worker made ahead, or the one being made once it is."""
        with self._lock:
            job, self._job = self._job, None
        if job is not None:
            self._drop(job)

    def _drop(self, job: _Job) -> None:
        with self._lock:
            job.cancelled = True
            transport, job.transport = job.transport, None
            if transport is not None:
                self.held.remove(transport)
        if transport is not None:
            transport.kill()

    def _run(self, job: _Job, make: Callable[[Any], Any]) -> None:
        with self._lock:
            job.begun = True
            if job.cancelled:
                return
        try:
            transport = make(job.key)
        except Exception as exc:  # the caller's start() makes one itself, and reports why not
            log.debug("a worker made ahead failed to start: %s", exc)
            transport = None
        with self._lock:
            if transport is not None and not job.cancelled:
                job.transport = transport
                self.held.append(transport)
                transport = None
        job.done.set()
        if transport is not None:  # cancelled meanwhile
            transport.kill()


class _Job:
    def __init__(self, key: Any) -> None:
        self.key = key
        self.done = threading.Event()
        self.transport: Any = None
        self.begun = False
        self.cancelled = False


#: Seconds between the start of a session and the making of the next one's worker: the
#: session's first cells need the machine's cores more (the fork server waits as long to fork
#: its spares after a claim).
DELAY = 0.05

#: How long the thread, once idle, keeps looking at its jobs every ``DELAY`` seconds by itself
#: before it sleeps until woken: while it looks, queuing a job wakes nothing (a wake-up costs
#: the caller, a ``start()``, tens of microseconds on a virtual machine).
LINGER = 2.0

_jobs: list[tuple[float, int, Callable[[], None]]] = []  # a heap: when due, order, the job
_wake = threading.Condition()
_thread: threading.Thread | None = None
_busy = False  # whether the thread runs a job
_sleeping = False  # whether it waits to be woken (else it looks again within DELAY seconds)
_count = itertools.count()


def later(job: Callable[[], None], delay: float = 0.0) -> None:
    """Run ``job`` on this process's background thread once ``delay`` seconds have passed
    (jobs run one at a time, the soonest due first; one that raises is logged). A job queued
    while the thread lingers may wait up to ``DELAY`` seconds for its first look."""
    global _thread
    with _wake:
        heapq.heappush(_jobs, (time.monotonic() + delay, next(_count), job))
        if _thread is None:  # started on first use, and again in a forked child of the host
            _thread = threading.Thread(target=_serve, name="codeact-later", daemon=True)
            _thread.start()
        if _sleeping:
            _wake.notify()


def settle(timeout: float = 10.0) -> bool:
    """Wait until every job queued so far has run (a test that counts descriptors or processes
    wants the background's work done); ``False`` if that took longer than ``timeout``."""
    deadline = time.monotonic() + timeout
    with _wake:
        while _jobs or _busy:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            _wake.wait(min(left, max(_jobs[0][0] - time.monotonic(), 0.001) if _jobs else left))
    return True


def _serve() -> None:
    global _busy, _sleeping
    idle_since = time.monotonic()
    while True:
        with _wake:
            _busy = False
            _wake.notify_all()  # for settle()
            while not _jobs or _jobs[0][0] > (now := time.monotonic()):
                _sleeping = now - idle_since >= LINGER
                due = _jobs[0][0] - now if _jobs else None
                _wake.wait(due if _sleeping else min(due or DELAY, DELAY))
            _sleeping = False
            job = heapq.heappop(_jobs)[2]
            _busy = True
        try:
            job()
        except Exception:
            log.exception("a background job of the sandboxes failed")
        del job  # it may hold a client, which must be collectable while this thread waits
        idle_since = time.monotonic()


def _forget_thread() -> None:
    global _jobs, _wake, _thread, _busy, _sleeping
    _jobs, _wake, _thread, _busy, _sleeping = [], threading.Condition(), None, False, False


os.register_at_fork(after_in_child=_forget_thread)
