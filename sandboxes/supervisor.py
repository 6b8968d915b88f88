"""The worker's supervisor: the end of the host's channel, out of the code's reach.

The worker program (``python -m sandboxes.worker``, the docker bootstrap, a child of the local
fork server) is two processes. The supervisor holds the host's channel and never runs code; the
cells run in a child process (``sandboxes.worker.serve_cells``) that talks to the supervisor over
a socket of its own. The supervisor relays between them (one JSON object per line, see
``sandboxes.worker``) and enforces:

- **The child holds nothing of the host's.** Its fds 0 and 1 are ``/dev/null``, fd 2 is a pipe
  the supervisor drains, fd 3 its own socket, and nothing else is open: code that escapes every
  other guard can neither write to the host's stream or stderr nor read what the host sends
  (tool results, the nonces below).
- **The child cannot reach the supervisor.** The supervisor is non-dumpable
  (``PR_SET_DUMPABLE`` 0): a process of the same uid can neither ptrace it nor open its
  ``/proc/<pid>/mem`` or ``/proc/<pid>/fd/*``. Where the kernel allows, the child is also pid 1
  of a pid namespace of its own, in which the supervisor has no pid to signal.
- **Each request has a nonce.** ``start`` and ``run`` carry a ``nonce`` that only the supervisor
  sees (it is removed before the request is forwarded) and that the supervisor adds to every
  message it forwards for that request. A message that reaches the host's stream any other way
  lacks it, and the host refuses it.
- **The child speaks only in turn.** While a request is pending it may send ``tool_call``
  messages (in a run) and then one answer (``ready`` or ``error`` to ``start``, ``done`` to
  ``run``). A message when nothing is pending, anything after the answer (in the same read or
  a later one), a line that is not a JSON object with an ``op``, or another op ends the worker:
  the child is killed and the reason goes to stderr. A line in the worker's own spelling is
  taken by its op unparsed (``_kind``); if the rest is not JSON, the host ends the worker.
- **What the code leaves behind dies with the worker.** The child gets SIGKILL when the
  supervisor dies (``PR_SET_PDEATHSIG``) and, as pid 1 of its own pid namespace, takes every
  process in it along: the kernel kills a namespace with its init, and ``setsid()`` does not
  leave a namespace as it leaves a process group. A supervisor that is pid 1 itself (a
  container's init) also kills every process but the child after each run, before it forwards
  the run's answer, and stamps the answer with the number of threads the cell left running
  (``threads_left``): the host then replaces the worker, since such a thread could speak in a
  later run's turn with that run's nonce.
- **Nothing of a run lives on between runs.** What the child counts at an answer it could
  start right after (a cell that escaped the policy owns its process): so the count is taken
  again when the next request comes, before the child hears of it, and a thread or process
  found then ends the worker. A container's supervisor also checks that its own limits are
  as it set them (the cell shares its uid, and ``prlimit`` on a process of one's own uid
  needs no privilege): shrunk, they would blind its view of ``/proc``, and a ``/proc`` it
  cannot list counts as not alone rather than empty.

Standard library only (it runs in any image with ``python3``); the Linux calls
(``sandboxes._linux``) are skipped where they do not exist.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import select
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

from sandboxes import _linux

#: Processes and threads a child in a pid namespace of its own may have at once: its
#: ``RLIMIT_NPROC`` in its user namespace, and its namespace's ``pid_max`` (Linux 6.14+) 300
#: beyond (pids past 300 are all that is left once they wrap).
TASKS = 256
#: Signals that may wait, queued, for a child in a user namespace of its own (the count is
#: per user, shared with the host's processes of the same uid).
QUEUED_SIGNALS = 64
#: Longest line the child may send (its values are capped far below this).
MAX_LINE = 16 * 2**20
#: The answers that end a pending request, by the request's op.
ANSWERS = {"start": ("ready", "error"), "run": ("done",)}
CHILD_FD = 3  # the child's end of its socket, in the child
_EXIT_WAIT = 0.2  # seconds a joined thread of the child's may take to be gone
_STDERR_KEPT = 2000  # bytes of the child's stderr kept for the report of its end
#: Bytes per read: under malloc's mmap threshold (a larger buffer costs an mmap per read).
_READ_SIZE = 65536
_TOOL_RESULT = b'{"op":"tool_result"'  # how the host starts tool results: forwarded unparsed
_NONCE_SIZE = 32  # the host's nonces: 32 hex digits
#: How the host starts its requests, up to the nonce's digits (other spellings are parsed).
_REQUEST_HEADS = [(op, b'{"op":"%s","nonce":"' % op.encode()) for op in ANSWERS]
_KILL_PATIENCE = 10.0  # seconds an init keeps killing what a cell left before it answers


class OutOfTurn(Exception):
    """The child broke the protocol; the message says how."""


class Supervisor:
    """Serves the host on ``host_in``/``host_out`` by running cells in a child process.

    ``cell(fd)`` is the child's program: it serves requests on socket ``fd`` and never returns.
    ``namespaces`` are ``CLONE_NEW*`` flags wanted beyond a user and pid namespace of the
    child's own, and ``prepare()`` runs in the child once it has them, before it drops its
    privileges (to mount its own file system, say); when the kernel refuses them that is an
    ``OSError``, before anything is forked. Without ``namespaces`` a refusal only means the child
    has no user and pid namespace of its own, and ``isolated`` is ``False``. ``dumpable_cell``
    leaves the child dumpable (in a container, where the code runs unrestricted and reads its
    own ``/proc/self``). ``seccomp``: the child filters its system calls with that profile of
    ``sandboxes._seccomp`` (``"local"``, ``"container"``) before it runs anything; an
    ``OSError`` in the child where the filter exists and the kernel refuses it.
    ``single_runs``: nothing of a run may outlive its answer: a run's answer says how many
    threads the child has beyond those it started with (``threads_left``: the host replaces
    the worker), and a child that has a process of its own then is killed (its answer is not
    forwarded), so that no thread or process of run N can speak for run N+1.
    """

    def __init__(
        self,
        host_in: int,
        host_out: int,
        cell: Callable[[int], None],
        *,
        namespaces: int = 0,
        prepare: Callable[[], None] | None = None,
        dumpable_cell: bool = False,
        seccomp: str | None = None,
        single_runs: bool = False,
    ) -> None:
        self.host_in, self.host_out = host_in, host_out
        self._seccomp = seccomp
        # the procfs as it was before the child hid /proc: where its threads and children show
        self._proc = _open_proc() if single_runs else None
        self._threads = 1  # the child's threads when it last answered a start
        self._cell = cell
        self._prepare = prepare
        self._dumpable_cell = dumpable_cell
        _linux.set_dumpable(False)  # before the fork: the child starts non-dumpable too
        self.isolated = _linux.unshare(_linux.CLONE_NEWUSER | _linux.CLONE_NEWPID | namespaces)
        if namespaces and not self.isolated:
            raise OSError("the kernel refused the sandbox namespaces of its own")
        self._init = os.getpid() == 1
        self._limits = _own_limits() if self._init else None
        self.child, self._sock, self._err = self._spawn()
        self._family = None if self._proc is None else _Family(self._proc, self.child)
        self._status: int | None = None  # the child's wait status, once reaped
        self._from_host = _Lines(host_in)
        self._from_child = _Lines(self._sock)
        self._stderr = b""
        self._poll = select.poll()
        self._pidfd = _pidfd(self.child)
        for fd in (host_in, self._sock, self._err, self._pidfd):
            if fd is not None:
                self._poll.register(fd, select.POLLIN)
        _warm_up()

    def serve(self) -> None:
        """Relay until the host goes (exit 0), or the child ends or breaks the protocol (exit
        non-zero, the reason on stderr); never returns."""
        try:
            while True:
                lines = self._from_host.take()
                while not lines:
                    self._wait()
                    if self._from_child.pending():
                        raise OutOfTurn("it sent a message while no request was pending")
                    lines = self._from_host.take()
                for line in lines:
                    self._request(line)
        except OutOfTurn as exc:
            self._end(f"the code's process broke the protocol ({exc}) and was killed", 3)
        except LeftBehind as exc:
            reason = f"the code left {exc} running when its run ended, so it was killed"
            self._end(reason, 3)
        except _ChildEnded:
            self._end(*_describe(self._status or 0))
        except _HostGone:
            self._end(None, 0)

    # --- requests -------------------------------------------------------------------------

    def _request(self, line: bytes) -> None:
        self._check_idle()
        for op, head in _REQUEST_HEADS:  # how the host encodes requests: no parsing needed
            end = len(head) + _NONCE_SIZE
            nonce = line[len(head) : end]
            if line.startswith(head) and line[end : end + 2] == b'",' and nonce.isalnum():
                self._to_child(b'{"op":"%s",' % op.encode() + line[end + 2 :])
                self._pending(op, b',"nonce":"%s"}\n' % nonce)
                return
        message = None if line.startswith(_TOOL_RESULT) else json.loads(line)
        op = message.get("op") if isinstance(message, dict) else None
        if message is None or op not in ANSWERS:
            return  # e.g. a tool result with nothing pending: for a call the timeout interrupted
        nonce = message.pop("nonce", None)
        self._to_child(_encode(message))
        self._pending(op, None if nonce is None else b',"nonce":' + _encode(nonce)[:-1] + b"}\n")

    def _pending(self, op: str, stamp: bytes | None) -> None:
        """Forward tool results to the child and its messages, stamped, to the host, until the
        child answers ``op``."""
        answers = ANSWERS[op]
        while True:
            for line in self._from_host.take():
                if line.startswith(_TOOL_RESULT) or _host_op(line) == "tool_result":
                    self._to_child(line)
            lines = self._from_child.take()
            for number, line in enumerate(lines, 1):
                kind = _kind(line)
                if not (kind in answers or kind == "tool_call" and op == "run"):
                    raise OutOfTurn(f"a {kind!r} message while answering {op!r}")
                if kind in answers and (number < len(lines) or self._from_child.pending()):
                    raise OutOfTurn(f"it sent more after its {kind!r}")  # in this read or not
                extra = b""
                if kind in answers and self._init:
                    self._kill_all_but_child()
                    if op == "run":  # stamped after the child's own keys, so it overrides them
                        extra = b',"threads_left":%d' % self._threads_left()
                if kind in answers and self._family is not None and (left := self._check_alone(op)):
                    extra = b',"threads_left":%d' % left
                if stamp is not None or extra:
                    line = line.rstrip()[:-1] + extra + (stamp or b"}\n")
                self._to_host(line)
                if kind in answers:
                    return
            self._wait()

    # --- the channels ---------------------------------------------------------------------

    def _wait(self) -> None:
        """Block until a channel has data or the child ends; read what came. The end of the
        host's channel ends the worker at once, even in a run (the host has died, say)."""
        for fd, _ in self._poll.poll():
            if fd == self.host_in and not self._from_host.fill():
                raise _HostGone
            if fd == self._sock and not self._from_child.fill():
                self._reap()
            if fd == self._err:
                chunk = _read(self._err)
                if not chunk:
                    self._poll.unregister(self._err)
                self._stderr = (self._stderr + chunk)[-_STDERR_KEPT:]
            if fd == self._pidfd:
                self._reap()

    def _to_child(self, data: bytes) -> None:
        try:
            _write_all(self._sock, data)
        except OSError:
            self._reap()

    def _to_host(self, data: bytes) -> None:
        try:
            _write_all(self.host_out, data)
        except OSError:
            raise _HostGone from None

    # --- the child ------------------------------------------------------------------------

    def _spawn(self) -> tuple[int, int, int]:
        ours, theirs = socket.socketpair()
        sock, child_sock = ours.detach(), theirs.detach()
        err_r, err_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: only its own fds, no privileges, then the cells
            try:
                _linux.prctl(_linux.PR_SET_PDEATHSIG, signal.SIGKILL)
                os.setsid()
                devnull = os.open(os.devnull, os.O_RDWR)
                for fd, target in ((devnull, 0), (devnull, 1), (err_w, 2), (child_sock, CHILD_FD)):
                    os.dup2(fd, target)
                os.closerange(CHILD_FD + 1, _max_fd())
                if self.isolated:
                    _linux.limit_tasks(TASKS)
                    _linux.limit_shared_quotas(QUEUED_SIGNALS)
                if self.isolated and self._prepare is not None:
                    self._prepare()
                _linux.drop_privileges()
                if self._dumpable_cell:
                    _linux.set_dumpable(True)
                if self._seccomp:
                    self._filter()
                self._cell(CHILD_FD)
            finally:
                os._exit(70)
        os.close(child_sock)
        os.close(err_w)
        return pid, sock, err_r

    def _filter(self) -> None:
        from sandboxes import _seccomp  # only here: a container's worker imports it late

        if not _seccomp.install(self._seccomp) and _seccomp.supported():
            raise OSError("the kernel refused the sandbox's system-call filter")

    def _reap(self) -> None:
        """The child ended or stopped listening: make sure it is gone, then report it."""
        if self._status is None:
            _kill(self.child)
            while self._status is None:
                try:
                    pid, status = os.waitpid(self.child, 0)
                except ChildProcessError:  # reaped already (an init's reaping of orphans)
                    status = 0
                except InterruptedError:
                    continue
                self._status = status
        raise _ChildEnded

    def _check_idle(self) -> None:
        """Before a request reaches the child: ``LeftBehind`` if it has started a thread or a
        process since its last answer (code that escaped the policy, running on unobserved),
        ``OutOfTurn`` if a container's cell changed the supervisor's limits."""
        if self._family is not None:
            threads, processes = self._family.count()
            if threads > self._threads or processes:
                left = [_count(threads - self._threads, "thread"), _count(processes, "process")]
                raise LeftBehind(" and ".join(part for part in left if part) + " between runs")
        if self._init:
            if _own_limits() != self._limits:
                raise OutOfTurn("it changed the supervisor's limits")
            if _others((os.getpid(), self.child)) or self._threads_left(wait=0):
                raise LeftBehind("a thread or process between runs")

    def _check_alone(self, op: str) -> int:
        """At a start's answer, count the child's threads; at a run's, the threads it has
        beyond those (the host replaces the worker: they could speak in a later run's turn),
        and ``LeftBehind`` if it has a process of its own (an honest cell kills them all
        before it answers). Threads that were joined may still be exiting: a count over
        stands only once it stays over for ``_EXIT_WAIT`` seconds."""
        deadline = time.monotonic() + _EXIT_WAIT
        while True:
            threads, processes = self._family.count()  # type: ignore[union-attr]
            if op != "run":
                self._threads = max(threads, 1)
                return 0
            if threads <= self._threads and not processes:
                return 0
            if time.monotonic() > deadline:
                if processes:
                    left = [_count(threads - self._threads, "thread"), _count(processes, "process")]
                    raise LeftBehind(" and ".join(part for part in left if part))
                return threads - self._threads
            time.sleep(0.005)

    def _kill_all_but_child(self) -> None:
        """As a namespace's init: SIGKILL every other process in it and reap them, until a
        pass finds none alive (processes forked during a pass go in the next; the child's
        zombies are its to reap). A loaded machine may take a while to end a fork bomb: passes
        go on for up to ``_KILL_PATIENCE`` seconds."""
        keep = (os.getpid(), self.child)
        deadline = time.monotonic() + _KILL_PATIENCE
        while True:
            others = _others(keep)
            for pid in others:
                _kill(pid)
            self._reap_orphans()
            if not others or time.monotonic() > deadline:
                return
            time.sleep(0.001)  # let the killed ones exit before the next pass looks

    def _threads_left(self, wait: float = 0.5) -> int:
        """Threads of the child besides its main one once it has answered a run: what a cell
        left running (it would speak in a later run's turn). Threads about to end get
        ``wait`` seconds to do so."""
        deadline = time.monotonic() + wait
        while True:
            left = len(_listdir(f"/proc/{self.child}/task")) - 1
            if left <= 0 or time.monotonic() > deadline:
                return max(left, 0)
            time.sleep(0.01)

    def _reap_orphans(self) -> None:
        for pid, status in _linux.reap_ended():
            if pid == self.child:
                self._status = status

    def _end(self, reason: str | None, code: int) -> None:
        """Kill the child (and, as init, everything else), report ``reason``, exit ``code``."""
        _kill(self.child)
        with contextlib.suppress(_ChildEnded, OSError):
            self._reap()
        if self._init:
            with contextlib.suppress(OutOfTurn):
                self._kill_all_but_child()
        if reason is not None:
            tail = self._stderr.decode("utf-8", "replace").strip()
            reason += f"; its last output: {tail}" if tail else ""
            with contextlib.suppress(OSError):
                os.write(2, f"codeact worker: {reason}\n".encode("utf-8", "replace"))
        os._exit(code)


