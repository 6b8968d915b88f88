"""A chat that survives its process being killed: saved after every turn, resumed from the file.

The chat runs in a child process that is killed (SIGKILL, no chance to clean up) right after
its second turn. Running the same chat again with the same ``checkpoint=`` path picks up at
turn 3: nothing said before the kill is lost or said twice.

Live: set CODEACT_MODEL (any LiteLLM model id) and run this file. Offline (no CODEACT_MODEL):
the agents' replies are replayed with ScriptedModel, each process replaying the turns it takes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from codeact import Chat, LiteLLMModel, ScriptedModel, ToolCallingAgent, Turn

LIVE = os.environ.get("CODEACT_MODEL")
TASK = "Plan two days in Lyon for someone who loves food and old buildings."
# Offline replies, per agent: the first process takes turns 1-2, the resumed one turns 3-4.
REPLIES = {
    "critic": [
        "Good start, but day 1 has no lunch plan. Where do we eat?",
        "Better. Add the traboules of Vieux Lyon and it is done.",
    ],
    "planner": [
        "Day 1: Vieux Lyon and the cathedral, lunch in a bouchon on Rue Saint-Jean. Day 2: "
        "Fourvière basilica, then Les Halles Paul Bocuse.",
        "Day 1: Vieux Lyon, its traboules and the cathedral, lunch in a bouchon on Rue "
        "Saint-Jean. Day 2: Fourvière basilica, then lunch at Les Halles Paul Bocuse.",
    ],
}


def says(text: str) -> dict:
    """A scripted agent reply: the final answer ``text``."""
    return {
        "content": None,
        "tool_calls": [{"name": "final_answer", "arguments": {"answer": text}}],
    }


def team(part: int) -> Chat:
    def agent(name: str, description: str) -> ToolCallingAgent:
        model = (
            LiteLLMModel(LIVE, api_base=os.environ.get("CODEACT_API_BASE"))
            if LIVE
            else ScriptedModel([says(REPLIES[name][part])])
        )
        return ToolCallingAgent(model, name=name, description=description)

    planner = agent("planner", "plans trips")
    critic = agent("critic", "finds what a plan is missing")
    return Chat(planner, critic, max_turns=4, turn_callbacks=[report])


def report(turn: Turn) -> None:
    print(f"  turn {turn.index} [{turn.speaker}] saved: {turn.content[:60]}...", flush=True)
    if "--child" in sys.argv and turn.index == 2:
        time.sleep(60)  # wait here to be killed between turns


def child(path: str) -> None:
    team(0).run(TASK, checkpoint=path)


def main() -> None:
    print(f"Running live with {LIVE}." if LIVE else "Offline: replaying scripted replies.")
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "chat.json")
        print("First process:")
        proc = subprocess.Popen(
            [sys.executable, __file__, "--child", path], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="")
            if line.startswith("  turn 2 "):
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait()
        print(f"...killed (exit status {proc.returncode}). Resuming from {Path(path).name}:")
        result = team(1).run(TASK, checkpoint=path)
    print(f"\n{result}")
    print("\nTranscript:")
    for message in result.messages:
        print(f"[{message['name']}]: {message['content']}")


if __name__ == "__main__":
    if "--child" in sys.argv:
        child(sys.argv[sys.argv.index("--child") + 1])
    else:
        main()
