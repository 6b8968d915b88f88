"""Agents for team tests: real ``ToolCallingAgent`` s driven by ``ScriptedModel``."""

from __future__ import annotations

from typing import Any

from codeact import ScriptedModel, ToolCallingAgent


def answer(text: str) -> dict[str, Any]:
    """A scripted reply that calls ``final_answer`` with ``text``."""
    return call("final_answer", answer=text)


def call(tool: str, **arguments: Any) -> dict[str, Any]:
    """A scripted reply that calls one tool."""
    return {"content": None, "tool_calls": [{"name": tool, "arguments": arguments}]}


def says(name: str, *messages: str, description: str = "") -> ToolCallingAgent:
    """An agent whose turns answer with the given messages, in order."""
    return ToolCallingAgent(
        ScriptedModel([answer(m) for m in messages]),
        name=name,
        description=description or f"{name} agent",
    )


def turns(result) -> list[tuple[str, str]]:
    """A chat's messages as (name, content) pairs."""
    return [(m["name"], m["content"]) for m in result.messages]


class AsyncOnlyModel:
    """A real Model replaying replies that answers only on its async API: what runs on it
    proves the async path was taken end to end."""

    model_id = "async-only"

    def __init__(self, replies: list) -> None:
        self.inner = ScriptedModel(replies)

    def generate(self, messages, *, tools=None, stop=None):
        raise AssertionError("the async path called the sync generate()")

    async def agenerate(self, messages, *, tools=None, stop=None):
        return self.inner.generate(messages, tools=tools, stop=stop)


def async_says(name: str, *messages: str) -> ToolCallingAgent:
    """Like ``says``, on an ``AsyncOnlyModel``."""
    return ToolCallingAgent(AsyncOnlyModel([answer(m) for m in messages]), name=name)
