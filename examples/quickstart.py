"""Quickstart: a CodeAgent answers a question by writing code that calls two tools.

Live: set CODEACT_MODEL (any LiteLLM model id, e.g. "gpt-4o-mini" with OPENAI_API_KEY, or
"ollama/qwen2.5-coder" ...) and run this file. Offline (no CODEACT_MODEL): it replays a saved
run of the same task with ScriptedModel, so the whole loop — code, sandbox, tools,
observations — runs for real; only the model's replies come from the file.
"""

from __future__ import annotations

import os
from pathlib import Path

from codeact import CodeAgent, LiteLLMModel, ScriptedModel, Step, tool

# July mean daily maximum temperatures (°C), from the cities' climate normals.
JULY_HIGHS = {"paris": 25.6, "rome": 31.7, "madrid": 32.1, "london": 23.3, "berlin": 24.5}


@tool
def july_high(city: str) -> float:
    """Mean daily maximum temperature in July for a European capital, in °C.

    Args:
        city: City name, e.g. "Paris".
    """
    try:
        return JULY_HIGHS[city.strip().lower()]
    except KeyError:
        raise ValueError(f"no data for {city!r}; known cities: {', '.join(JULY_HIGHS)}") from None


@tool
def to_fahrenheit(celsius: float) -> float:
    """Convert a temperature from °C to °F.

    Args:
        celsius: Temperature in degrees Celsius.
    """
    return round(celsius * 9 / 5 + 32, 1)


TASK = "Is Paris or Rome warmer in July, and by how much? Give both highs in °F too."
SAVED_RUN = Path(__file__).parent / "runs" / "quickstart.json"


def show(step: Step) -> None:
    print(f"--- step {step.index} ({step.duration_s * 1000:.1f} ms)")
    if step.action:
        print(step.action)
    print(f">>> {step.observation}")


def main() -> None:
    model_id = os.environ.get("CODEACT_MODEL")
    if model_id:
        model = LiteLLMModel(model_id)
        print(f"Running live with {model_id}.")
    else:
        model = ScriptedModel.from_run(SAVED_RUN)
        print("CODEACT_MODEL is not set: replaying a saved run with ScriptedModel.")
    with CodeAgent(model, tools=[july_high, to_fahrenheit], step_callbacks=[show]) as agent:
        result = agent.run(TASK)
    print(
        f"\n{result.state} in {len(result.steps)} steps, {result.duration_s:.2f} s, "
        f"{result.token_usage.input_tokens} in / {result.token_usage.output_tokens} out tokens"
    )
    print(f"Answer: {result.output}")
    if os.environ.get("CODEACT_SAVE_RUN"):
        result.save(os.environ["CODEACT_SAVE_RUN"])


if __name__ == "__main__":
    main()
