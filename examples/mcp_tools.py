"""MCP tools: a CodeAgent uses the tools of an MCP server as plain functions in its code.

``MCPClient.stdio`` starts the server (examples/servers/forecast_mcp.py) and turns its tools
into codeact tools; the code runs in the local sandbox and its tool calls come back to this
process, which calls the server. Live: set CODEACT_MODEL. Offline (no CODEACT_MODEL): scripted
replies stand in for the model; the server, the sandbox and the tool calls are all real.
Needs the extra: pip install 'codeact[mcp]'.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from codeact import CodeAgent, LiteLLMModel, ScriptedModel, Step
from codeact.mcp import MCPClient

SERVER = [sys.executable, str(Path(__file__).parent / "servers" / "forecast_mcp.py")]
TASK = "Over the next three days, which is warmer on average, Oslo or Rome? Answer in °F."
REPLIES = [
    "Let me get both forecasts.\n```python\n"
    "oslo, rome = forecast('Oslo'), forecast('Rome')\n"
    "print(oslo['highs_c'], rome['highs_c'])\n```",
    "Now the averages in °F.\n```python\n"
    "avg = {f['city']: sum(f['highs_c']) / len(f['highs_c']) for f in (oslo, rome)}\n"
    "warmer = max(avg, key=avg.get)\n"
    "final_answer(f'{warmer} is warmer: {to_fahrenheit(avg[warmer])} °F on average, '\n"
    "             f'against {to_fahrenheit(min(avg.values()))} °F')\n```",
]


def show(step: Step) -> None:
    print(f"--- step {step.index}\n{step.action}\n>>> {step.observation}")


def main() -> None:
    model_id = os.environ.get("CODEACT_MODEL")
    model = LiteLLMModel(model_id) if model_id else ScriptedModel(REPLIES)
    with MCPClient.stdio(SERVER) as forecast_server:
        print("MCP tools:", ", ".join(t.usage() for t in forecast_server.tools))
        with CodeAgent(model, tools=forecast_server.tools, step_callbacks=[show]) as agent:
            result = agent.run(TASK)
    print(f"\n{result.state} in {len(result.steps)} steps: {result.output}")


if __name__ == "__main__":
    main()
