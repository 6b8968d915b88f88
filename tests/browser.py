"""A real headless Chromium (Debian's ``chromium``) for the tests: a page's DOM after its
scripts ran, what it wrote to the console, and a screenshot.

Without a ``chromium`` on the PATH the browser tests skip, except under
``CODEACT_REQUIRE_BROWSER=1`` (``.ci/run`` installs it and sets that), where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

_CONSOLE = re.compile(r":CONSOLE(?::\d+|\(\d+\))\]\s*(.*)")


@dataclass
class Page:
    dom: str  # the document as serialised after its scripts ran
    console: list[str]  # every console message and uncaught error, as Chromium logged it


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        reason = "no chromium on the PATH (apt-get install -y chromium)"
        if os.environ.get("CODEACT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"CODEACT_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return path


def _run(page: Path, *mode: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--enable-logging=stderr",
                "--v=0",
                *mode,
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )


def load(page: Path) -> Page:
    """Open ``page``; returns its DOM and console messages."""
    done = _run(page, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    console = [m.group(1) for line in done.stderr.splitlines() if (m := _CONSOLE.search(line))]
    return Page(done.stdout, console)


def screenshot(page: Path, out: Path, width: int = 1200, height: int = 1600) -> Path:
    """A PNG of ``page`` as a person would see it."""
    done = _run(page, f"--screenshot={out}", f"--window-size={width},{height}")
    assert done.returncode == 0 and out.exists(), done.stderr[-2000:]
    return out
