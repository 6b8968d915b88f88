"""The README's test command explains skipped docker tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_command(marker: str) -> str:
    text = (ROOT / "README.md").read_text()
    block = re.search(rf"<!-- {marker} -->\s*```bash\n(.*?)\n```", text, re.DOTALL)
    assert block, f"no {marker} in README.md"
    return block.group(1)


def test_skipped_docker_tests_say_why_in_the_summary(tmp_path):
    pytest_args = readme_command("test-command").split("-m pytest", 1)[1].split()
    assert "-rs" in pytest_args
    env = {k: v for k, v in os.environ.items() if k != "CODEACT_REQUIRE_DOCKER"}
    env["DOCKER_HOST"] = f"unix://{tmp_path}/no-engine.sock"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *pytest_args,
            "-p",
            "no:cacheprovider",
            "tests/test_docker.py::test_run_returns_stdout_and_last_value",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "SKIPPED" in done.stdout and "no Docker engine reachable" in done.stdout, done.stdout
