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

Workers are forks of one fork server per process (``sandboxes.zygote``, started by the first
sandbox, inside the boundary), a few of them forked and warmed up ahead of need
(``sandboxes.forkserver``): after the first, a sandbox starts in about a millisecond.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sandboxes import boundary, forkserver
from sandboxes._channel import FdChannel
from sandboxes._client import MAX_LINE, WorkerClient
from sandboxes.base import (
    DEFAULT_MAX_OUTPUT,
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT,
    Execution,
    Sandbox,
    SandboxError,
    check_importable,
)
from sandboxes.forkserver import ForkedTransport

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
        bwrap = _bwrap()
        self.boundary: str | None = None if bwrap is None else "bwrap"
        workdir = self._workdir if bwrap is None else None
        spawn = functools.partial(_fork_worker, bwrap, MAX_LINE + 4 * max_output, workdir)
        self._client = WorkerClient(
            spawn, timeout=timeout, grace=grace, options=options, fresh_start=True
        )
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
        return transport.supervisor_pid() if isinstance(transport, ForkedTransport) else None

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


def _bwrap() -> str | None:
    """The ``bwrap`` to run workers in, if its fork server starts (tried once per process);
    else ``None``, with the warning (or, if required, the error) that says so."""
    bwrap = boundary.executable()
    if bwrap is None:
        reason = "bubblewrap is not installed"
    else:
        reason = _refused.get(bwrap)
        if reason is None:
            try:
                forkserver.server(bwrap, _env(bwrap))
                return bwrap
            except SandboxError as exc:
                reason = _refused[bwrap] = f"{bwrap} does not work here: {exc}"
    boundary.unavailable(reason)
    return None


_refused: dict[str, str] = {}  # bwrap binaries whose fork server failed, and why


def _env(bwrap: str | None) -> dict[str, str]:
    if bwrap is None:  # each cell sets HOME and TMPDIR to its sandbox's directory
        return dict(WORKER_ENV)
    return {**WORKER_ENV, "HOME": boundary.workdir(), "TMPDIR": boundary.workdir()}


def _fork_worker(bwrap: str | None, max_line: int, workdir: _Workdir | None) -> ForkedTransport:
    """A worker from this process's fork server (started, or restarted, as needed); without
    the boundary its cell works in ``workdir``, which its ``start`` names."""
    try:
        transport = forkserver.server(bwrap, _env(bwrap)).worker(max_line)
    except SandboxError:  # it died since it was last used: once more, with a new one
        transport = forkserver.server(bwrap, _env(bwrap)).worker(max_line)
    if workdir is not None:
        transport.start_options = {"workdir": workdir.ensure()}
    return transport


class PipeTransport(FdChannel):
    """A ``Transport`` over a child process's stdin/stdout pipes (a worker started with
    ``subprocess``, e.g. ``python -m sandboxes.worker``; ``LocalSandbox`` forks its own).

    stderr, if piped, is drained by a daemon thread into a small tail kept for diagnostics.
    ``on_kill`` runs after the process is killed (e.g. to remove a container).
    """

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        *,
        max_line: int = MAX_LINE,
        write_timeout: float = 10.0,
        stderr_limit: int = 8_000,
        on_kill: Callable[[], None] | None = None,
    ) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        fds = proc.stdin.fileno(), proc.stdout.fileno()
        super().__init__(*fds, max_line=max_line, write_timeout=write_timeout)
        self.proc = proc
        self._on_kill = on_kill
        self._stderr: collections.deque[bytes] = collections.deque()
        self._stderr_limit = stderr_limit
        self._reaping = threading.Lock()  # signals vs. reaping: never signal a reused pid
        self._drain: threading.Thread | None = None
        if proc.stderr is not None:
            self._drain = threading.Thread(target=self._drain_stderr, daemon=True)
            self._drain.start()

    def kill(self) -> None:
        proc = self.proc
        self.abort()
        with self._reaping, contextlib.suppress(subprocess.TimeoutExpired):  # D state: move on
            proc.wait(timeout=10)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()
        if self._drain is not None:
            self._drain.join(timeout=1)
            if not self._drain.is_alive() and proc.stderr is not None:
                proc.stderr.close()
        self._forget_fds()
        if self._on_kill is not None:
            on_kill, self._on_kill = self._on_kill, None
            on_kill()

    def abort(self) -> None:
        """SIGKILL the worker (and its process group) from any thread; the pipes stay open."""
        proc = self.proc
        with self._reaping:  # not reaped yet, so the pid can't have been reused
            if proc.poll() is not None:
                return
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
