"""Run control against the real process backends: variables into local and docker sandboxes,
typed answers that cross as data, the time cap passed down to the sandbox, and a checkpointed
run resumed by a second process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydantic import BaseModel

from codeact import CodeAgent, ScriptedModel

ROOT = Path(__file__).resolve().parent.parent


def code(source: str) -> str:
    return f"```python\n{source}\n```"


class Totals(BaseModel):
    count: int
    names: list[str]


# --- variables ---------------------------------------------------------------------------------


def test_variables_reach_the_local_sandbox_with_numpy_and_pandas():
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(
        {"city": ["Oslo", "Rome"], "high": [21.5, float("nan")], "visits": [3, 4]},
        index=["a", "b"],
    )
    given = {"df": frame, "grid": np.arange(6, dtype="int32").reshape(2, 3), "cfg": {"k": [1]}}
    probe = (
        "final_answer([str(df.dtypes['high']), df.index.tolist(), df['visits'].sum().item(), "
        "bool(df['high'].isna().iloc[1]), grid.shape, str(grid.dtype), grid[1, 2].item(), cfg])"
    )
    agent = CodeAgent(
        ScriptedModel([code(probe)]), sandbox="local", allowed_imports=["numpy", "pandas"]
    )
    with agent:
        result = agent.run("describe the data", variables=given)
    assert result.state == "success", result.steps[0].observation
    assert result.output == ["float64", ["a", "b"], 7, True, (2, 3), "int32", 5, {"k": [1]}]


def test_variables_of_numpy_need_numpy_in_the_sandbox():
    import numpy as np

    agent = CodeAgent(ScriptedModel([code("final_answer(1)")]), sandbox="local")
    with agent, pytest.raises(RuntimeError, match="could not put the variables into the sandbox"):
        agent.run("t", variables={"a": np.zeros(2)})


@pytest.mark.docker
def test_variables_reach_the_docker_sandbox():
    given = {"rows": [{"name": "a", "n": 1}, {"name": "b", "n": 2}], "label": "totals", "x": None}
    agent = CodeAgent(
        ScriptedModel([code("final_answer([sum(r['n'] for r in rows), label, x])")]),
        sandbox="docker",
    )
    with agent:
        result = agent.run("sum the rows", variables=given)
    assert result.output == [3, "totals", None]


@pytest.mark.docker
def test_numpy_variables_into_an_image_without_numpy_fail_clearly():
    import numpy as np

    agent = CodeAgent(ScriptedModel([code("final_answer(1)")]), sandbox="docker")
    with agent, pytest.raises(RuntimeError, match="ModuleNotFoundError.*an image that has them"):
        agent.run("t", variables={"a": np.zeros(2)})


# --- typed answers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "backend", ["inline", "local", pytest.param("docker", marks=pytest.mark.docker)]
)
def test_an_invalid_typed_answer_is_corrected_in_every_backend(backend):
    replies = [
        code("final_answer({'count': 'two', 'names': ['a', 'b']})"),
        code("final_answer({'count': 2, 'names': ('a', 'b')})"),
    ]
    with CodeAgent(ScriptedModel(replies), sandbox=backend, output_type=Totals) as agent:
        result = agent.run("count them")
    assert "not a valid Totals" in result.steps[0].error
    assert result.output == Totals(count=2, names=["a", "b"])


# --- the time cap, passed down -----------------------------------------------------------------


@pytest.mark.parametrize("backend", ["local", pytest.param("docker", marks=pytest.mark.docker)])
def test_a_long_sandbox_run_is_cut_at_the_time_cap(backend):
    replies = [code("import time\ntime.sleep(60)"), "Ran out of time."]
    agent = CodeAgent(
        ScriptedModel(replies), sandbox=backend, max_time_s=2.0, sandbox_options={"timeout": 120}
    )
    with agent:
        agent._prepare()  # start the worker first: its start-up is not what is measured
        started = time.monotonic()
        result = agent.run("wait")
        took = time.monotonic() - started
    assert result.state == "max_time" and result.output == "Ran out of time."
    assert "TimeoutError" in result.steps[0].error
    assert took < 2.0 + 2.0 + 3  # the cap, the sandbox's interrupt grace, and slack
    assert agent.sandbox.timeout == 120


# --- checkpoints, resumed by another process ---------------------------------------------------

FIRST = """
import os, sys
from codeact import CodeAgent, ScriptedModel, tool

