"""The ``local`` fork server (``sandboxes.zygote``, ``sandboxes.forkserver``): every local
sandbox is a fork of one zygote per process, and that must be as safe as a fresh process each.

Sibling tests switch the policy off in both sandboxes (a test-only switch: the client's private
options), so that each is what code that escaped the policy could do to another sandbox of the
same host under the same bubblewrap.
"""

from __future__ import annotations

import contextlib
import gc
import os
import secrets
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from processes import alive, cell_process, memory_holds, wait_gone

from sandboxes import _ahead
from sandboxes.forkserver import SPARES
from sandboxes.local import LocalSandbox
from sandboxes.zygote import SPARE_DELAY

bwrap = pytest.mark.bwrap


def _unrestricted(**options: Any) -> LocalSandbox:
    sandbox = LocalSandbox(**options)
    sandbox._client.options["restricted"] = False
    sandbox.start()
    return sandbox


@pytest.fixture
def siblings() -> Iterator[tuple[LocalSandbox, LocalSandbox]]:
    first, second = _unrestricted(timeout=10), _unrestricted(timeout=10)
    assert first.boundary == second.boundary == "bwrap"
    yield first, second
    first.close()
    second.close()


def _zygote(sandbox: LocalSandbox) -> int:
    """The host pid of the fork server a sandbox's supervisor was forked from."""
    assert sandbox.pid is not None
    stat = Path(f"/proc/{sandbox.pid}/stat").read_text()
    return int(stat.rpartition(")")[2].split()[1])


def test_sandboxes_are_forks_of_one_server() -> None:
    with LocalSandbox() as first, LocalSandbox() as second:
        first.start()
        second.start()
        assert first.pid != second.pid
        assert _zygote(first) == _zygote(second)


@bwrap
def test_a_sibling_files_are_out_of_sight(siblings: tuple[LocalSandbox, LocalSandbox]) -> None:
    first, second = siblings
    name = "codeact-" + secrets.token_hex(6)
    workdir = first.run("import os\nos.getcwd()").value
    assert (
        first.run(f"open({name!r}, 'w').write('mine')\nopen('/dev/shm/{name}', 'w')").error is None
    )
    assert second.run("import os\nos.getcwd()").value == workdir  # the same path, its own tmpfs
    ex = second.run(f"os.path.exists({name!r}), os.path.exists('/dev/shm/{name}'), os.listdir('.')")
    assert ex.value == (False, False, [])


@bwrap
def test_no_pty_is_shared_with_a_sibling_or_taken_from_the_machine(
    siblings: tuple[LocalSandbox, LocalSandbox],
) -> None:
    """bwrap's one devpts would serve every sandbox of a fork server: a sibling could open a
    pty another made, and one sandbox could take the machine's whole pool (red team, round 3)."""
    first, second = siblings
    probe = textwrap.dedent(
        """
        import os, resource
        try:
            os.openpty()
            made = True
        except OSError:
            made = False
        made, os.listdir("/dev/pts"), resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        """
    )
    for sandbox in (first, second):
        assert sandbox.run(probe).value == (False, [], 1024)


@bwrap
def test_a_sibling_cannot_be_signalled_or_traced(
    siblings: tuple[LocalSandbox, LocalSandbox],
) -> None:
    first, second = siblings
    assert first.pid is not None and second.pid is not None
    victim = cell_process(second.pid)
    ex = first.run(
        textwrap.dedent(
            """
            import ctypes, os
            libc = ctypes.CDLL(None, use_errno=True)
            reachable = []
            for pid in range(2, 4096):  # every pid its namespace could hold but its own (1)
                try:
                    os.kill(pid, 0)
                    reachable.append(pid)
                except OSError:
                    pass
            traced = [pid for pid in range(1, 64) if libc.ptrace(16, pid, 0, 0) == 0]
            os.getpid(), reachable, traced, os.listdir("/proc")
            """
        )
    )
    assert ex.error is None
    assert ex.value == (1, [], [], [])  # pid 1 of its own namespace, alone, no /proc
    assert alive(victim)
    assert second.run("'still here'").value == "still here"


