"""Sequential chats with carryover: each chat starts from the summaries of the chats before it.

A lead asks a researcher for facts, then a writer for a note about them. The first chat is
summarised by a model ("reflection"); that summary is carried into the second chat's opening
message, so the writer knows the facts without seeing the first conversation.

Live: set CODEACT_MODEL (any LiteLLM model id) and run this file. Offline (no CODEACT_MODEL):
the agents' replies are replayed with ScriptedModel; the chats themselves run for real.
"""

from __future__ import annotations

import os

from codeact import (
    Chat,
    LiteLLMModel,
    ScriptedModel,
    TextMention,
    ToolCallingAgent,
    sequential_chats,
)

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
    lead = agent(
        "lead",
        "edits the newsletter; approves with APPROVED",
        says("Good, that is what I need."),
        # the reflection summary of the first chat (it uses the opening agent's model)
        "The three largest EU economies in 2023 were Germany (about $4.5 trillion), France "
        "(about $3.0 trillion) and Italy (about $2.3 trillion).",
        says("APPROVED"),
    )
    researcher = agent(
        "researcher",
        "finds facts and figures",
        says("Germany, France and Italy: about $4.5, $3.0 and $2.3 trillion of GDP in 2023."),
    )
    writer = agent(
        "writer",
        "writes short, clear notes",
        says(
            "Germany, France and Italy were the EU's largest economies in 2023, with GDPs of "
            "about $4.5, $3.0 and $2.3 trillion. Together they make up about half of its output."
        ),
    )
    results = sequential_chats(
        [
            (
                Chat(lead, researcher, max_turns=2, summary="reflection"),
                "Which three EU economies were the largest in 2023, by GDP?",
            ),
            (
                Chat(lead, writer, max_turns=4, until=TextMention("APPROVED")),
                "Write a two-sentence note about them for the newsletter.",
            ),
        ]
    )
    for number, result in enumerate(results, 1):
        print(f"\n--- chat {number}: {result}")
    print("\nThe writer was asked:\n" + results[1].messages[0]["content"])
    print("\nNote:", results[-1].summary)  # "APPROVED" is stripped: the note before it


if __name__ == "__main__":
    main()