class LeftBehind(Exception):
    """A run's answer came while threads or processes it started still ran; what is left."""


class _HostGone(Exception):
    """The host closed its channel."""


class _ChildEnded(Exception):
    """The child process has ended and been reaped."""


class _Lines:
    """Bytes read from a descriptor, handed out as complete lines (at most ``MAX_LINE``)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buf = bytearray()

    def fill(self) -> bool:
        """Read what is there; ``False`` at EOF."""
        chunk = _read(self.fd)
        self._buf += chunk
        if len(self._buf) > MAX_LINE and b"\n" not in self._buf:
            raise OutOfTurn(f"a line longer than {MAX_LINE} bytes")
        return bool(chunk)

    def take(self) -> list[bytes]:
        end = self._buf.rfind(b"\n")
        if end < 0:
            return []
        data = bytes(self._buf[: end + 1])
        del self._buf[: end + 1]
        return data.splitlines(keepends=True)

    def pending(self) -> bool:
        return bool(self._buf)


def _warm_up() -> None:
    """Take one request and one answer apart as the relay will: in a fresh fork of the fork
    server this copies the pages that the first real ones would, before a sandbox waits."""
    request = b'{"op":"run","nonce":"%s","id":1,"code":"1 + 1","timeout":30.0}\n' % (b"0" * 32)
    _Lines(-1)._buf += request
    _host_op(request)
    answer = b'{"op":"done","id":1,"stdout":"","value":2,"error":null,"duration_s":0.1}\n'
    _kind(answer)
    _encode({"op": "done", "nonce": "0" * 32})
    answer.rstrip()[:-1] + b',"nonce":"%s"}\n' % (b"0" * 32)


def _host_op(line: bytes) -> Any:
    message = json.loads(line)
    return message.get("op") if isinstance(message, dict) else None


def _kind(line: bytes) -> str:
    """The op of a message from the child; ``OutOfTurn`` unless it is a JSON object with one.

    A line as the worker writes them (``{"op":"<op>",`` first, ``}`` last, one ``"op"`` in
    all and no ``\\u`` escape) is not parsed: its op can only be that first key's, since no
    other key of it can spell ``op``, and the stamps added to it hold none. Whether the rest
    is JSON is then the host's to check, and a line that is not ends the worker there
    (``sandboxes._client``): it cannot pass for another kind of message on the way.
    """
    from sandboxes.worker import too_many_containers  # loaded already: the cell's module

    if too_many_containers(line):  # parsing it would cost 20-50 times its size
        raise OutOfTurn("a message with too many lists and dicts")
    if line.startswith(b'{"op":"') and line.endswith(b"}\n"):
        end = line.find(b'",', 7)
        if 7 < end <= 57 and line.count(b'"op"') == 1 and b"\\u" not in line:
            op = line[7:end]
            if op.replace(b"_", b"").isalnum():
                return op.decode()
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        raise OutOfTurn("a line that is not JSON") from None
    op = message.get("op") if isinstance(message, dict) else None
    if not isinstance(op, str):
        raise OutOfTurn("a message without an op")
    return op[:50]


def _describe(status: int) -> tuple[str, int]:
    """How the child ended, and the exit code that tells the host (128 + signal, as shells)."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return f"the code's process was killed by {name}", 128 + number
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1
    return f"the code's process ended with exit code {code}", code or 1


