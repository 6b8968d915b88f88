"""The ``local`` backend (the default): restricted execution in a separate worker process.

The worker is a child of this interpreter with no inherited environment (so no API keys), its own
session (a terminal's Ctrl-C doesn't reach it), and OS limits on address space, file size and core
dumps. Code that overruns is interrupted; code that won't stop, or a worker that dies, is killed
and replaced, so the host never hangs or bloats.

Where bubblewrap works, the worker runs inside an OS boundary (``sandboxes.boundary``: no files
but the Python installation's, read-only, a private tmpfs as its working directory, no network,
no host processes): code that escapes the policy gains nothing. Where it does not, the worker is
an ordinary process of the host's user with a private temporary directory, ``boundary`` is
``None``, and a ``BoundaryWarning`` says so once.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from sandboxes import boundary
from sandboxes._client import MAX_LINE, ProtocolError, WorkerClient
from sandboxes.base import (
    DEFAULT_MAX_OUTPUT,
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT,
    Execution,
    Sandbox,
    SandboxError,
    check_importable,
)

_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
_BOOT = f"import sys; sys.path.insert(0, {_PACKAGE_ROOT!r}); import sandboxes.worker as w; w.main()"

_KILL_WAIT = 5.0  # seconds a kill waits for a process to end (one in D state may not)
#: The worker's whole environment (plus HOME and TMPDIR in its private directory).
WORKER_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    # One thread per numeric library: less memory reserved, so RLIMIT_AS is about the code.
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "MALLOC_ARENA_MAX": "2",
}


class LocalSandbox(Sandbox):
    """Runs code with the restricted policy in a worker process; tools run here, on the host.

    Code is interrupted at ``timeout``; a worker that ignores that for ``grace`` more seconds is
    killed and restarted. ``memory_mb`` is the address space the code may add to the worker's.
    ``boundary`` says what holds beneath the policy: ``"bwrap"`` (the worker runs inside
    bubblewrap, see ``sandboxes.boundary``) or ``None`` (nothing: an escape runs as you).
    """

    def __init__(
        self,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        memory_mb: int | None = DEFAULT_MEMORY_MB,
        allowed_imports: Iterable[str] = (),
        max_output: int = DEFAULT_MAX_OUTPUT,
        grace: float = 2.0,
    ) -> None:
        self._workdir = _Workdir()
        options = {
            "restricted": True,
            "allowed_imports": sorted(set(check_importable(allowed_imports))),
            "max_output": max_output,
            "memory_mb": memory_mb,
            "sys_path": [p for p in sys.path if p and os.path.isabs(p)],
        }
        bwrap = boundary.executable()
        self.boundary: str | None = "bwrap" if bwrap and boundary.works(bwrap) else None
        if bwrap is None:
            boundary.unavailable("bubblewrap is not installed")
        elif self.boundary is None:
            boundary.unavailable(f"{bwrap} cannot make namespaces here")
        max_line = MAX_LINE + 4 * max_output
        if bwrap and self.boundary:
            spawn = functools.partial(_spawn_bounded, bwrap, max_line)
        else:
            spawn = functools.partial(_spawn, self._workdir, max_line)
        self._client = WorkerClient(spawn, timeout=timeout, grace=grace, options=options)
        weakref.finalize(self, self._workdir.remove)

    @property
    def importable(self) -> frozenset[str]:
        """The modules the code may import (the safe default set plus ``allowed_imports``)."""
        from sandboxes.policy import DEFAULT_ALLOWED_IMPORTS  # lazily: the host needn't load it

        return DEFAULT_ALLOWED_IMPORTS | frozenset(self._client.options["allowed_imports"])

    @property
    def timeout(self) -> float | None:
        """Seconds a run may take before it is interrupted."""
        return self._client.timeout

    @timeout.setter
    def timeout(self, seconds: float | None) -> None:
        self._client.timeout = seconds

    @property
    def pid(self) -> int | None:
        """The process id of the worker's supervisor, which holds the sandbox's channel (see
        ``sandboxes.supervisor``), while one runs; for diagnostics."""
        transport = self._client.transport
        if not isinstance(transport, PipeTransport):
            return None
        if self.boundary is None:
            return transport.proc.pid
        return _descendant(transport.proc.pid, 2)  # bwrap, its init, the supervisor

    @property
    def workdir(self) -> str | None:
        """The worker's private working directory on the host while it exists (``None`` under
        the boundary: there it is a tmpfs that only the sandbox sees)."""
        return self._workdir.path

    def start(self, tools: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self._client.start(tools)

    def run(self, code: str) -> Execution:
        return self._client.run(code)

    def close(self) -> None:
        self._client.close()
        self._workdir.remove()


class PipeTransport:
    """A ``Transport`` over a child process's stdin/stdout pipes, or the pipes ``fds``
    (to the worker, from the worker) when the worker has them under other numbers.

    Reads are non-blocking with ``poll`` (no threads, no signals), so any thread may use it.
    stderr, if piped, is drained by a daemon thread into a small tail kept for diagnostics.
    ``on_kill`` runs after the process is killed (e.g. to remove a container). ``pid_namespace``:
    the process's first child is the init of a pid namespace holding the worker (``bwrap``'s);
    ``kill`` kills it and returns once the kernel has ended every process in it, or after
    ``_KILL_WAIT`` seconds if one hangs in the kernel.
    """

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        *,
        fds: tuple[int, int] | None = None,
        max_line: int = MAX_LINE,
        write_timeout: float = 10.0,
        stderr_limit: int = 8_000,
        on_kill: Callable[[], None] | None = None,
        pid_namespace: bool = False,
    ) -> None:
        self.proc = proc
        self.pid_namespace = pid_namespace
        self._init: int | None = None  # a pidfd of the namespace's init, once it was killed
        self.max_line = max_line
        self.write_timeout = write_timeout
        self._on_kill = on_kill
        self._fds = fds
        if fds is None:
            assert proc.stdin is not None and proc.stdout is not None
            fds = (proc.stdin.fileno(), proc.stdout.fileno())
        self._in, self._out = fds
        os.set_blocking(self._in, False)
        os.set_blocking(self._out, False)
        self._buf = bytearray()
        self._scanned = 0
        self._readable = select.poll()
        self._readable.register(self._out, select.POLLIN)
        self._writable = select.poll()
        self._writable.register(self._in, select.POLLOUT)
        self._stderr: collections.deque[bytes] = collections.deque()
        self._stderr_limit = stderr_limit
        self._reaping = threading.Lock()  # signals vs. reaping: never signal a reused pid
        self._drain: threading.Thread | None = None
        if proc.stderr is not None:
            self._drain = threading.Thread(target=self._drain_stderr, daemon=True)
            self._drain.start()

    def send(self, line: bytes, timeout: float | None = None) -> None:
        view = memoryview(line)
        deadline = time.monotonic() + (self.write_timeout if timeout is None else timeout)
        while view:
            try:
                view = view[os.write(self._in, view) :]
                continue
            except BlockingIOError:
                pass
            left = deadline - time.monotonic()
            if left <= 0 or not self._writable.poll(left * 1000):
                raise BrokenPipeError("the worker stopped reading its input")

    def readline(self, timeout: float | None) -> bytes | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            end = self._buf.find(b"\n", self._scanned)
            if end >= 0:
                line = bytes(self._buf[: end + 1])
                del self._buf[: end + 1]
                self._scanned = 0
                return line
            self._scanned = len(self._buf)
            if len(self._buf) > self.max_line:
                raise ProtocolError(f"the worker sent a line longer than {self.max_line} bytes")
            wait = None if deadline is None else max(0.0, deadline - time.monotonic()) * 1000
            if not self._readable.poll(wait):
                return None
            try:
                chunk = os.read(self._out, 1 << 18)
            except BlockingIOError:
                continue
            if not chunk:
                return b""
            self._buf += chunk

    def kill(self) -> None:
        proc = self.proc
        self.abort()
        with self._reaping, contextlib.suppress(subprocess.TimeoutExpired):  # D state: move on
            proc.wait(timeout=_KILL_WAIT)
        init, self._init = self._init, None
        if init is not None:  # readable once the init, and so all of its namespace, has ended
            try:  # poll, not select: a host with more than 1023 open files has fds select refuses
                ended = select.poll()
                ended.register(init, select.POLLIN)
                ended.poll(_KILL_WAIT * 1000)
            finally:
                os.close(init)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()
        fds, self._fds = self._fds, None
        for fd in fds or ():
            os.close(fd)
        if self._drain is not None:
            self._drain.join(timeout=1)
            if not self._drain.is_alive() and proc.stderr is not None:
                proc.stderr.close()
        self._buf = bytearray()
        if self._on_kill is not None:
            on_kill, self._on_kill = self._on_kill, None
            on_kill()

    def abort(self) -> None:
        """SIGKILL the worker (and its process group) from any thread; the pipes stay open."""
        proc = self.proc
        with self._reaping:  # not reaped yet, so the pid can't have been reused
            if proc.poll() is not None:
                return
            if self.pid_namespace and self._init is None:
                self._init = _kill_child(proc.pid)
            try:
                if os.getpgid(proc.pid) == proc.pid:  # its own group: take any children along
                    os.killpg(proc.pid, signal.SIGKILL)
                else:
                    proc.kill()
            except ProcessLookupError:
                pass

    def exit_reason(self) -> str:
        """How the process ended and the tail of its stderr, for error messages."""
        with self._reaping, contextlib.suppress(subprocess.TimeoutExpired):  # may be exiting
            self.proc.wait(timeout=1)
        code = self.proc.poll()
        if code is not None and 128 < code < 160:  # what bwrap and the supervisor report
            code = 128 - code
        if code is None:
            reason = "still running"
        elif code < 0:
            try:
                reason = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                reason = f"killed by signal {-code}"
        else:
            reason = f"exit code {code}"
        tail = b"".join(self._stderr).decode("utf-8", "replace").strip()
        if tail:
            reason += f"; its last output: {tail[-500:]}"
        return reason

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        fd = self.proc.stderr.fileno()
        kept = 0
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            self._stderr.append(chunk)
            kept += len(chunk)
            while kept > self._stderr_limit and len(self._stderr) > 1:
                kept -= len(self._stderr.popleft())
            if kept > self._stderr_limit:
                self._stderr[0] = self._stderr[0][-self._stderr_limit :]
                kept = len(self._stderr[0])


class _Workdir:
    """A private temporary directory, created on first use and removed on close or exit."""

    def __init__(self) -> None:
        self.path: str | None = None

    def ensure(self) -> str:
        if self.path is None or not os.path.isdir(self.path):
            self.path = tempfile.mkdtemp(prefix="codeact-local-")
        return self.path

    def remove(self) -> None:
        path, self.path = self.path, None
        if path is not None:
            shutil.rmtree(path, ignore_errors=True)


def _spawn(workdir: _Workdir, max_line: int) -> PipeTransport:
    cwd = workdir.ensure()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-B", "-c", _BOOT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env={**WORKER_ENV, "HOME": cwd, "TMPDIR": cwd},
            start_new_session=True,
        )
    except OSError as exc:
        raise SandboxError(f"cannot start the sandbox worker with {sys.executable}: {exc}") from exc
    return PipeTransport(proc, max_line=max_line)


def _spawn_bounded(bwrap: str, max_line: int) -> PipeTransport:
    """A worker inside the boundary, its channel on two pipes passed as extra descriptors: the
    supervisor is then the only process inside that holds them (bwrap's own init closes them)."""
    env = {**WORKER_ENV, "HOME": boundary.workdir(), "TMPDIR": boundary.workdir()}
    to_worker, worker_in = os.pipe()[::-1]
    worker_out, from_worker = os.pipe()[::-1]
    boot = _BOOT.replace("w.main()", f"w.main({worker_in}, {worker_out}, private=True)")
    argv = [os.path.realpath(sys.executable), "-I", "-B", "-c", boot]
    try:
        proc = boundary.popen(
            boundary.wrap(argv, env, bwrap),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=(worker_in, worker_out),
            cwd="/",
            env={"PATH": WORKER_ENV["PATH"]},
            start_new_session=True,
        )
    except OSError as exc:
        os.close(to_worker)
        os.close(from_worker)
        raise SandboxError(f"cannot start the sandbox worker with {bwrap}: {exc}") from exc
    finally:
        os.close(worker_in)
        os.close(worker_out)
    return PipeTransport(proc, fds=(to_worker, from_worker), max_line=max_line, pid_namespace=True)


def _kill_child(pid: int) -> int | None:
    """SIGKILL the first child of ``pid`` (which must not be reaped meanwhile); a pidfd of it
    (Linux 5.3+), or ``None``."""
    child = _descendant(pid, 1)
    if child is None:
        return None
    try:
        pidfd = os.pidfd_open(child)
    except (AttributeError, OSError):
        pidfd = None
    with contextlib.suppress(OSError):
        os.kill(child, signal.SIGKILL)
    return pidfd


def _descendant(pid: int, depth: int) -> int | None:
    """The first process ``depth`` generations below ``pid`` (Linux), or ``None``."""
    for _ in range(depth):
        try:
            task = f"/proc/{pid}/task/{pid}/children"
            pid = int(Path(task).read_text().split()[0])
        except (OSError, IndexError, ValueError):
            return None
    return pid
