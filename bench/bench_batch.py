"""Many runs at once: ``run_batch`` against the plain way (a thread per run), same run.

    python bench/bench_batch.py

1. 100 runs x 5 steps, a model answering in 200 ms, the inline sandbox, all at once
   (goal: <= 1.5 s; the sequential floor is 100 s, the ideal 1.0 s: five model calls in a row).
2. 1,000 concurrent runs of the same, inline: peak memory of the process (goal: < 1 GB RSS).

The baseline is what people write without a batch API: a ``ThreadPoolExecutor`` with one thread
per run calling ``agent.run``. Each figure is measured in a fresh process, so that peaks don't mix.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

STEPS = 5
DELAY_S = 0.2


class SlowModel:
    """Answers in ``DELAY_S``: ``STEPS - 1`` steps of code, then ``final_answer``."""

    model_id = "slow"

    def _reply(self, messages):
        from codeact import ChatMessage, TokenUsage

        step = sum(m["role"] == "assistant" for m in messages) + 1
        code = f"x = {step}" if step < STEPS else "final_answer(x)"
        return ChatMessage(f"Step {step}.\n```python\n{code}\n```", usage=TokenUsage(100, 10))

    def generate(self, messages, *, tools=None, stop=None):
        time.sleep(DELAY_S)
        return self._reply(messages)

    async def agenerate(self, messages, *, tools=None, stop=None):
        await asyncio.sleep(DELAY_S)
        return self._reply(messages)


def make_agent():
    from codeact import CodeAgent

    return CodeAgent(SlowModel(), sandbox="inline", max_steps=STEPS, verbose=False)


def measure(way: str, runs: int) -> dict[str, float]:
    """In this process: ``runs`` runs all at once, the ``way`` given; seconds and peak RSS."""
    import codeact  # noqa: F401 (imports and the first agent are not part of the figure)

    make_agent().run("warm up")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    if way == "run_batch":
        from codeact import run_batch

        results = run_batch(make_agent, ["go"] * runs, concurrency=runs, progress=False)
    else:

        def one(task: str):
            with make_agent() as agent:
                return agent.run(task)

        with ThreadPoolExecutor(max_workers=runs) as pool:
            results = list(pool.map(one, ["go"] * runs))
    took = time.perf_counter() - started
    assert all(r.state == "success" and r.output == STEPS - 1 for r in results), results[0]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"s": took, "rss_mb": peak / 1024, "rss_before_mb": before / 1024}


def in_fresh_process(way: str, runs: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", way, str(runs)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    floor = 100 * STEPS * DELAY_S
    ours = in_fresh_process("run_batch", 100)
    threads = in_fresh_process("threads", 100)
    print(
        f"100 runs x {STEPS} steps   {ours['s']:6.2f} s run_batch   "
        f"{threads['s']:6.2f} s a thread per run   "
        f"({floor / ours['s']:.0f}x the sequential floor of {floor:.0f} s; "
        f"ideal {STEPS * DELAY_S:.1f} s)   goal <= 1.5 s"
    )
    big = in_fresh_process("run_batch", 1000)
    big_threads = in_fresh_process("threads", 1000)
    print(
        f"1,000 concurrent runs   {big['rss_mb']:6.0f} MB peak RSS run_batch "
        f"({big['rss_mb'] - big['rss_before_mb']:.0f} MB over the process's "
        f"{big['rss_before_mb']:.0f} MB, {big['s']:.2f} s)   "
        f"{big_threads['rss_mb']:.0f} MB a thread per run ({big_threads['s']:.2f} s)   "
        "goal < 1024 MB"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(sys.argv[2], int(sys.argv[3]))))
    else:
        main()
