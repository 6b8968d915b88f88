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


def bench_boundary(quick: bool) -> None:
    """Cold start and warm run of ``local`` inside bubblewrap against the same without it."""
    if LocalSandbox().boundary is None:
        print("\n== local OS boundary: bubblewrap unavailable, nothing to compare ==")
        return
    runs = 200 if quick else 1000
    cold_runs = 5 if quick else 15
    print("\n== local OS boundary (bubblewrap) ==")
    print(f"{'measure':<28}{'bwrap':>11}{'none':>11}{'ratio':>8}")
    with_b = cold_start(Backend(make=LocalSandbox, raw_round_trip=pipe_echo_round_trip), cold_runs)
    without = cold_start(
        Backend(make=_without_boundary, raw_round_trip=pipe_echo_round_trip), cold_runs
    )
    print(
        f"{'cold start (median)':<28}{with_b[0] * 1e3:8.1f} ms{without[0] * 1e3:8.1f} ms"
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
    args = parser.parse_args()
    for name in args.backend or sorted(BACKENDS):
        if name == "docker":  # opt-in: needs an engine and $CODEACT_DOCKER_IMAGE
            bench_docker(args.quick)
        else:
            bench(name, BACKENDS[name], args.quick)
        if name == "local":
            bench_boundary(args.quick)


if __name__ == "__main__":
    main()
