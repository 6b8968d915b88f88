"""The OS boundary under the ``local`` backend: bubblewrap (``bwrap``), where it works.

The local worker runs inside ``bwrap`` (Debian's ``bubblewrap``, as Flatpak uses it), so that
code which escapes the restricted policy is still a process with no files, no network and no
secrets:

- **Namespaces**: new user, pid, network, IPC, UTS, cgroup and mount namespaces
  (``--unshare-all``); uid and gid 65534 inside, whatever the host's; no capabilities,
  ``no_new_privs``; a session of its own (``--new-session``: no ``TIOCSTI`` into the host's
  terminal); SIGKILL when the host dies (``--die-with-parent``). The network namespace has only
  a loopback of its own: the host's ``127.0.0.1`` is another machine's.
- **Files**: read-only binds of the interpreter binary, the standard library, site-packages
  and the ``sandboxes`` package, and the system's shared libraries; a minimal, read-only
  ``/dev`` (its device nodes are binds of the host's, which each cell process makes read-only
  in its own mount namespace: no ``chmod`` of them reaches the host); a ``/proc`` of its own
  pid namespace; a small tmpfs ``/tmp`` as the working directory (``workdir``). The root is
  read-only, and everything else is absent: ``/etc``, ``/home``, the host's ``/tmp``, the
  project the host runs in, ``/bin`` and its shells.
- **Environment**: none of the host's (``--clearenv``); only ``local.WORKER_ENV``.

Inside the boundary each sandbox's cell process also gets user, pid, mount, IPC, UTS and
network namespaces of its own, a ``/tmp`` and ``/dev/shm`` of its own and no ``/proc``
(``sandboxes.worker.main(private=True)``), so that sandboxes under one ``bwrap`` cannot see,
signal or trace each other either; at most ``supervisor.TASKS`` processes and threads; and a
system-call filter (``sandboxes._seccomp``: no keyrings, namespaces, file watches, leases,
memfds, tracing or mounts).

``$CODEACT_BWRAP`` names the ``bwrap`` to use (default: the one on ``PATH``; empty: none).
Where it is missing or does not work (no user namespaces), ``local`` runs without a boundary
and says so once with a ``BoundaryWarning``; ``$CODEACT_REQUIRE_BWRAP=1`` makes that an error.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
import threading
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sandboxes.base import SandboxError

#: The uid and gid of the code inside the boundary ("nobody"), whatever the host runs as.
UID = GID = 65534
#: Where the sandbox's private tmpfs (its working directory) may go, in order of preference.
_WORKDIRS = ("/tmp", "/var/tmp", "/sandbox")
_PACKAGE = Path(__file__).resolve().parent  # the sandboxes package, bound read-only
#: Bytes of the boundary's own ``/tmp``, which only the fork server and supervisors see (each
#: cell process mounts a tmpfs of its own over it).
_TMP_SIZE = 2**20
_LIBRARIES = ("/usr/lib", "/usr/lib64", "/usr/lib32", "/lib", "/lib64", "/lib32")
#: Public data the standard library reads, bound read-only too: the time zones ``zoneinfo``
#: loads (without them ``ZoneInfo("UTC")`` failed in every cell).
_DATA = ("/usr/share/zoneinfo",)


class BoundaryWarning(UserWarning):
    """The ``local`` sandbox runs without an OS boundary: the policy is all that holds."""


def executable() -> str | None:
    """The ``bwrap`` to use: ``$CODEACT_BWRAP`` if set (empty: none), else the one on PATH."""
    chosen = os.environ.get("CODEACT_BWRAP")
    if chosen is not None:
        return chosen or None
    return _on_path(os.environ.get("PATH", ""))


@functools.lru_cache(maxsize=8)
def _on_path(path: str) -> str | None:
    return shutil.which("bwrap", path=path)


def required() -> bool:
    """Whether running without the boundary is an error (``$CODEACT_REQUIRE_BWRAP=1``)."""
    return os.environ.get("CODEACT_REQUIRE_BWRAP") == "1"


def wrap(argv: Sequence[str], env: Mapping[str, str], bwrap: str) -> list[str]:
    """``argv`` (an interpreter command) as a command that runs it inside the boundary."""
    command = [bwrap, "--unshare-all", "--unshare-user", "--uid", str(UID), "--gid", str(GID)]
    command += ["--die-with-parent", "--new-session", "--cap-drop", "ALL", "--clearenv"]
    for name, value in env.items():
        command += ["--setenv", name, value]
    here = workdir()
    command += ["--size", str(_TMP_SIZE), "--tmpfs", here] if here == "/tmp" else ["--dir", here]
    command += _file_system()
    command += ["--proc", "/proc", "--dev", "/dev", "--chdir", here]
    command += ["--remount-ro", "/dev", "--remount-ro", "/", "--", *argv]
    return command


@functools.lru_cache(maxsize=1)
def workdir() -> str:
    """The sandbox's working directory inside the boundary, where each cell process mounts a
    private tmpfs: ``/tmp``, unless part of the installation lives there (a checkout under
    ``/tmp``, say), which a tmpfs would hide; then ``/var/tmp``, and ``/tmp`` is read-only."""
    args = _file_system()
    binds = [args[i + 1] for i, option in enumerate(args) if option == "--ro-bind"]
    for candidate in _WORKDIRS:
        if not any(path == candidate or path.startswith(candidate + "/") for path in binds):
            return candidate
    raise SandboxError("no directory is free for the sandbox's tmpfs")


@functools.lru_cache(maxsize=1)
def _file_system() -> list[str]:
    """The binds of what the worker needs: libraries, interpreter, standard library,
    site-packages, the ``sandboxes`` package and time zones, each read-only."""
    args: list[str] = []
    for path in _LIBRARIES + _DATA:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    python = os.path.realpath(sys.executable)
    wanted = {python, str(_PACKAGE)}
    wanted |= {sysconfig.get_path(n) for n in ("stdlib", "platstdlib", "purelib", "platlib")}
    wanted.add(sysconfig.get_config_var("LIBDIR") or "")
    wanted |= {path for path in sys.path if _installed(path)}
    bound: list[str] = [p for p in _LIBRARIES if os.path.isdir(p) and not os.path.islink(p)]
    for path in sorted(p for p in wanted if p and os.path.exists(p)):
        real = os.path.realpath(path)
        if not any(real == b or real.startswith(b.rstrip("/") + "/") for b in bound):
            args += ["--ro-bind", real, real]
            bound.append(real)
    return args


def _installed(path: str) -> bool:
    """Whether a ``sys.path`` entry is part of the installation (the interpreter's own, or a
    site-packages), not some directory of the host's (a project, the host's working dir)."""
    if not os.path.isabs(path) or not os.path.exists(path):
        return False
    prefixes = {sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix}
    if Path(path).name in ("site-packages", "dist-packages"):
        return True
    return any(path.startswith(p.rstrip("/") + "/lib") for p in prefixes)


@functools.lru_cache(maxsize=1)
def works(bwrap: str) -> bool:
    """Whether ``bwrap`` runs this interpreter inside the boundary, where it can give a cell
    process the namespaces of its own that the worker asks for (tried once per process)."""
    probe = (
        f"import sys; sys.path.insert(0, {str(_PACKAGE.parent)!r})\n"
        "from sandboxes import _linux\n"
        "sys.exit(not _linux.unshare(_linux.CLONE_NEWUSER | _linux.CLONE_NEWPID | _linux.PRIVATE))"
    )
    argv = wrap([os.path.realpath(sys.executable), "-I", "-c", probe], {}, bwrap)
    quiet = subprocess.DEVNULL
    try:
        return popen(argv, stdin=quiet, stdout=quiet, stderr=quiet).wait(timeout=60) == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


_warned = False


def unavailable(reason: str) -> None:
    """Say once per process that ``local`` runs without the boundary; an error if required."""
    global _warned
    message = (
        f"the local sandbox runs without an OS boundary ({reason}): code that escapes the "
        "restricted policy runs as you; install bubblewrap (apt-get install bubblewrap)"
    )
    if required():
        raise SandboxError(f"CODEACT_REQUIRE_BWRAP=1 but {message}")
    if not _warned:
        _warned = True
        warnings.warn(message, BoundaryWarning, stacklevel=3)


# --- starting processes ---------------------------------------------------------------------

_spawner: tuple[int, ThreadPoolExecutor] | None = None
_spawner_lock = threading.Lock()


def popen(argv: Sequence[str], **options: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen`` from one thread that lives as long as this process.

    ``bwrap --die-with-parent`` (``PR_SET_PDEATHSIG``) dies with the *thread* that started it:
    a sandbox made in a short-lived thread (an executor's, a request handler's) would be
    killed when that thread ends.
    """
    global _spawner
    with _spawner_lock:
        if _spawner is None or _spawner[0] != os.getpid():  # none yet, or a fork's stale one
            _spawner = (os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="codeact-spawn"))
        executor = _spawner[1]
    return executor.submit(subprocess.Popen, argv, **options).result()