def _encode(message: Any) -> bytes:
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8", "surrogatepass") + b"\n"


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, _READ_SIZE)
    except OSError:  # a reset connection counts as its end
        return b""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _kill(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)


def _zombie(pid: str) -> bool:
    """Whether the process has ended and waits for its parent to collect it (or is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] == b"Z"
    except (OSError, IndexError):
        return True


def _others(keep: tuple[int, ...]) -> list[int]:
    """The live processes of this (container's) pid namespace but ``keep``; ``OutOfTurn`` when
    ``/proc`` cannot be listed (descriptors exhausted by a shrunk limit, say): not alone."""
    try:
        entries = os.listdir("/proc")
    except OSError as exc:
        raise OutOfTurn(f"the supervisor cannot list /proc ({exc.strerror})") from None
    return [int(e) for e in entries if e.isdigit() and int(e) not in keep and not _zombie(e)]


def _own_limits() -> list[tuple[int, int]]:
    """This process's resource limits, every kind the kernel has."""
    import resource

    return [resource.getrlimit(kind) for kind in _limit_kinds(resource)]


@functools.cache
def _limit_kinds(resource: Any) -> list[int]:
    return sorted({getattr(resource, name) for name in dir(resource) if name[:7] == "RLIMIT_"})


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _max_fd() -> int:
    try:
        return max(os.sysconf("SC_OPEN_MAX"), 256)
    except (ValueError, OSError):
        return 65536


def _count(n: int, noun: str) -> str:
    return (
        "" if n <= 0 else f"1 {noun}" if n == 1 else f"{n} {noun}{'es' if noun[-1] == 's' else 's'}"
    )


def _open_proc() -> int | None:
    try:
        return os.open("/proc", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None


class _Family:
    """Counts the threads of process ``pid`` and its children (those of any thread), through
    ``proc``, a descriptor of a procfs that shows it. Its ``stat``, task list and main
    thread's children are opened once and read again at each count (procfs makes them anew
    at each read from the start). A process of one thread, as a cell between runs is, costs
    two reads: its thread count from ``stat``, its children; with more, the task list and a
    read per thread (listing a directory is eight system calls, every count of every run)."""

    def __init__(self, proc: int, pid: int) -> None:
        self._proc, self._pid = proc, pid
        self._stat: int | None = None
        self._tasks: int | None = None
        self._main_children: int | None = None

    def count(self) -> tuple[int, int]:
        proc, pid = self._proc, self._pid
        try:
            if self._stat is None:
                self._stat = os.open(f"{pid}/stat", os.O_RDONLY, dir_fd=proc)
                self._tasks = os.open(f"{pid}/task", os.O_RDONLY | os.O_DIRECTORY, dir_fd=proc)
                path = f"{pid}/task/{pid}/children"
                self._main_children = os.open(path, os.O_RDONLY, dir_fd=proc)
            # num_threads, the 20th field: the 18th after the name, which ends at the last ")"
            if int(os.pread(self._stat, 4096, 0).rpartition(b")")[2].split()[17]) == 1:
                return 1, len(os.pread(self._main_children, 65536, 0).split())  # type: ignore[arg-type]
            threads = [t for t in os.listdir(self._tasks) if t.isdigit()]  # type: ignore[arg-type]
        except (OSError, ValueError, IndexError):  # it has ended: the relay sees that next
            return 0, 0
        children = 0
        for tid in threads:
            try:
                if tid == str(pid) and self._main_children is not None:
                    children += len(os.pread(self._main_children, 65536, 0).split())
                    continue
                fd = os.open(f"{pid}/task/{tid}/children", os.O_RDONLY, dir_fd=proc)
            except OSError:
                continue
            try:
                children += len(os.read(fd, 65536).split())
            finally:
                os.close(fd)
        return len(threads), children


def _pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when ``pid`` ends (Linux 5.3+), or ``None``."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None
