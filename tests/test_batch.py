"""``run_batch`` / ``arun_batch``: many tasks, each on a fresh agent, concurrently."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from codeact import (
    ChatMessage,
    CodeAgent,
    ModelError,
    RunResult,
    arun_batch,
    run_batch,
)
from sandboxes import Execution, SandboxError, make_sandbox

ROOT = Path(__file__).resolve().parent.parent
INTERRUPTED = ROOT / "tests" / "scripts" / "batch_interrupted.py"


class TaskModel:
    """A real model for batches: it reads the task and answers after ``delay_s``.

    ``"<word>"`` is answered with code giving ``"<WORD>"``; ``"model fails"`` gets one step of
    code, then an unreachable model; ``"wait <s>"`` answers after ``s`` seconds. It counts how
    many calls are in flight at once (``peak``).
    """

    model_id = "task-model"

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.in_flight = 0
        self.peak = 0

    def generate(self, messages, *, tools=None, stop=None):
        raise AssertionError("batches use the async path")

    async def agenerate(self, messages, *, tools=None, stop=None) -> ChatMessage:
        task = messages[1]["content"]
        steps_so_far = sum(m["role"] == "assistant" for m in messages)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            delay = float(task.split()[1]) if task.startswith("wait ") else self.delay_s
            await asyncio.sleep(delay)
        finally:
            self.in_flight -= 1
        if task == "model fails" and steps_so_far == 1:
            raise ModelError("model 'task-model' failed: connection error (scripted)")
        if task == "model fails":
            return ChatMessage("```python\nx = 1\n```")
        return ChatMessage(f"```python\nfinal_answer({task!r}.upper())\n```")


class CrashingSandbox:
    """A sandbox of the user's own whose environment breaks on code that says so."""

    def __init__(self) -> None:
        self.inner = make_sandbox("inline")
        self.closed = False

    def start(self, tools=None) -> None:
        self.inner.start(tools)

    def run(self, code: str) -> Execution:
        if "CRASH" in code:
            raise SandboxError("the sandbox's engine went away")
        return self.inner.run(code)

    def close(self) -> None:
        self.closed = True
        self.inner.close()


def test_results_come_back_in_task_order() -> None:
    model = TaskModel()
    tasks = [f"wait {0.3 - 0.03 * i:.2f}" for i in range(10)]  # later tasks finish first
    results = run_batch(lambda: CodeAgent(model, sandbox="inline"), tasks, concurrency=10)
    assert [r.task for r in results] == tasks
    assert [r.output for r in results] == [t.upper() for t in tasks]
    assert all(isinstance(r, RunResult) and r.state == "success" for r in results)


def test_one_runs_failure_is_that_runs_error_and_the_others_go_on() -> None:
    model = TaskModel()
    made: list[Any] = []

    def make_agent() -> CodeAgent:
        sandbox = CrashingSandbox()
        made.append(sandbox)
        agent = CodeAgent(model, sandbox=sandbox, step_callbacks=[picky])
        return agent

    def picky(step) -> None:
        if "callback" in (step.model_output or ""):
            raise RuntimeError("the step callback broke")

    tasks = ["one", "model fails", "CRASH", "callback", "two"]
    results = run_batch(make_agent, tasks, concurrency=2)
    by_task = {r.task: r for r in results}
    assert [r.state for r in results] == ["success", "error", "error", "error", "success"]
    assert by_task["one"].output == "ONE" and by_task["two"].output == "TWO"
    failed = by_task["model fails"]
    assert "connection error" in failed.error and len(failed.steps) == 1  # the partial run
    assert by_task["CRASH"].error == "SandboxError: the sandbox's engine went away"
    assert by_task["callback"].error == "RuntimeError: the step callback broke"
    assert len(made) == len(tasks) and all(s.closed for s in made)


def test_make_agent_failing_is_each_runs_error() -> None:
    def make_agent() -> CodeAgent:
        raise ValueError("no such model configured")

    results = run_batch(make_agent, ["a", "b"])
    assert [(r.task, r.state, r.error) for r in results] == [
        ("a", "error", "ValueError: no such model configured"),
        ("b", "error", "ValueError: no such model configured"),
    ]


