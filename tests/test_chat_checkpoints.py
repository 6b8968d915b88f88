"""Checkpoints: a chat saved to JSON after every turn resumes where it stopped, even after its
process was killed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from scripted_agents import answer, says, turns

from codeact import Chat, GroupChat, HandoffChat, ScriptedModel, ToolCallingAgent, chat
from codeact.models import TokenUsage

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

#: A group chat of a, b, c (round robin, five turns). In "first" mode it stops itself where the
#: test kills it; in "resume" mode its agents hold only the replies still to come.
SCRIPT = """
import json, sys, time
from scripted_agents import says, answer, call
from codeact import GroupChat, ScriptedModel, ToolCallingAgent, tool

path, mode, stop = sys.argv[1], sys.argv[2], sys.argv[3]

@tool
def think(topic: str) -> str:
    '''Think about a topic.

    Args:
        topic: What to think about.
    '''
    if mode == "first" and stop == "during":
        print("thinking in turn 3", flush=True)
        time.sleep(60)  # killed here, in the middle of turn 3
    return "thought"

if mode == "first":
    a, b = says("a", "a1", "a2"), says("b", "b1", "b2")
else:  # a1 and b1 were said before the kill
    a, b = says("a", "a2"), says("b", "b2")
c_replies = [call("think", topic="x"), answer("c1")]
c = ToolCallingAgent(ScriptedModel(c_replies), tools=[think], name="c")

def on_turn(turn):
    print(f"turn {turn.index} {turn.speaker} {turn.content}", flush=True)
    if mode == "first" and stop == "between" and turn.index == 2:
        time.sleep(60)  # killed here: turn 2 is saved, turn 3 has not begun

result = GroupChat([a, b, c], max_rounds=5, turn_callbacks=[on_turn]).run("count", checkpoint=path)
print("RESULT " + json.dumps({
    "messages": result.messages,
    "turns": [[t.index, t.speaker, t.result.output] for t in result.turns],
    "tokens": result.token_usage.total_tokens,
    "stop_reason": result.stop_reason,
}), flush=True)
"""


def start(tmp_path: Path, mode: str, stop: str) -> subprocess.Popen[str]:
    script = tmp_path / "chat_script.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": f"{TESTS}{os.pathsep}{ROOT}"}
    return subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "chat.json"), mode, stop],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def kill_after(proc: subprocess.Popen[str], line: str) -> list[str]:
    """Read the child's lines until ``line``, then SIGKILL it; the lines it printed."""
    seen = []
    assert proc.stdout is not None
    for out in proc.stdout:
        seen.append(out.rstrip("\n"))
        if out.startswith(line):
            break
    else:
        raise AssertionError(f"the child ended early: {seen} {proc.stderr.read()}")
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    return seen


def finish(proc: subprocess.Popen[str]) -> tuple[list[str], dict]:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    return lines[:-1], json.loads(lines[-1].removeprefix("RESULT "))


EXPECTED = [
    {"name": "user", "content": "count"},
    {"name": "a", "content": "a1"},
    {"name": "b", "content": "b1"},
    {"name": "c", "content": "c1"},
    {"name": "a", "content": "a2"},
    {"name": "b", "content": "b2"},
]


def test_a_chat_killed_between_turns_resumes_from_its_checkpoint(tmp_path):
    before = kill_after(start(tmp_path, "first", "between"), "turn 2")
    assert before == ["turn 1 a a1", "turn 2 b b1"]
    saved = json.loads((tmp_path / "chat.json").read_text())
    assert [m["content"] for m in saved["messages"]] == ["count", "a1", "b1"]
    assert not saved.get("finished")

    after, result = finish(start(tmp_path, "resume", "between"))
    assert after == ["turn 3 c c1", "turn 4 a a2", "turn 5 b b2"]  # nobody spoke twice
    assert result["messages"] == EXPECTED
    assert result["turns"] == [
        [1, "a", "a1"],
        [2, "b", "b1"],
        [3, "c", "c1"],
        [4, "a", "a2"],
        [5, "b", "b2"],
    ]  # the runs of the turns before the kill are in the result too
    assert result["stop_reason"] == "max turns (5)"
    assert not list(tmp_path.glob(".chat.json.partial"))


def test_a_chat_killed_during_a_turn_redoes_that_turn(tmp_path):
    kill_after(start(tmp_path, "first", "during"), "thinking in turn 3")
    saved = json.loads((tmp_path / "chat.json").read_text())
    assert len(saved["turns"]) == 2  # turn 3 never finished, so it was never saved
    after, result = finish(start(tmp_path, "resume", "during"))
    assert after[0] == "turn 3 c c1" and result["messages"] == EXPECTED


def test_the_checkpoint_is_written_after_every_turn(tmp_path):
    path = tmp_path / "chat.json"
    seen = []

    def on_turn(turn):
        saved = json.loads(path.read_text())
        seen.append((turn.index, len(saved["turns"]), saved["messages"][-1]["content"]))

    chat(
        says("a", "a1"), says("b", "b1", "b2"), "go", max_turns=3, turn_callbacks=[on_turn],
        checkpoint=str(path),
    )  # fmt: skip
    assert seen == [(1, 1, "b1"), (2, 2, "a1"), (3, 3, "b2")]
    assert json.loads(path.read_text())["finished"] is True


