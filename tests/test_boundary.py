"""The OS boundary under ``local`` (``sandboxes.boundary``), with the policy switched off.

The ``escaped`` sandbox runs a real bwrap'd worker whose restricted policy is turned off (a
test-only switch: the client's private options), so each test is what code that escaped the
policy could do: every attempt must fail at the OS layer. Tests that need bubblewrap are marked
``bwrap`` (they fail instead of skipping under CI); the fallback without it is tested anywhere.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from processes import alive, with_marker

from sandboxes import _linux, boundary
from sandboxes.local import LocalSandbox

bwrap = pytest.mark.bwrap
SECRET = "codeact-secret-" + secrets.token_hex(8)


def _started(marker: str) -> list[int]:
    """The pids of the processes with ``marker`` in their command line, once there are any."""
    deadline = time.monotonic() + 10
    while not (found := with_marker(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def _unrestricted(**options: Any) -> LocalSandbox:
    sandbox = LocalSandbox(**options)
    assert sandbox.boundary == "bwrap"
    sandbox._client.options["restricted"] = False
    return sandbox


@pytest.fixture(scope="module")
def escaped() -> Iterator[LocalSandbox]:
    """Policy off inside the boundary; the host has a secret in its environment."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CODEACT_TEST_SECRET", SECRET)
        with _unrestricted(timeout=10) as sandbox:
            sandbox.start()
            yield sandbox


def _outcome(sandbox: LocalSandbox, attempt: str) -> str:
    """Run ``attempt`` (one expression) in the sandbox: ``"worked"``, or the ``errno`` name of
    the ``OSError`` it raised (``"ENOENT"``, ``"EROFS"``...)."""
    code = f"import errno\ntry:\n    result = {attempt}\n    result = 'worked'\n"
    code += "except OSError as exc:\n    result = errno.errorcode.get(exc.errno, repr(exc))\n"
    ex = sandbox.run(code + "result")
    assert ex.error is None, ex.error
    return ex.value


@bwrap
def test_there_is_no_shell(escaped: LocalSandbox) -> None:
    assert escaped.run("import os\nos.system('true')").value == 127 << 8  # sh: not found
    for shell in ("/bin/sh", "/usr/bin/sh", "/bin/bash"):
        assert _outcome(escaped, f"__import__('os').stat({shell!r})") == "ENOENT"


@bwrap
def test_host_files_are_absent(escaped: LocalSandbox, tmp_path: Path) -> None:
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET)
    home = Path.home()
    home_files = [str(p) for p in home.iterdir() if p.is_file()] if home.is_dir() else []
    for path in ["/etc/hostname", "/etc/passwd", str(secret_file), *home_files]:
        assert _outcome(escaped, f"open({path!r}).read()") == "ENOENT", path
    listing = escaped.run("import os\nsorted(os.listdir('/'))").value
    assert "etc" not in listing and "home" not in listing and "bin" not in listing


@bwrap
def test_the_hosts_environment_is_absent(escaped: LocalSandbox) -> None:
    assert os.environ["CODEACT_TEST_SECRET"] == SECRET  # the host has it while the test runs
    ex = escaped.run("import os\ndict(os.environ)")
    assert SECRET not in str(ex.value) and "CODEACT_TEST_SECRET" not in str(ex.value)
    assert ex.value["HOME"] == boundary.workdir()


@bwrap
def test_host_processes_environ_and_memory_are_out_of_reach(escaped: LocalSandbox) -> None:
    host = os.getpid()
    for what in ("environ", "mem", "maps", "cmdline"):
        assert _outcome(escaped, f"open('/proc/{host}/{what}', 'rb').read(1)") == "ENOENT"
    assert escaped.run("import os\nos.listdir('/proc')").value == []


@bwrap
def test_host_processes_cannot_be_signalled(escaped: LocalSandbox) -> None:
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        for pid in (bystander.pid, os.getpid()):  # signal 9 to a bystander, 0 to the host
            signal = 9 if pid == bystander.pid else 0
            attempt = f"__import__('os').kill({pid}, {signal})"
            assert _outcome(escaped, attempt) == "ESRCH"
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


