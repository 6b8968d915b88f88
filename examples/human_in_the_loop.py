"""A human in the conversation: ``HumanAgent`` takes turns like any agent.

At a terminal the human types their messages (``input()``); offline, or when stdin is not a
terminal, this example answers with the scripted lines below, so it runs unattended.
"""

from __future__ import annotations

import sys

from _shared import pick_model

from codeact import CodeAgent, HumanAgent, MaxTurns, TextMention, chat

SCRIPTED_HUMAN = iter(["Make it 25 guests, please.", "Perfect, thanks. DONE"])


def scripted_input(prompt: str) -> str:
    answer = next(SCRIPTED_HUMAN)
    print(f"{prompt.splitlines()[-1]} {answer}")
    return answer


def main() -> None:
    planner = CodeAgent(
        pick_model("human_in_the_loop.json"),
        sandbox="inline",
        name="planner",
        description="Plans catering: portions and costs.",
    )
    human = HumanAgent(input_fn=input if sys.stdin.isatty() else scripted_input)
    result = chat(
        human,
        planner,
        "We need sandwiches for 20 guests, 3 each, at 2.40 EUR a sandwich. What does it cost?",
        until=MaxTurns(4) | TextMention("DONE"),
    )
    for message in result.messages:
        print(f"[{message['name']}] {message['content']}")
    print(f"stopped: {result.stop_reason}")


if __name__ == "__main__":
    main()
