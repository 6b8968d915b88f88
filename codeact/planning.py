"""Planning steps: every ``planning_interval`` actions the model stops to write down what it
knows and what it will do next, and no action runs.

A plan is a step of its own (``Step.kind == "plan"``) before the first action and then before
every ``planning_interval``-th one; it does not count against ``max_steps``. In the conversation
it is the request, the plan, and a nudge to go on, so the model's next reply is an action again.
"""

from __future__ import annotations

FIRST_PLAN = """\
Before you act, plan. Write, in plain text and without code or tool calls:
1. Facts: what the task gives you, and what you still need to find out.
2. Plan: the steps you will take, in order, short and concrete."""

UPDATED_PLAN = """\
Pause and plan again, in plain text and without code or tool calls:
1. Facts: what you have learned so far, and what you still need to find out.
2. Plan: the remaining steps, in order, short and concrete (change the plan if it is not \
working)."""

GO_ON = "Now carry out your plan, one step at a time."


def plan_due(actions_done: int, interval: int | None) -> bool:
    """Whether a planning step comes before the next action, after ``actions_done`` actions."""
    return bool(interval) and actions_done % interval == 0  # type: ignore[operator]


def request(actions_done: int) -> str:
    """What the model is asked in a planning step."""
    return FIRST_PLAN if actions_done == 0 else UPDATED_PLAN