@bwrap
def test_the_hosts_loopback_is_unreachable(escaped: LocalSandbox, host_server: int) -> None:
    import urllib.request

    url = f"http://127.0.0.1:{host_server}/"
    assert urllib.request.urlopen(url, timeout=5).read() == b"host-only page"
    for host in ("127.0.0.1", "1.1.1.1"):  # the sandbox's own loopback is not even up
        attempt = f"__import__('socket').create_connection(({host!r}, {host_server}), timeout=3)"
        assert _outcome(escaped, attempt) == "ENETUNREACH"


@bwrap
def test_writes_outside_the_private_tmpfs_fail(escaped: LocalSandbox) -> None:
    name = "codeact-" + secrets.token_hex(6)
    prefix = os.path.realpath(sys.base_prefix)
    for directory in ("/", "/usr/lib", prefix, str(Path(__file__).parents[1] / "sandboxes")):
        path = os.path.join(directory, name)
        assert _outcome(escaped, f"open({path!r}, 'w')") in ("EROFS", "EACCES"), path
        assert not os.path.exists(path)
    workdir = boundary.workdir()  # /tmp, unless this installation itself lives under /tmp
    ex = escaped.run(f"open('{workdir}/{name}', 'w').write('x')\nimport os\nos.getcwd()")
    assert ex.value == workdir
    assert not os.path.exists(f"{workdir}/{name}")  # the host's is another directory


@bwrap
def test_the_code_has_no_privileges(escaped: LocalSandbox) -> None:
    ex = escaped.run(
        textwrap.dedent(
            """
            import ctypes, os
            libc = ctypes.CDLL(None)
            header = (ctypes.c_uint32 * 2)(0x20080522, 0)
            data = (ctypes.c_uint32 * 6)()
            libc.capget(header, data)
            os.getuid(), os.getgid(), list(data), libc.prctl(39, 0, 0, 0, 0)
            """
        )
    )
    uid, gid, capabilities, no_new_privs = ex.value
    assert (uid, gid) == (65534, 65534)
    assert capabilities == [0] * 6
    assert no_new_privs == 1
    assert _outcome(escaped, "__import__('os').setuid(0)") in ("EPERM", "EINVAL")  # no root


# --- the cell's system-call filter (sandboxes._seccomp) --------------------------------------

_LIBC = "__import__('ctypes').CDLL(None, use_errno=True)"
#: Each attempt, as one expression: a raw system call's result, or a call that raises OSError.
_SYSCALLS = {
    # the host's keyrings: KEYCTL_GET_KEYRING_ID of the session and user keyrings, add_key
    "keyctl": "_check(libc.syscall(250, 0, -3, 0))",
    "keyctl user": "_check(libc.syscall(250, 0, -4, 0))",
    "add_key": "_check(libc.syscall(248, b'user', b'k', b'v', 1, -3))",
    "request_key": "_check(libc.syscall(249, b'user', b'k', None, -3))",
    # namespaces of its own: unshare, setns, clone with CLONE_NEWUSER | SIGCHLD
    "unshare": "_check(libc.unshare(0x10000000))",
    "unshare net": "_check(libc.unshare(0x40000000))",
    "setns": "_check(libc.setns(0, 0))",
    "clone": "_check(libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0))",
    # file watches, leases and dnotify on what the host shares
    "inotify_init1": "_check(libc.inotify_init1(0))",
    "inotify_init": "_check(libc.syscall(253))",
    "fanotify_init": "_check(libc.syscall(300, 0, 0))",
    "lease": "fcntl.fcntl(os.open(os.__file__, os.O_RDONLY), fcntl.F_SETLEASE, fcntl.F_RDLCK)",
    # locks on the host's files (the installation): a channel between sandboxes and the host
    "flock": "fcntl.flock(os.open(os.__file__, os.O_RDONLY), fcntl.LOCK_SH)",
    "F_SETLK": "fcntl.lockf(os.open(os.__file__, os.O_RDONLY), fcntl.LOCK_SH)",
    "F_GETLK": "fcntl.fcntl(os.open(os.__file__, os.O_RDONLY), fcntl.F_GETLK, bytes(32))",
    "F_OFD_SETLK": "fcntl.fcntl(os.open(os.__file__, os.O_RDONLY), 37, bytes(32))",
    "dnotify": "fcntl.fcntl(os.open('/', os.O_RDONLY), fcntl.F_NOTIFY, 1)",
    # memory no limit counts
    "memfd_create": "os.memfd_create('m')",
    "shmget": "_check(libc.shmget(0, 4096, 0o1600))",
    "semget": "_check(libc.semget(0, 32000, 0o1600))",
    "msgget": "_check(libc.msgget(0, 0o1600))",
    "mq_open": "_check(libc.syscall(240, b'q', 0o100 | 2, 0o600, None))",
    # tracing and large kernel interfaces (mount, userfaultfd...: refused by the kernel too)
    "ptrace": "_check(libc.ptrace(0, 0, 0, 0))",
    "process_vm_readv": "_check(libc.syscall(310, 1, 0, 0, 0, 0, 0))",
    "perf_event_open": "_check(libc.syscall(298, 0, 0, -1, -1, 0))",
    "bpf": "_check(libc.syscall(321, 0, 0, 0))",
    "io_uring_setup": "_check(libc.syscall(425, 1, 0))",
    "clone3": "_check(libc.syscall(435, 0, 0))",
    # the machine's one AIO pool (fs.aio-max-nr): io_setup(nr, &ctx)
    "io_setup": "_check(libc.syscall(206, 1, ctypes.byref(ctypes.c_ulong(0))))",
    # calls newer than the filter's review: listmount would show the hidden mounts
    "listmount": "_check(libc.syscall(458, 0, 0, 0, 0))",
    "open_tree_attr": "_check(libc.syscall(467, -100, b'/', 0, 0, 0))",
    # socket families outside the network namespace (vsock) or kernel surface (AF_ALG...)
    "AF_VSOCK": "socket.socket(40, socket.SOCK_STREAM)",
    "AF_ALG": "socket.socket(38, socket.SOCK_SEQPACKET)",
    "AF_PACKET pair": "socket.socketpair(17, socket.SOCK_DGRAM)",
}
#: ENOSYS: libraries fall back to what is checked (or it is as on an older kernel)
_UNSUPPORTED = {"io_uring_setup", "clone3", "io_setup", "listmount", "open_tree_attr"}
_NO_FAMILY = {"AF_VSOCK", "AF_ALG", "AF_PACKET pair"}  # EAFNOSUPPORT, as for a missing family


