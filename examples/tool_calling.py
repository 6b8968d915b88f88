"""A ToolCallingAgent: the model calls tools through the provider's native JSON tool calls.

Same loop as CodeAgent, no sandbox: each reply names tools and arguments, the tools run here, and
their results go back as tool messages. Several calls in one reply run concurrently. The run
ends when the model calls the built-in ``final_answer`` tool.
"""

from __future__ import annotations

from _shared import pick_model

from codeact import ToolCallingAgent, tool

RATES_TO_EUR = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17, "JPY": 0.0061, "CHF": 1.05}


@tool
def exchange_rate(currency: str) -> float:
    """How many euros one unit of a currency is worth today.

    Args:
        currency: ISO code, e.g. "USD".
    """
    try:
        return RATES_TO_EUR[currency.upper()]
    except KeyError:
        raise ValueError(f"unknown currency {currency!r}; known: {', '.join(RATES_TO_EUR)}")


@tool
def multiply(a: float, b: float) -> float:
    """Multiply two numbers, rounded to cents.

    Args:
        a: The first number.
        b: The second number.
    """
    return round(a * b, 2)


TASK = "I have 120 USD and 80 GBP. How many euros is that in total?"


def main() -> None:
    agent = ToolCallingAgent(pick_model("tool_calling.json"), tools=[exchange_rate, multiply])
    result = agent.run(TASK)  # on a terminal, the live view shows each step as it happens
    print(result)
    for step in result.steps:
        for use in step.tool_uses:
            print(f"  step {step.index}: {use.name}({use.arguments}) = {use.result}")


if __name__ == "__main__":
    main()
