"""Streaming steps as they happen, and several runs at once with async.

``agent.run(task, stream=True)`` returns a ``RunStream``: iterate it to get each step when it is
done (breaking out early ends the run, and ``stream.result`` keeps what happened). ``await
agent.arun(task)`` is the async twin; ``asyncio.gather`` runs agents concurrently.
"""

from __future__ import annotations

import asyncio

from _shared import pick_model

from codeact import CodeAgent


def stream_one() -> None:
    agent = CodeAgent(pick_model("streaming.json"), sandbox="inline")
    stream = agent.run("Find the first prime above 1000, one step at a time.", stream=True)
    for step in stream:
        print(f"step {step.index} done in {step.duration_s * 1000:.1f} ms: {step.observation}")
    print(stream.result)


async def many_at_once() -> None:
    questions = ["What is 2**100?", "How many letters are in 'concurrency'?"]
    agents = [CodeAgent(pick_model(f"async_{i}.json"), sandbox="inline") for i in range(2)]
    results = await asyncio.gather(*(a.arun(q) for a, q in zip(agents, questions, strict=True)))
    for question, result in zip(questions, results, strict=True):
        print(f"{question} -> {result.output}")


if __name__ == "__main__":
    stream_one()
    asyncio.run(many_at_once())
