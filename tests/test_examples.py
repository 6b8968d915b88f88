"""Every example runs offline (no ``CODEACT_MODEL``: saved replies replayed) and exits 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Examples that need a Docker engine; they run (and must pass) where the docker tests do.
NEEDS_DOCKER = {"docker_sandbox.py"}
EXAMPLES = [
    pytest.param(
        path, id=path.name, marks=[pytest.mark.docker] if path.name in NEEDS_DOCKER else []
    )
    for path in sorted((ROOT / "examples").glob("[!_]*.py"))
]


@pytest.mark.parametrize("path", EXAMPLES)
def test_example_runs_offline(path, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEACT_MODEL")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, (
        f"{path.name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    assert done.stdout.strip(), f"{path.name} printed nothing"
    assert "Traceback" not in done.stderr
