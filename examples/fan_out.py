"""Fan-out, async: the same question to three estimators at once, then a judge combines them.

``afan_out`` runs the agents' ``arun`` concurrently on one event loop; the judge (an agent, or
any function over the answers) turns their answers into one. Each estimator is a CodeAgent
that works its estimate out in code.

Live: set CODEACT_MODEL (any LiteLLM model id) and run this file. Offline (no CODEACT_MODEL):
the agents' replies are replayed with ScriptedModel; their code runs for real in the sandbox.
"""

from __future__ import annotations

import asyncio
import os

from codeact import CodeAgent, LiteLLMModel, ScriptedModel, ToolCallingAgent, afan_out

LIVE = os.environ.get("CODEACT_MODEL")
QUESTION = "Roughly how many piano tuners work in Chicago? Reply with one whole number."


def model(*replies: str | dict) -> LiteLLMModel | ScriptedModel:
    return (
        LiteLLMModel(LIVE, api_base=os.environ.get("CODEACT_API_BASE"))
        if LIVE
        else ScriptedModel(list(replies))
    )


def estimator(name: str, households_with_piano: float) -> CodeAgent:
    code = (
        "```python\n"
        "people = 2_700_000\n"
        "households = people / 2.5\n"
        f"pianos = households * {households_with_piano}\n"
        "tunings_per_year = pianos * 1\n"
        "per_tuner = 4 * 5 * 50   # 4 a day, 5 days a week, 50 weeks\n"
        "final_answer(round(tunings_per_year / per_tuner))\n"
        "```"
    )
    return CodeAgent(model(code), name=name, description=f"a {name} estimator")


async def main() -> None:
    print(f"Running live with {LIVE}." if LIVE else "Offline: replaying scripted replies.")
    estimators = [
        estimator("cautious", 0.02),
        estimator("middle", 0.05),
        estimator("generous", 0.10),
    ]
    answer = "About 50. The estimates were 22, 54 and 108; the middle one assumes the most "
    answer += "typical share of homes with a piano (1 in 20)."
    judge = ToolCallingAgent(
        model(
            {
                "content": None,
                "tool_calls": [{"name": "final_answer", "arguments": {"answer": answer}}],
            }
        ),
        name="judge",
        description="weighs several estimates",
    )
    try:
        result = await afan_out(QUESTION, estimators, aggregate=judge)
    finally:
        for agent in estimators:
            agent.close()
    for message in result.messages[1:]:
        print(f"[{message['name']}] {message['content']}")
    print(f"\n{result}")


if __name__ == "__main__":
    asyncio.run(main())
