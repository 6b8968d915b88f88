"""The cell process's system-call filter (seccomp): what code that escapes the policy still
cannot ask the kernel for.

Installed by the cell process itself, right after it dropped its privileges and before it runs
anything (``install``): a classic BPF program, built here with ``struct``, that every thread and
process the cell starts inherits and cannot remove. It is a denylist, like Docker's and
Flatpak's default profiles (ordinary Python, numpy, pandas, sympy and threads need nothing on
it); each entry says why. Denied calls fail with ``EPERM`` (``ENOSYS`` where a library should
fall back to an older call), so code sees an ordinary ``OSError``.

Three rules are not a list of names but hold for whole classes: sockets only of the families
code needs (``AF_VSOCK`` is not network-namespaced, so "no network" would not cover it, and the
rest are kernel surface); calls numbered after the newest one reviewed here fail with
``ENOSYS`` (a kernel newer than this list adds calls nobody has looked at); and pools the whole
machine shares that no namespace or rlimit divides (the AIO contexts of ``fs.aio-max-nr``) are
refused.

Two profiles: ``local`` for the bwrap'd cell, and ``container`` for a Docker cell, on top of
the engine's own profile: there the files are the container's own (no rule on locks or
watches) and plain Python runs, so only the class rules apply.

x86_64 only: the filter checks the architecture of every call, and a call made through another
ABI (``int 0x80``'s i386 table, x32's numbers) kills the process. Elsewhere ``install`` returns
``False`` and the cell runs without the filter; ``docs/security.md`` says so.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
import sys

from sandboxes import _linux

#: The x86_64 system calls refused, with why (numbers from the kernel's ``unistd_64.h``).
DENIED: dict[str, tuple[int, str]] = {
    # Kernel keyrings are not namespaced: the host's session and user keyrings are reachable.
    "add_key": (248, "keyrings"),
    "request_key": (249, "keyrings"),
    "keyctl": (250, "keyrings"),
    # Namespaces of its own: a nested user namespace hands out CAP_NET_ADMIN over nf_tables,
    # packet sockets and tc, the surface of most recent kernel privilege escalations.
    "unshare": (272, "namespaces"),
    "setns": (308, "namespaces"),
    # Watching files shared with the host and other sandboxes (their imports), and per-user
    # kernel quotas shared with the host (inotify instances).
    "inotify_init": (253, "watches"),
    "inotify_init1": (294, "watches"),
    "fanotify_init": (300, "watches"),
    "fanotify_mark": (301, "watches"),
    # Memory no limit counts: memfd and SysV pages are charged to no rlimit, and POSIX message
    # queues to a per-user quota shared with the host.
    "memfd_create": (319, "memory"),
    "memfd_secret": (447, "memory"),
    "shmget": (29, "memory"),
    "semget": (64, "memory"),
    "msgget": (68, "memory"),
    "mq_open": (240, "memory"),
    "mq_notify": (244, "memory"),
    # Reaching into other processes (the pid namespace already hides them; belt and braces).
    "ptrace": (101, "tracing"),
    "process_vm_readv": (310, "tracing"),
    "process_vm_writev": (311, "tracing"),
    "kcmp": (312, "tracing"),
    "pidfd_getfd": (438, "tracing"),
    "process_madvise": (440, "tracing"),
    "move_pages": (279, "tracing"),
    "migrate_pages": (256, "tracing"),
    # Large kernel interfaces that ordinary code never needs and exploits often do.
    "perf_event_open": (298, "kernel surface"),
    "bpf": (321, "kernel surface"),
    "userfaultfd": (323, "kernel surface"),
    "lookup_dcookie": (212, "kernel surface"),
    "open_by_handle_at": (304, "kernel surface"),
    "name_to_handle_at": (303, "kernel surface"),
    # Mounts, in either API.
    "mount": (165, "mounts"),
    "umount2": (166, "mounts"),
    "pivot_root": (155, "mounts"),
    "chroot": (161, "mounts"),
    "open_tree": (428, "mounts"),
    "move_mount": (429, "mounts"),
    "fsopen": (430, "mounts"),
    "fsconfig": (431, "mounts"),
    "fsmount": (432, "mounts"),
    "fspick": (433, "mounts"),
    "mount_setattr": (442, "mounts"),
    # The machine's own controls (capabilities refuse them already; no surface left at all).
    "swapon": (167, "system"),
    "swapoff": (168, "system"),
    "reboot": (169, "system"),
    "kexec_load": (246, "system"),
    "kexec_file_load": (320, "system"),
    "init_module": (175, "system"),
    "finit_module": (313, "system"),
    "delete_module": (176, "system"),
    "acct": (163, "system"),
    "settimeofday": (164, "system"),
    "clock_settime": (227, "system"),
    "clock_adjtime": (305, "system"),
    "adjtimex": (159, "system"),
    "sethostname": (170, "system"),
    "setdomainname": (171, "system"),
    "iopl": (172, "system"),
    "ioperm": (173, "system"),
    "quotactl": (179, "system"),
    "quotactl_fd": (443, "system"),
    "syslog": (103, "system"),
    "vhangup": (153, "system"),
    "_sysctl": (156, "system"),
    "uselib": (134, "system"),
    "ustat": (136, "system"),
    "sysfs": (139, "system"),
    "nfsservctl": (180, "system"),
    # Locks on the host's files (the read-only installation is the host's inodes): a channel
    # between sandboxes, and a stall for host processes that lock them (fcntl locks below).
    "flock": (73, "locks"),
}
#: Refused with ENOSYS, so that libraries fall back to what the filter can check: glibc's
#: threads and ``fork`` go from clone3 (flags in memory, out of BPF's reach) to clone;
#: io_uring (its own kernel surface, refused by Docker too) to ordinary calls.
UNSUPPORTED = {
    "clone3": 435,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
}
#: Refused with ENOSYS in both profiles: the machine's one pool of AIO contexts
#: (``fs.aio-max-nr``, no namespace, no quota): one sandbox could hold all of it. libaio users
#: fall back to threads.
SHARED_POOLS = {
    "io_setup": 206,
    "io_destroy": 207,
    "io_getevents": 208,
    "io_submit": 209,
    "io_cancel": 210,
    "io_pgetevents": 333,
}
#: The newest call reviewed for this file (``set_mempolicy_home_node``, Linux 6.0): later ones
#: (``statmount``/``listmount`` show the hidden mounts, ``open_tree_attr`` mounts...) get
#: ENOSYS, as on an older kernel, until someone reviews them.
NEWEST_REVIEWED = 450
#: Socket families code may open (its own loopback, unix sockets, netlink in its own network
#: namespace); any other fails with EAFNOSUPPORT, as for a family the kernel lacks.
SOCKET_FAMILIES = {"AF_UNIX": 1, "AF_INET": 2, "AF_INET6": 10, "AF_NETLINK": 16}
_SOCKET, _SOCKETPAIR = 41, 53
_CLONE, _FCNTL = 56, 72
#: clone flags that make namespaces (``CLONE_NEWNS``, ``NEWCGROUP``, ``NEWUTS``, ``NEWIPC``,
#: ``NEWUSER``, ``NEWPID``, ``NEWNET``): refused; threads and forks pass.
_CLONE_NAMESPACES = 0x7E020000
#: fcntl commands refused: a lease on a file the host shares (its open for writing then blocks
#: for lease-break-time), dnotify, the older way to watch a directory, and record locks (POSIX
#: and open-file-description ones, set or read) on the host's files, as ``flock`` above.
_F_SETLEASE, _F_NOTIFY = 1024, 1026
_F_LOCKS = (5, 6, 7, 36, 37, 38)  # F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK(W)
PROFILES = ("local", "container")

_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_BIT = 0x40000000
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000
_RET_ALLOW = 0x7FFF0000
# classic BPF opcodes: load word at absolute offset, jumps, return
_LD_ABS = 0x20
_JEQ, _JGE, _JSET = 0x15, 0x35, 0x45
_RET = 0x06
# offsets in struct seccomp_data: nr, arch, instruction pointer, then six 64-bit arguments
_NR, _ARCH, _ARG0, _ARG1 = 0, 4, 16, 24  # the arguments' low halves (little-endian)
_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 22, 2


def supported() -> bool:
    """Whether this machine gets the filter (Linux on x86_64)."""
    return sys.platform.startswith("linux") and os.uname().machine == "x86_64"


def program(profile: str = "local") -> bytes:
    """The filter as ``struct sock_filter`` records (code, jt, jf, k)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown seccomp profile {profile!r}")
    local = profile == "local"
    # (opcode, k, jump-if-true label, jump-if-false label); labels are resolved below
    code: list[tuple[int, int, str | None, str | None] | str] = [
        (_LD_ABS, _ARCH, None, None),
        (_JEQ, _AUDIT_ARCH_X86_64, None, "kill"),
        (_LD_ABS, _NR, None, None),
        (_JGE, _X32_BIT, "kill", None),
        (_JGE, NEWEST_REVIEWED + 1, "enosys", None),
        (_JEQ, _SOCKET, "socket", None),
        (_JEQ, _SOCKETPAIR, "socket", None),
        *((_JEQ, nr, "enosys", None) for nr in SHARED_POOLS.values()),
    ]
    if local:
        code += [
            (_JEQ, _CLONE, "clone", None),
            (_JEQ, _FCNTL, "fcntl", None),
            *((_JEQ, nr, "enosys", None) for nr in UNSUPPORTED.values()),
            *((_JEQ, nr, "eperm", None) for nr, _ in DENIED.values()),
        ]
    code += [
        (_RET, _RET_ALLOW, None, None),
        "socket",
        (_LD_ABS, _ARG0, None, None),
        *((_JEQ, family, "allow", None) for family in SOCKET_FAMILIES.values()),
        (_RET, _RET_ERRNO | errno.EAFNOSUPPORT, None, None),
    ]
    if local:
        code += [
            "clone",
            (_LD_ABS, _ARG0, None, None),
            (_JSET, _CLONE_NAMESPACES, "eperm", "allow"),
            "fcntl",
            (_LD_ABS, _ARG1, None, None),
            *((_JEQ, cmd, "eperm", None) for cmd in (_F_SETLEASE, _F_NOTIFY, *_F_LOCKS)),
        ]
    code += [
        "allow",
        (_RET, _RET_ALLOW, None, None),
        "eperm",
        (_RET, _RET_ERRNO | errno.EPERM, None, None),
        "enosys",
        (_RET, _RET_ERRNO | errno.ENOSYS, None, None),
        "kill",
        (_RET, _RET_KILL_PROCESS, None, None),
    ]
    labels: dict[str, int] = {}
    for item in code:
        if isinstance(item, str):
            labels[item] = sum(1 for i in code[: code.index(item)] if not isinstance(i, str))
    out = bytearray()
    for item in code:
        if isinstance(item, str):
            continue
        here = len(out) // 8
        opcode, k, true, false = item

        def offset(label: str | None, here: int = here) -> int:
            return 0 if label is None else labels[label] - here - 1

        out += struct.pack("=HBBI", opcode, offset(true), offset(false), k)
    return bytes(out)


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


def install(profile: str = "local") -> bool:
    """Filter this process (and all it starts, for good); ``False``, nothing changed, where
    the filter does not exist (not x86_64 Linux) or the kernel refuses it. Needs
    ``no_new_privs`` (``_linux.drop_privileges``) or ``CAP_SYS_ADMIN``; single-threaded
    callers only (other threads would stay unfiltered)."""
    libc = _linux._load_libc()
    if libc is None or not supported():
        return False
    code = program(profile)
    prog = _Program(len(code) // 8, code)
    done = libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) == 0
    return bool(done)
