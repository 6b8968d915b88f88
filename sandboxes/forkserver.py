"""The host's side of the ``local`` fork server (``sandboxes.zygote``): one per process and mode,
and the transport to each worker it forks.

The first ``LocalSandbox`` of a process starts the zygote: inside bubblewrap where the boundary
works, else as a plain process (``server``). Every worker after that is a fork of it, and
``SPARES`` workers are forked ahead of need, so that a new sandbox takes one that is already
waiting: its start is a handshake, not a process start. Spares are interchangeable (a sandbox's
options reach its worker in ``start``, limits are applied then), hold nothing but their own
descriptors, and die with the zygote's boundary when the host exits.

A worker's transport is a socket to its supervisor plus the supervisor's stderr. ``kill`` does
not ask the worker: it SIGKILLs the supervisor and the cell process (found by pid from the
zygote's reports) and returns once both are gone, the cell's whole pid namespace with it.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from sandboxes import _ahead, boundary
from sandboxes._channel import FdChannel
from sandboxes.base import SandboxError
from sandboxes.zygote import REQUEST_SIZE

#: Workers forked ahead of need, per fork server: up to this many sandboxes started back to back
#: (an agent's ``start()`` after each task is a new worker, see ``WorkerClient``) take one
#: that waits, not a fork of their own (measured: 5-8 ms each for start and a first run on a
#: loaded 2-core machine, against ~21 ms from the third on with 2). Each costs ~6 MB of private
#: memory (supervisor and cell) while it waits.
SPARES = 4
_START_TIMEOUT = 60.0  # seconds for a zygote to import the worker and the policy
_KILL_WAIT = 5.0  # seconds a kill waits for a worker to end (one in D state may not)
_ROOT = str(Path(__file__).resolve().parent.parent)


class ForkServer:
    """A zygote and its spare workers. ``bwrap``: the binary to run it in, or ``None``."""

    def __init__(self, bwrap: str | None, env: dict[str, str]) -> None:
        self.bwrap = bwrap
        self.pid = os.getpid()  # the process this server belongs to
        self._lock = threading.Lock()
        self._spares: collections.deque[ForkedTransport] = collections.deque()
        self._awaiting: dict[int, ForkedTransport] = {}  # by request id, until their pid comes
        self._requests = 0
        self._by_pid: dict[int, ForkedTransport] = {}
        self._replies = bytearray()
        self._dead = False
        ours, theirs = socket.socketpair()
        self._control = ours
        paths = [_ROOT, *(p for p in sys.path if p and os.path.isabs(p))]
        boot = (
            f"import sys; sys.path[:0] = {paths!r}\n"
            f"from sandboxes import zygote; zygote.serve({theirs.fileno()}, {bwrap is not None})"
        )
        argv = [os.path.realpath(sys.executable), "-I", "-B", "-c", boot]
        if bwrap is not None:
            argv = boundary.wrap(argv, env, bwrap)
        try:
            self.proc = boundary.popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                pass_fds=(theirs.fileno(),),
                cwd="/",
                env={"PATH": env["PATH"]} if bwrap is not None else env,
                start_new_session=True,
            )
        except OSError as exc:
            raise SandboxError(f"cannot start the sandbox fork server: {exc}") from None
        finally:
            theirs.close()
        self._handshake()

    def worker(self, max_line: int) -> ForkedTransport:
        """A worker for a new sandbox: a waiting spare, else a new fork; spares are topped up."""
        with self._lock:
            self._read_replies(0)
            transport = None
            for spare in list(self._spares):
                if not spare.waiting():  # it died waiting (its cell too: PDEATHSIG)
                    self._spares.remove(spare)
                    spare.close_fds()
                elif spare.ns_pid is not None and transport is None:  # forked already
                    self._spares.remove(spare)
                    transport = spare
            if transport is None:  # none is forked yet: this one should not wait for it
                transport = self._fork(b"spawn")
            while len(self._spares) < SPARES:
                self._spares.append(self._fork(b"spare"))
        transport.max_line = max_line
        return transport

    def alive(self) -> bool:
        """Whether the zygote still serves: its process runs and its end of the control
        socket is open (its ``bwrap`` may outlive it briefly)."""
        if self._dead or self.proc.poll() is not None or self._control.fileno() < 0:
            return False
        hangup = select.poll()
        hangup.register(self._control, select.POLLHUP | select.POLLERR)
        return not any(event & (select.POLLHUP | select.POLLERR) for _, event in hangup.poll(0))

    def stop(self) -> None:
        """Kill the zygote and its spares (the boundary's namespace takes every worker along)."""
        with self._lock:
            while self._spares:  # unclaimed: nothing in them to wait for
                self._spares.popleft().close_fds()
        if self.proc.returncode is None:  # once reaped, its group id may be reused; bwrap's
            with contextlib.suppress(OSError):  # namespace ended with it (--die-with-parent)
                os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=_KILL_WAIT)
        self._control.close()
        if self.proc.stderr is not None:
            self.proc.stderr.close()

    def forget(self) -> None:
        """In a forked child of the host: close what was the parent's, kill nothing."""
        for transport in [*self._spares, *self._by_pid.values(), *self._awaiting.values()]:
            transport.close_fds()
        self._control.close()
        if self.proc.stderr is not None:
            self.proc.stderr.close()

    # --- the zygote -----------------------------------------------------------------------

    def _fork(self, kind: bytes) -> ForkedTransport:
        """Ask for a worker (``b"spawn"``: now; ``b"spare"``: after a pause)."""
        ours, theirs = socket.socketpair()
        err_r, err_w = os.pipe()
        self._requests += 1
        request = b"%s:%09d\n" % (kind, self._requests % 10**9)
        assert len(request) == REQUEST_SIZE
        try:
            socket.send_fds(self._control, [request], [theirs.fileno(), err_w])
        except OSError as exc:
            ours.close()
            os.close(err_r)
            self._dead = True  # the next ``server()`` starts a new one
            raise SandboxError(f"the sandbox fork server is gone ({self._why()})") from exc
        finally:
            theirs.close()
            os.close(err_w)
        transport = ForkedTransport(self, ours.detach(), err_r)
        self._awaiting[self._requests % 10**9] = transport
        return transport

    def _handshake(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            line = self._next_reply(max(0.0, deadline - time.monotonic()))
            if line is None or line.get("op") == "error":
                reason = line.get("error") if line else self._why()
                self.stop()
                raise SandboxError(f"the sandbox fork server did not start: {reason}")
            if line.get("op") == "ready":
                return

    def _next_reply(self, timeout: float) -> dict[str, object] | None:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._replies:
            if self._control.fileno() < 0:  # stopped: it has nothing more to say
                return None
            left = max(0.0, deadline - time.monotonic())
            if not _readable(self._control.fileno(), left):
                return None
            try:
                chunk = self._control.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                return None
            self._replies += chunk
        line, _, rest = bytes(self._replies).partition(b"\n")
        self._replies = bytearray(rest)
        return json.loads(line)

    def _read_replies(self, timeout: float) -> None:
        """Take what the zygote has reported (pids of new workers, ends of old ones), waiting up
        to ``timeout`` for the first report."""
        while True:
            reply = self._next_reply(timeout)
            if reply is None:
                return
            timeout = 0
            pid = reply.get("pid")
            if not isinstance(pid, int):
                continue
            if reply.get("op") == "spawned":
                transport = self._awaiting.pop(reply.get("id"), None)  # type: ignore[arg-type]
                if transport is not None:
                    transport.ns_pid = pid
                    self._by_pid[pid] = transport
            elif reply.get("op") == "exited":
                transport = self._by_pid.pop(pid, None)
                if transport is not None:
                    transport.status = reply.get("status")  # type: ignore[assignment]

    def report(self, transport: ForkedTransport, timeout: float, *, ended: bool = False) -> None:
        """Take the zygote's reports until ``transport`` has its pid (and, if ``ended``, its
        exit status), for at most ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                self._read_replies(0)
                if transport.ns_pid is not None and (transport.status is not None or not ended):
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._read_replies(left)

    def zygote_pid(self) -> int | None:
        """The zygote's pid on the host (Linux): under bwrap, the child of bwrap's init."""
        return self.proc.pid if self.bwrap is None else _child(_child(self.proc.pid))

    def host_pid(self, ns_pid: int) -> int | None:
        """The host's pid of the zygote's child ``ns_pid`` (Linux), or ``None``."""
        zygote = self.zygote_pid()
        if zygote is None:
            return None
        if self.bwrap is None:
            return ns_pid
        for child in _children(zygote):
            with contextlib.suppress(OSError, IndexError, ValueError):
                status = Path(f"/proc/{child}/status").read_text()
                ids = status.split("NSpid:")[1].split("\n")[0].split()
                if int(ids[1]) == ns_pid:
                    return child
        return None

    def _why(self) -> str:
        if self.proc.poll() is None:
            return "it stopped answering"
        tail = b""
        if self.proc.stderr is not None:
            with contextlib.suppress(OSError):
                os.set_blocking(self.proc.stderr.fileno(), False)
                tail = self.proc.stderr.read() or b""
        text = tail.decode("utf-8", "replace").strip()[-500:]
        return f"exit code {self.proc.returncode}" + (f"; its last output: {text}" if text else "")


class ForkedTransport(FdChannel):
    """A ``Transport`` to a worker the zygote forked: its socket and its supervisor's stderr."""

    def __init__(self, server: ForkServer, sock: int, stderr: int) -> None:
        super().__init__(sock, sock)
        self.server = server
        self.sock = sock
        self.stderr = stderr
        self.start_options: dict[str, object] = {}  # what this worker's ``start`` adds
        self.ns_pid: int | None = None  # the supervisor's pid in the zygote's namespace
        self._host_pid: int | None = None
        self.status: int | None = None  # its wait status, once the zygote reaped it
        self._tail = b""
        self._closed = False
        self._pinned: list[int] | None = None  # pidfds of the supervisor and the cell
        self._pinning = threading.Lock()

    def waiting(self) -> bool:
        """Whether the worker still waits for its host (a spare may have died meanwhile)."""
        return not self._closed and not _readable(self.stderr, 0)

    def supervisor_pid(self) -> int | None:
        """The supervisor's pid on the host (Linux), once the zygote has reported it."""
        if self._host_pid is None and not self._closed:
            if self.ns_pid is None:
                self.server.report(self, 0)
            if self.ns_pid is not None:
                self._host_pid = self.server.host_pid(self.ns_pid)
        return self._host_pid

    def abort(self) -> None:
        """From any thread: end the worker's channel; the supervisor ends its cell and exits,
        and a reader of this transport sees EOF."""
        if self._closed:
            return
        with contextlib.suppress(OSError), socket.socket(fileno=os.dup(self.sock)) as sock:
            sock.shutdown(socket.SHUT_RDWR)

    def kill(self) -> None:
        """SIGKILL the supervisor and the cell process; return once both are gone (the cell's
        pid namespace with it), or after ``_KILL_WAIT`` seconds.

        Each process is pinned with a pidfd and checked to be the child of the one above it
        before it is signalled through that pidfd, so a pid the kernel has since reused for
        another process is never hit."""
        if self._closed:
            return
        pinned: list[int] = []
        try:
            pinned = self.pin()
            self._signal(pinned)
        finally:
            self._wait_gone(pinned)

    def retire(self) -> None:
        """``kill``, its signals and wait on the background thread, a little later (a worker
        a new session replaces need not hold that session up); the processes are pinned here
        first, since the channel's end makes the supervisor exit and its pid free for the
        zygote's next fork, another sandbox's worker."""
        if self._closed:
            return
        pinned = self.pin()

        def finish() -> None:
            try:
                self._signal(pinned)
            finally:
                self._wait_gone(pinned)

        _ahead.later(finish, _ahead.DELAY)  # idle, and its channel unread: no hurry

    def pin(self) -> list[int]:
        """pidfds of the supervisor and the cell, each checked to be the child of the one
        above it; taken once, by whichever thread asks first (``WorkerClient`` asks on the
        background thread once a worker has started, so that killing or retiring it costs no
        lookups). Taken before the channel is shut: after, the supervisor exits, the zygote
        reaps it and may fork a spare under the same pid in its namespace, which a lookup by
        that pid would then find (and kill) instead."""
        with self._pinning:
            if self._closed:
                return []
            if self._pinned is None:
                self._pinned = self._find()
            return self._pinned

    def _find(self) -> list[int]:
        pinned: list[int] = []
        self.server.report(self, 1.0)  # its pid: reported right after the fork
        supervisor = self.supervisor_pid()
        zygote = self.server.zygote_pid()
        alive = self.status is None  # else reaped: its pid may be another process's by now
        if alive and supervisor and zygote and (pidfd := _pin(supervisor, zygote)) is not None:
            pinned.append(pidfd)
            cell = _child(supervisor)
            if cell and (pidfd := _pin(cell, supervisor)) is not None:
                pinned.append(pidfd)
        return pinned

    def _signal(self, pinned: list[int]) -> None:
        """Shut the channel, then SIGKILL what ``pinned`` holds."""
        self.abort()
        for pidfd in pinned:
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)

    def _wait_gone(self, pinned: list[int]) -> None:
        try:
            deadline = time.monotonic() + _KILL_WAIT
            self._read_stderr(deadline)  # EOF: the supervisor has exited
            for pidfd in pinned:
                _readable(pidfd, max(0.0, deadline - time.monotonic()))
        finally:
            with self._pinning:
                for pidfd in pinned:
                    os.close(pidfd)
                self._pinned = []
                self.close_fds()

    def exit_reason(self) -> str:
        """How the supervisor ended (the zygote's report) and what it said on stderr."""
        self._read_stderr(time.monotonic() + 1.0)
        self.server.report(self, 1.0, ended=True)
        reason = "the worker ended"
        if self.status is not None:
            if os.WIFSIGNALED(self.status):
                try:
                    reason = f"killed by {signal.Signals(os.WTERMSIG(self.status)).name}"
                except ValueError:
                    reason = f"killed by signal {os.WTERMSIG(self.status)}"
            elif os.WIFEXITED(self.status):
                reason = f"exit code {os.WEXITSTATUS(self.status)}"
        tail = self._tail.decode("utf-8", "replace").strip()
        return f"{reason}; its last output: {tail[-500:]}" if tail else reason

    def close_fds(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self.sock)
            os.close(self.stderr)
            self._forget_fds()

    def _read_stderr(self, deadline: float) -> None:
        """Read the supervisor's stderr until EOF (it exited) or ``deadline``."""
        if self._closed:
            return
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not _readable(self.stderr, left):
                return
            chunk = os.read(self.stderr, 65536)
            if not chunk:
                return
            self._tail = (self._tail + chunk)[-4000:]


