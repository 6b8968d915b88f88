"""``Task``: one evaluation task — a prompt, its own tools, a checker, and what an oracle does."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from codeact.tools import Tool

if TYPE_CHECKING:
    from codeact.eval.oracle import Calls

ToolLike = Tool | Callable[..., Any]


@dataclass(frozen=True)
class Task:
    """A task of a suite, solvable by either agent kind with the same tools.

    ``tools`` is a list of tools, or a function of the run's state that returns them; ``setup``
    makes that state, fresh for every run (a file system, a shopping cart), so stateful tools
    never leak from one run into another. ``check(answer, state)`` judges the final answer (see
    ``codeact.eval.checks``). The oracles are what a good model would do, so that the suite can
    be validated offline: ``oracle_code`` the code replies of a ``CodeAgent`` (one string per
    step), ``oracle_calls(calls)`` a function that makes the tool calls of a
    ``ToolCallingAgent`` through ``calls`` and returns the final answer. ``tags`` say what kind
    of task it is: ``"lookup"`` (one call), ``"chain"`` (a fixed sequence of calls), ``"loop"``
    (calls that depend on earlier results: loops, conditions).
    """

    name: str
    domain: str
    prompt: str
    tools: Sequence[ToolLike] | Callable[[Any], Sequence[ToolLike]]
    check: Callable[[Any, Any], bool]
    setup: Callable[[], Any] | None = None
    oracle_code: str | Sequence[str] = ()
    oracle_calls: Callable[[Calls], Any] | None = None
    tags: tuple[str, ...] = ()

    def start(self) -> tuple[Any, list[Tool]]:
        """A fresh state and the tools bound to it, for one run."""
        state = self.setup() if self.setup is not None else None
        tools = self.tools(state) if callable(self.tools) else self.tools
        return state, [t if isinstance(t, Tool) else Tool(t) for t in tools]

    @property
    def expected(self) -> Any:
        """The answer the checker wants, when it says (for reports)."""
        return getattr(self.check, "expected", None)

    @property
    def has_oracle(self) -> bool:
        return bool(self.oracle_code) and self.oracle_calls is not None
