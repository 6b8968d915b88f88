"""The ``codeact`` command, in real subprocesses: runs, replays, and one-line mistakes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import codeact

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART_TOOLS = "examples.quickstart:july_high,examples.quickstart:to_fahrenheit"


def codeact_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CODEACT_")}
    clean.update(env or {})
    clean.pop("OPENAI_API_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "codeact.cli", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def saved_run(tmp_path: Path, *replies: str, **fields) -> Path:
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"model_outputs": list(replies), **fields}))
    return path


def test_run_replays_a_saved_run_with_tools_from_modules(tmp_path):
    saved = tmp_path / "out.json"
    done = codeact_cli(
        "run",
        "Is Paris or Rome warmer in July?",
        "--replay",
        "examples/runs/quickstart.json",
        "--tools",
        QUICKSTART_TOOLS,
        "--sandbox",
        "inline",
        "--save",
        str(saved),
        "--verbose",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("Rome is warmer in July by 6.1 °C")
    assert "step 1" in done.stderr and "observation" in done.stderr  # the live view, on stderr
    assert f"codeact report {saved} -o {saved.with_suffix('.html')}" in done.stderr
    run = json.loads(saved.read_text())
    assert run["state"] == "success"
    assert run["meta"]["tools"] == ["july_high", "to_fahrenheit"]


def test_tools_may_be_repeated_and_the_task_is_not_swallowed(tmp_path):
    run = saved_run(tmp_path, "```python\nfinal_answer(to_fahrenheit(july_high('Rome')))\n```")
    done = codeact_cli(
        "run",
        "--tools",
        "examples.quickstart:july_high",
        "--tools",
        "examples.quickstart:to_fahrenheit",
        "Rome in °F?",
        "--replay",
        str(run),
        "--sandbox",
        "inline",
        "--quiet",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "89.1"


def test_json_prints_the_whole_run(tmp_path):
    run = saved_run(tmp_path, "```python\nprint('hi')\nfinal_answer([1, 2])\n```")
    done = codeact_cli("run", "t", "--replay", str(run), "--sandbox", "inline", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["output"] == [1, 2] and data["steps"][0]["observation"].startswith("Output:\nhi")


def test_a_replay_uses_the_saved_settings(tmp_path):
    replies = ["```python\nprint(1)\n```"] * 3 + ["best guess: 1"]
    run = saved_run(tmp_path, *replies, task="t", meta={"max_steps": 3, "tools": []})
    done = codeact_cli("run", "--replay", str(run), "--sandbox", "inline", "--quiet")
    assert done.returncode == 1  # ran out of steps: not a success, but no error either
    assert done.stdout.strip() == "best guess: 1"
    assert "[max_steps]" in done.stderr and "ran out" not in done.stderr


def test_a_replay_warns_when_the_task_or_tools_differ(tmp_path):
    run = saved_run(
        tmp_path, "```python\nfinal_answer(1)\n```", task="saved task", meta={"tools": ["x"]}
    )
    done = codeact_cli("run", "other task", "--replay", str(run), "--sandbox", "inline", "-q")
    assert done.returncode == 0, done.stderr
    assert "the task differs" in done.stderr and "used tools x" in done.stderr


def test_replay_shows_a_saved_run_without_its_tools(tmp_path):
    done = codeact_cli("replay", "examples/runs/quickstart.json")
    assert done.returncode == 0, done.stderr
    for text in ("step 1", "step 2", "step 3", "july_high", "Rome is warmer"):
        assert text in done.stdout


def test_version_flag_prints_the_package_version():
    done = codeact_cli("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"codeact {codeact.__version__}"


def test_unfinished_run_exits_nonzero(tmp_path):
    run = saved_run(tmp_path, "no code here")
    done = codeact_cli("run", "task", "--replay", str(run), "--sandbox", "inline", "--quiet")
    assert done.returncode == 1
    assert "the model failed" in done.stderr and "ran out" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["run", "task"], "give --model (or set CODEACT_MODEL), or --replay a saved run"),
        (["run", "t", "--model", "gpt-4o-mini"], "OPENAI_API_KEY"),
        (
            ["run", "t", "--model", "openai/m", "--api-base", "http://x", "--sandbox", "vm"],
            "sandbox 'vm'",
        ),
        (
            ["run", "t", "--model", "openai/m", "--api-base", "http://x", "--tools", "nosuchmod:f"],
            "nosuchmod",
        ),
        (
            ["run", "t", "--model", "openai/m", "--api-base", "http://x", "--tools", "json:nope"],
            "no 'nope'",
        ),
        (
            ["run", "t", "--model", "openai/m", "--api-base", "http://x", "--tools", "json"],
            "MODULE:FUNCTION",
        ),
        (
            ["run", "t", "--model", "openai/m", "--api-base", "http://x", "--tools", "json:dumps"],
            "json:dumps",
        ),
        (["run", "t", "--max-steps", "many"], "invalid int value"),
        (["run", "t", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
        (["nosuchcommand"], "invalid choice"),
        (["replay", "/nonexistent/run.json"], "cannot read /nonexistent/run.json"),
        (["replay", "README.md"], "is not a saved run"),
    ],
)
def test_mistakes_are_one_line_with_status_2(args, says):
    done = codeact_cli(*args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert says in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_missing_docker_image_is_one_line(tmp_path):
    run = saved_run(tmp_path, "```python\nfinal_answer(1)\n```")
    done = codeact_cli(
        "run", "t", "--replay", str(run), "--sandbox", "docker", "--image", "no/such:image", "-q"
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "no/such:image" in done.stderr or "Docker" in done.stderr


def test_run_control_flags_reach_the_agent(tmp_path):
    replies = ["```python\nprint(1)\n```"] * 3 + ["best guess"]
    run = saved_run(tmp_path, *replies)
    done = codeact_cli(
        "run",
        "t",
        "--replay",
        str(run),
        "--sandbox",
        "inline",
        "--max-tool-calls",
        "1",
        "--max-tokens",
        "500",
        "-q",
    )
    assert done.returncode == 1 and "[max_tokens]" in done.stderr, done.stderr


def test_approve_asks_on_stderr_and_a_refusal_reaches_the_model(tmp_path):
    run = saved_run(tmp_path, "```python\nprint('ran')\n```", "```python\nfinal_answer('ok')\n```")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "codeact.cli",
            "run",
            "t",
            "--replay",
            str(run),
            "--sandbox",
            "inline",
            "--approve",
            "-q",
            "--json",
        ],
        cwd=ROOT,
        input="not now\ny\n",
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("CODEACT_")},
    )
    assert done.returncode == 0, done.stderr
    assert "Run it?" in done.stderr and "Run it?" not in done.stdout
    steps = json.loads(done.stdout)["steps"]
    assert "not now" in steps[0]["observation"] and "ran" not in steps[0]["observation"]