def _syscall(sandbox: LocalSandbox, attempt: str) -> str:
    """The errno name of ``attempt`` in the sandbox (``"worked"`` if it did not fail)."""
    code = textwrap.dedent(
        f"""
        import ctypes, errno, fcntl, os, socket
        libc = {_LIBC}
        libc.syscall.restype = ctypes.c_long
        def _check(result):
            if result < 0:
                raise OSError(ctypes.get_errno(), "refused")
        try:
            {attempt}
            result = "worked"
        except OSError as exc:
            result = errno.errorcode.get(exc.errno, repr(exc))
        result
        """
    )
    ex = sandbox.run(code)
    assert ex.error is None, ex.error
    return ex.value


@bwrap
@pytest.mark.parametrize("name", sorted(_SYSCALLS))
def test_the_filter_refuses_system_calls_code_never_needs(escaped: LocalSandbox, name: str) -> None:
    expected = "ENOSYS" if name in _UNSUPPORTED else "EPERM"
    assert _syscall(escaped, _SYSCALLS[name]) == (
        "EAFNOSUPPORT" if name in _NO_FAMILY else expected
    )


@bwrap
def test_the_filter_lets_threads_forks_and_allowed_fcntl_through(escaped: LocalSandbox) -> None:
    code = textwrap.dedent(
        """
        import fcntl, os, socket, threading
        got = []
        thread = threading.Thread(target=got.append, args=("thread",))
        thread.start()
        thread.join()
        pid = os.fork()
        if pid == 0:
            os._exit(7)
        got.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
        fd = os.open(os.__file__, os.O_RDONLY)
        got.append(fcntl.fcntl(fd, fcntl.F_GETFD) >= 0)
        for family, kind in ((1, socket.SOCK_STREAM), (2, socket.SOCK_DGRAM),
                             (10, socket.SOCK_DGRAM), (16, socket.SOCK_RAW)):
            socket.socket(family, kind).close()  # unix, inet, inet6, netlink
        a, b = socket.socketpair()
        a.sendall(b"ok")
        got.append(b.recv(2).decode())
        got
        """
    )
    assert escaped.run(code).value == ["thread", 7, True, "ok"]


