"""Linux process controls for the worker, through ``ctypes``: namespaces, privileges, mounts.

Standard library only (the worker ships it into containers). Every call is a no-op that returns
``False`` where it does not exist (another OS) or the kernel refuses it, so callers decide what a
missing control means.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterator
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
#: Everything a sandbox may have of its own under an OS boundary, beyond user and pid.
PRIVATE = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET

PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_PR_CAPBSET_DROP = 24
_PR_SET_NO_NEW_PRIVS = 38
_LAST_CAP = 63
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND = 32, 4096
_KEPT_FLAGS = _MS_NOSUID | _MS_NODEV | _MS_NOEXEC | 1024 | 2048 | 4096  # and the atime ones

_libc: Any = None


def _load_libc() -> Any:
    global _libc
    if _libc is None:
        _libc = False
        if sys.platform.startswith("linux"):
            with contextlib.suppress(OSError):
                _libc = ctypes.CDLL(None, use_errno=True)
    return _libc or None


def prctl(option: int, arg: int) -> bool:
    libc = _load_libc()
    return libc is not None and libc.prctl(option, arg, 0, 0, 0) == 0


def set_dumpable(dumpable: bool) -> bool:
    """Make this process (non-)dumpable: a non-dumpable process cannot be ptraced, nor its
    ``/proc/<pid>/mem``, ``environ`` or ``fd/*`` opened, by anyone without ``CAP_SYS_PTRACE``.
    Children forked afterwards inherit it."""
    return prctl(_PR_SET_DUMPABLE, int(dumpable))


def unshare(flags: int) -> bool:
    """Move this process into new namespaces (``CLONE_NEW*``), its uid and gid mapped to
    themselves in a new user namespace; ``False``, nothing changed, when the kernel refuses.
    A new pid namespace holds the children forked afterwards. Single-threaded callers only."""
    libc = _load_libc()
    if libc is None:
        return False
    uid, gid = os.geteuid(), os.getegid()
    if libc.unshare(flags) != 0:
        return False
    if flags & CLONE_NEWUSER:
        maps = (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1"))
        for name, text in maps:
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    return True


def limit_tasks(tasks: int) -> bool:
    """At most about ``tasks`` processes and threads in this process's pid namespace (of which
    it must be init, with ``CAP_SYS_ADMIN`` in its user namespace), and in its user namespace:
    the namespace's own ``pid_max`` (Linux 6.14+; pids wrap to 300, so ``pid_max`` is 300
    beyond ``tasks``, and the namespace's last pid is set past 300 so that they start there:
    from 1, the first pass would allow ``pid_max`` of them), and ``RLIMIT_NPROC`` (which the
    kernel does not apply to the host's root). Whether ``pid_max`` took."""
    import resource

    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NPROC, (tasks, tasks))
    if not _pid_max_is_per_namespace():  # before 6.14 this file is the whole machine's
        return False
    try:
        with open("/proc/sys/kernel/pid_max", "w") as f:
            f.write(str(300 + tasks))
        with open("/proc/sys/kernel/ns_last_pid", "w") as f:
            f.write("301")
        return True
    except OSError:
        return False


def limit_shared_quotas(signals: int) -> None:
    """Small limits on the per-user kernel counts that the host's processes of the same uid
    share: signals queued to this process (one entry each, e.g. real-time signals sent while
    blocked: a queue held full makes the host's ``sigqueue`` fail) and POSIX message-queue
    bytes. Signals the kernel sends (timers, SIGKILL) are not counted."""
    import resource

    for kind, limit in ((resource.RLIMIT_SIGPENDING, signals), (resource.RLIMIT_MSGQUEUE, 0)):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(kind, (limit, limit))


def _pid_max_is_per_namespace() -> bool:
    release = os.uname().release.split("-")[0].split(".")
    try:
        return (int(release[0]), int(release[1])) >= (6, 14)
    except (IndexError, ValueError):
        return False


def mount_tmpfs(path: str, options: str, *, read_only: bool = False) -> bool:
    """A fresh tmpfs on ``path`` (in this process's mount namespace), never executable."""
    libc = _load_libc()
    flags = _MS_NOSUID | _MS_NODEV | _MS_NOEXEC | (_MS_RDONLY if read_only else 0)
    return libc is not None and (
        libc.mount(b"tmpfs", path.encode(), b"tmpfs", flags, options.encode()) == 0
    )


def remount_read_only(path: str) -> bool:
    """Make the mount at ``path`` read-only in this mount namespace, keeping its other flags
    (a user namespace may not clear those its parent set). Device access stays as it was:
    a read-only device node still reads and writes, but its owner and mode cannot change."""
    libc = _load_libc()
    if libc is None:
        return False
    kept = os.statvfs(path).f_flag & _KEPT_FLAGS  # ST_* and MS_* agree on these bits
    flags = _MS_REMOUNT | _MS_BIND | _MS_RDONLY | kept
    return libc.mount(None, path.encode(), None, flags, None) == 0


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint32) for name in ("effective", "permitted", "inheritable")]


def drop_privileges() -> None:
    """No capabilities and none to regain: empty bounding set and capability sets, and
    ``no_new_privs`` (what a new user namespace granted goes; a setuid binary grants nothing)."""
    libc = _load_libc()
    if libc is None:
        return
    for cap in range(_LAST_CAP + 1):
        libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)  # fails harmlessly past the kernel's last
    libc.capset(ctypes.byref(_CapHeader(0x20080522, 0)), (_CapData * 2)())  # version 3
    libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def reap_ended() -> Iterator[tuple[int, int]]:
    """Reap each child that has ended by now: its pid and wait status (none if there are no
    children, or none has ended). The fork server, a supervisor as a namespace's init and a
    container's cell each collect their ended children this way."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        yield pid, status
