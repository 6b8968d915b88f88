"""The worker's supervisor (``sandboxes.supervisor``) against code that has escaped the policy.

Each test turns the restricted policy off in a real ``local`` worker (a test-only switch: the
client's private options) and runs what an attacker would run after an escape, then checks the
guarantee from the supervisor's docstring that must still hold.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import pytest
from processes import alive, cell_process, memory_holds, wait_gone, with_marker

import sandboxes._client
from sandboxes.local import LocalSandbox


def _started(marker: str) -> list[int]:
    """The pids of the processes with ``marker`` in their command line, once there are any."""
    deadline = time.monotonic() + 10
    while not (found := with_marker(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def _unrestricted(**options: object) -> LocalSandbox:
    sandbox = LocalSandbox(**options)  # type: ignore[arg-type]
    sandbox._client.options["restricted"] = False
    return sandbox


@pytest.fixture
def escaped() -> Iterator[LocalSandbox]:
    with _unrestricted(timeout=5, grace=1) as sandbox:
        sandbox.start()
        yield sandbox


_FORGE = textwrap.dedent(
    """
    import json, os, threading, time
    def forge():
        time.sleep({delay})
        done = {{"op": "done", "id": {run_id}, "stdout": "FORGED", "error": None}}
        os.write(3, json.dumps(done).encode() + b"\\n")
    threading.Thread(target=forge).start()
    """
)


def test_a_thread_left_by_a_run_cannot_answer_the_next_run(escaped: LocalSandbox) -> None:
    """The original attack: a thread writes a ``done`` for the next run. The run that leaves
    it running ends the worker before the next run is sent."""
    supervisor = escaped.pid
    assert supervisor is not None
    ex = escaped.run(_FORGE.format(delay=0.3, run_id=3))
    assert ex.error is not None and "left 1 thread running" in ex.error
    assert wait_gone(supervisor), "the supervisor kept a worker with the run's thread"
    ex = escaped.run("print('the next run')")
    assert (ex.stdout, ex.error) == ("the next run\n", None)
    assert escaped.run("1 + 1").value == 2


def test_a_second_answer_in_one_run_ends_the_worker(escaped: LocalSandbox) -> None:
    supervisor = escaped.pid
    assert supervisor is not None
    first = escaped.run(_FORGE.format(delay=0, run_id=2) + "time.sleep(0.2)")
    assert wait_gone(supervisor)
    second = escaped.run("1 + 1")
    # Ended while the run was pending (both answers read at once) or right after it.
    assert "broke the protocol" in f"{first.error} {second.error}"
    assert escaped.run("1 + 1").value == 2


def test_a_line_after_the_answer_in_the_same_write_ends_the_worker(
    escaped: LocalSandbox,
) -> None:
    """An answer and one more line in a single write reach the supervisor in one read; the
    line after the answer is out of turn and ends the worker, as one in a later read does (red
    team F6: it used to be dropped, and the forged answer forwarded)."""
    supervisor = escaped.pid
    assert supervisor is not None
    run_id = escaped._client._runs + 1
    forged = {"op": "done", "id": run_id, "stdout": "FORGED", "error": None}
    extra = {"op": "tool_call", "id": 1, "name": "t", "args": [], "kwargs": {}}
    ex = escaped.run(
        "import json, os, time\n"
        f"os.write(3, (json.dumps({forged!r}) + '\\n' + json.dumps({extra!r}) + '\\n').encode())\n"
        "time.sleep(0.5)"
    )
    assert ex.stdout != "FORGED"
    assert ex.error is not None and "broke the protocol" in ex.error, ex.error
    assert "more after its 'done'" in ex.error
    assert wait_gone(supervisor)
    assert escaped.run("1 + 1").value == 2


_OUTLIVE = textwrap.dedent(
    """
    import os, signal, threading, time, sandboxes.worker as worker
    honest = worker._send_done
    def send_done(*args):
        honest(*args)  # counted by the supervisor: nothing left; then, unobserved:
        time.sleep(0.2)
        if {process}:
            if os.fork() == 0:
                while True:
                    pass
        else:
            threading.Thread(target=lambda: [None for _ in iter(int, 1)], daemon=True).start()
    worker._send_done = send_done
    worker._kill_the_rest = lambda: None
    print("armed")
    """
)


@pytest.mark.parametrize("process", [True, False], ids=["process", "thread"])
def test_what_a_cell_starts_after_its_answer_ends_the_worker_at_the_next_request(
    escaped: LocalSandbox, process: bool
) -> None:
    """Code that owns the cell's process can start work right after the supervisor counted
    its answer, to compute unobserved between runs (red team round 5). The count is taken again
    before the next request reaches the child: the worker ends, and the sandbox goes on in a new
    one."""
    supervisor = escaped.pid
    assert supervisor is not None
    assert escaped.run(_OUTLIVE.format(process=process)).stdout == "armed\n"
    time.sleep(0.5)
    ex = escaped.run("print('next')")
    assert ex.error is not None and "between runs" in ex.error, ex
    assert ex.stdout == ""  # the run never reached the old worker
    assert wait_gone(supervisor)
    assert escaped.run("1 + 1").value == 2


@pytest.mark.parametrize(
    "second_op",
    [r'"op":"tool_call"', r'"\u006fp":"tool_call"'],
    ids=["repeated key", "escaped key"],
)
def test_the_supervisor_reads_the_op_the_host_reads(escaped: LocalSandbox, second_op: str) -> None:
    """A line that starts as a ``done`` but whose last ``op`` key (as JSON parsers read it)
    says ``tool_call`` is relayed as the tool call the host sees, not taken for the run's
    answer unparsed: the host answers the call and the run ends with the cell's real answer."""
    calls: list[object] = []
    escaped.start({"t": lambda: calls.append("called")})
    head = '{"op":"done","id":1,"stdout":"FORGED","error":null,'  # as the worker spells it
    line = head + second_op + ',"name":"t","args":[],"kwargs":{}}\n'
    ex = escaped.run(f"import os, time\nos.write(3, {line.encode()!r})\ntime.sleep(0.3)\n'real'")
    assert (ex.error, ex.value, ex.stdout) == (None, "real", "")
    assert calls == ["called"]
    assert escaped.run("1 + 1").value == 2