async def test_no_more_than_concurrency_runs_at_once() -> None:
    model = TaskModel(delay_s=0.05)
    live, peak_live = 0, 0

    class Counted(CodeAgent):
        def close(self) -> None:
            nonlocal live
            live -= 1
            super().close()

    def make_agent() -> CodeAgent:
        nonlocal live, peak_live
        live += 1
        peak_live = max(peak_live, live)
        return Counted(model, sandbox="inline")

    results = await arun_batch(make_agent, [f"t{i}" for i in range(12)], concurrency=3)
    assert [r.output for r in results] == [f"T{i}" for i in range(12)]
    assert model.peak == 3 and peak_live == 3 and live == 0


def test_every_local_sandbox_is_closed_after_the_batch() -> None:
    agents: list[CodeAgent] = []

    def make_agent() -> CodeAgent:
        agents.append(CodeAgent(TaskModel(), sandbox="local"))
        return agents[-1]

    results = run_batch(make_agent, ["a", "b", "c"], concurrency=3)
    assert [r.output for r in results] == ["A", "B", "C"]
    assert len(agents) == 3 and all(a.sandbox.pid is None for a in agents)


def test_bad_arguments_are_refused_at_once() -> None:
    with pytest.raises(TypeError, match="list of tasks"):
        run_batch(lambda: None, "one task")
    with pytest.raises(ValueError, match="concurrency"):
        run_batch(lambda: None, ["a"], concurrency=0)
    assert run_batch(lambda: None, []) == []


def test_run_batch_works_inside_a_running_event_loop() -> None:
    async def notebook_cell() -> list[RunResult]:
        return run_batch(lambda: CodeAgent(TaskModel(), sandbox="inline"), ["x", "y"])

    assert [r.output for r in asyncio.run(notebook_cell())] == ["X", "Y"]


def _read_pty(master: int, until: bytes, timeout: float) -> bytes:
    out, deadline = b"", time.monotonic() + timeout
    while until not in out and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


_PROGRESS_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from test_batch import TaskModel
from codeact import CodeAgent, run_batch
results = run_batch(lambda: CodeAgent(TaskModel(0.05), sandbox="inline"), ["a", "b", "c"])
print("done", [r.output for r in results])
"""


def test_a_progress_bar_shows_on_a_terminal_and_not_in_a_pipe() -> None:
    script = _PROGRESS_SCRIPT.format(tests=str(ROOT / "tests"))
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    try:
        shown = _read_pty(master, b"'C']", 60).decode("utf-8", "replace")
    finally:
        proc.wait(30)
        os.close(master)
    assert "runs" in shown and "3/3" in shown and "success 3" in shown
    assert "done ['A', 'B', 'C']" in shown
    piped = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert piped.stdout == "done ['A', 'B', 'C']\n", piped.stderr[-2000:]


def _descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        with contextlib.suppress(OSError, ValueError):
            if entry.isdigit():
                stat = Path(f"/proc/{entry}/stat").read_text()
                parents[int(entry)] = int(stat.rpartition(")")[2].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _interrupt_batch(backend: str) -> tuple[list[str], set[int], subprocess.CompletedProcess]:
    """Start the batch script, SIGINT it once its cells run; what it used, and how it ended."""
    proc = subprocess.Popen(
        [sys.executable, str(INTERRUPTED), backend],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("ready "), line + proc.stderr.read()[-3000:]
        workers = _descendants(proc.pid)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        took = time.monotonic() - started
    finally:
        proc.kill()
    assert took < 30, f"the batch took {took:.0f} s to stop"
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return line.split()[1:], workers, done


def test_ctrl_c_stops_the_batch_and_kills_every_worker() -> None:
    ids, workers, done = _interrupt_batch("local")
    assert done.stdout == "interrupted\n", done.stderr[-3000:]
    assert done.returncode == 0 and len(ids) == 3
    assert {int(i) for i in ids} <= workers  # the sandboxes' workers were among its processes
    assert not [pid for pid in workers if _running(pid)], "worker processes were left running"


@pytest.mark.docker
def test_ctrl_c_stops_the_batch_and_removes_every_container() -> None:
    import docker

    ids, _, done = _interrupt_batch("docker")
    assert done.stdout == "interrupted\n", done.stderr[-3000:]
    assert len(ids) == 3 and all(len(i) == 64 for i in ids)
    client = docker.from_env()
    try:
        left = [c.id for c in client.containers.list(all=True) if c.id in ids]
    finally:
        client.close()
    assert left == [], "containers were left behind"