@bwrap
def test_a_system_call_through_another_abi_kills_the_cell() -> None:
    """The filter knows x86_64's numbers only: an x32 call (a bypass of a denylist that checks
    numbers alone) ends the process; the sandbox restarts."""
    with _unrestricted(timeout=10) as sandbox:
        ex = sandbox.run(f"libc = {_LIBC}\nlibc.syscall(0x40000000 | 250, 0, -3, 0)")
        assert ex.error is not None and "SIGSYS" in ex.error
        assert sandbox.run("1 + 1").value == 2


# --- resources --------------------------------------------------------------------------------


@bwrap
def test_the_device_nodes_are_read_only(escaped: LocalSandbox) -> None:
    before = os.stat("/dev/full").st_mode
    assert _outcome(escaped, "__import__('os').chmod('/dev/full', 0o600)") == "EROFS"
    assert _outcome(escaped, "__import__('os').chown('/dev/null', 65534, 65534)") == "EROFS"
    assert _outcome(escaped, "open('/dev/filler', 'w')") == "EROFS"  # no files in /dev
    assert _outcome(escaped, "open('/dev/null', 'w').write('still a device')") == "worked"
    assert os.stat("/dev/full").st_mode == before


@bwrap
def test_the_working_directory_is_sized(escaped: LocalSandbox) -> None:
    fill = textwrap.dedent(
        """
        import errno, os
        written, outcome = 0, "worked"
        try:
            for n in range(8):  # files of 30 MB each (one file is capped smaller: RLIMIT_FSIZE)
                with open(f"fill{n}", "wb") as f:
                    for _ in range(30):
                        f.write(b"x" * 2**20)
                        written += 1
        except OSError as exc:
            outcome = errno.errorcode[exc.errno]
        for n in range(8):
            if os.path.exists(f"fill{n}"):
                os.unlink(f"fill{n}")
        outcome, written
        """
    )
    outcome, written = escaped.run(fill).value
    assert outcome == "ENOSPC" and written <= 64


@bwrap
@pytest.mark.skipif(os.geteuid() != 0, reason="entering the cell's IPC namespace needs root")
def test_the_cells_ipc_namespace_has_room_for_nothing(escaped: LocalSandbox) -> None:
    """Behind the filter's refusal of SysV and POSIX IPC (kernel memory no rlimit counts), the
    cell's own IPC namespace has its limits at zero: read from inside it, entered from here."""
    assert escaped.pid is not None
    tasks = Path(f"/proc/{escaped.pid}/task")
    (cell,) = {pid for task in tasks.iterdir() for pid in (task / "children").read_text().split()}
    script = textwrap.dedent(
        f"""
        import ctypes, os
        fd = os.open("/proc/{cell}/ns/ipc", os.O_RDONLY)
        assert ctypes.CDLL(None, use_errno=True).setns(fd, 0x08000000) == 0  # CLONE_NEWIPC
        for name in ("kernel/sem", "kernel/shmmni", "kernel/msgmni", "fs/mqueue/queues_max"):
            print(name, *open("/proc/sys/" + name).read().split())
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "kernel/sem 0 0 0 0",
        "kernel/shmmni 0",
        "kernel/msgmni 0",
        "fs/mqueue/queues_max 0",
    ]


@bwrap
@pytest.mark.skipif(
    os.geteuid() == 0 and not _linux._pid_max_is_per_namespace(),
    reason="as root, only a pid namespace's own pid_max (Linux 6.14+) limits the processes",
)
def test_processes_and_threads_are_limited(escaped: LocalSandbox) -> None:
    from sandboxes.supervisor import TASKS

    code = textwrap.dedent(
        """
        import os, time
        r, w = os.pipe()
        forked = 0
        try:
            for _ in range(5000):
                if os.fork() == 0:
                    os.read(r, 1)
                    os._exit(0)
                forked += 1
        except OSError:
            pass
        forked
        """
    )
    forked = escaped.run(code).value
    assert TASKS - 8 <= forked <= TASKS  # pids 300 to 555 (the first pass was 2 to 555)
    assert escaped.run("1 + 1").value == 2  # and the run's processes were all killed


@bwrap
def test_queued_signals_are_capped() -> None:
    """Each real-time signal sent while blocked takes an entry of a per-user count that the
    host's processes share: a sandbox may hold only a few."""
    from sandboxes.supervisor import QUEUED_SIGNALS

    code = textwrap.dedent(
        """
        import signal, threading
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGRTMIN})  # never unblocked: fatal
        queued = 0
        try:
            for _ in range(5000):
                signal.pthread_kill(threading.get_ident(), signal.SIGRTMIN)
                queued += 1
        except OSError:
            pass
        queued
        """
    )
    with _unrestricted(timeout=10) as sandbox:
        assert sandbox.run(code).value == QUEUED_SIGNALS


@bwrap
def test_a_setsid_daemon_dies_with_its_run() -> None:
    marker = "codeact-daemon-" + secrets.token_hex(8)
    code = textwrap.dedent(
        f"""
        import subprocess, sys, time
        script = "import os, signal, time\\n"
        script += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
        script += "if os.fork():\\n    os._exit(0)\\n"  # a double fork: an orphan, reparented
        script += "os.setsid()\\ntime.sleep(600)"
        subprocess.run([sys.executable, "-c", script, "{marker}"])
        time.sleep(0.3)
        look()
        """
    )
    found: list[int] = []
    with _unrestricted(timeout=10) as sandbox:
        sandbox.start({"look": lambda: found.extend(_started(marker))})  # seen from the host
        assert sandbox.run(code).error is None
        assert len(found) == 1, found
        (daemon,) = found
        assert not alive(daemon), "the daemon outlived its run"
        assert sandbox.run("1 + 1").value == 2  # the sandbox itself carries on


# --- without the boundary -----------------------------------------------------------------------

_TWO_SANDBOXES = """
import warnings
warnings.simplefilter("always")
from sandboxes import boundary
from sandboxes.local import LocalSandbox
with warnings.catch_warnings(record=True) as caught:
    first, second = LocalSandbox(), LocalSandbox()
print(first.boundary, second.boundary, first.run("1 + 1").value)
for warning in caught:
    print(type(warning.message).__name__, warning.message)
first.close()
second.close()
"""


def _host(env: dict[str, str], code: str = _TWO_SANDBOXES) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        cwd=Path(__file__).parents[1],
    )


