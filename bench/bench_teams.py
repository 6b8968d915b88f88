"""What a team adds to its agents' runs, each against a baseline measured in the same run.

    python bench/bench_teams.py

1. Framework time per turn: a 20-turn chat of two ToolCallingAgents on a zero-latency
   ScriptedModel, against the same agents' runs called in a plain loop on the same tasks
   (goal: <= 0.2 ms a turn; a turn is dominated by its model call, here ~0).
2. A checkpoint written after every turn (JSON, fsync'd, atomically replaced), against the
   file system's own cost for the same bytes: each turn's file size written, fsync'd and
   renamed by hand (goal: <= 2x: the disk, not codeact, should be what a checkpoint costs).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from codeact import Chat, ScriptedModel, ToolCallingAgent
from codeact.teams import render_turn

TURNS = 20


def reply(text: str) -> dict:
    return {
        "content": None,
        "tool_calls": [{"name": "final_answer", "arguments": {"answer": text}}],
    }


def pair() -> tuple[ToolCallingAgent, ToolCallingAgent]:
    half = TURNS // 2
    a = ToolCallingAgent(ScriptedModel([reply(f"a{i}") for i in range(half)]), name="a")
    b = ToolCallingAgent(ScriptedModel([reply(f"b{i}") for i in range(half)]), name="b")
    return a, b


def chat_time(checkpoint: str | None, sizes: list[int] | None = None) -> float:
    a, b = pair()
    callbacks = (
        [lambda turn: sizes.append(os.path.getsize(checkpoint))] if sizes is not None else []
    )
    t0 = time.perf_counter()
    result = Chat(a, b, max_turns=TURNS, turn_callbacks=callbacks).run("go", checkpoint=checkpoint)
    elapsed = time.perf_counter() - t0
    assert len(result.turns) == TURNS, result.stop_reason
    return elapsed


def plain_time() -> float:
    """The same runs, by hand: the conversation as a list, the agents' runs in a loop."""
    a, b = pair()
    messages = [{"name": "a", "content": "go"}]
    t0 = time.perf_counter()
    for turn in range(TURNS):
        speaker = b if turn % 2 == 0 else a
        output = speaker.run(render_turn(speaker, [a, b], messages)).output
        messages.append({"name": speaker.name, "content": output})
    return time.perf_counter() - t0


def disk_time(path: Path, sizes: list[int]) -> float:
    """Writing, fsyncing and renaming files of these sizes: what the disk alone costs."""
    partial = path.with_name("partial")
    t0 = time.perf_counter()
    for size in sizes:
        with open(partial, "w", encoding="utf-8") as fh:
            fh.write("x" * size)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, path)
    return time.perf_counter() - t0


def best(measure, runs: int = 30) -> float:
    return statistics.median(sorted(measure() for _ in range(runs))[: runs // 2])


def main() -> None:
    chat_time(None)  # warm up (imports, pydantic schemas)
    plain = best(plain_time)
    chat = best(lambda: chat_time(None))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "chat.json"
        sizes: list[int] = []

        def saved() -> float:
            path.unlink(missing_ok=True)
            sizes.clear()
            return chat_time(str(path), sizes)

        checkpointed = best(saved)
        disk = best(lambda: disk_time(Path(tmp) / "plain.json", sizes))
    per_turn = (chat - plain) / TURNS * 1000
    print(
        f"chat loop           {per_turn:7.3f} ms a turn over the agents' own runs "
        f"({plain / TURNS * 1000:.3f} ms a turn; ratio {chat / plain:.2f})   goal <= 0.2 ms"
    )
    ours = (checkpointed - chat) / TURNS * 1000
    print(
        f"checkpoint          {ours:7.3f} ms a turn ({sizes[-1] // 1000} kB at the end), the "
        f"disk's own cost for the same bytes {disk / TURNS * 1000:.3f} ms "
        f"(ratio {(checkpointed - chat) / disk:.2f})   goal <= 2x"
    )


if __name__ == "__main__":
    main()
