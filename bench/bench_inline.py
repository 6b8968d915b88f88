"""The restricted policy's cost, each number printed against a baseline measured in this run.

    python bench/bench_inline.py [--repeats N] [--no-smolagents]

1. CPU-bound snippets in the ``inline`` sandbox over plain ``exec`` in this process (runs
   interleaved, best of N; goal: geometric mean <= 1.3x), and in smolagents'
   ``LocalPythonExecutor`` over plain ``exec`` in its own interpreter, when a venv with
   smolagents exists (``$SMOLAGENTS_PYTHON``, default ``/work/smol/bin/python``; run as a
   subprocess, never imported here).
2. ``import sandboxes.policy`` in a fresh interpreter (goal < 30 ms, RestrictedPython included),
   beside ``import RestrictedPython`` alone; with byte code cached, and without any cache.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import textwrap
import time

from _common import geomean, plain_exec, smolagents_times

from sandboxes import make_sandbox

# Each takes tens of milliseconds in plain Python and stays under smolagents' operation limits.
SNIPPETS = {
    "arithmetic loop": """
        total = 0
        for i in range(150_000):
            total += (i * i) % 7
        total
    """,
    "function calls": """
        def add(a, b):
            return a + b
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        x = 0
        for i in range(50_000):
            x = add(x, i)
        x + fib(18)
    """,
    "attribute-heavy OOP": """
        class Particle:
            def __init__(self, x, v):
                self.x = x
                self.v = v
            def step(self, dt):
                self.x += self.v * dt
                return self.x
        ps = [Particle(i, 1.0) for i in range(100)]
        total = 0.0
        for _ in range(300):
            for p in ps:
                total += p.step(0.1)
        round(total)
    """,
    "list/dict work": """
        counts = {}
        for i in range(100_000):
            key = i % 97
            counts[key] = counts.get(key, 0) + 1
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        evens = [k for k, v in ranked if k % 2 == 0]
        len(evens)
    """,
    "string building": """
        parts = []
        for i in range(50_000):
            parts.append(f"{i}:{i % 10}")
        text = ",".join(parts)
        len(text.split(",")) + text.count("9")
    """,
    # Item stores whose key may be a slice go through a guard (an extended-slice store into a
    # list must get a list): a name key keeps a class check and a native store, others a call.
    "item stores": """
        n = 60_000
        dp = [0] * (n + 1)
        for i in range(n):
            dp[i + 1] = dp[i] + i % 3
        grid = [[0] * 120 for _ in range(120)]
        for r in range(120):
            row = grid[r]
            for c in range(120):
                row[c] = r ^ c
        dp[n] + grid[119][118]
    """,
    # Private attributes (self._x) are checked at run time until the guard has cleared the class
    # once, then compile to a type check plus a native load: the slowest common pattern.
    "private attributes": """
        class Account:
            def __init__(self):
                self._balance = 0
            def deposit(self, n):
                self._balance += n
                return self._balance
        acc = Account()
        for i in range(100_000):
            acc.deposit(1)
        acc._balance
    """,
}


def measure(snippets: dict[str, str], repeats: int) -> dict[str, tuple[float, float]]:
    """Best (inline, plain exec) seconds per snippet; the two alternate to share any noise."""
    results = {}
    with make_sandbox("inline") as sb:
        for name, code in snippets.items():
            inline, plain = math.inf, math.inf
            for _ in range(repeats):
                t0 = time.perf_counter()
                ex = sb.run(code)
                inline = min(inline, time.perf_counter() - t0)
                if ex.error:
                    raise SystemExit(f"{name!r} failed in the sandbox: {ex.error}")
                plain = min(plain, plain_exec(code))
            results[name] = (inline, plain)
    return results


def import_time(module: str, repeats: int, cached: bool = True) -> float:
    """Best seconds to import ``module`` in a fresh interpreter (start-up itself excluded).

    ``cached``: with byte code cached (in a private ``pycache_prefix``, written by a first import
    that is not counted), as in a normal install; otherwise every module is compiled from source,
    as under ``PYTHONDONTWRITEBYTECODE=1`` in a checkout without ``__pycache__``.
    """
    code = (
        f"import time; t0 = time.perf_counter(); import {module}; print(time.perf_counter() - t0)"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as cache:
        flags = ["-X", f"pycache_prefix={cache}"] if cached else ["-B"]
        command = [sys.executable, *flags, "-c", code]
        if cached:
            subprocess.run(command, env=env, capture_output=True, check=True)
        best = math.inf
        for _ in range(repeats):
            out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            best = min(best, float(out.stdout))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-smolagents", action="store_true")
    args = parser.parse_args()

    snippets = {name: textwrap.dedent(code) for name, code in SNIPPETS.items()}
    ours = measure(snippets, args.repeats)
    smol = None if args.no_smolagents else smolagents_times(snippets, max(1, args.repeats // 2))

    header = f"{'snippet':<22}{'exec':>9}{'inline':>9}{'ratio':>7}"
    print(header + (f"{'smolagents':>12}{'ratio':>8}" if smol else ""))
    for name, (inline, plain) in ours.items():
        row = f"{name:<22}{plain * 1e3:7.1f}ms{inline * 1e3:7.1f}ms{inline / plain:6.2f}x"
        if smol:
            s, p = smol[name]
            row += f"{s * 1e3:10.0f}ms{s / p:7.0f}x"
        print(row)
    ratios = [ours[name][0] / ours[name][1] for name in SNIPPETS]
    line = f"{'geometric mean':<22}{'':>18}{geomean(ratios):6.2f}x"
    if smol:
        line += f"{'':>10}{geomean([smol[n][0] / smol[n][1] for n in SNIPPETS]):7.0f}x"
    print(line + "   goal: inline <= 1.3x exec")

    print()
    for cached in (True, False):
        policy = import_time("sandboxes.policy", 5, cached)
        restricted = import_time("RestrictedPython", 5, cached)
        print(
            f"import sandboxes.policy {policy * 1e3:5.1f} ms, RestrictedPython alone "
            f"{restricted * 1e3:5.1f} ms ({'byte code cached' if cached else 'no byte code cache'})"
        )
    print("goal: < 30 ms with byte code cached")


if __name__ == "__main__":
    main()
