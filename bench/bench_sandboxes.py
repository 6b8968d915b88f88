"""Sandbox overheads, each printed against a baseline measured in the same run.

    python bench/bench_sandboxes.py [--backend local] [--backend docker] [--quick]

Per backend (goals are for ``local``):

1. CPU-bound snippets: time in the sandbox over plain ``exec`` in this process (goal <= 1.3x),
   and over smolagents' ``LocalPythonExecutor`` when a venv with smolagents exists
   (``$SMOLAGENTS_PYTHON``, default ``/work/smol/bin/python``; run as a subprocess, never
   imported here).
2. Round trip of a trivial run (``x = 1``), median over 1,000 runs (goal <= 0.5 ms), beside the
   floor for the same transport (``local``: a line echoed through pipes by a child Python).
3. Cold start: construct + start + first run (goal <= 100 ms), beside bare ``python -c pass``.
4. Host RSS before and after 1,000 runs (should stay flat).

For ``local`` also: issue 8's sandbox table (``--table`` for only that): a new sandbox, a fresh
session, warm runs, a tool call and ten cells, each against plain ``exec`` of the same code and,
when ``pydantic-monty`` is in its side venv (``$MONTY_PYTHON``, default
``/tmp/monty-venv/bin/python``; run as a subprocess), against Monty measured in the same run; and
the OS boundary's cost (the first sandbox of a fresh process, a new one, a warm run), bubblewrap
against none.

A backend is one entry in ``BACKENDS``: a factory for the sandbox and a function measuring the
raw round trip of its transport.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass

from _common import plain_exec, smolagents_times

from sandboxes import Sandbox
from sandboxes.local import LocalSandbox

# Ordinary agent-style computation; each takes tens of milliseconds in plain Python and stays
# under smolagents' operation limits.
CPU_SNIPPETS = {
    "loops": textwrap.dedent(
        """
        total = 0
        for i in range(300_000):
            if i % 3 == 0:
                total += i * i
        total
        """
    ),
    "functions": textwrap.dedent(
        """
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        fib(23)
        """
    ),
    "comprehensions": textwrap.dedent(
        """
        words = [f"w{i % 97}" for i in range(100_000)]
        counts = {}
        for w in words:
            counts[w] = counts.get(w, 0) + 1
        sorted(counts.items(), key=lambda kv: -kv[1])[:3]
        """
    ),
    "classes": textwrap.dedent(
        """
        class Point:
            def __init__(self, x, y):
                self.x = x
                self.y = y
            def norm2(self):
                return self.x * self.x + self.y * self.y
        points = [Point(i, i + 1) for i in range(50_000)]
        sum(p.norm2() for p in points)
        """
    ),
}


@dataclass
class Backend:
    """How to build one backend's sandbox, and the floor for its transport's round trip (s)."""

    make: Callable[[], Sandbox]
    raw_round_trip: Callable[[int], float]


# --- baselines ----------------------------------------------------------------------------------


def pipe_echo_round_trip(runs: int) -> float:
    """Median round trip of one short line through a child Python's stdin/stdout, in seconds."""
    echo = "import os\nwhile d := os.read(0, 65536):\n    os.write(1, d)"
    proc = subprocess.Popen(
        [sys.executable, "-I", "-c", echo], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None
    line = json.dumps({"op": "run", "code": "x = 1", "timeout": 30}).encode() + b"\n"
    fd_in, fd_out = proc.stdin.fileno(), proc.stdout.fileno()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        os.write(fd_in, line)
        got = b""
        while not got.endswith(b"\n"):
            got += os.read(fd_out, 65536)
        times.append(time.perf_counter() - t0)
    proc.stdin.close()
    proc.wait()
    return statistics.median(times)


def bare_python_start(runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# --- measurements of a backend ------------------------------------------------------------------


def cpu_ratios(backend: Backend, repeats: int) -> list[tuple[str, float, float, float | None]]:
    """Per snippet: best sandbox time, best plain exec time, best smolagents time (seconds)."""
    smol = smolagents_times(CPU_SNIPPETS, repeats)
    rows = []
    with backend.make() as sb:
        sb.start()
        for name, code in CPU_SNIPPETS.items():
            ours, plain = float("inf"), float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                ex = sb.run(code)
                ours = min(ours, time.perf_counter() - t0)
                if ex.error:
                    raise SystemExit(f"snippet {name!r} failed in the sandbox: {ex.error}")
                plain = min(plain, plain_exec(code))
            rows.append((name, ours, plain, smol[name][0] if smol else None))
    return rows


def round_trip(backend: Backend, runs: int) -> tuple[float, float]:
    """Median seconds of ``run("x = 1")`` and of the raw transport."""
    with backend.make() as sb:
        sb.start()
        for _ in range(50):
            sb.run("x = 1")
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            sb.run("x = 1")
            times.append(time.perf_counter() - t0)
    return statistics.median(times), backend.raw_round_trip(runs)


def cold_start(backend: Backend, runs: int) -> tuple[float, float]:
    """Median seconds to construct, start and run once; and bare interpreter start-up."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sb = backend.make()
        sb.start()
        sb.run("x = 1")
        times.append(time.perf_counter() - t0)
        sb.close()
    return statistics.median(times), bare_python_start(runs)


def rss_growth(backend: Backend, runs: int) -> tuple[float, float]:
    """Host RSS in MB before and after ``runs`` runs that print and return a little."""
    with backend.make() as sb:
        sb.start()
        code = "data = list(range(100))\nprint(data)\ndata[:10]"
        for _ in range(50):
            sb.run(code)
        before = rss_mb()
        for _ in range(runs):
            sb.run(code)
        return before, rss_mb()


BACKENDS: dict[str, Backend] = {
    "local": Backend(make=LocalSandbox, raw_round_trip=pipe_echo_round_trip),
}


def bench(name: str, backend: Backend, quick: bool) -> None:
    runs = 200 if quick else 1000
    repeats = 3 if quick else 7
    print(f"\n== {name} ==")
    print(f"{'measure':<28}{'ours':>11}{'baseline':>11}{'ratio':>8}  {'smolagents':>11}  goal")
    for snippet, ours, plain, smol in cpu_ratios(backend, repeats):
        smol_col = f"{smol * 1000:8.1f} ms" if smol is not None else f"{'-':>11}"
        vs_smol = f" ({smol / ours:.0f}x faster)" if smol is not None else ""
        print(
            f"{'cpu ' + snippet:<28}{ours * 1000:8.1f} ms{plain * 1000:8.1f} ms{ours / plain:7.2f}x"
            f"  {smol_col}{vs_smol}  <= 1.3x exec"
        )
    ours, raw = round_trip(backend, runs)
    print(
        f"{'round trip x = 1 (median)':<28}{ours * 1000:8.3f} ms{raw * 1000:8.3f} ms"
        f"{ours / raw:7.1f}x  {'':>11}  <= 0.5 ms (baseline: raw pipe echo)"
    )
    ours, bare = cold_start(backend, 5 if quick else 15)
    print(
        f"{'cold start (median)':<28}{ours * 1000:8.1f} ms{bare * 1000:8.1f} ms"
        f"{ours / bare:7.1f}x  {'':>11}  <= 100 ms (baseline: python -c pass)"
    )
    before, after = rss_growth(backend, runs)
    print(
        f"{f'host RSS over {runs} runs':<28}{after:8.1f} MB{before:8.1f} MB"
        f"{after - before:+7.1f}M  {'':>11}  flat"
    )


# --- docker: its own goals (cold start <= 600 ms, round trip <= 2 ms) ---------------------------


def docker_echo_round_trip(runs: int) -> float:
    """Median round trip of one short line echoed through a container's attached stdio."""
    from sandboxes.docker import ContainerTransport, DockerSandbox, connect

    client = connect()
    api = client.api
    echo = (
        "import os\nwhile True:\n    d = os.read(0, 65536)\n    if not d: break\n    os.write(1, d)"
    )
    container_id = api.create_container(
        DockerSandbox().image,
        ["python3", "-c", echo],
        stdin_open=True,
        network_disabled=True,
        host_config=api.create_host_config(network_mode="none"),
    )["Id"]
    sock = api.attach_socket(container_id, params={"stdin": 1, "stdout": 1, "stream": 1})
    api.start(container_id)
    transport = ContainerTransport(api, container_id, sock, memory_mb=0)
    line = json.dumps({"op": "run", "code": "x = 1", "timeout": 30}).encode() + b"\n"
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        transport.send(line)
        transport.readline(10)
        times.append(time.perf_counter() - t0)
    transport.kill()
    client.close()
    return statistics.median(times)


def bare_container_start(runs: int) -> float:
    """Median seconds to create, start, wait for and remove a container running ``pass``."""
    from sandboxes.docker import DockerSandbox, connect

    client = connect()
    api, image = client.api, DockerSandbox().image
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        container_id = api.create_container(
            image, ["python3", "-c", "pass"], network_disabled=True
        )["Id"]
        api.start(container_id)
        api.wait(container_id)
        api.remove_container(container_id, force=True)
        times.append(time.perf_counter() - t0)
    client.close()
    return statistics.median(times)


def bench_docker(quick: bool) -> None:
    """The ``local`` table's measures for ``docker``, against container baselines."""
    from sandboxes.docker import DockerSandbox

    backend = Backend(make=DockerSandbox, raw_round_trip=docker_echo_round_trip)
    runs = 200 if quick else 1000
    repeats = 3 if quick else 7
    print("\n== docker ==")
    print(f"{'measure':<28}{'ours':>11}{'baseline':>11}{'ratio':>8}  goal")
    for snippet, ours, plain, _ in cpu_ratios(backend, repeats):
        print(
            f"{'cpu ' + snippet:<28}{ours * 1000:8.1f} ms{plain * 1000:8.1f} ms{ours / plain:7.2f}x"
            "  - (baseline: exec on the host)"
        )
    ours, raw = round_trip(backend, runs)
    print(
        f"{'round trip x = 1 (median)':<28}{ours * 1000:8.3f} ms{raw * 1000:8.3f} ms"
        f"{ours / raw:7.1f}x  <= 2 ms (baseline: raw echo over attached stdio)"
    )
    cold_runs = 5 if quick else 15
    ours, bare = cold_start(backend, cold_runs)[0], bare_container_start(cold_runs)
    print(
        f"{'cold start (median)':<28}{ours * 1000:8.1f} ms{bare * 1000:8.1f} ms"
        f"{ours / bare:7.1f}x  <= 600 ms (baseline: docker run python3 -c pass)"
    )
    before, after = rss_growth(backend, runs)
    print(
        f"{f'host RSS over {runs} runs':<28}{after:8.1f} MB{before:8.1f} MB"
        f"{after - before:+7.1f}M  flat"
    )


# --- the sandbox table of issue 8: sessions, warm runs, tools, against plain exec and Monty ----

#: Ten cells with state and three tool calls (``add``), as an agent's short run would have.
CELLS = [
    "x = 1",
    "y = x + 1",
    "def double(a):\n    return a * 2",
    "z = double(y)",
    "r1 = add(x, z)",
    "items = [i * i for i in range(10)]",
    "r2 = add(r1, sum(items))",
    "s = str(r2)",
    "r3 = add(len(s), 1)",
    "r3 + x",
]


def _add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def _median(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def plain_figures(runs: int) -> dict[str, float]:
    """The same work with plain ``compile`` + ``exec`` in this process: the floor."""

    def run(namespace: dict[str, object], code: str) -> object:
        tree = compile(code, "<cell>", "exec")
        exec(tree, namespace)
        return None

    def evaluate(namespace: dict[str, object], code: str) -> object:
        return eval(compile(code, "<cell>", "eval"), namespace)

    def cells() -> None:
        namespace: dict[str, object] = {"add": _add}
        for cell in CELLS[:-1]:
            run(namespace, cell)
        evaluate(namespace, CELLS[-1])

    warm: dict[str, object] = {"add": _add}
    return {
        "new": _median(lambda: evaluate({"add": _add}, "1 + 1"), runs),
        "start": _median(lambda: {"add": _add}, runs),
        "fresh": _median(lambda: run({"add": _add}, "x = 1"), runs),
        "warm": _median(lambda: evaluate(warm, "1 + 1"), runs),
        "tool": _median(lambda: evaluate(warm, "add(1, 2)"), runs),
        "cells": _median(cells, runs // 10),
    }


def sandbox_figures(make: Callable[[], Sandbox], runs: int) -> dict[str, float]:
    """Medians in seconds for one backend: a new sandbox (after the first in this process),
    with the fork server's spares refilled between sandboxes and back to back; a fresh session
    on a warm worker (``start`` alone, and with a first run); warm runs; the ten cells. Fresh
    sessions and the ten cells are timed after a pause of ``_THINK`` (an agent's model call,
    in which ``local`` starts the next session's worker ahead) and back to back."""
    tools = {"add": _add}
    first = make()
    first.start(tools)
    first.run("1 + 1")
    new, ready, burst = [], [], []
    for i in range(max(runs // 20, 10) * 2):
        if i % 2 == 0:
            time.sleep(0.3)  # not timed: spares (if any) are forked and warmed up meanwhile
        t0 = time.perf_counter()
        sb = make()
        sb.start(tools)
        t1 = time.perf_counter()
        assert sb.run("1 + 1").value == 2
        t2 = time.perf_counter()
        (new if i % 2 == 0 else burst).append(t2 - t0)
        if i % 2 == 0:
            ready.append(t1 - t0)
        sb.close()
    starts, fresh, starts_b2b = [], [], []
    for i in range(runs // 10 * 2):
        if i % 2 == 0:
            time.sleep(_THINK)  # not timed: an agent's model call between its runs
        t0 = time.perf_counter()
        first.start(tools)
        t1 = time.perf_counter()
        first.run("x = 1")
        if i % 2 == 0:
            starts.append(t1 - t0)
            fresh.append(time.perf_counter() - t0)
        else:
            starts_b2b.append(t1 - t0)
    first.start(tools)
    for _ in range(50):
        first.run("1 + 1")
    figures = {
        "new": statistics.median(new),
        "ready": statistics.median(ready),
        "burst": statistics.median(burst),
        "start": statistics.median(starts),
        "start_b2b": statistics.median(starts_b2b),
        "fresh": statistics.median(fresh),
        "warm": _median(lambda: first.run("1 + 1"), runs),
        "tool": _median(lambda: first.run("add(1, 2)"), runs),
    }

    def cells() -> None:
        first.start(tools)
        for cell in CELLS:
            first.run(cell)

    spaced = []
    for _ in range(runs // 20):
        time.sleep(_THINK)
        spaced.append(_median(cells, 1))
    figures["cells"] = statistics.median(spaced)
    figures["cells_b2b"] = _median(cells, runs // 20)
    first.close()
    return figures


#: Seconds between an agent's runs in the rows that give it that pause (a fast model's answer):
#: enough for a sandbox to start its next session's worker ahead (``sandboxes._ahead``).
_THINK = 0.15


#: (key, label, goal for local in ms) of each row of the table.
_ROWS = [
    ("ready", "new sandbox ready", 2.0),
    ("new", "new sandbox -> 1 + 1", None),
    ("burst", "  same, back to back", None),
    ("start", "fresh session: start()", 0.1),
    ("start_b2b", "  same, back to back", None),
    ("fresh", "fresh session + x = 1", None),
    ("warm", "warm run of 1 + 1", 0.05),
    ("tool", "warm run, one tool call", 0.1),
    ("cells", "10 cells, 3 tool calls", 0.8),
    ("cells_b2b", "  same, back to back", None),
]
#: The figure of plain exec, and of Monty, for each row that they measure under another name.
_PLAIN_KEY = {"ready": "new", "burst": "new", "start_b2b": "start", "cells_b2b": "cells"}
_MONTY_KEY = {
    "ready": "new",
    "burst": "new",
    "start": "fresh_spaced",
    "start_b2b": "fresh",
    "fresh": "fresh_spaced",
    "cells": "cells_spaced",
    "cells_b2b": "cells",
}


def echo_floors(runs: int) -> tuple[float, float]:
    """Median seconds for a run-sized JSON line to go to a child process and back: directly
    (what one worker process costs) and through a relay process in between (what a supervisor
    costs at least), over socket pairs like the sandbox's."""
    import socket

    def serve(fd_in: int, fd_out: int) -> None:
        while data := os.read(fd_in, 65536):
            os.write(fd_out, data)
        os._exit(0)

    def relay() -> tuple[int, list[int]]:
        host, relay_end = (s.detach() for s in socket.socketpair())
        inner, child = (s.detach() for s in socket.socketpair())
        pids = []
        for job in ("relay", "child"):
            pid = os.fork()
            if pid == 0:
                if job == "relay":
                    while data := os.read(relay_end, 65536):
                        os.write(inner, data)
                        os.write(relay_end, os.read(inner, 65536))
                    os._exit(0)
                serve(child, child)
            pids.append(pid)
        return host, pids

    line = json.dumps({"op": "run", "nonce": "0" * 32, "id": 1, "code": "1 + 1"}).encode() + b"\n"
    results = []
    for through_relay in (False, True):
        if through_relay:
            fd, pids = relay()
        else:
            fd, child = (s.detach() for s in socket.socketpair())
            pid = os.fork()
            if pid == 0:
                serve(child, child)
            pids = [pid]

        def trip(fd: int = fd) -> None:
            os.write(fd, line)
            os.read(fd, 65536)

        for _ in range(100):
            trip()
        results.append(_median(trip, runs))
        os.close(fd)
        for pid in pids:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
    return results[0], results[1]


def bench_table(quick: bool) -> None:
    """Issue 8's sandbox table: each figure of ``local`` (and ``inline``) beside plain exec
    and, when its venv exists, pydantic-monty, all measured in this run."""
    from _monty import monty_figures

    from sandboxes.inline import InlineSandbox

    runs = 300 if quick else 2000
    monty = monty_figures(CELLS, runs, _THINK)
    plain = plain_figures(runs)
    local = sandbox_figures(LocalSandbox, runs)
    inline = sandbox_figures(InlineSandbox, runs)
    first = first_in_process(5 if quick else 15)
    direct, relayed = echo_floors(runs)
    print(f"\nfirst local sandbox of a fresh process -> 1 + 1: {first * 1e3:.1f} ms (median)")
    print(
        f"floors: a JSON line to a child and back {direct * 1e3:.3f} ms, through a relay process"
        f" {relayed * 1e3:.3f} ms (what a run through the supervisor must cost at least)"
    )
    print("\n== sandbox table (medians; x = over plain exec of the same code in this process) ==")
    head = f"{'measure':<26}{'local':>10}{'x plain':>9}{'inline':>10}{'monty':>10}"
    print(f"{head}{'local/monty':>12}  goal")
    for key, label, goal in _ROWS:
        ours = local[key]
        base = plain[_PLAIN_KEY.get(key, key)]
        theirs = monty.get(_MONTY_KEY.get(key, key)) if monty else None
        monty_col = f"{theirs * 1e3:7.3f} ms" if theirs else f"{'-':>10}"
        ratio = f"{ours / theirs:11.2f}x" if theirs else f"{'-':>12}"
        goal_col = f"<= {goal} ms" if goal else ""
        print(
            f"{label:<26}{ours * 1e3:7.3f} ms{ours / base:8.0f}x{inline[key] * 1e3:7.3f} ms"
            f"{monty_col}{ratio}  {goal_col}"
        )
    if monty is None:
        print("(pydantic-monty not found: set MONTY_PYTHON to a venv's python that has it)")


# --- local: the OS boundary's cost -----------------------------------------------------------


def _without_boundary() -> LocalSandbox:
    """A local sandbox without the OS boundary (``CODEACT_BWRAP`` empty while it is made)."""
    import warnings

    saved = os.environ.get("CODEACT_BWRAP")
    os.environ["CODEACT_BWRAP"] = ""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return LocalSandbox()
    finally:
        if saved is None:
            del os.environ["CODEACT_BWRAP"]
        else:
            os.environ["CODEACT_BWRAP"] = saved


_FIRST = """
import sys, time
t0 = time.perf_counter()
from sandboxes.local import LocalSandbox
sandbox = LocalSandbox()
sandbox.start()
assert sandbox.run("1 + 1").value == 2
print(time.perf_counter() - t0)
"""


def first_in_process(runs: int, **env: str) -> float:
    """Median seconds from ``import sandboxes`` to the first result in a fresh interpreter (the
    fork server starts there), with ``env`` added to the environment."""
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-W", "ignore", "-c", _FIRST],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **env},
        )
        times.append(float(out.stdout))
    return statistics.median(times)


def bench_boundary(quick: bool) -> None:
    """The first sandbox of a process, a later one and a warm run of ``local`` inside
    bubblewrap against the same without it."""
    if LocalSandbox().boundary is None:
        print("\n== local OS boundary: bubblewrap unavailable, nothing to compare ==")
        return
    runs = 200 if quick else 1000
    cold_runs = 5 if quick else 15
    print("\n== local OS boundary (bubblewrap) ==")
    print(f"{'measure':<28}{'bwrap':>11}{'none':>11}{'ratio':>8}")
    first = first_in_process(cold_runs), first_in_process(cold_runs, CODEACT_BWRAP="")
    print(
        f"{'first sandbox of a process':<28}{first[0] * 1e3:8.1f} ms{first[1] * 1e3:8.1f} ms"
        f"{first[0] / first[1]:7.2f}x"
    )
    with_b = cold_start(Backend(make=LocalSandbox, raw_round_trip=pipe_echo_round_trip), cold_runs)
    without = cold_start(
        Backend(make=_without_boundary, raw_round_trip=pipe_echo_round_trip), cold_runs
    )
    print(
        f"{'new sandbox -> x = 1':<28}{with_b[0] * 1e3:8.1f} ms{without[0] * 1e3:8.1f} ms"
        f"{with_b[0] / without[0]:7.2f}x"
    )
    ours = round_trip(Backend(make=LocalSandbox, raw_round_trip=lambda n: 1.0), runs)[0]
    bare = round_trip(Backend(make=_without_boundary, raw_round_trip=lambda n: 1.0), runs)[0]
    ratio = ours / bare
    print(f"{'warm run x = 1 (median)':<28}{ours * 1e3:8.3f} ms{bare * 1e3:8.3f} ms{ratio:7.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=[*sorted(BACKENDS), "docker"], action="append")
    parser.add_argument("--quick", action="store_true", help="fewer runs, for a smoke test")
    parser.add_argument("--table", action="store_true", help="only the sandbox table (issue 8)")
    args = parser.parse_args()
    if args.table:
        bench_table(args.quick)
        return
    for name in args.backend or sorted(BACKENDS):
        if name == "docker":  # opt-in: needs an engine and $CODEACT_DOCKER_IMAGE
            bench_docker(args.quick)
        else:
            bench(name, BACKENDS[name], args.quick)
        if name == "local":
            bench_table(args.quick)
            bench_boundary(args.quick)


if __name__ == "__main__":
    main()
