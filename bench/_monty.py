"""pydantic-monty's figures for the sandbox table, measured in a subprocess of this run.

Monty (``pydantic-monty`` in a venv of its own: ``$MONTY_PYTHON``, default
``/tmp/monty-venv/bin/python``) is never a dependency of codeact and never imported here: the
script below runs in that venv and prints its medians as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap

MONTY_PYTHON = os.environ.get("MONTY_PYTHON", "/tmp/monty-venv/bin/python")

_SCRIPT = textwrap.dedent(
    """
    import json, statistics, sys, time
    import pydantic_monty as m

    cells, runs, pause = json.load(sys.stdin)
    out = {}

    def add(a, b):
        return a + b

    def timed(fn, n):
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    def new_sandbox():
        pool = m.Monty()
        pool.__enter__()
        session = pool.checkout()
        session.__enter__()
        assert session.feed_run("1 + 1") == 2
        new_sandbox.left = (pool, session)

    def close_new():
        pool, session = new_sandbox.left
        session.__exit__(None, None, None)
        pool.__exit__(None, None, None)

    times = []
    for _ in range(max(runs // 50, 5)):
        t0 = time.perf_counter()
        new_sandbox()
        times.append(time.perf_counter() - t0)
        close_new()
    out["new"] = statistics.median(times)

    with m.Monty() as pool:
        def fresh():
            session = pool.checkout()
            session.__enter__()
            session.feed_run("x = 1")
            fresh.left = session
        times = []
        for _ in range(runs // 5):
            t0 = time.perf_counter()
            fresh()
            times.append(time.perf_counter() - t0)
            fresh.left.__exit__(None, None, None)
        out["fresh"] = statistics.median(times)
        times = []
        for _ in range(runs // 10):
            time.sleep(pause)  # as the sandbox table pauses ours: an agent's model call
            t0 = time.perf_counter()
            fresh()
            times.append(time.perf_counter() - t0)
            fresh.left.__exit__(None, None, None)
        out["fresh_spaced"] = statistics.median(times)
        with pool.checkout() as session:
            for _ in range(50):
                session.feed_run("1 + 1")
            out["warm"] = timed(lambda: session.feed_run("1 + 1"), runs)
        tools = {"add": add}
        times = []
        for _ in range(max(runs // 500, 1)):  # a session allows 1,000 suspensions (tool calls)
            with pool.checkout() as session:
                session.feed_run("add(1, 2)", external_lookup=tools)
                call = lambda: session.feed_run("add(1, 2)", external_lookup=tools)
                times.append(timed(call, min(runs, 500)))
        out["tool"] = statistics.median(times)
        def sequence():
            with pool.checkout() as session:
                for cell in cells:
                    session.feed_run(cell, external_lookup={"add": add})
        out["cells"] = timed(sequence, max(runs // 10, 20))
        times = []
        for _ in range(runs // 20):
            time.sleep(pause)
            times.append(timed(sequence, 1))
        out["cells_spaced"] = statistics.median(times)
    print(json.dumps(out))
    """
)


def monty_figures(cells: list[str], runs: int, pause: float) -> dict[str, float] | None:
    """Monty's medians in seconds (``new``, ``fresh``, ``warm``, ``tool``, ``cells``, and
    ``fresh_spaced``, ``cells_spaced`` after ``pause`` seconds of sleep each), or ``None`` when
    its venv is not there or it fails (the reason is printed)."""
    if not os.path.exists(MONTY_PYTHON):
        return None
    proc = subprocess.run(
        [MONTY_PYTHON, "-c", _SCRIPT],
        input=json.dumps([cells, runs, pause]),
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        print(f"(pydantic-monty failed: {proc.stderr.strip().splitlines()[-1:]})")
        return None
    return json.loads(proc.stdout)
