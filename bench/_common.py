"""What the bench scripts share: the plain-exec baseline and smolagents' figures.

smolagents (1.26.0 in a venv of its own: ``$SMOLAGENTS_PYTHON``, default ``/work/smol/bin/python``)
is run in a subprocess and never imported here: it is not a dependency of codeact.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import textwrap
import time

SMOL_PYTHON = os.environ.get("SMOLAGENTS_PYTHON", "/work/smol/bin/python")

_SMOL_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from smolagents.local_python_executor import LocalPythonExecutor
    snippets, repeats = json.load(sys.stdin)
    out = {}
    for name, code in snippets.items():
        smol = plain = float("inf")
        for _ in range(repeats):
            executor = LocalPythonExecutor(additional_authorized_imports=[])
            executor.send_tools({})
            t0 = time.perf_counter()
            executor(code)
            smol = min(smol, time.perf_counter() - t0)
            t0 = time.perf_counter()
            exec(compile(code, "<bench>", "exec"), {})
            plain = min(plain, time.perf_counter() - t0)
        out[name] = (smol, plain)
    print(json.dumps(out))
    """
)


def plain_exec(code: str) -> float:
    """Seconds for one run of ``code`` with plain ``compile`` + ``exec``: the baseline."""
    t0 = time.perf_counter()
    exec(compile(code, "<bench>", "exec"), {})
    return time.perf_counter() - t0


def smolagents_times(
    snippets: dict[str, str], repeats: int
) -> dict[str, tuple[float, float]] | None:
    """Per snippet, best seconds in smolagents' LocalPythonExecutor and in plain exec of the same
    interpreter; ``None`` when smolagents' venv is not there."""
    if not os.path.exists(SMOL_PYTHON):
        return None
    proc = subprocess.run(
        [SMOL_PYTHON, "-c", _SMOL_SCRIPT],
        input=json.dumps([snippets, repeats]),
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        print(f"(smolagents failed: {proc.stderr.strip().splitlines()[-1:]})")
        return None
    return {name: (smol, plain) for name, (smol, plain) in json.loads(proc.stdout).items()}


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))
