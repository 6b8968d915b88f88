"""The ``local`` backend and the worker protocol, with real worker processes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from processes import cell_process

from sandboxes import Execution, _ahead, make_sandbox
from sandboxes._client import MAX_DEPTH, WorkerClient
from sandboxes.boundary import BoundaryWarning
from sandboxes.local import LocalSandbox, PipeTransport


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _children() -> list[int]:
    """Pids of this process's children, zombies included."""
    pids = []
    for entry in os.listdir("/proc"):
        with contextlib.suppress(OSError):
            if entry.isdigit() and _ppid(Path(f"/proc/{entry}/stat").read_text()) == os.getpid():
                pids.append(int(entry))
    return pids


def _ppid(stat: str) -> int:
    return int(stat.rpartition(")")[2].split()[1])


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.fixture(scope="module")
def sb() -> Iterator[LocalSandbox]:
    """One sandbox for the tests that don't depend on a fresh namespace or kill the worker."""
    with LocalSandbox(timeout=5) as sandbox:
        sandbox.start()
        yield sandbox


@pytest.fixture
def fast() -> Iterator[LocalSandbox]:
    """A fresh sandbox with short limits, for the tests that time out or restart the worker."""
    with LocalSandbox(timeout=0.5, grace=0.5) as sandbox:
        sandbox.start()
        yield sandbox


# --- running code -------------------------------------------------------------------------------


def test_run_returns_stdout_and_last_value(sb: LocalSandbox) -> None:
    ex = sb.run("x = 21\nprint('hi')\nx * 2")
    assert (ex.stdout, ex.value, ex.error) == ("hi\n", 42, None)


def test_error_names_the_exception_and_the_offending_line(sb: LocalSandbox) -> None:
    ex = sb.run("a = 1\nb = {}['missing']\n")
    assert ex.error is not None
    assert ex.error.startswith("KeyError: 'missing'")
    assert "line 2: b = {}['missing']" in ex.error


def test_code_raising_keyboardinterrupt_is_told_so_not_a_timeout(sb: LocalSandbox) -> None:
    ex = sb.run("raise KeyboardInterrupt")
    assert ex.error is not None and ex.error.startswith("KeyboardInterrupt"), ex
    assert "line 1: raise KeyboardInterrupt" in ex.error and "interrupted" not in ex.error
    assert sb.run("1 + 1").value == 2


def test_values_of_too_many_lists_and_dicts_do_not_cross_as_objects() -> None:
    """A tool argument or an answer of 10**5+ containers is a clear error or a repr, never a
    message whose parsing costs the host 20-50 times its size."""
    from sandboxes.worker import MAX_CONTAINERS

    calls: list[int] = []
    with LocalSandbox(timeout=30) as sandbox:
        sandbox.start({"t": lambda x: calls.append(len(x)) or len(x)})
        ex = sandbox.run(f"t([{{}}] * {MAX_CONTAINERS + 10})")
        assert ex.error is not None and "more than 100000 lists and dicts" in ex.error
        assert calls == []
        assert sandbox.run(f"t([[]] * {MAX_CONTAINERS // 2})").value == MAX_CONTAINERS // 2
        assert sandbox.run("t(['[{' * 1000] * 200)").value == 200  # brackets in strings: text
        ex = sandbox.run(f"final_answer([{{}}] * {MAX_CONTAINERS + 10})")
        assert ex.is_final and isinstance(ex.final_answer, str)
        assert ex.final_answer.startswith("[{}, {}")
        assert sandbox.run("1 + 1").value == 2


def test_the_host_refuses_a_message_of_too_many_containers_before_parsing_it() -> None:
    from sandboxes._client import ProtocolError, _decode

    with pytest.raises(ProtocolError, match="more than 100000 lists and dicts"):
        _decode(b'{"op": "done", "id": 1, "value": [' + b"{}," * 200_000 + b"{}]}\n")
    text = _decode(b'{"op": "done", "id": 1, "stdout": "' + b"[{" * 200_000 + b'"}\n')
    assert text["stdout"] == "[{" * 200_000


