"""Approval before anything runs: a callable sees each action and may refuse it.

``approve(action)`` gets an ``Action`` — the code a ``CodeAgent`` is about to run, or one tool
call of a ``ToolCallingAgent`` (its name and arguments) — and returns ``True`` to run it,
``False`` to refuse, or a string to refuse and show the model that reason. A refused action
does not run; the refusal is recorded in the step (``Step.refusals``) and the model is told, so
the run goes on. ``ConsoleApprover()`` asks a human at the terminal.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from codeact import console


@dataclass
class Action:
    """What is about to run: ``kind`` is ``"code"`` (with ``code``) or ``"tool"`` (with ``tool``
    and ``arguments``); ``agent`` is the name of the agent that wants to run it, ``step`` the
    step's index."""

    kind: str
    agent: str
    step: int
    code: str | None = None
    tool: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """The action as a human reads it: the code, or ``name(arguments as JSON)``."""
        if self.kind == "code":
            return self.code or ""
        return f"{self.tool}({json.dumps(self.arguments, ensure_ascii=False, default=repr)})"


Approve = Callable[[Action], "bool | str"]

REFUSED = "The action was refused by the user and did not run."


def refusal_reason(approve: Approve | None, action: Action) -> str | None:
    """``None`` when the action may run, else what the model is told about the refusal.

    An answer other than ``True``, ``False`` or a string is the approver's bug and raises
    ``TypeError`` at once (a typo should not silently allow or refuse everything).
    """
    if approve is None:
        return None
    verdict = approve(action)
    if verdict is True:
        return None
    if verdict is False:
        return REFUSED
    if isinstance(verdict, str):
        reason = verdict.strip()
        return f"{REFUSED} The user said: {reason}" if reason else REFUSED
    raise TypeError(
        f"approve= must return True, False or a reason string, not {type(verdict).__name__}"
    )


class ConsoleApprover:
    """Asks at the terminal before each action: ``y`` runs it, ``n`` (or nothing) refuses,
    anything else refuses with what was typed as the reason for the model. End of input
    refuses.

    ``ask`` reads one answer (default ``input``); ``console`` is the rich console to show the
    action on (default: a new one on stdout).
    """

    def __init__(self, ask: Callable[[str], str] = input, console: Any = None) -> None:
        self.ask = ask
        self.console = console

    def __call__(self, action: Action) -> bool | str:
        from rich.console import Console
        from rich.panel import Panel
        from rich.syntax import Syntax

        shown = self.console or Console()
        lexer = "python" if action.kind == "code" else "json"
        body = Syntax(action.describe(), lexer, theme="ansi_dark", word_wrap=True)
        title = f"{action.agent} wants to run (step {action.step})"
        with console.paused():  # the live view's spinner would draw over the question
            shown.print(Panel(body, title=title, title_align="left", border_style="yellow"))
            try:
                answer = self.ask("Run it? [y]es / [n]o / or type a reason to refuse: ")
            except EOFError:
                return "no one was there to approve it"
        answer = answer.strip()
        if answer.lower() in ("y", "yes"):
            return True
        if answer.lower() in ("", "n", "no"):
            return False
        return answer
