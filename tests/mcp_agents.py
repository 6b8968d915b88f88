"""Agents and a host tool for ``codeact mcp serve --agent/--tools`` in the tests (offline)."""

from __future__ import annotations

from codeact import CodeAgent, ScriptedModel, tool


@tool
def secret_number() -> int:
    """A number only the host knows."""
    return 7


def make_adder() -> CodeAgent:
    """A fresh agent per call: its scripted model answers one task."""
    model = ScriptedModel(["Adding.\n```python\nfinal_answer(19 + 23)\n```"])
    return CodeAgent(model, sandbox="inline", name="adder", description="Adds two numbers.")