def _readable(fd: int, timeout: float) -> bool:
    """Whether ``fd`` is readable (or hung up) within ``timeout`` seconds; ``poll``, since
    ``select`` fails for descriptors past 1023."""
    waiter = select.poll()
    waiter.register(fd, select.POLLIN)
    while True:
        try:
            return bool(waiter.poll(timeout * 1000))
        except InterruptedError:
            continue


def _pin(pid: int, parent: int) -> int | None:
    """A pidfd of ``pid`` if it is (still) a child of ``parent``, else ``None``."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None
    try:  # the pidfd holds the process: /proc/<pid> is that process from now on
        status = Path(f"/proc/{pid}/status").read_text()
        if int(status.split("\nPPid:")[1].split()[0]) == parent:
            return pidfd
    except (OSError, IndexError, ValueError):
        pass
    os.close(pidfd)
    return None


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


def _child(pid: int | None) -> int | None:
    found = _children(pid) if pid else []
    return found[0] if found else None


# --- one server per process and mode --------------------------------------------------------

_servers: dict[str | None, ForkServer] = {}
_servers_lock = threading.Lock()


def server(bwrap: str | None, env: dict[str, str]) -> ForkServer:
    """This process's fork server for ``bwrap`` (``None``: without the boundary), started or
    restarted as needed; ``SandboxError`` if it cannot start."""
    with _servers_lock:
        found = _servers.get(bwrap)
        if found is not None and found.pid == os.getpid() and found.alive():
            return found
        if found is not None and found.pid == os.getpid():
            found.stop()
        _servers[bwrap] = started = ForkServer(bwrap, env)
        return started


def _forget_all() -> None:
    for found in _servers.values():
        found.forget()
    _servers.clear()


def _stop_all() -> None:
    for found in list(_servers.values()):
        if found.pid == os.getpid():
            with contextlib.suppress(Exception):
                found.stop()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_all)
atexit.register(_stop_all)