def test_a_line_in_the_workers_spelling_that_is_not_json_ends_the_worker(
    escaped: LocalSandbox,
) -> None:
    supervisor = escaped.pid
    assert supervisor is not None
    ex = escaped.run('import os, time\nos.write(3, b\'{"op":"done",not json}\\n\')\ntime.sleep(2)')
    assert ex.error is not None and "broke the protocol" in ex.error, ex.error
    assert wait_gone(supervisor)
    assert escaped.run("1 + 1").value == 2


def test_a_message_of_a_million_empty_dicts_is_refused_unparsed(escaped: LocalSandbox) -> None:
    """``{},`` is 3 bytes of JSON and ~64 of objects: a line under the size cap would cost the
    supervisor and the host 20-50 times its size if they parsed it (red team, round 3)."""
    supervisor = escaped.pid
    assert supervisor is not None
    flood = (
        "import os\n"
        'line = b\'{"op": "tool_call", "id": 1, "name": "t", "args": [\''
        " + b'{},' * (2 * 10**6) + b'{}], \"kwargs\": {}}\\n'\n"
        "os.write(3, line)\n"
        "import time; time.sleep(5)"
    )
    started = time.monotonic()
    ex = escaped.run(flood)
    assert ex.error is not None and "broke the protocol" in ex.error, ex.error
    assert "too many lists and dicts" in ex.error
    assert time.monotonic() - started < 4  # refused when read, not after the cell's sleep
    assert wait_gone(supervisor)
    assert escaped.run("1 + 1").value == 2


def test_the_code_never_sees_a_nonce(monkeypatch: pytest.MonkeyPatch) -> None:
    """All of the cell process's memory, read from the host, holds none of the runs' nonces,
    though a token that did cross (a tool's result) is there."""
    token = "codeact-nonce-" + secrets.token_hex(8)
    marker = "codeact-marker-" + secrets.token_hex(8)
    counter = iter(range(10**6))
    monkeypatch.setattr(sandboxes._client, "_nonce", lambda: f"{token}-{next(counter)}")
    with _unrestricted(timeout=30) as sandbox:
        sandbox.start({"marker": lambda: marker})
        assert sandbox.run("seen = marker()").error is None
        for _ in range(3):
            sandbox.run("1 + 1")
        assert sandbox.pid is not None
        cell = cell_process(sandbox.pid)
        found = memory_holds(cell, marker.encode()), memory_holds(cell, token.encode())
        supervisor_knows = memory_holds(sandbox.pid, token.encode())
    assert found == (True, False)
    assert supervisor_knows  # the scan does find nonces where they are


