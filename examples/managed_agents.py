"""Managed agents: an agent used as a tool of another.

``helper.as_tool()`` is a ``Tool`` named after the helper, taking one argument, ``task``. The
manager's code calls it like any function; the helper runs its own loop (its own sandbox and
tools) and its final answer is the call's result. The helper's run is kept in the manager's
step (``step.tool_uses[i].run``) and shown nested in the live view.
"""

from __future__ import annotations

from _shared import pick_model

from codeact import CodeAgent, tool

CATALOGUE = {"kettle": 34.0, "toaster": 49.5, "blender": 89.0, "mixer": 120.0}


@tool
def price_of(product: str) -> float:
    """The shop's price of a product in EUR.

    Args:
        product: Product name, e.g. "kettle".
    """
    return CATALOGUE[product.lower()]


def main() -> None:
    shopper = CodeAgent(
        pick_model("managed_shopper.json"),
        tools=[price_of],
        sandbox="inline",
        name="shopper",
        description="Looks up prices in the shop's catalogue; give it a list of products.",
    )
    manager = CodeAgent(pick_model("managed_manager.json"), tools=[shopper.as_tool()])
    with manager, shopper:
        result = manager.run("I have 150 EUR. Can I buy a kettle, a toaster and a blender?")
    print(result)
    sub_run = result.steps[0].tool_uses[0].run
    print(f"the shopper's own run: {sub_run.state} in {len(sub_run.steps)} step(s)")


if __name__ == "__main__":
    main()