def test_a_checkpoint_holds_the_conversation_once_not_once_a_turn(tmp_path):
    path = tmp_path / "chat.json"
    opening = "Plan the launch of the Zyxwv project."
    counts = []
    chat(
        says("a", "a1", "a2"), says("b", "b1", "b2"), opening, max_turns=4,
        turn_callbacks=[lambda turn: counts.append(path.read_text().count("Zyxwv"))],
        checkpoint=path,
    )  # fmt: skip
    # the task and the opening message: each turn's task (the conversation so far) is left out,
    # so the file grows with the turns, not with their square
    assert counts == [2, 2, 2, 2]
    assert path.read_text().count("Zyxwv") == 2


def test_a_failed_turn_is_not_saved_so_resuming_retries_it(tmp_path):
    path = str(tmp_path / "chat.json")
    first = chat(says("a", "a1"), says("b", "b1"), "go", max_turns=4, checkpoint=path)
    assert first.stop_reason.startswith("b failed")  # b's script ran out on turn 3
    resumed = chat(says("a", "a2"), says("b", "b2", "b3"), "go", max_turns=4, checkpoint=path)
    assert [c for _, c in turns(resumed)] == ["go", "b1", "a1", "b2", "a2"]
    assert [t.index for t in resumed.turns] == [1, 2, 3, 4]
    assert resumed.token_usage == sum((t.result.token_usage for t in resumed.turns), TokenUsage())
    assert resumed.stop_reason == "max turns (4)"


def test_a_finished_checkpoint_gives_back_its_result_without_running(tmp_path):
    path = str(tmp_path / "chat.json")
    done = chat(says("a"), says("b", "b1"), "go", max_turns=1, checkpoint=path)
    again = chat(says("a"), says("b"), "go", max_turns=1, checkpoint=path)  # empty scripts
    assert again.messages == done.messages and again.summary == "b1"
    assert again.turns[0].result.steps[0].final_answer == "b1"


def test_resuming_restores_the_random_selection(tmp_path):
    def agents() -> list[ToolCallingAgent]:
        return [says(n, *[f"{n}{i}" for i in range(8)]) for n in ("a", "b", "c")]

    def stop_at_3(turn):
        if turn.index == 3:
            raise KeyboardInterrupt  # someone pressed Ctrl-C between turns 3 and 4

    def names(result) -> list[str]:
        return [m["name"] for m in result.messages]

    whole = names(GroupChat(agents(), select="random", seed=11, max_rounds=8).run("go"))
    path = str(tmp_path / "chat.json")
    stopping = GroupChat(
        agents(), select="random", seed=11, max_rounds=8, turn_callbacks=[stop_at_3]
    )
    with pytest.raises(KeyboardInterrupt):
        stopping.run("go", checkpoint=path)
    resumed = GroupChat(agents(), select="random", seed=999, max_rounds=8)  # another seed
    assert names(resumed.run("go", checkpoint=path)) == whole


def test_a_handoff_chat_resumes_with_the_agent_it_was_handed_to(tmp_path):
    path = str(tmp_path / "chat.json")

    def team(triage_replies: list, billing_replies: list) -> HandoffChat:
        triage = ToolCallingAgent(ScriptedModel(triage_replies), name="triage")
        billing = ToolCallingAgent(ScriptedModel(billing_replies), name="billing")
        return HandoffChat([triage, billing], handoffs={triage: [billing]})

    handing = {
        "content": None,
        "tool_calls": [
            {"name": "handoff", "arguments": {"to": "billing"}},
            {"name": "final_answer", "arguments": {"answer": "over to billing"}},
        ],
    }
    first = team([handing], []).run("refund", checkpoint=path)
    assert first.stop_reason.startswith("billing failed")
    resumed = team([], [answer("refunded")]).run("refund", checkpoint=path)
    assert turns(resumed)[1:] == [("triage", "over to billing"), ("billing", "refunded")]


def test_the_checkpoint_of_another_chat_is_refused(tmp_path):
    path = str(tmp_path / "chat.json")
    chat(says("a"), says("b", "b1"), "go", max_turns=1, checkpoint=path)
    with pytest.raises(ValueError, match="checkpoint of another conversation.*task 'go'"):
        chat(says("a"), says("b"), "something else", checkpoint=path)
    with pytest.raises(ValueError, match="speakers"):
        chat(says("a"), says("c"), "go", checkpoint=path)
    with pytest.raises(ValueError, match="kind 'chat'"):
        GroupChat([says("a"), says("b")]).run("go", checkpoint=path)
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        Chat(says("a"), says("b")).run("go", checkpoint=str(tmp_path / "junk.json"))


async def test_an_async_chat_checkpoints_and_resumes(tmp_path):
    path = str(tmp_path / "chat.json")
    first = await Chat(says("a"), says("b", "b1")).arun("go", checkpoint=path)
    assert first.stop_reason.startswith("a failed")
    resumed = await Chat(says("a", "a1"), says("b"), max_turns=2).arun("go", checkpoint=path)
    assert [c for _, c in turns(resumed)] == ["go", "b1", "a1"]


def test_a_checkpoint_path_that_cannot_be_written_fails_before_any_turn(tmp_path):
    b = says("b", "b1")
    path = tmp_path / "missing" / "chat.json"
    with pytest.raises(FileNotFoundError, match=re.escape(f"the chat checkpoint {path} (")):
        chat(says("a"), b, "go", checkpoint=path)
    assert b.model.requests == []  # nobody worked for a result that could not be kept
