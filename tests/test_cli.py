"""The ``codeact run`` command, in a real subprocess, replaying a saved run offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def codeact(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CODEACT_MODEL", "CODEACT_SANDBOX")}
    return subprocess.run(
        [sys.executable, "-m", "codeact.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_replays_a_saved_run_with_tools_from_modules(tmp_path):
    saved = tmp_path / "out.json"
    done = codeact(
        "run",
        "Is Paris or Rome warmer in July?",
        "--replay",
        "examples/runs/quickstart.json",
        "--tools",
        "examples.quickstart:july_high",
        "examples.quickstart:to_fahrenheit",
        "--sandbox",
        "inline",
        "--save",
        str(saved),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("Rome is warmer in July by 6.1 °C")
    assert "step 1" in done.stderr and "observation" in done.stderr  # the live step view
    assert json.loads(saved.read_text())["state"] == "success"


def test_run_without_a_model_says_what_to_pass():
    done = codeact("run", "task")
    assert done.returncode == 2
    assert "give --model (or set CODEACT_MODEL), or --replay a saved run" in done.stderr


def test_unfinished_run_exits_nonzero(tmp_path):
    run = tmp_path / "run.json"
    run.write_text(json.dumps({"model_outputs": ["no code here"]}))
    done = codeact("run", "task", "--replay", str(run), "--sandbox", "inline", "--quiet")
    assert done.returncode == 1
    assert "[error]" in done.stderr and "ran out" in done.stderr


def test_version_flag_prints_the_package_version():
    done = codeact("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"codeact {__import__('codeact').__version__}"
