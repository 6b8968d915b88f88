"""The wheel users install carries every subpackage, the licence and the version."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import codeact

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_every_subpackage_and_the_licence(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("codeact-*.whl")
    assert wheel.name.startswith(f"codeact-{codeact.__version__}-")
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = [
        init.parent.relative_to(ROOT).as_posix()
        for top in ("codeact", "sandboxes")
        for init in (ROOT / top).rglob("__init__.py")
    ]
    assert "sandboxes/policy" in packages
    for package in packages:
        modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / package).glob("*.py")}
        assert modules <= names, f"{package} is missing {sorted(modules - names)}"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_licence_file_matches_the_metadata():
    assert 'license = "MIT"' in (ROOT / "pyproject.toml").read_text()
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
