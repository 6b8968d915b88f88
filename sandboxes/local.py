"""The ``local`` backend (the default): restricted execution in a separate worker process.

The worker is a child of this interpreter with no inherited environment (so no API keys), a
private temporary working directory, its own session (a terminal's Ctrl-C doesn't reach it), and
OS limits on address space, file size and core dumps. Code that overruns is interrupted; code that
won't stop, or a worker that dies, is killed and replaced, so the host never hangs or bloats.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
import weakref
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from sandboxes._client import MAX_LINE, PipeTransport, WorkerClient
from sandboxes.base import (
    DEFAULT_MAX_OUTPUT,
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT,
    Execution,
    Sandbox,
    SandboxError,
)

_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
_BOOT = f"import sys; sys.path.insert(0, {_PACKAGE_ROOT!r}); import sandboxes.worker as w; w.main()"

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
            "allowed_imports": sorted(set(allowed_imports)),
            "max_output": max_output,
            "memory_mb": memory_mb,
            "sys_path": [p for p in sys.path if p and os.path.isabs(p)],
        }
        spawn = functools.partial(_spawn, self._workdir, MAX_LINE + 4 * max_output)
        self._client = WorkerClient(spawn, timeout=timeout, grace=grace, options=options)
        weakref.finalize(self, self._workdir.remove)

    @property
    def timeout(self) -> float | None:
        """Seconds a run may take before it is interrupted."""
        return self._client.timeout

    @timeout.setter
    def timeout(self, seconds: float | None) -> None:
        self._client.timeout = seconds

    @property
    def pid(self) -> int | None:
        """The worker's process id while one runs (for diagnostics)."""
        transport = self._client.transport
        return transport.proc.pid if isinstance(transport, PipeTransport) else None

    @property
    def workdir(self) -> str | None:
        """The worker's private working directory while it exists."""
        return self._workdir.path

    def start(self, tools: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self._client.start(tools)

    def run(self, code: str) -> Execution:
        return self._client.run(code)

    def close(self) -> None:
        self._client.close()
        self._workdir.remove()


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
