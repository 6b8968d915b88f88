"""A group chat: a model picks who speaks next, within a graph of who may follow whom.

A coder, a tester and a reviewer work on one function. ``select="auto"`` asks a model for the
next speaker; ``transitions`` allow only sensible hand-overs (nobody reviews their own code
right after writing it, the reviewer only ever hands back to the coder). An answer naming no
agent is sent back with the reason, so the selector can correct itself (offline you can watch
it happen once).

Live: set CODEACT_MODEL (any LiteLLM model id) and run this file. Offline (no CODEACT_MODEL):
the agents' and the selector's replies are replayed with ScriptedModel.
"""

from __future__ import annotations

import os

from codeact import GroupChat, LiteLLMModel, ScriptedModel, TextMention, ToolCallingAgent

LIVE = os.environ.get("CODEACT_MODEL")


def says(text: str) -> dict:
    """A scripted agent reply: the final answer ``text``."""
    return {
        "content": None,
        "tool_calls": [{"name": "final_answer", "arguments": {"answer": text}}],
    }


def model(*replies: str | dict) -> LiteLLMModel | ScriptedModel:
    return (
        LiteLLMModel(LIVE, api_base=os.environ.get("CODEACT_API_BASE"))
        if LIVE
        else ScriptedModel(list(replies))
    )


def main() -> None:
    print(f"Running live with {LIVE}." if LIVE else "Offline: replaying scripted replies.")
    coder = ToolCallingAgent(
        model(
            says("def median(xs):\n    xs = sorted(xs)\n    return xs[len(xs) // 2]"),
            says(
                "def median(xs):\n    if not xs:\n        return None\n    xs = sorted(xs)\n"
                "    mid = len(xs) // 2\n    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + "
                "xs[mid]) / 2"
            ),
        ),
        name="coder",
        description="writes and fixes Python code",
    )
    tester = ToolCallingAgent(
        model(says("median([]) raises IndexError and median([1, 2]) gives 2 instead of 1.5.")),
        name="tester",
        description="finds inputs that break code",
    )
    reviewer = ToolCallingAgent(
        model(says("Handles empty and even-length input now. LGTM")),
        name="reviewer",
        description="reviews code that has been tested; says LGTM when it is good",
    )
    selector = model(
        "coder",
        "Someone who knows about testing.",  # names nobody: asked again, with the reason
        "tester",
        "coder",
        "reviewer",
    )
    group = GroupChat(
        [coder, tester, reviewer],
        select="auto",
        model=selector,
        transitions={coder: [tester, reviewer], tester: [coder], reviewer: [coder]},
        until=TextMention("LGTM"),
        max_rounds=8,
    )
    result = group.run("Write median(xs) for a list of numbers.")
    for message in result.messages:
        print(f"\n[{message['name']}]\n{message['content']}")
    print(f"\n{result}")
    print(f"Selector fell back to round robin {group.fallbacks} time(s).")


if __name__ == "__main__":
    main()
