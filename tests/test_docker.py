"""The docker backend against a real engine: behaviour, hardening, attacks by family, cleanup."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from attacks import TOOLS, WORKER_ABUSE

from sandboxes import SandboxError, make_sandbox
from sandboxes.docker import LABEL, UID_RANGE, DockerSandbox, owner_labels

pytestmark = pytest.mark.docker

FAKE_KEY = "sk-codeact-fake-" + secrets.token_hex(8)
TOOL_SECRET = "codeact-secret-" + secrets.token_hex(8)
MARKER = "codeact-marker-" + secrets.token_hex(8)


class Notebook:
    """A host tool with host state, and a credential that must stay on the host."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self._api_key = TOOL_SECRET

    def remember(self, text: str) -> int:
        self.notes.append(text)
        return len(self.notes)

    def host_pid(self) -> int:
        return os.getpid()

    def marker(self) -> str:
        return MARKER


@pytest.fixture(scope="module")
def api() -> Iterator[Any]:
    import docker

    client = docker.from_env()
    yield client.api
    client.close()


@pytest.fixture(scope="module")
def notebook() -> Notebook:
    return Notebook()


@pytest.fixture(scope="module")
def sb(notebook: Notebook) -> Iterator[DockerSandbox]:
    """One sandbox for the tests that leave its state intact; a fake API key is in our env."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENAI_API_KEY", FAKE_KEY)
        box = DockerSandbox(timeout=10)
        box.start(
            tools={
                "remember": notebook.remember,
                "host_pid": notebook.host_pid,
                "marker": notebook.marker,
            }
        )
        yield box
        box.close()


@pytest.fixture(scope="module")
def quick() -> Iterator[DockerSandbox]:
    """A sandbox with a 1 s timeout for runaway code; restarts are fine here."""
    with DockerSandbox(timeout=1, max_output=1000) as box:
        box.start()
        yield box


@pytest.fixture()
def small() -> Iterator[DockerSandbox]:
    """A sandbox with 256 MB for memory bombs."""
    with DockerSandbox(timeout=10, memory_mb=256) as box:
        box.start()
        yield box


def exists(api: Any, container_id: str) -> bool:
    import docker

    try:
        api.inspect_container(container_id)
        return True
    except docker.errors.NotFound:
        return False


def running(api: Any, container_id: str) -> bool:
    import docker

    try:
        return api.inspect_container(container_id)["State"]["Running"]
    except docker.errors.NotFound:  # a concurrent test run's reaper may have removed it
        return False


# --- behaviour -----------------------------------------------------------------------------


def test_run_returns_stdout_and_last_value(sb: DockerSandbox) -> None:
    ex = sb.run("x = 21\nprint('hi')\nx * 2")
    assert (ex.stdout, ex.value, ex.error) == ("hi\n", 42, None)


def test_variables_persist_between_runs(sb: DockerSandbox) -> None:
    sb.run("kept = [1, 2]")
    assert sb.run("kept.append(3)\nkept").value == [1, 2, 3]


def test_error_names_type_and_offending_line(sb: DockerSandbox) -> None:
    ex = sb.run("a = 1\nb = a / 0")
    assert ex.error.startswith("ZeroDivisionError")
    assert "b = a / 0" in ex.error


def test_final_answer_ends_the_run(sb: DockerSandbox) -> None:
    ex = sb.run("final_answer({'city': 'Rome'})\nprint('never')")
    assert ex.is_final and ex.final_answer == {"city": "Rome"} and ex.stdout == ""


def test_make_sandbox_builds_the_docker_backend() -> None:
    with make_sandbox("docker", timeout=5, memory_mb=128) as box:
        assert box.run("1 + 1").value == 2


def test_tool_runs_on_host_and_keeps_host_state(sb: DockerSandbox, notebook: Notebook) -> None:
    ex = sb.run("remember('milk')\nremember('eggs')\nhost_pid()")
    assert ex.value == os.getpid()  # the tool ran in this process, not in the container
    assert notebook.notes[-2:] == ["milk", "eggs"]


def test_tool_credential_never_enters_the_container(sb: DockerSandbox) -> None:
    # Scan the worker's whole memory for the tool's secret. The needle is split into a head and
    # an XOR-masked tail, so the scan itself never assembles it; MARKER, which a tool returned,
    # proves the scan finds what did cross.
    def pattern(text: str) -> tuple[bytes, bytes]:
        head, tail = text.encode()[:15], text.encode()[15:]
        return head, bytes(b ^ 0x5A for b in tail)

    scan = textwrap.dedent(
        """
        def occurrences(head, masked):
            found = 0
            with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
                for line in maps:
                    span, perms = line.split()[:2]
                    if "r" not in perms:
                        continue
                    lo, hi = (int(x, 16) for x in span.split("-"))
                    try:
                        mem.seek(lo)
                        data = mem.read(hi - lo)
                    except (OSError, OverflowError, ValueError):
                        continue
                    at = data.find(head)
                    while at >= 0:
                        tail = data[at + len(head) : at + len(head) + len(masked)]
                        found += bytes(b ^ 0x5A for b in tail) == masked
                        at = data.find(head, at + 1)
            return found
        """
    )
    sb.run(scan + "\nseen = marker()")
    ex = sb.run(f"occurrences(*{pattern(MARKER)!r}), occurrences(*{pattern(TOOL_SECRET)!r})")
    assert ex.error is None
    marker_hits, secret_hits = ex.value
    assert marker_hits > 0
    assert secret_hits == 0


# --- hardening, read back from the engine --------------------------------------------------


def test_container_hardening_shows_in_docker_inspect(sb: DockerSandbox, api: Any) -> None:
    info = api.inspect_container(sb.container_id)
    host, config = info["HostConfig"], info["Config"]
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"]
    assert "no-new-privileges" in host["SecurityOpt"]
    uid, gid = config["User"].split(":")
    assert uid == gid and UID_RANGE[0] <= int(uid) < UID_RANGE[1]
    assert host["Memory"] == host["MemorySwap"] == 512 * 2**20
    assert host["PidsLimit"] == 64
    assert host["NanoCpus"] == 10**9
    assert not host["Binds"] and not info["Mounts"]
    assert "noexec" in host["Tmpfs"]["/tmp"]
    assert config["Labels"][LABEL] == "1"
    assert config["Labels"][f"{LABEL}.pid"] == str(os.getpid())


# --- attacks by family ---------------------------------------------------------------------


def test_host_env_vars_do_not_reach_the_container(sb: DockerSandbox) -> None:
    ex = sb.run(
        "import os\n"
        "env = dict(os.environ)\n"
        "own_env = open('/proc/self/environ', 'rb').read().decode()\n"
        "env.get('HOME'), str(env) + own_env"
    )
    assert ex.error is None
    home, everything = ex.value
    assert home == "/tmp"  # the read worked
    assert FAKE_KEY not in everything and "OPENAI_API_KEY" not in everything


def test_host_files_are_not_reachable(sb: DockerSandbox, tmp_path: Path) -> None:
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("host secret")
    ex = sb.run(f"open({str(secret_file)!r}).read()")
    assert ex.error is not None and ex.error.startswith("FileNotFoundError")
    assert "host secret" not in ex.stdout + str(ex.value)


def test_root_filesystem_is_read_only(sb: DockerSandbox) -> None:
    ex = sb.run("open('/etc/x', 'w')")
    assert ex.error is not None and "Read-only file system" in ex.error


def test_tmp_is_writable(sb: DockerSandbox) -> None:
    ex = sb.run("open('/tmp/notes.txt', 'w').write('draft')\nopen('/tmp/notes.txt').read()")
    assert ex.value == "draft"


def test_tmp_does_not_execute_files(sb: DockerSandbox) -> None:
    ex = sb.run(
        "import os, shutil, subprocess\n"
        "shutil.copy('/bin/true', '/tmp/mytrue')\n"
        "os.chmod('/tmp/mytrue', 0o755)\n"
        "subprocess.run(['/tmp/mytrue'])"
    )
    assert ex.error is not None and ex.error.startswith("PermissionError")


def test_host_loopback_server_is_unreachable(sb: DockerSandbox, host_server: int) -> None:
    url = f"http://127.0.0.1:{host_server}/"
    assert urllib.request.urlopen(url, timeout=5).read() == b"host-only page"
    ex = sb.run(f"import urllib.request\nurllib.request.urlopen({url!r}, timeout=3)")
    assert ex.error is not None and "Connection refused" in ex.error


def test_public_network_is_unreachable(sb: DockerSandbox) -> None:
    ex = sb.run("import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=3)")
    assert ex.error is not None and "Network is unreachable" in ex.error


def test_only_loopback_interface_exists(sb: DockerSandbox) -> None:
    assert sb.run("import socket\n[name for _, name in socket.if_nameindex()]").value == ["lo"]


def test_no_machine_wide_pools_from_the_container(sb: DockerSandbox) -> None:
    """Kernel pools no namespace or cgroup divides (red team round 5): the machine's ptys
    (``kernel.pty.max``), vsock's one port space (no network namespace), the AIO contexts of
    ``fs.aio-max-nr``. Each attempt must fail in the container."""
    code = textwrap.dedent(
        """
        import ctypes, errno, os, socket
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        def aio():
            if libc.syscall(206, 1, ctypes.byref(ctypes.c_ulong(0))) < 0:  # io_setup
                raise OSError(ctypes.get_errno(), "io_setup")
        got = {}
        for name, attempt in [
            ("pty", os.openpty),
            ("vsock", lambda: socket.socket(40, socket.SOCK_STREAM)),
            ("aio", aio),
        ]:
            try:
                attempt()
                got[name] = "worked"
            except OSError as exc:
                got[name] = errno.errorcode.get(exc.errno, repr(exc))
        got
        """
    )
    got = sb.run(code).value
    assert got["pty"] in ("ENOENT", "EACCES", "EROFS"), got
    assert got["vsock"] == "EAFNOSUPPORT" and got["aio"] == "ENOSYS", got


def test_code_runs_as_non_root_and_cannot_become_root(sb: DockerSandbox, api: Any) -> None:
    uid = int(api.inspect_container(sb.container_id)["Config"]["User"].split(":")[0])
    assert sb.run("import os\nos.getuid(), os.getgid()").value == (uid, uid)
    ex = sb.run("os.setuid(0)")
    assert ex.error is not None and ex.error.startswith("PermissionError")


def test_forked_child_never_answers_for_the_worker(quick: DockerSandbox) -> None:
    ex = quick.run("import os\n'child' if os.fork() == 0 else 'parent'")
    assert ex.value == "parent"
    assert [quick.run(f"{n} * 2").value for n in range(5)] == [0, 2, 4, 6, 8]


#: The container's live processes as the next cell sees them, other than the supervisor (pid 1)
#: and the cell's own; processes still dying count too, the zombies the cell has yet to collect
#: (dead, holding nothing but their pid) not.
OTHER_PROCESSES = (
    "import os\n"
    "def alive(p):\n"
    "    try:\n"
    "        return open(f'/proc/{p}/stat').read().rpartition(')')[2].split()[0] != 'Z'\n"
    "    except OSError:\n"
    "        return False\n"
    "[open(f'/proc/{p}/cmdline', 'rb').read() for p in os.listdir('/proc')\n"
    " if p.isdigit() and int(p) not in (1, os.getpid()) and alive(p)]"
)


def test_a_cell_that_shrinks_the_supervisors_limits_ends_the_worker(quick: DockerSandbox) -> None:
    """The cell shares the supervisor's uid, and prlimit on a process of one's own uid needs no
    privilege: with its descriptors capped, the supervisor's view of /proc went blind, and a
    process left by the run lived on unreported (red team round 5). Now that ends the worker."""
    ex = quick.run(
        "import os, resource, time\n"
        "resource.prlimit(1, resource.RLIMIT_NOFILE, (5, 5))\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    while True:\n"
        "        time.sleep(1)\n"
    )
    later = quick.run(OTHER_PROCESSES)
    assert "list /proc" in f"{ex.error} {later.error}" or "limits" in f"{ex.error} {later.error}"
    assert quick.run(OTHER_PROCESSES).value == []


def test_fork_bomb_is_contained(quick: DockerSandbox) -> None:
    quick.run("before_bomb = 'kept'")
    ex = quick.run("import os\nwhile True:\n    os.fork()")
    assert ex.error is not None
    assert subprocess.run(["true"]).returncode == 0  # the host can still start processes
    assert quick.run(OTHER_PROCESSES).value == []  # ended before the bomb's run was answered
    assert quick.run("6 * 7").value == 42
    assert "Restarted" in ex.error or quick.run("before_bomb").value == "kept"


def test_processes_a_cell_leaves_running_are_ended(quick: DockerSandbox) -> None:
    ex = quick.run("import subprocess\nsubprocess.Popen(['sleep', '600']).pid")
    assert isinstance(ex.value, int) and ex.error is None
    assert quick.run(OTHER_PROCESSES).value == []


def test_processes_runs_leave_do_not_use_up_the_containers_pids(quick: DockerSandbox) -> None:
    """Each ended leftover was a zombie of the cell: after ~62 runs that leave one (the pids
    limit is 64), every fork failed until the worker restarted."""
    quick.run("import os\nkids = []")
    leaves_one = (
        "pid = os.fork()\nif pid == 0:\n    import time\n    time.sleep(600)\nkids.append(pid)"
    )
    for _ in range(80):
        ex = quick.run(leaves_one)
        assert ex.error is None, ex.error
    assert len(quick.run("kids").value) == 80  # the same worker all along


def test_a_thread_left_by_a_cell_cannot_answer_the_next_run(quick: DockerSandbox) -> None:
    """A cell leaves a thread that would write a forged ``done`` on the cell's channel, and tries
    the attach stream itself: the worker is replaced at once, and the stream is refused."""
    quick.run("kept = 1")
    first = quick.container_id
    ex = quick.run(
        "import json, os, threading, time\n"
        "try:\n"
        "    open('/proc/1/fd/1', 'wb')\n"
        "    direct = 'opened'\n"
        "except OSError as exc:\n"
        "    direct = type(exc).__name__\n"
        "def forge():\n"
        "    time.sleep(1)\n"
        "    done = {'op': 'done', 'id': 99, 'stdout': 'FORGED', 'error': None}\n"
        "    os.write(3, json.dumps(done).encode() + b'\\n')\n"
        "threading.Thread(target=forge).start()\n"
        "direct"
    )
    assert ex.value == "PermissionError"
    assert ex.error is not None and "left 1 thread running" in ex.error
    assert quick.container_id != first
    time.sleep(1.5)
    ex = quick.run("print('next')")
    assert (ex.stdout, ex.error) == ("next\n", None)


def test_a_thread_that_ends_with_its_cell_keeps_the_worker(quick: DockerSandbox) -> None:
    quick.run("kept = 1")
    first = quick.container_id
    ex = quick.run(
        "import threading, time\nthreading.Thread(target=time.sleep, args=(0.1,)).start()"
    )
    assert ex.error is None
    assert quick.container_id == first and quick.run("kept").value == 1


def test_numeric_libraries_are_told_to_start_no_thread_pools(sb: DockerSandbox) -> None:
    """A pool's threads would count as threads a cell left running (numpy is not in the test
    image, so the settings those libraries read are checked)."""
    names = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"]
    assert sb.run(f"import os\n[os.environ.get(n) for n in {names!r}]").value == ["1"] * 3


@pytest.mark.parametrize(
    ("code", "error"), [a[1:] for a in WORKER_ABUSE], ids=[a[0] for a in WORKER_ABUSE]
)
def test_abuse_of_the_worker_becomes_an_error_and_the_next_run_works(
    code: str, error: str | None
) -> None:
    with DockerSandbox(timeout=3) as box:
        box.start(TOOLS)
        box.run("kept = 'yes'")
        started = time.monotonic()
        ex = box.run(code)
        # Far below the engine API's 30 s timeout, which a container removal stuck behind an
        # unread attach stream used to reach (and raise requests' ReadTimeout).
        assert time.monotonic() - started < 20
        assert "FORGED" not in repr(ex)
        if error is None:
            assert ex.error is None
        else:
            assert ex.error is not None and error in ex.error
        after = box.run("import time\ntime.sleep(2)\nprint('next')\n'next'")
        assert (after.stdout, after.value, after.is_final, after.error) == (
            "next\n",
            "next",
            False,
            None,
        )
        if error is None:
            assert box.run("kept").value == "yes"


def test_each_container_has_a_uid_and_kernel_quotas_of_its_own(
    sb: DockerSandbox, quick: DockerSandbox
) -> None:
    uids = sb.run("import os\nos.getuid()").value, quick.run("import os\nos.getuid()").value
    assert uids[0] != uids[1]
    hog = sb.run(
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "held = []\n"
        "while (fd := libc.inotify_init1(0)) >= 0:\n"
        "    held.append(fd)\n"
        "quota = int(open('/proc/sys/fs/inotify/max_user_instances').read())\n"
        "len(held), quota, os.strerror(ctypes.get_errno())"
    )
    held, quota, why = hog.value
    assert held <= quota < 1000 and why == "Too many open files"  # the uid's quota, not nofile
    other = quick.run(
        "import ctypes, os\n"
        "fd = ctypes.CDLL(None, use_errno=True).inotify_init1(0)\n"
        "os.close(fd) if fd >= 0 else None\n"
        "fd >= 0"
    )
    assert other.value is True
    assert sb.run("for fd in held:\n    os.close(fd)\nlen(held)").value == held


def test_the_code_cannot_reach_the_supervisor(quick: DockerSandbox) -> None:
    """pid 1 is the supervisor, non-dumpable: same uid, yet closed to ptrace and /proc."""
    ex = quick.run(
        textwrap.dedent(
            """
            import ctypes, os, signal
            outcomes = {}
            for what, attempt in {
                "mem": lambda: open("/proc/1/mem", "rb").read(1),
                "environ": lambda: open("/proc/1/environ", "rb").read(),
                "stdin": lambda: open("/proc/1/fd/0", "rb"),
                "stdout": lambda: open("/proc/1/fd/1", "wb"),
            }.items():
                try:
                    attempt()
                    outcomes[what] = "worked"
                except OSError as exc:
                    outcomes[what] = type(exc).__name__
            libc = ctypes.CDLL(None, use_errno=True)
            outcomes["ptrace"] = libc.ptrace(16, 1, 0, 0)  # PTRACE_ATTACH
            os.kill(1, signal.SIGKILL)  # init ignores signals it has no handler for
            status = open("/proc/1/status").read()
            outcomes["uid"] = os.getuid() == int(status.split("Uid:")[1].split()[0])
            outcomes
            """
        )
    )
    assert ex.error is None
    outcomes = ex.value
    assert outcomes.pop("uid") is True  # the same uid: only non-dumpability protects it
    assert outcomes.pop("ptrace") == -1
    assert set(outcomes.values()) == {"PermissionError"}, outcomes
    assert quick.run("'alive'").value == "alive"


def test_the_code_holds_no_descriptor_of_the_attach_stream(quick: DockerSandbox) -> None:
    ex = quick.run(
        "import os\n"
        "fds = sorted(int(fd) for fd in os.listdir('/proc/self/fd'))\n"
        "{fd: os.readlink(f'/proc/self/fd/{fd}') for fd in fds[:-1]}"
    )
    links = {int(fd): link for fd, link in ex.value.items()}
    assert set(links) == {0, 1, 2, 3}  # and listdir's own, left out
    assert links[0] == links[1] == "/dev/null"
    assert links[2].startswith("pipe:") and links[3].startswith("socket:")


def test_busy_loop_is_interrupted_and_state_survives(quick: DockerSandbox) -> None:
    quick.run("counter = 7")
    ex = quick.run("while True:\n    pass")
    assert ex.error is not None and ex.error.startswith("TimeoutError")
    assert quick.run("counter").value == 7


def test_huge_power_is_stopped_and_sandbox_recovers(quick: DockerSandbox) -> None:
    ex = quick.run("10**10**8")
    assert ex.error is not None and ex.error.startswith("TimeoutError")
    assert quick.run("2 + 2").value == 4


def test_code_that_blocks_its_interrupt_is_killed_and_restarted(
    quick: DockerSandbox, api: Any
) -> None:
    quick.run("doomed = 1")
    first = quick.container_id
    ex = quick.run(
        "import signal\n"
        "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM, signal.SIGINT})\n"
        "while True:\n"
        "    pass"
    )
    assert ex.error is not None and "restarted" in ex.error and "variables were lost" in ex.error
    assert quick.container_id != first and not exists(api, first)
    assert quick.run("doomed").error.startswith("NameError")


def test_output_flood_is_capped(quick: DockerSandbox) -> None:
    ex = quick.run("print('x' * 10**7)\nfor i in range(10**5):\n    print(i)")
    assert ex.error is None
    assert len(ex.stdout) < 1200 and "truncated" in ex.stdout


def test_memory_bomb_raises_memory_error_and_keeps_state(small: DockerSandbox) -> None:
    small.run("survivor = 'yes'")
    ex = small.run("hog = []\nwhile True:\n    hog.append(bytearray(2**20))")
    assert ex.error is not None and ex.error.startswith("MemoryError")
    assert small.run("del hog\nsurvivor").value == "yes"


def test_memory_exhausted_by_processes_restarts_with_clear_message(small: DockerSandbox) -> None:
    # Two processes, each below the worker's own limit, together above the container's: the
    # kernel's OOM killer ends the worker (it volunteers with oom_score_adj).
    ex = small.run(
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    ballast = bytearray(100 * 2**20)\n"
        "    time.sleep(30)\n"
        "open('/proc/self/oom_score_adj', 'w').write('1000')\n"
        "time.sleep(0.5)\n"
        "hog = bytearray(180 * 2**20)\n"
        "time.sleep(30)"
    )
    assert ex.error is not None and "out of memory" in ex.error and "256 MB" in ex.error
    assert small.run("1 + 1").value == 2


# --- lifecycle -----------------------------------------------------------------------------


def test_close_removes_the_container(api: Any) -> None:
    box = DockerSandbox()
    box.run("1")
    container_id = box.container_id
    assert exists(api, container_id)
    box.close()
    assert not exists(api, container_id)


def test_close_with_the_engine_gone_does_not_raise_and_leaves_removal_to_exit(
    api: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import docker

    from sandboxes import docker as backend

    box = DockerSandbox()
    box.run("1")
    container_id = box.container_id
    assert box._client is not None and box._client.transport is not None
    box._client.transport.api = docker.APIClient(
        "unix:///nonexistent", version="1.41"
    )  # engine gone
    try:
        box.close()
        assert "could not remove sandbox container" in caplog.text
        assert container_id in backend._live  # removed at interpreter exit instead
    finally:
        backend._live.pop(container_id, None)
        api.remove_container(container_id, force=True)


def test_container_is_removed_at_interpreter_exit(api: Any) -> None:
    script = (
        "from sandboxes.docker import DockerSandbox\n"
        "b = DockerSandbox()\nb.run('1')\nprint(b.container_id)"  # exits without close()
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert not exists(api, out.stdout.strip())


def test_container_of_killed_host_stops_and_is_reaped_at_next_start(api: Any) -> None:
    script = (
        "import os, signal\nfrom sandboxes.docker import DockerSandbox\n"
        "b = DockerSandbox()\nb.run('1')\nprint(b.container_id, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == -signal.SIGKILL
    container_id = out.stdout.strip()
    deadline = time.monotonic() + 20  # the worker sees EOF on stdin and exits
    while running(api, container_id):
        assert time.monotonic() < deadline, "the orphaned worker kept running"
        time.sleep(0.1)
    with DockerSandbox() as box:
        box.start()
    assert not exists(api, container_id)


def test_container_left_by_dead_process_is_reaped_and_live_ones_kept(api: Any) -> None:
    image = DockerSandbox().image
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead_labels = owner_labels(child.pid)
    child.kill()
    child.wait()
    orphan = api.create_container(image, command=["python3"], labels=dead_labels)["Id"]
    ours = api.create_container(image, command=["python3"], labels=owner_labels())["Id"]
    try:
        with DockerSandbox() as box:
            box.start()
        assert not exists(api, orphan)
        assert exists(api, ours)
    finally:
        api.remove_container(ours, force=True)
        if exists(api, orphan):
            api.remove_container(orphan, force=True)


# --- environment errors and the docker marker ----------------------------------------------


def test_missing_image_is_a_clear_error() -> None:
    box = DockerSandbox(image="codeact-no-such-image:missing")
    with pytest.raises(SandboxError, match="CODEACT_DOCKER_IMAGE"):
        box.start()
    box.close()


def test_unreachable_engine_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent")
    with pytest.raises(SandboxError, match="start the Docker daemon or set DOCKER_HOST"):
        DockerSandbox().start()


@pytest.mark.parametrize(
    ("required", "outcome", "exit_code"), [("0", "1 skipped", 0), ("1", "1 error", 1)]
)
def test_docker_tests_skip_without_engine_unless_required(
    tmp_path: Path, required: str, outcome: str, exit_code: int
) -> None:
    (tmp_path / "conftest.py").write_text((Path(__file__).parent / "conftest.py").read_text())
    (tmp_path / "test_needs_docker.py").write_text(
        "import pytest\n\n@pytest.mark.docker\ndef test_engine():\n    pass\n"
    )
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent", "CODEACT_REQUIRE_DOCKER": required}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert out.returncode == exit_code
    assert outcome in out.stdout
    assert "no Docker engine reachable" in out.stdout
