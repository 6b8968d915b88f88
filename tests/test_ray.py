"""``codeact.ray.run_batch`` on a real local Ray instance (two CPUs, no dashboard)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
import ray

from codeact import CodeAgent, ScriptedModel, tool
from codeact.ray import run_batch


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def test_each_task_runs_on_a_ray_worker_with_its_own_sandbox() -> None:
    def make_agent() -> CodeAgent:
        @tool
        def host_pid() -> int:
            """The process id of the host that runs this agent's tools."""
            return os.getpid()

        reply = "```python\nfinal_answer([task_text, host_pid()])\n```"
        return CodeAgent(
            ScriptedModel(["```python\ntask_text = 'x'\n```", reply]),
            tools=[host_pid],
            sandbox="local",
        )

    results = run_batch(make_agent, ["a", "b", "c"], concurrency=2)
    assert [r.task for r in results] == ["a", "b", "c"]
    assert [r.state for r in results] == ["success"] * 3
    assert all(r.meta["sandbox"] == "local" and len(r.steps) == 2 for r in results)
    hosts = {r.output[1] for r in results}
    assert os.getpid() not in hosts  # the sandbox and its tools lived on the workers


def test_a_failing_run_on_ray_is_that_runs_error() -> None:
    def make_agent() -> CodeAgent:
        return CodeAgent(ScriptedModel(["```python\nx = 1\n```"]), sandbox="inline")

    def broken() -> CodeAgent:
        raise ValueError("no model configured on this node")

    results = run_batch(make_agent, ["runs out", "again"], concurrency=2)
    assert [r.state for r in results] == ["error", "error"]
    assert "ScriptedModel ran out" in results[0].error and len(results[0].steps) == 1
    (made,) = run_batch(broken, ["t"])
    assert made.state == "error" and made.error == "ValueError: no model configured on this node"


def test_what_cannot_be_sent_to_the_workers_is_refused_before_anything_runs() -> None:
    lock = threading.Lock()

    @tool
    def guarded() -> str:
        """Use a lock of the driver."""
        with lock:
            return "ok"

    def make_agent() -> CodeAgent:
        return CodeAgent(ScriptedModel([]), tools=[guarded], sandbox="inline")

    with pytest.raises(TypeError, match="make_agent cannot be sent to Ray workers .*lock"):
        run_batch(make_agent, ["t"])