@tool
def crash() -> str:
    '''Crash the host process, as a power cut would.'''
    os._exit(3)

replies = [
    "```python\\nx = 20\\nprint(x)\\n```",
    "```python\\ny = x + 1\\nprint(y)\\n```",
    "```python\\ncrash()\\n```",
]
agent = CodeAgent(ScriptedModel(replies), tools=[crash], sandbox="local", name="worker",
                  max_steps=5)
agent.run("compute", checkpoint=sys.argv[1])
"""

SECOND = """
import json, sys
from codeact import CodeAgent, ScriptedModel, tool

@tool
def crash() -> str:
    '''Crash the host process, as a power cut would.'''
    raise RuntimeError("not again")

model = ScriptedModel(["```python\\nfinal_answer('x was 20, y was 21')\\n```"])
with CodeAgent(model, tools=[crash], sandbox="local", name="worker", max_steps=5) as agent:
    result = agent.resume(sys.argv[1])
print(json.dumps({
    "state": result.state, "output": result.output,
    "steps": [s.index for s in result.steps],
    "sent": model.requests[0],
}))
"""


def run_python(script: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CODEACT_VERBOSE": "0"}
    return subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_a_run_is_resumed_from_its_checkpoint_by_a_new_process(tmp_path):
    path = tmp_path / "run.json"

    first = run_python(FIRST, str(path))
    assert first.returncode == 3, first.stderr  # died in the third step's action
    saved = json.loads(path.read_text())
    assert saved["finished"] is False and saved["spent"]["steps"] == 2
    assert [s["index"] for s in saved["result"]["steps"]] == [1, 2]

    second = run_python(SECOND, str(path))
    assert second.returncode == 0, second.stderr
    out = json.loads(second.stdout.strip().splitlines()[-1])
    assert out["state"] == "success" and out["output"] == "x was 20, y was 21"
    assert out["steps"] == [1, 2, 3]  # the third step is the resumed run's first
    sent = out["sent"]
    assert sent[1]["content"] == "compute"
    assert "print(y)" in sent[4]["content"] and sent[5]["content"] == "Observation:\nOutput:\n21"
    assert "resumed from a checkpoint" in sent[-1]["content"]
    assert (
        "variables, functions and imports defined by earlier code are gone" in sent[-1]["content"]
    )
    finished = json.loads(path.read_text())
    assert finished["finished"] is True and finished["result"]["output"] == "x was 20, y was 21"


def test_a_finished_checkpoint_gives_its_result_without_running(tmp_path):
    path = tmp_path / "run.json"
    model = ScriptedModel([code("final_answer(7)")])
    with CodeAgent(model, sandbox="inline", name="a") as agent:
        assert agent.run("t", checkpoint=path).output == 7
        again = agent.run("t", checkpoint=path)
    assert again.output == 7 and len(model.requests) == 1


def test_a_checkpoint_of_another_task_is_refused(tmp_path):
    path = tmp_path / "run.json"
    with CodeAgent(ScriptedModel([code("final_answer(7)")]), sandbox="inline") as agent:
        agent.run("one task", checkpoint=path)
        with pytest.raises(ValueError, match="checkpoint of another run: it has task 'one task'"):
            agent.run("another task", checkpoint=path)


def test_budgets_used_before_a_resume_still_count(tmp_path):
    path = tmp_path / "run.json"
    replies = [code("print(1)"), code("print(2)")]
    agent = CodeAgent(ScriptedModel(replies), sandbox="inline", name="a", max_steps=3)
    with agent, pytest.raises(Exception, match="ran out"):
        agent.run("t", checkpoint=path)
    model = ScriptedModel([code("print(3)"), "best guess"])
    with CodeAgent(model, sandbox="inline", name="a", max_steps=3) as agent:
        result = agent.resume(path)
    assert result.state == "max_steps" and result.output == "best guess"
    assert len(result.steps) == 3
