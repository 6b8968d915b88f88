"""Run control: a capped, approved, planned run with a typed, checked answer and a checkpoint.

The agent must answer with a ``Quote`` (a pydantic model); an approver refuses code that
imports ``os``; a planning step comes first; the run may spend at most 8 steps, 60 seconds and
20 tool calls; its state is saved after every step. Offline, the replies (in
``examples/runs/run_control.json``) include a refused action and a wrong answer, to show both
being told to the model and the run going on.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from _shared import pick_model
from pydantic import BaseModel

from codeact import CodeAgent, tool


class Quote(BaseModel):
    item: str
    quantity: int
    total_eur: float


@tool
def unit_price(item: str) -> float:
    """The price of one item, in euros.

    Args:
        item: What to price, e.g. "sandwich".
    """
    return {"sandwich": 2.4, "coffee": 1.8}.get(item, 5.0)


def no_os(action) -> bool | str:
    """Refuse code that reaches for the operating system."""
    if action.kind == "code" and "import os" in action.code:
        return "no access to the operating system; use the unit_price tool"
    return True


def main() -> None:
    agent = CodeAgent(
        pick_model("run_control.json"),
        tools=[unit_price],
        sandbox="local",
        max_steps=8,
        max_time_s=60,
        max_tool_calls=20,
        approve=no_os,
        output_type=Quote,
        final_answer_checks=[lambda q, run: q.total_eur > 0 or "the total must be positive"],
        planning_interval=10,
    )
    checkpoint = Path(tempfile.mkdtemp()) / "quote.json"
    with agent:
        result = agent.run("Quote 25 sandwiches.", checkpoint=checkpoint)
    for step in result.steps:
        what = "refused" if step.refusals else "rejected" if step.error else step.kind
        print(f"step {step.index} ({what}): {step.observation or step.model_output}"[:150])
    print(f"state: {result.state}; answer: {result.output!r}")
    print(f"checkpoint: {checkpoint.stat().st_size:,} bytes, saved after every step")


if __name__ == "__main__":
    main()
