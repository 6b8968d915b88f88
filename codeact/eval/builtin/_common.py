"""What the domains of the built-in suite share: ``Domain`` to declare tasks, ``calculate``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from codeact.eval.arithmetic import evaluate_arithmetic
from codeact.eval.oracle import Calls
from codeact.eval.task import Task, ToolLike
from codeact.tools import tool


class Domain:
    """A domain's tasks, declared one per function: the function is the tool-call oracle.

    ::

        travel = Domain("travel", TOOLS)

        @travel.task("Which flight ...?", text("LH1166"), code="final_answer(...)", tags="lookup")
        def cheapest_flight(calls):
            return min(calls("search_flights", ...), key=...)["flight"]
    """

    def __init__(
        self,
        name: str,
        tools: Sequence[ToolLike] | Callable[[Any], Sequence[ToolLike]],
        setup: Callable[[], Any] | None = None,
    ) -> None:
        self.name, self.tools, self.setup = name, tools, setup
        self.tasks: list[Task] = []

    def task(
        self, prompt: str, check: Any, *, code: str | Sequence[str], tags: str
    ) -> Callable[[Callable[[Calls], Any]], Callable[[Calls], Any]]:
        def declare(calls: Callable[[Calls], Any]) -> Callable[[Calls], Any]:
            self.tasks.append(
                Task(
                    name=f"{self.name}/{calls.__name__}",
                    domain=self.name,
                    prompt=" ".join(prompt.split()),
                    tools=self.tools,
                    check=check,
                    setup=self.setup,
                    oracle_code=code,
                    oracle_calls=calls,
                    tags=tuple(tags.split()),
                )
            )
            return calls

        return declare


@tool
def calculate(expression: str) -> float:
    """Evaluate an arithmetic expression, e.g. "(120 + 3 * 85.5) / 2".

    Args:
        expression: Numbers, + - * / // % **, parentheses, and abs, round, min, max, sqrt.
    """
    return evaluate_arithmetic(expression)