def _namespaces(sandbox: LocalSandbox) -> dict[str, str]:
    """The namespaces (``ipc:[4026...]``) of the process the sandbox's code runs in: the
    supervisor's child, read from the host."""
    assert sandbox.pid is not None
    tasks = Path(f"/proc/{sandbox.pid}/task")
    (cell,) = {pid for task in tasks.iterdir() for pid in (task / "children").read_text().split()}
    return {kind: os.readlink(f"/proc/{cell}/ns/{kind}") for kind in ("ipc", "net", "mnt", "pid")}


@bwrap
def test_a_sibling_has_a_network_and_ipc_of_its_own(
    siblings: tuple[LocalSandbox, LocalSandbox],
) -> None:
    first, second = siblings
    name = "codeact-" + secrets.token_hex(6)
    listen = textwrap.dedent(
        f"""
        import ctypes, socket
        server = socket.socket(socket.AF_UNIX)
        server.bind("\\0{name}")  # an abstract socket: the network namespace's, not a file
        server.listen()
        # no SysV object to share in any case: the filter refuses creating one
        ctypes.CDLL(None).semget(0x5EED, 1, 0o1600), ctypes.CDLL(None).shmget(0x5EED, 4096, 0o1600)
        """
    )
    assert first.run(listen).value == (-1, -1)
    attempt = textwrap.dedent(
        f"""
        import socket
        client = socket.socket(socket.AF_UNIX)
        try:
            client.connect("\\0{name}")
            connected = True
        except OSError:
            connected = False
        connected
        """
    )
    assert second.run(attempt).value is False
    assert first.run(attempt).value is True  # where it exists, the same code finds it
    mine, theirs = _namespaces(first), _namespaces(second)
    assert all(mine[kind] != theirs[kind] for kind in mine), (mine, theirs)


@bwrap
def test_a_new_sandbox_inherits_nothing_of_an_earlier_one() -> None:
    """What one sandbox held (its code, values, files) is in no later sandbox's processes and
    never was in the fork server's, which never sees a sandbox's messages."""
    secret = "codeact-earlier-" + secrets.token_hex(8)
    earlier = _unrestricted(timeout=10)
    code = f"kept = {secret!r} * 3\nopen('notes', 'w').write(kept)\nlen(kept)"
    assert earlier.run(code).value == 3 * len(secret)
    zygote = _zygote(earlier)
    earlier.close()
    later = [_unrestricted(timeout=10) for _ in range(3)]  # spares first, then fresh forks
    try:
        for sandbox in later:
            assert sandbox.pid is not None
            ex = sandbox.run("import os\nos.listdir('.')")
            assert ex.value == []
            for pid in (sandbox.pid, cell_process(sandbox.pid)):
                assert not memory_holds(pid, secret.encode()), pid
        assert not memory_holds(zygote, secret.encode())
    finally:
        for sandbox in later:
            sandbox.close()


@bwrap
def test_a_start_after_code_ran_is_a_fresh_process() -> None:
    """What code left in its process (a patched worker, a file in its tmpfs) is not there
    for the next session: ``start`` after a run is a new fork (policy finding 14)."""
    implant = textwrap.dedent(
        """
        import sandboxes.worker as worker
        real = worker.Runner.run
        def forged(self, code, timeout=None):
            result = real(self, code, timeout)
            return {**result, "stdout": "FORGED\\n"}
        worker.Runner.run = forged
        open("left-by-session-1", "w").write("hello")
        """
    )
    with _unrestricted(timeout=10) as sandbox:
        first = sandbox.pid
        assert sandbox.run(implant).error is None
        assert sandbox.run("print('real')").stdout == "FORGED\n"  # the implant works, then
        sandbox.start({"secret": lambda: "session 2"})
        assert sandbox.pid != first and wait_gone(first)
        ex = sandbox.run("import os\nprint('real')\nos.listdir('.')")
        assert (ex.stdout, ex.value, ex.error) == ("real\n", [], None)


def test_a_start_before_any_run_keeps_its_worker() -> None:
    with LocalSandbox() as sandbox:
        sandbox.start()
        first = sandbox.pid
        sandbox.start({"tool": lambda: 1})
        assert sandbox.pid == first
        assert sandbox.run("tool()").value == 1


