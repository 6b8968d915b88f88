"""A batch whose runs all sit in sandboxed code until Ctrl-C; prints what to check afterwards.

    python batch_interrupted.py local|docker

Prints ``ready <pid or container id> ...`` once every running cell has started (so the test
knows what must be gone after the SIGINT), then ``interrupted`` when ``KeyboardInterrupt``
reaches the caller.
"""

from __future__ import annotations

import sys
import threading

from codeact import CodeAgent, ScriptedModel, run_batch, tool

BACKEND = sys.argv[1]
CONCURRENCY = 3
agents: list[CodeAgent] = []
started = 0
lock = threading.Lock()


def sandbox_id(agent: CodeAgent) -> str:
    return str(agent.sandbox.pid if BACKEND == "local" else agent.sandbox.container_id)


@tool
def begin() -> str:
    """Say that this run's code has started."""
    global started
    with lock:
        started += 1
        if started == CONCURRENCY:  # every running cell is in
            print("ready", *(sandbox_id(a) for a in agents), flush=True)
    return "ok"


def make_agent() -> CodeAgent:
    reply = "```python\nbegin()\nimport time\ntime.sleep(600)\n```"
    agent = CodeAgent(
        ScriptedModel([reply]),
        tools=[begin],
        sandbox=BACKEND,
        sandbox_options={"timeout": 900},
    )
    with lock:
        agents.append(agent)
    return agent


try:
    run_batch(make_agent, ["wait"] * 6, concurrency=CONCURRENCY, progress=False)
except KeyboardInterrupt:
    print("interrupted", flush=True)
