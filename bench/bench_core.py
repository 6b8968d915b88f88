"""Core overheads of codeact, each printed against a baseline measured in the same run.

    python bench/bench_core.py

1. ``import codeact`` time over bare ``python -c pass`` (goal: <= 100 ms more; LiteLLM not loaded).
2. Framework time per step: 50-step runs of a CodeAgent with a zero-latency ScriptedModel and
   the inline sandbox, minus the sandbox's own time for the same cells (goal: <= 0.3 ms); the
   sandbox's time is printed beside it, with the part of it that is the code's own (plain exec).
   smolagents' CodeAgent is measured the same way (its LocalPythonExecutor's time subtracted).
3. System prompt size in tokens with 3 tools (goal: <= 700).

smolagents' figures are printed beside ours when a venv with it exists (``$SMOLAGENTS_PYTHON``,
default ``/work/smol/bin/python``); it is never a dependency of codeact.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from typing import Any

from _common import SMOL_PYTHON

STEPS = 50

THREE_TOOLS = '''
from codeact import tool

@tool
def get_weather(city: str, unit: str = "C") -> str:
    """Current weather for a city.

    Args:
        city: City name, e.g. "Paris".
        unit: "C" or "F".
    """
    return f"{city}: 21 {unit}"

@tool
def search(query: str, limit: int = 5) -> list[str]:
    """Search the web and return result snippets.

    Args:
        query: What to search for.
        limit: How many results to return.
    """
    return [query] * limit

@tool
def convert(amount: float, source: str, target: str) -> float:
    """Convert an amount of money between currencies.

    Args:
        amount: The amount to convert.
        source: ISO code of the currency to convert from, e.g. "EUR".
        target: ISO code of the currency to convert to, e.g. "USD".
    """
    return amount
'''


def best_startup(python: str, code: str, runs: int = 15) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([python, "-c", code], check=True)
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_import() -> None:
    bare = best_startup(sys.executable, "pass")
    ours = best_startup(sys.executable, "import codeact")
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import codeact, sys; print(sorted(m for m in ('litellm', "
            "'pydantic', 'rich', 'RestrictedPython') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(
        f"import codeact      {(ours - bare) * 1000:7.1f} ms over bare python "
        f"({bare * 1000:.1f} ms)   goal <= 100 ms   heavy modules loaded: {loaded}"
    )
    if os.path.exists(SMOL_PYTHON):
        smol_bare = best_startup(SMOL_PYTHON, "pass", runs=5)
        smol = best_startup(SMOL_PYTHON, "import smolagents", runs=5)
        print(f"import smolagents   {(smol - smol_bare) * 1000:7.1f} ms over bare python")


STEP_CODES = [f"x = {i}\nprint(x)" for i in range(STEPS - 1)] + ["final_answer(x)"]


def bench_step(runs: int = 20) -> None:
    """Runs of ``STEPS`` steps, each step's code different (per-step cost grows with the
    history: the conversation the model is sent gets longer every step)."""
    from codeact import CodeAgent, ScriptedModel
    from sandboxes import make_sandbox

    replies = [f"Thought: step {i}.\n```python\n{c}\n```" for i, c in enumerate(STEP_CODES)]
    with make_sandbox("inline") as sb:
        agent = CodeAgent(ScriptedModel(replies), sandbox=sb, max_steps=STEPS, verbose=False)
        agent.run("warm up")
        per_step = float("inf")
        for _ in range(runs):
            agent.model = ScriptedModel(replies)
            t0 = time.perf_counter()
            result = agent.run("Count.")
            per_step = min(per_step, (time.perf_counter() - t0) / STEPS)
            assert result.state == "success" and result.output == STEPS - 2, result.error
        sandbox = min(_cells_time(sb.run) for _ in range(runs))
    code = min(_cells_time(_plain_runner()) for _ in range(runs))
    print(
        f"step overhead       {(per_step - sandbox) * 1000:7.3f} ms/step framework "
        f"(+{sandbox * 1000:.3f} ms inline sandbox, of which {code * 1000:.3f} ms the code "
        f"itself = {per_step * 1000:.3f} ms/step; best of {runs} runs of {STEPS} steps, "
        "ScriptedModel)   goal <= 0.3 ms"
    )
    smol = _smolagents_step()
    if smol is not None:
        ours = per_step - sandbox
        print(
            f"smolagents step     {(smol['per_step'] - smol['executor']) * 1000:7.3f} ms/step "
            f"framework (+{smol['executor'] * 1000:.3f} ms LocalPythonExecutor = "
            f"{smol['per_step'] * 1000:.3f} ms/step; same {STEPS} steps)   "
            f"codeact {(smol['per_step'] - smol['executor']) / ours:.1f}x less framework time, "
            f"{smol['per_step'] / per_step:.1f}x faster a step"
        )


def _cells_time(run: Any) -> float:
    """Seconds per cell of the run's cells, run one after the other by ``run``."""
    t0 = time.perf_counter()
    for code in STEP_CODES:
        run(code)
    return (time.perf_counter() - t0) / STEPS