def _ahead_pid(sandbox: LocalSandbox) -> int | None:
    """The supervisor pid of the worker the sandbox has started ahead, once it is made."""
    assert _ahead.settle()
    held = sandbox._client._ahead.held
    return held[0].supervisor_pid() if held else None


@bwrap
def test_renewed_sessions_take_a_worker_started_ahead_that_holds_nothing_of_them() -> None:
    """Once a sandbox has renewed its session, the next session's worker is made in the
    background (``sandboxes._ahead``): a fresh fork of the zygote, started with the session's
    tools, that has run no code, and holds nothing of the session it replaces, whose worker
    (implant and all) is gone."""
    secret = "codeact-ahead-" + secrets.token_hex(8)
    implant = textwrap.dedent(
        f"""
        import sandboxes.worker as worker
        real = worker.Runner.run
        def forged(self, code, timeout=None):
            return {{**real(self, code, timeout), "stdout": "FORGED\\n"}}
        worker.Runner.run = forged
        kept = {secret!r} * 3
        open("left-behind", "w").write(kept)
        """
    )
    tools = {"add": lambda a, b: a + b}
    with _unrestricted(timeout=10) as sandbox:
        sandbox.run("1")
        sandbox.start(tools)  # the first renewal: made now; the next is made ahead
        ahead = _ahead_pid(sandbox)
        assert ahead is not None and ahead != sandbox.pid
        assert sandbox.run(implant).error is None
        old = sandbox.pid
        assert sandbox.run("print('real')").stdout == "FORGED\n"
        assert ahead != old and not memory_holds(ahead, secret.encode())
        assert not memory_holds(cell_process(ahead), secret.encode())
        sandbox.start(tools)
        assert sandbox.pid == ahead  # taken, not made
        ex = sandbox.run("import os\nprint('real')\n(add(1, 2), os.listdir('.'))")
        assert (ex.stdout, ex.value, ex.error) == ("real\n", (3, []), None)
        assert _ahead.settle() and wait_gone(old)


def test_a_worker_started_ahead_with_other_tools_is_started_again() -> None:
    with LocalSandbox() as sandbox:
        sandbox.run("1")
        sandbox.start({"first": lambda: 1})
        ahead = _ahead_pid(sandbox)
        sandbox.run("first()")
        sandbox.start({"second": lambda: 2})
        assert sandbox.pid == ahead
        assert sandbox.run("second()").value == 2
        assert sandbox.run("first()").error.startswith("NameError")


def test_close_and_collection_kill_the_worker_started_ahead() -> None:
    for end in ("close", "drop"):
        sandbox = LocalSandbox()
        sandbox.run("1")
        sandbox.start()
        ahead = _ahead_pid(sandbox)
        assert ahead is not None and alive(ahead)
        if end == "close":
            sandbox.close()
        else:
            del sandbox
            gc.collect()
        assert wait_gone(ahead), end


def test_a_start_before_the_worker_ahead_is_begun_makes_its_own() -> None:
    """Back to back, a start does not wait for the worker ahead's delay: it cancels it and
    takes a worker from the fork server as before, leaving nothing behind."""
    with LocalSandbox() as sandbox:
        for i in range(5):
            sandbox.run(f"x = {i}")
            sandbox.start()
            assert sandbox.run("'x' in dir()").value is False
        assert _ahead.settle()
        assert len(sandbox._client._ahead.held) <= 1


def test_a_worker_ahead_that_died_waiting_is_replaced() -> None:
    with LocalSandbox() as sandbox:
        sandbox.run("1")
        sandbox.start()
        ahead = _ahead_pid(sandbox)
        assert ahead is not None
        os.kill(ahead, signal.SIGKILL)
        assert wait_gone(ahead)
        sandbox.run("2")
        sandbox.start()
        assert sandbox.pid not in (None, ahead)
        assert sandbox.run("3").value == 3


def test_a_failed_worker_ahead_leaves_start_to_make_one() -> None:
    with LocalSandbox() as sandbox:
        sandbox.run("1")
        client = sandbox._client
        real = client._spawn

        def broken() -> Any:
            if threading.current_thread().name == "codeact-later":
                raise OSError("no worker for you")
            return real()

        client._spawn = broken
        sandbox.start()
        assert _ahead_pid(sandbox) is None
        sandbox.run("2")
        sandbox.start()
        assert sandbox.run("3").value == 3