def test_the_container_count_is_one_linear_scan_of_a_line_whose_strings_never_close() -> None:
    """Quotes that never close made the string pattern retry from each one: a 1 MB line was
    hours of the supervisor's time (red team round 5). Run where a hang fails the test."""
    script = (
        "from sandboxes.worker import MAX_CONTAINERS, too_many_containers\n"
        "line = b'[' * (MAX_CONTAINERS + 1) + b'\"' + b'\\\\\"' * 500_000\n"
        "print(too_many_containers(line), too_many_containers(b'\"' + line))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["True", "False"]


def test_final_answer_ends_the_run(sb: LocalSandbox) -> None:
    ex = sb.run("final_answer({'city': 'Rome'})\nprint('not reached')")
    assert ex.is_final is True
    assert ex.final_answer == {"city": "Rome"}
    assert ex.stdout == ""


def test_variables_persist_between_runs(sb: LocalSandbox) -> None:
    sb.run("counter = 10")
    sb.run("counter += 5")
    assert sb.run("counter").value == 15


def test_value_that_is_not_json_crosses_as_its_repr(sb: LocalSandbox) -> None:
    assert sb.run("{3}").value == "{3}"
    assert sb.run("[1, (2, 3), {'a': None}]").value == [1, (2, 3), {"a": None}]


def test_huge_value_crosses_as_a_shortened_repr(sb: LocalSandbox) -> None:
    value = sb.run("list(range(1_000_000))").value
    assert isinstance(value, str)
    assert value.startswith("[0, 1, 2") and "repr shortened" in value


def test_start_gives_a_fresh_namespace() -> None:
    with LocalSandbox() as sandbox:
        sandbox.run("x = 1")
        sandbox.start()
        assert sandbox.run("x").error.startswith("NameError")


def test_make_sandbox_local_builds_a_local_sandbox() -> None:
    with make_sandbox("local", timeout=3, memory_mb=256) as sandbox:
        assert isinstance(sandbox, LocalSandbox)
        assert sandbox.run("1 + 1").value == 2


# --- tools run on the host ----------------------------------------------------------------------


def test_tool_calls_run_on_the_host_with_its_state() -> None:
    calls: list[str] = []

    def record(item: str) -> int:
        """Remember an item."""
        calls.append(item)
        return len(calls)

    with LocalSandbox() as sandbox:
        sandbox.start(tools={"record": record})
        ex = sandbox.run("n = record('a')\nrecord('b') + n")
    assert calls == ["a", "b"]
    assert ex.value == 3


def test_tool_keyword_arguments_cross(sb: LocalSandbox) -> None:
    def weather(city: str, unit: str = "C") -> str:
        return f"{city}: 20 {unit}"

    sb.start(tools={"weather": weather})
    assert sb.run("weather('Paris', unit='F')").value == "Paris: 20 F"


def test_tool_exception_is_raised_inside_the_code(sb: LocalSandbox) -> None:
    def lookup(key: str) -> str:
        raise ValueError(f"no such key: {key}")

    sb.start(tools={"lookup": lookup})
    caught = sb.run("try:\n    lookup('k')\nexcept ValueError as e:\n    print('caught', e)")
    assert caught.stdout == "caught no such key: k\n"
    uncaught = sb.run("lookup('k')")
    assert uncaught.error.startswith("ValueError: no such key: k")


def test_tool_returning_a_non_json_value_gives_its_repr(sb: LocalSandbox) -> None:
    sb.start(tools={"make": lambda: {1, 2}, "obj": lambda: object()})
    assert sb.run("make()").value == "{1, 2}"
    assert sb.run("obj()").value.startswith("<object object at")


def test_tool_arguments_that_are_not_json_cross_as_their_repr(sb: LocalSandbox) -> None:
    received: list[object] = []
    sb.start(tools={"keep": received.append})
    sb.run("keep({3})\nkeep((1, 2))")
    assert received == ["{3}", [1, 2]]


def test_oversized_tool_arguments_are_an_error_in_the_code(sb: LocalSandbox) -> None:
    sb.start(tools={"size": len})
    ex = sb.run("size('x' * 5_000_000)")
    assert ex.error.startswith("ValueError: arguments of size() are too large to send")
    assert sb.run("size('x' * 1_000)").value == 1_000


def test_tool_slower_than_the_timeout_leaves_the_sandbox_usable(fast: LocalSandbox) -> None:
    def slow() -> str:
        threading.Event().wait(1.2)  # past timeout + grace of the `fast` sandbox
        return "late"

    fast.start(tools={"slow": slow})
    fast.run("kept = 1")
    assert fast.run("slow()").error.startswith("TimeoutError")
    assert fast.run("kept").value == 1  # the late result was dropped, state intact


def test_tool_docstring_reaches_the_code(sb: LocalSandbox) -> None:
    def search(query: str) -> str:
        """Search the web."""
        return query

    sb.start(tools={"search": search})
    assert sb.run("search.__doc__").value == "Search the web."


# --- isolation ----------------------------------------------------------------------------------


def test_worker_environment_has_no_host_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-secret")
    with LocalSandbox() as sandbox:
        sandbox.start()
        assert sandbox.run("import os").error.startswith("ImportError")
        environ = Path(f"/proc/{sandbox.pid}/environ").read_bytes()
    assert b"sk-fake-secret" not in environ
    assert b"OPENAI_API_KEY" not in environ
    assert b"OPENBLAS_NUM_THREADS=1" in environ


def test_without_a_boundary_the_worker_runs_in_a_private_temp_dir_removed_on_close(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CODEACT_BWRAP", "")
    monkeypatch.delenv("CODEACT_REQUIRE_BWRAP", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundaryWarning)
        sandbox = LocalSandbox()
    assert sandbox.boundary is None
    sandbox.start()
    assert sandbox.pid is not None
    cwd = os.readlink(f"/proc/{cell_process(sandbox.pid)}/cwd")
    assert cwd == sandbox.workdir
    assert cwd.startswith(tempfile.gettempdir()) and cwd != os.getcwd()
    sandbox.close()
    assert not os.path.exists(cwd)


def test_worker_runs_in_sessions_of_its_own(sb: LocalSandbox) -> None:
    assert sb.pid is not None
    assert os.getsid(sb.pid) != os.getsid(0)
    cell = cell_process(sb.pid)
    assert os.getsid(cell) == cell


# --- limits and recovery ------------------------------------------------------------------------

_SWALLOW_INTERRUPTS = textwrap.dedent(
    """
    while True:
        try:
            while True:
                pass
        except BaseException:
            pass
    """
)


def test_infinite_loop_times_out_and_state_survives(fast: LocalSandbox) -> None:
    fast.run("kept = 'yes'")
    ex = fast.run("while True:\n    pass")
    assert ex.error.startswith("TimeoutError") and "interrupted" in ex.error
    assert fast.run("kept").value == "yes"


def test_sleep_is_interrupted(fast: LocalSandbox) -> None:
    ex = fast.run("import time\ntime.sleep(100)")
    assert ex.error.startswith("TimeoutError")
    assert ex.duration_s < 50


def test_uninterruptible_call_is_killed_and_the_sandbox_restarts(fast: LocalSandbox) -> None:
    fast.run("kept = 1")
    old_pid = fast.pid
    ex = fast.run("sum(range(10**12))")  # one C call: the interrupt can't land until it returns
    assert ex.error.startswith("TimeoutError: the code was stopped after 1 s")
    assert "restarted" in ex.error and "variables were lost" in ex.error
    assert not _alive(old_pid)
    assert fast.run("kept").error.startswith("NameError")
    assert fast.run("1 + 1").value == 2


def test_catching_base_exception_does_not_outlast_the_timeout(fast: LocalSandbox) -> None:
    ex = fast.run(_SWALLOW_INTERRUPTS)
    assert ex.error.startswith("TimeoutError")
    assert fast.run("'next'").value == "next"


def test_unrestricted_code_that_swallows_the_interrupt_is_killed(tmp_path: Path) -> None:
    """Without the policy (the docker case) the code can ignore the interrupt: the host kills it."""

    def spawn() -> PipeTransport:
        proc = subprocess.Popen(
            [sys.executable, "-c", "import sandboxes.worker as w; w.main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            start_new_session=True,
        )
        return PipeTransport(proc)

    client = WorkerClient(spawn, timeout=0.5, grace=0.5, options={"restricted": False})
    try:
        client.start({})
        ex = client.run(_SWALLOW_INTERRUPTS)
        assert ex.error.startswith("TimeoutError: the code was stopped after 1 s")
        assert "restarted" in ex.error
        assert client.run("'next'").value == "next"
    finally:
        client.close()


def test_memory_bomb_is_a_memory_error_and_state_survives() -> None:
    with LocalSandbox(memory_mb=256) as sandbox:
        sandbox.run("kept = [1, 2]")
        assert sandbox.run("'a' * 10**10").error.startswith("MemoryError")
        assert sandbox.run("[0] * 10**9").error.startswith("MemoryError")
        assert sandbox.run("kept").value == [1, 2]


def test_memory_below_the_limit_is_usable() -> None:
    with LocalSandbox(memory_mb=256) as sandbox:
        assert sandbox.run("len(bytearray(200 * 2**20))").value == 200 * 2**20


def test_output_flood_is_capped_and_timed_out() -> None:
    rss_before = _rss_mb()
    with LocalSandbox(timeout=1, max_output=1_000) as sandbox:
        ex = sandbox.run("while True:\n    print('x' * 1000)")
    assert ex.error.startswith("TimeoutError")
    assert ex.stdout.startswith("x" * 1000) and "output truncated" in ex.stdout
    assert len(ex.stdout) < 1_200
    assert _rss_mb() - rss_before < 50


def test_recursion_bomb_is_a_recursion_error(sb: LocalSandbox) -> None:
    ex = sb.run("def f(n):\n    return f(n + 1)\nf(0)")
    assert ex.error.startswith("RecursionError")
    assert sb.run("'alive'").value == "alive"


def test_worker_killed_externally_is_restarted_with_a_note(fast: LocalSandbox) -> None:
    fast.run("kept = 1")
    old_pid = fast.pid
    os.kill(old_pid, signal.SIGKILL)
    ex = fast.run("kept")
    assert "SIGKILL" in ex.error and "restarted" in ex.error and "variables were lost" in ex.error
    assert fast.pid != old_pid
    assert fast.run("2 + 2").value == 4


def test_worker_killed_during_a_run_is_restarted(fast: LocalSandbox) -> None:
    timer = threading.Timer(0.1, os.kill, (fast.pid, signal.SIGKILL))
    timer.start()
    ex = fast.run("import time\ntime.sleep(0.4)")
    timer.join()
    assert ex.error.startswith("SandboxCrashed") and "SIGKILL" in ex.error
    assert fast.run("3").value == 3


# --- lifecycle ----------------------------------------------------------------------------------


def test_close_leaves_no_process_behind() -> None:
    sandbox = LocalSandbox()
    sandbox.start()
    pid = sandbox.pid
    sandbox.close()
    assert not _alive(pid)
    sandbox.close()  # twice is fine


def test_dropping_the_sandbox_kills_its_worker() -> None:
    sandbox = LocalSandbox()
    sandbox.start()
    pid, workdir = sandbox.pid, sandbox.workdir
    del sandbox
    gc.collect()
    assert not _alive(pid)
    assert workdir is None or not os.path.exists(workdir)


def test_host_exit_leaves_no_worker_behind() -> None:
    script = "from sandboxes.local import LocalSandbox\nsb = LocalSandbox()\nsb.start()\n"
    script += "print(sb.pid)"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    pid = int(out.stdout)
    assert not _alive(pid)


def test_run_from_another_thread(sb: LocalSandbox) -> None:
    results: list[object] = []
    thread = threading.Thread(target=lambda: results.append(sb.run("6 * 7").value))
    thread.start()
    thread.join()
    assert results == [42]


async def test_run_from_asyncio(sb: LocalSandbox) -> None:
    assert sb.run("'direct'").value == "direct"
    ex = await asyncio.to_thread(sb.run, "'in a worker thread'")
    assert ex.value == "in a worker thread"


# --- a compromised worker: the client stays safe ------------------------------------------------

# A worker that has lost all its guards: it plays the supervisor too, so it knows each nonce.
_FAKE_WORKER = textwrap.dedent(
    """
    import json, os, sys
    out = sys.stdout.buffer
    def send(data):
        out.write(data)
        out.flush()
    def line(**fields):
        return json.dumps({**fields, "nonce": msg["nonce"]}).encode() + b"\\n"
    for raw in sys.stdin.buffer:
        msg = json.loads(raw)
        if msg["op"] == "start":
            send(line(op="ready"))
            continue
        code, run_id = msg["code"], msg.get("id")
        if code == "garbage":
            send(b"this is not json\\n")
        elif code == "huge":
            send(b"x" * 5_000_000)
        elif code == "bad_done":
            send(line(op="done", id=run_id, stdout=12))
        elif code == "bad_op":
            send(line(op="exec", code="import os"))
        elif code == "nested":
            send(b"[" * 100_000 + b"\\n")
        elif code == "huge_int":
            send(b'{"op": "done", "stdout": "", "value": ' + b"9" * 100_000 + b"}\\n")
        elif code == "ready_again":
            send(line(op="ready"))
        elif code == "no_nonce":
            send(json.dumps({"op": "done", "id": run_id, "stdout": "forged"}).encode() + b"\\n")
        elif code == "wrong_nonce":
            forged = {"op": "done", "id": run_id, "stdout": "forged", "nonce": "0" * 32}
            send(json.dumps(forged).encode() + b"\\n")
        elif code == "exit":
            os._exit(3)
        elif code == "call_unknown_tool":
            send(line(op="tool_call", id=1, name="rm_rf", args=[], kwargs={}))
            reply = json.loads(sys.stdin.buffer.readline())
            send(line(op="done", id=run_id, stdout=reply["error"]))
        else:
            send(line(op="done", id=run_id, stdout="ok " + code))
    """
)


@pytest.fixture
def fake_client(tmp_path: Path) -> Iterator[tuple[WorkerClient, list[subprocess.Popen[bytes]]]]:
    script = tmp_path / "fake_worker.py"
    script.write_text(_FAKE_WORKER)
    procs: list[subprocess.Popen[bytes]] = []

    def spawn() -> PipeTransport:
        proc = subprocess.Popen(
            [sys.executable, str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        procs.append(proc)
        return PipeTransport(proc, max_line=1_000_000)

    client = WorkerClient(spawn, timeout=5, grace=1, options={"max_output": 100})
    client.start({})
    yield client, procs
    client.close()


@pytest.mark.parametrize(
    "misbehaviour",
    [
        "garbage",
        "huge",
        "bad_done",
        "bad_op",
        "nested",
        "huge_int",
        "ready_again",
        "no_nonce",
        "wrong_nonce",
    ],
)
def test_worker_breaking_the_protocol_is_replaced(fake_client, misbehaviour: str) -> None:
    client, procs = fake_client
    ex = client.run(misbehaviour)
    assert ex.error.startswith("SandboxError: the sandbox worker broke the protocol")
    assert "restarted" in ex.error
    assert len(procs) == 2 and procs[0].poll() is not None
    assert client.run("hello").stdout == "ok hello"


def test_worker_exiting_mid_run_is_replaced(fake_client) -> None:
    client, procs = fake_client
    ex = client.run("exit")
    assert ex.error.startswith("SandboxCrashed") and "exit code 3" in ex.error
    assert client.run("again").stdout == "ok again"


def test_worker_calling_an_unknown_tool_gets_an_error_not_a_call(fake_client) -> None:
    client, procs = fake_client
    assert client.run("call_unknown_tool").stdout == "there is no tool named 'rm_rf'"
    assert len(procs) == 1


def test_oversized_output_is_cut_by_the_host(fake_client) -> None:
    client, _ = fake_client
    assert len(client.run("y" * 5_000).stdout) == 1_100


def test_messages_are_json_lines(tmp_path: Path) -> None:
    """The wire format the docker backend and other hosts rely on."""
    boot = "import sandboxes.worker as w; w.main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", boot],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=tmp_path,
    )
    start = {"op": "start", "nonce": "n1", "tools": {"t": "doc"}, "restricted": False}
    run = {"op": "run", "nonce": "n2", "id": 7, "code": "print(t(1))", "timeout": 5}
    result = {"op": "tool_result", "id": 1, "ok": True, "value": "two"}
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write((json.dumps(start) + "\n" + json.dumps(run) + "\n").encode())
    proc.stdin.flush()
    assert json.loads(proc.stdout.readline()) == {"op": "ready", "nonce": "n1"}
    call = json.loads(proc.stdout.readline())
    assert call == {
        "op": "tool_call",
        "id": 1,
        "name": "t",
        "args": [1],
        "kwargs": {},
        "nonce": "n2",
    }
    proc.stdin.write((json.dumps(result) + "\n").encode())
    proc.stdin.flush()
    done = json.loads(proc.stdout.readline())
    assert done["op"] == "done" and done["id"] == 7 and done["nonce"] == "n2"
    assert done["stdout"] == "two\n" and done["error"] is None
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0


# --- a hostile worker: real processes speaking the protocol badly on purpose --------------------

# Answers "start" like a worker, then runs the test's statements for each "run" message, with
# `msg`, `run_id`, `send(bytes)`, `recv()`, `line(**fields)` (a message with the request's nonce)
# and `done(**fields)` at hand.
_HOSTILE_PRELUDE = textwrap.dedent(
    """
    import json, os, sys, threading, time
    def send(data):
        view = memoryview(data)
        while view:
            view = view[os.write(1, view):]
    def recv():
        line = sys.stdin.buffer.readline()
        return json.loads(line) if line else None
    def line(**fields):
        return json.dumps({**fields, "nonce": msg["nonce"]}).encode() + b"\\n"
    def done(**fields):
        send(line(**{"op": "done", "id": run_id, "stdout": "", **fields}))
    while True:
        msg = recv()
        if msg is None:
            break
        if msg["op"] == "start":
            send(line(op="ready"))
            continue
        if msg["op"] != "run":
            continue
        run_id = msg.get("id")
    """
)


def _hostile(
    body: str, *, timeout: float | None = 1.0, write_timeout: float = 10.0, **tools: Any
) -> tuple[WorkerClient, list[subprocess.Popen[bytes]]]:
    """A client (0.5 s grace) whose every worker runs ``body`` on each ``run``."""
    script = _HOSTILE_PRELUDE + textwrap.indent(textwrap.dedent(body), "    ")
    procs: list[subprocess.Popen[bytes]] = []

    def spawn() -> PipeTransport:
        proc = subprocess.Popen(
            [sys.executable, "-c", script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        procs.append(proc)
        return PipeTransport(proc, write_timeout=write_timeout)

    client = WorkerClient(spawn, timeout=timeout, grace=0.5, options={"max_output": 100})
    client.start(tools)
    return client, procs


def _run_or_hang(client: WorkerClient, code: str, limit: float = 60) -> Execution:
    """``client.run(code)`` in a thread; fails the test if it has not returned after ``limit``."""
    results: list[Execution] = []
    thread = threading.Thread(target=lambda: results.append(client.run(code)), daemon=True)
    thread.start()
    thread.join(limit)
    assert results, f"run() still hangs after {limit} s"
    return results[0]


def _depth(value: Any) -> int:
    depth = 0
    while isinstance(value, list) and value:
        value, depth = value[0], depth + 1
    return depth


def test_tool_call_flood_past_the_deadline_ends_the_run() -> None:
    """A worker that keeps sending (and draining its input) never lets the host wait for it."""
    client, _ = _hostile(
        """
        threading.Thread(target=lambda: [None for _ in sys.stdin.buffer], daemon=True).start()
        for n in range(1, 10**9):
            send(line(op="tool_call", id=n, name="x", args=[], kwargs={}))
        """
    )
    try:
        ex = _run_or_hang(client, "flood")
        assert ex.error.startswith("TimeoutError: the code was stopped after 1.5 s")
    finally:
        client.close()


def test_worker_not_reading_tool_results_is_dropped_at_the_deadline() -> None:
    """The host's write of a large tool result is bounded by the run's time, not the pipe's."""

    def big() -> str:
        """One megabyte."""
        return "x" * 2**20

    client, procs = _hostile(
        """
        send(line(op="tool_call", id=1, name="big", args=[], kwargs={}))
        time.sleep(3600)
        """,
        write_timeout=3600,
        big=big,
    )
    try:
        ex = _run_or_hang(client, "deaf")
        assert "made tool calls without taking their results" in ex.error and len(procs) == 2
    finally:
        client.close()


def test_result_for_an_earlier_run_restarts_the_worker() -> None:
    """A second ``done`` is never taken as the answer to the next run (the host would lag):
    it carries the last run's nonce."""
    client, procs = _hostile(
        """
        done(stdout="answer " + msg["code"])
        if msg["code"] == "twice":
            done(stdout="stale")
        """
    )
    try:
        assert client.run("twice").stdout == "answer twice"
        ex = client.run("next")
        assert ex.error.startswith("SandboxError") and "without the run's nonce" in ex.error
        assert len(procs) == 2
        assert client.run("again").stdout == "answer again"
    finally:
        client.close()


def test_hostile_values_are_made_harmless() -> None:
    """Nesting deeper than MAX_DEPTH is cut; escaped lone surrogates become U+FFFD."""
    client, _ = _hostile(
        """
        deep = b"[" * 900 + b"]" * 900
        head = b'{"op": "done", "id": %d, "nonce": "%s", "stdout": "\\\\ud800", "value": '
        send(head % (run_id, msg["nonce"].encode()) + deep + b"}\\n")
        """
    )
    try:
        ex = client.run("deep")
        assert ex.error is None and ex.stdout == "\ufffd"
        assert _depth(ex.value) == MAX_DEPTH and "nested deeper" in str(ex.value)
    finally:
        client.close()


def test_deep_final_answer_of_restricted_code_stays_printable(sb: LocalSandbox) -> None:
    """An honest worker faithfully sends a 950-level list; the host keeps MAX_DEPTH of it."""
    ex = sb.run("x = []\nfor i in range(950):\n    x = [x]\nfinal_answer(x)")
    assert ex.is_final and _depth(ex.final_answer) == MAX_DEPTH
    json.dumps(ex.final_answer, indent=2)  # the pure-Python encoder recurses per level


def test_tool_arguments_are_depth_limited_too(sb: LocalSandbox) -> None:
    received: list[Any] = []

    def keep(value: Any) -> None:
        """Keep a value."""
        received.append(value)

    sb.start({"keep": keep})
    sb.run("x = []\nfor i in range(500):\n    x = [x]\nkeep(x)")
    assert _depth(received[0]) < MAX_DEPTH
    sb.start()


def test_lone_surrogate_in_output_can_be_encoded_by_the_host(sb: LocalSandbox) -> None:
    stdout = sb.run("print('a\\ud800b')").stdout
    assert stdout.encode("utf-8") == "a\ufffd\ufffd\ufffdb\n".encode()


def test_huge_exception_message_is_shortened_and_state_survives(sb: LocalSandbox) -> None:
    sb.run("kept = 'yes'")
    ex = sb.run("raise ValueError('x' * 10_000_000)")
    assert ex.error.startswith("ValueError: xxx") and "shortened from" in ex.error
    assert "at line 1" in ex.error
    assert sb.run("kept").value == "yes"


def test_tool_result_without_a_repr_crosses_as_a_placeholder(sb: LocalSandbox) -> None:
    class Opaque:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    class Mute(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no str")

    def opaque() -> Opaque:
        """Return an object without a repr."""
        return Opaque()

    def mute() -> None:
        """Raise an exception without a message."""
        raise Mute

    sb.start({"opaque": opaque, "mute": mute})
    assert sb.run("opaque()").value == "<Opaque object>"
    assert sb.run("mute()").error.startswith("Mute: <Mute object>")
    sb.start()


def test_tool_using_its_own_sandbox_is_an_error_not_a_deadlock() -> None:
    with LocalSandbox(timeout=5) as sandbox:

        def nested() -> Any:
            """Run code in the same sandbox."""
            return sandbox.run("1").value

        sandbox.start({"nested": nested})
        ex = sandbox.run("nested()")  # the lock is held by this very run
        assert ex.error.startswith("SandboxError: a tool of this sandbox used the sandbox itself")
        assert sandbox.run("2").value == 2


def test_close_from_another_thread_ends_a_run_without_timeout() -> None:
    running = threading.Event()

    def started() -> None:
        """Tell the test that the code runs."""
        running.set()

    sandbox = LocalSandbox(timeout=None)
    sandbox.start({"started": started})
    pid = sandbox.pid
    results: list[Execution] = []
    code = "started()\nwhile True:\n    pass"
    thread = threading.Thread(target=lambda: results.append(sandbox.run(code)))
    thread.start()
    assert running.wait(60)
    sandbox.close()
    thread.join(60)
    assert (
        results and results[0].error == "SandboxClosed: the sandbox was closed while the code ran"
    )
    assert sandbox.pid is None and not _alive(pid)


def test_many_sandboxes_leave_no_descriptors_threads_or_processes() -> None:
    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    with LocalSandbox() as warm:
        warm.run("1")
    gc.collect()  # sandboxes of earlier tests, and what they started ahead
    assert _ahead.settle()
    before = (fds(), threading.active_count(), _children())
    for i in range(50):
        sandbox = LocalSandbox()
        sandbox.run("1")
        sandbox.start()  # a new worker, after a run; the next one is started ahead
        sandbox.run("2")
        if i % 10 == 0:
            time.sleep(0.2)  # it is made meanwhile (else it is cancelled and made now)
        sandbox.start()
        sandbox.run("3")
        sandbox.close()
    assert _ahead.settle()
    assert (fds(), threading.active_count(), _children()) == before


def _gone(pid: int) -> bool:
    """No such process, or only its zombie (reaped by whoever adopted it, or not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_worker_ends_when_its_host_is_killed_mid_run(tmp_path: Path) -> None:
    """A host killed outright (no close, no timeout) leaves no worker running the code."""
    host = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from sandboxes.local import LocalSandbox\n"
            "sb = LocalSandbox(timeout=None)\n"
            "sb.start()\n"
            "print(sb.pid, flush=True)\n"
            "sb.run('while True:\\n    pass')\n",
        ],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert host.stdout is not None
    worker = int(host.stdout.readline())
    time.sleep(0.5)
    assert not _gone(worker)
    host.kill()
    host.wait()
    deadline = time.monotonic() + 20
    while not _gone(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(worker), "the orphaned worker still runs"


def test_a_host_with_many_open_files_can_run_and_close_sandboxes() -> None:
    """Past 1023 descriptors ``select`` refuses a descriptor; the host side must not use it."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        with make_sandbox("local", timeout=5) as sb:
            assert sb.run("1 + 1").value == 2
        with make_sandbox("local", timeout=0.3, grace=0.3) as sb:  # a kill and a restart
            assert "TimeoutError" in sb.run("sum(range(10**15))").error
            assert sb.run("2 + 2").value == 4
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