def test_without_bubblewrap_local_works_and_says_so_once() -> None:
    out = _host({"CODEACT_BWRAP": "", "CODEACT_REQUIRE_BWRAP": ""})
    lines = out.stdout.splitlines()
    assert lines[0] == "None None 2", out.stderr
    assert len(lines) == 2 and lines[1].startswith("BoundaryWarning the local sandbox runs")
    assert "bubblewrap is not installed" in lines[1]


def test_a_bubblewrap_that_does_not_work_is_no_boundary() -> None:
    out = _host({"CODEACT_BWRAP": "/bin/false", "CODEACT_REQUIRE_BWRAP": ""})
    lines = out.stdout.splitlines()
    assert lines[0] == "None None 2", out.stderr
    assert "/bin/false does not work here" in lines[1]


def test_a_required_boundary_that_is_missing_is_an_error() -> None:
    out = _host({"CODEACT_BWRAP": "", "CODEACT_REQUIRE_BWRAP": "1"})
    assert out.returncode != 0
    assert "SandboxError: CODEACT_REQUIRE_BWRAP=1 but the local sandbox runs without" in out.stderr


@pytest.mark.parametrize(
    ("env", "outcome", "exit_code"),
    [
        ({}, "1 skipped", 0),
        ({"CI": "true"}, "1 error", 1),
        ({"CODEACT_REQUIRE_BWRAP": "1"}, "1 error", 1),
    ],
)
def test_bwrap_tests_skip_without_it_unless_required(
    tmp_path: Path, env: dict[str, str], outcome: str, exit_code: int
) -> None:
    here = Path(__file__).parent
    (tmp_path / "conftest.py").write_text((here / "conftest.py").read_text())
    (tmp_path / "test_needs_bwrap.py").write_text(
        "import pytest\n\n@pytest.mark.bwrap\ndef test_boundary():\n    pass\n"
    )
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "CODEACT_REQUIRE_BWRAP")}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**base, "CODEACT_BWRAP": "", **env},
        cwd=tmp_path,
    )
    assert out.returncode == exit_code
    assert outcome in out.stdout
    assert "bubblewrap is not installed" in out.stdout