def test_limits_are_each_sandboxs_own() -> None:
    with LocalSandbox(memory_mb=64) as small, LocalSandbox(memory_mb=512) as large:
        assert small.run("len(bytearray(200 * 2**20))").error.startswith("MemoryError")
        assert large.run("len(bytearray(200 * 2**20))").value == 200 * 2**20
        assert small.run("len(bytearray(2**20))").value == 2**20


def test_a_dead_fork_server_is_replaced() -> None:
    sandbox = LocalSandbox(timeout=5)
    sandbox.run("kept = 1")
    zygote = _zygote(sandbox)
    os.kill(zygote, 9)
    assert wait_gone(zygote)
    with LocalSandbox() as fresh:
        assert fresh.run("1 + 1").value == 2
        assert _zygote(fresh) != zygote
    ex = sandbox.run("kept")  # its worker went with the old server, or still runs
    assert ex.error is None and ex.value == 1 or "restarted" in ex.error
    assert sandbox.run("2 + 2").value == 4
    sandbox.close()


def test_sandboxes_made_in_many_threads_at_once() -> None:
    results: list[object] = []

    def use(n: int) -> None:
        with LocalSandbox(timeout=20) as sandbox:
            sandbox.run(f"n = {n}")
            results.append(sandbox.run("n * 2").value)

    threads = [threading.Thread(target=use, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(results) == [n * 2 for n in range(8)]  # type: ignore[type-var]


def test_a_forked_host_gets_a_fork_server_of_its_own() -> None:
    script = textwrap.dedent(
        """
        import os
        from sandboxes.local import LocalSandbox
        parent = LocalSandbox()
        assert parent.run("1 + 1").value == 2
        child = os.fork()
        if child == 0:
            with LocalSandbox() as mine:
                os._exit(0 if mine.run("3 * 3").value == 9 else 1)
        _, status = os.waitpid(child, 0)
        print(os.waitstatus_to_exitcode(status), parent.run("2 * 2").value)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[1],
    )
    assert out.stdout.split() == ["0", "4"], out.stderr


def _descriptors(pid: int) -> list[str]:
    """What process ``pid`` has open (read from the host's /proc)."""
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            found.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
    return found


def test_the_fork_server_keeps_no_descriptor_of_a_sandbox() -> None:
    """Once its spares are forked it holds the same few descriptors, however many sandboxes."""
    with LocalSandbox() as first:
        first.run("1")
        zygote = _zygote(first)
        time.sleep(10 * SPARE_DELAY)
        before = sorted(_descriptors(zygote))
        others = [LocalSandbox() for _ in range(4)]
        for sandbox in others:
            sandbox.run("1")
        time.sleep(10 * SPARE_DELAY)
        assert sorted(_descriptors(zygote)) == before
        for sandbox in others:
            sandbox.close()


def test_a_supervisor_holds_only_its_own_sandboxs_channel() -> None:
    """Two supervisors share no socket: neither holds the other's channel (nor its cell's)."""
    with LocalSandbox() as first, LocalSandbox() as second:
        first.run("1")
        second.run("1")
        sockets = []
        for sandbox in (first, second):
            assert sandbox.pid is not None
            held = {link for link in _descriptors(sandbox.pid) if link.startswith("socket:")}
            assert len(held) == 2  # its channel to the host, its channel to its cell
            sockets.append(held)
        assert not sockets[0] & sockets[1]


def test_sandboxes_work_with_descriptors_past_1023() -> None:
    """A host with many files open (``select`` fails past fd 1023; the transports poll)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    ballast = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        sandboxes = [LocalSandbox(timeout=5) for _ in range(SPARES + 2)]  # past the old spares
        assert [sandbox.run("1 + 1").value for sandbox in sandboxes] == [2] * len(sandboxes)
        socks = [sandbox._client.transport.sock for sandbox in sandboxes]  # type: ignore[union-attr]
        assert max(socks) > 1023
        for sandbox in sandboxes:
            sandbox.close()
            assert sandbox.pid is None
    finally:
        for fd in ballast:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
