"""Core overheads of codeact, each printed against a baseline measured in the same run.

    python bench/bench_core.py

1. ``import codeact`` time over bare ``python -c pass`` (goal: <= 100 ms more; LiteLLM not loaded).
2. Framework time per step: a CodeAgent with a zero-latency ScriptedModel and the inline sandbox,
   minus the sandbox's own time for the same code (goal: <= 0.3 ms).
3. System prompt size in tokens with 3 tools (goal: <= 700).

smolagents' figures are printed beside ours when a venv with it exists (``$SMOLAGENTS_PYTHON``,
default ``/work/smol/bin/python``); it is never a dependency of codeact.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

from _common import SMOL_PYTHON

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


def bench_step(steps: int = 10, runs: int = 300) -> None:
    """Runs of ``steps`` steps (a realistic length: per-step cost grows with the history)."""
    from codeact import CodeAgent, ScriptedModel
    from sandboxes import make_sandbox

    replies = ["Thought: next.\n```python\nx = 1\n```"] * (steps - 1)
    replies.append("```python\nfinal_answer(x)\n```")
    with make_sandbox("inline") as sb:
        agent = CodeAgent(ScriptedModel([]), sandbox=sb, max_steps=steps)
        total, count = 0.0, 0
        for _ in range(runs):
            agent.model = ScriptedModel(replies)
            t0 = time.perf_counter()
            result = agent.run("Count.")
            total += time.perf_counter() - t0
            count += len(result.steps)
            assert result.state == "success", result.error
        samples = []
        for _ in range(count):
            t = time.perf_counter()
            sb.run("x = 1")
            samples.append(time.perf_counter() - t)
    per_step = total / count
    sandbox = statistics.fmean(samples)
    print(
        f"step overhead       {(per_step - sandbox) * 1000:7.3f} ms/step framework "
        f"(+{sandbox * 1000:.3f} ms inline sandbox = {per_step * 1000:.3f} ms/step; "
        f"{runs} runs of {steps} steps, ScriptedModel)   goal <= 0.3 ms"
    )


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
