"""Nested chats triggered by messages: an assistant fact-checks through a chat of its own.

``NestedChats`` wraps the assistant: when a message asks for a fact-check, a researcher and a
sceptic talk it over in a nested chat, and that chat's summary becomes the assistant's reply.
Other messages get the assistant's ordinary answer.

Live: set CODEACT_MODEL (any LiteLLM model id) and run this file. Offline (no CODEACT_MODEL):
the agents' replies are replayed with ScriptedModel.
"""

from __future__ import annotations

import os

from codeact import Chat, LiteLLMModel, NestedChats, ScriptedModel, ToolCallingAgent, chat

LIVE = os.environ.get("CODEACT_MODEL")


def says(text: str) -> dict:
    """A scripted agent reply: the final answer ``text``."""
    return {
        "content": None,
        "tool_calls": [{"name": "final_answer", "arguments": {"answer": text}}],
    }


def agent(name: str, description: str, *replies: str | dict) -> ToolCallingAgent:
    model = (
        LiteLLMModel(LIVE, api_base=os.environ.get("CODEACT_API_BASE"))
        if LIVE
        else ScriptedModel(list(replies))
    )
    return ToolCallingAgent(model, name=name, description=description)


def main() -> None:
    print(f"Running live with {LIVE}." if LIVE else "Offline: replaying scripted replies.")
    researcher = agent(
        "researcher",
        "finds what the evidence says",
        says("Astronauts report it is not visible to the naked eye from low orbit."),
    )
    sceptic = agent(
        "sceptic",
        "doubts claims until they are backed up",
        says("The wall is long but only 5-9 m wide: far too narrow to see from 400 km."),
        # the nested chat's summary, written by the sceptic's model ("reflection")
        "False: the wall is only 5-9 m wide, far too narrow to see unaided from orbit.",
    )
    # the sceptic opens with the claim; the chat's summary is what the assistant replies
    fact_check = Chat(sceptic, researcher, max_turns=2, summary="reflection")
    assistant = NestedChats(
        agent("assistant", "a helpful assistant", says("You're welcome!")),
        fact_check,
        when="fact-check",  # found in the last message, ignoring case
    )
    user = agent("user", "asks the questions", says("Thanks!"))
    result = chat(
        user,
        assistant,
        "Fact-check: the Great Wall of China is visible from space.",
        max_turns=3,
    )
    for turn in result.turns:
        nested = f" (from {len(turn.nested)} nested chat)" if turn.nested else ""
        print(f"[{turn.speaker}]{nested}: {turn.content}")
    inner = result.turns[0].nested[0]
    print("\nThe nested chat:")
    for message in inner.messages:
        print(f"  [{message['name']}]: {message['content']}")
    print(f"\n{result}")


if __name__ == "__main__":
    main()