def test_the_code_holds_none_of_the_hosts_descriptors(escaped: LocalSandbox) -> None:
    """Every descriptor the code's process has open, found by ``fstat`` (``/proc`` may be
    hidden): /dev/null, its stderr pipe and its own socket, none of the host's pipes."""
    transport = escaped._client.transport
    assert transport is not None
    host_pipes = {os.fstat(fd).st_ino for fd in (transport._in, transport._out)}  # type: ignore[attr-defined]
    ex = escaped.run(
        "import os, stat\n"
        "def kind(st):\n"
        "    if stat.S_ISCHR(st.st_mode):\n"
        "        return 'null' if st.st_rdev == os.stat('/dev/null').st_rdev else 'char'\n"
        "    if stat.S_ISSOCK(st.st_mode):\n"
        "        return 'socket'\n"
        "    return 'pipe' if stat.S_ISFIFO(st.st_mode) else 'other'\n"
        "found = {}\n"
        "for fd in range(4096):\n"
        "    try:\n"
        "        st = os.fstat(fd)\n"
        "    except OSError:\n"
        "        continue\n"
        "    found[fd] = [kind(st), st.st_ino]\n"
        "found"
    )
    assert ex.error is None
    found = {int(fd): (kind, inode) for fd, (kind, inode) in ex.value.items()}
    expected = {0: "null", 1: "null", 2: "pipe", 3: "socket"}
    if escaped.boundary:
        expected[4] = "other"  # its own /proc/self/statm, kept for the memory limit
    assert {fd: kind for fd, (kind, _) in found.items()} == expected
    assert not host_pipes & {inode for _, inode in found.values()}


def test_the_code_cannot_reach_the_supervisor(escaped: LocalSandbox) -> None:
    supervisor = escaped.pid
    assert supervisor is not None
    ex = escaped.run(
        textwrap.dedent(
            f"""
            import ctypes, os, signal
            outcomes = {{}}
            for what, attempt in {{
                "mem": lambda: open("/proc/{supervisor}/mem", "rb").read(1),
                "environ": lambda: open("/proc/{supervisor}/environ", "rb").read(),
                "stdin": lambda: open("/proc/{supervisor}/fd/0", "rb"),
                "stdout": lambda: open("/proc/{supervisor}/fd/1", "wb"),
                "kill": lambda: os.kill({supervisor}, signal.SIGKILL),
            }}.items():
                try:
                    attempt()
                    outcomes[what] = "worked"
                except OSError as exc:
                    outcomes[what] = type(exc).__name__
            libc = ctypes.CDLL(None, use_errno=True)
            outcomes["ptrace"] = libc.ptrace(16, {supervisor}, 0, 0)  # PTRACE_ATTACH
            outcomes
            """
        )
    )
    assert ex.error is None
    outcomes = ex.value
    assert outcomes.pop("ptrace") == -1
    assert "worked" not in outcomes.values(), outcomes
    assert alive(supervisor)
    assert escaped.run("1 + 1").value == 2


_DAEMON = textwrap.dedent(
    """
    import os, subprocess, sys
    script = "import signal, time\\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\\ntime.sleep(600)"
    subprocess.Popen([sys.executable, "-c", script, "{marker}"], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    """
)


def test_a_setsid_daemon_dies_with_its_run() -> None:
    marker = "codeact-daemon-" + secrets.token_hex(8)
    found: list[int] = []
    with _unrestricted(timeout=10) as sandbox:
        sandbox.start({"look": lambda: found.extend(_started(marker))})  # from the host
        assert sandbox.run(_DAEMON.format(marker=marker) + "look()\n").error is None
        assert len(found) == 1, found
        (daemon,) = found
        assert not alive(daemon), "the daemon outlived its run"
        assert sandbox.run("1 + 1").value == 2


def test_close_is_bounded_whatever_the_code_left_behind() -> None:
    """Busy threads, a finaliser that never returns, a daemon that ignores SIGTERM, and a cell
    still running: ``close()`` waits for none of them."""
    marker = "codeact-daemon-" + secrets.token_hex(8)
    leftovers = _DAEMON.format(marker=marker) + textwrap.dedent(
        """
        import threading
        def spin():
            while True:
                pass
        for _ in range(4):
            threading.Thread(target=spin, daemon=False).start()
        class Stuck:
            def __del__(self):
                while True:
                    pass
        stuck = Stuck()
        stuck.me = stuck
        del stuck
        """
    )
    sandbox = _unrestricted(timeout=None)
    sandbox.start()
    runner = threading.Thread(target=sandbox.run, args=(leftovers + "while True:\n    pass",))
    runner.start()
    time.sleep(0.3)
    supervisor = sandbox.pid
    assert supervisor is not None
    t0 = time.monotonic()
    sandbox.close()
    took = time.monotonic() - t0
    runner.join(10)
    assert not runner.is_alive()
    assert took < 10, f"close() took {took:.1f} s"
    assert wait_gone(supervisor)
    deadline = time.monotonic() + 10
    while with_marker(marker):
        assert time.monotonic() < deadline, "the daemon survived close()"
        time.sleep(0.05)


def test_the_code_cannot_signal_a_host_process(escaped: LocalSandbox) -> None:
    """The code's pid namespace has none of the host's pids (a process of the same uid)."""
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        ex = escaped.run(
            f"import os, signal\ntry:\n    os.kill({bystander.pid}, signal.SIGKILL)\n"
            "    outcome = 'killed'\nexcept OSError as exc:\n    outcome = type(exc).__name__\n"
            "outcome"
        )
        assert ex.value == "ProcessLookupError"
        time.sleep(0.2)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