def _plain_runner() -> Any:
    """Plain ``compile`` + ``exec`` of a cell in one namespace, output captured: the code's
    own time."""
    import contextlib
    import io

    namespace: dict[str, Any] = {"final_answer": lambda answer: answer}

    def run(code: str) -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(code, "<cell>", "exec"), namespace)

    return run


_SMOL_STEP = textwrap.dedent(
    """
    import json, time
    from smolagents import CodeAgent, Model
    from smolagents.models import ChatMessage, MessageRole
    CODES = json.loads(input())

    class Scripted(Model):
        def __init__(self):
            super().__init__(model_id="scripted")
            self.i = 0
        def generate(self, messages, stop_sequences=None, response_format=None,
                     tools_to_call_from=None, **kwargs):
            code = CODES[self.i]
            self.i += 1
            content = f"Thought: step {self.i}.\\n<code>\\n{code}\\n</code>"
            return ChatMessage(role=MessageRole.ASSISTANT, content=content)

    def one():
        agent = CodeAgent(tools=[], model=Scripted(), max_steps=len(CODES), verbosity_level=-1)
        t0 = time.perf_counter()
        out = agent.run("Count.")
        took = time.perf_counter() - t0
        assert out == len(CODES) - 2, out
        return took, agent

    one()
    per_step = min(one()[0] for _ in range(10)) / len(CODES)
    executor = one()[1].python_executor
    best = float("inf")
    for _ in range(10):
        t0 = time.perf_counter()
        for code in CODES:
            try:
                executor(code)
            except Exception:  # final_answer ends the run by raising in some versions
                pass
        best = min(best, (time.perf_counter() - t0) / len(CODES))
    print(json.dumps({"per_step": per_step, "executor": best}))
    """
)


def _smolagents_step() -> dict[str, float] | None:
    if not os.path.exists(SMOL_PYTHON):
        return None
    done = subprocess.run(
        [SMOL_PYTHON, "-c", _SMOL_STEP],
        input=json.dumps(STEP_CODES),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        print("smolagents step     (failed: " + done.stderr.strip()[-300:] + ")")
        return None
    return json.loads(done.stdout)


def count_tokens(text: str) -> int:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    return litellm.token_counter(model="gpt-4o", text=text)


def bench_prompt() -> None:
    namespace: dict = {}
    exec(THREE_TOOLS, namespace)
    from codeact import CodeAgent, ScriptedModel, ToolCallingAgent

    tools = [namespace["get_weather"], namespace["search"], namespace["convert"]]
    with CodeAgent(ScriptedModel([]), tools=tools, sandbox="inline") as agent:
        code_prompt = agent.system_prompt()
    calling = ToolCallingAgent(ScriptedModel([]), tools=tools)
    calling_prompt = calling.system_prompt() + json.dumps(calling._think_options()["tools"])
    print(
        f"system prompt       {count_tokens(code_prompt):7d} tokens CodeAgent, "
        f"{count_tokens(calling_prompt)} ToolCallingAgent (prompt + tool schemas), "
        f"3 tools, gpt-4o tokenizer   goal <= 700"
    )
    if os.path.exists(SMOL_PYTHON):
        with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
            script.write(SMOL_PROMPT)  # smolagents reads tools' source: it needs a real file
        smol_prompt = subprocess.run([SMOL_PYTHON, script.name], capture_output=True, text=True)
        os.unlink(script.name)
        if smol_prompt.returncode == 0:
            print(
                f"smolagents prompt   {count_tokens(smol_prompt.stdout):7d} tokens CodeAgent, "
                "same 3 tools"
            )
        else:
            print("smolagents prompt   (failed: " + smol_prompt.stderr.strip()[-200:] + ")")


SMOL_PROMPT = textwrap.dedent('''
    import sys
    from smolagents import CodeAgent, Model, tool

    @tool
    def get_weather(city: str, unit: str = "C") -> str:
        """Current weather for a city.

        Args:
            city: City name, e.g. "Paris".
            unit: "C" or "F".
        """
        return city

    @tool
    def search(query: str, limit: int = 5) -> list:
        """Search the web and return result snippets.

        Args:
            query: What to search for.
            limit: How many results to return.
        """
        return [query]

    @tool
    def convert(amount: float, source: str, target: str) -> float:
        """Convert an amount of money between currencies.

        Args:
            amount: The amount to convert.
            source: ISO code of the currency to convert from, e.g. "EUR".
            target: ISO code of the currency to convert to, e.g. "USD".
        """
        return amount

    agent = CodeAgent(tools=[get_weather, search, convert], model=Model())
    sys.stdout.write(agent.system_prompt)
''')


if __name__ == "__main__":
    bench_import()
    bench_step()
    bench_prompt()
