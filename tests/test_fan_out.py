"""Fan-out: one task to several agents at once, then an aggregator over their answers."""

from __future__ import annotations

import asyncio
import threading

import pytest
from scripted_agents import answer, call, says, turns

from codeact import (
    FanOut,
    ScriptedModel,
    ToolCallingAgent,
    afan_out,
    fan_out,
    sequential_chats,
    tool,
)
from codeact.models import TokenUsage


def test_the_agents_run_at_the_same_time():
    barrier = threading.Barrier(3, timeout=10)  # passes only when all three wait at once

    @tool
    def meet(who: str) -> str:
        """Wait for the others.

        Args:
            who: Who is waiting.
        """
        barrier.wait()
        return f"{who} met"

    def agent(name: str) -> ToolCallingAgent:
        replies = [call("meet", who=name), answer(f"{name} is done")]
        return ToolCallingAgent(ScriptedModel(replies), tools=[meet], name=name)

    result = fan_out("meet up", [agent("a"), agent("b"), agent("c")])
    assert turns(result) == [
        ("user", "meet up"),
        ("a", "a is done"),
        ("b", "b is done"),
        ("c", "c is done"),
    ]
    assert result.summary == "[a]: a is done\n\n[b]: b is done\n\n[c]: c is done"
    assert result.stop_reason == "3 of 3 answered"


def test_each_agent_gets_the_task_itself():
    a = says("a", "4")
    fan_out("What is 2 + 2?", [a, says("b", "four")])
    assert a.model.requests[0][1]["content"] == "What is 2 + 2?"


def test_a_function_aggregates_the_answers():
    votes = [says("a", "yes"), says("b", "no"), says("c", "yes")]

    def majority(answers: dict[str, str]) -> str:
        assert answers == {"a": "yes", "b": "no", "c": "yes"}
        return max(set(answers.values()), key=list(answers.values()).count)

    assert fan_out("Ship?", votes, aggregate=majority).summary == "yes"


def test_an_agent_aggregates_from_the_task_and_the_answers():
    judge = says("judge", "Paris, by all accounts.")
    team = FanOut([says("a", "Paris"), says("b", "Paris, France")], aggregate=judge)
    result = team.run("Capital of France?")
    assert result.summary == "Paris, by all accounts."
    assert turns(result)[-1] == ("judge", "Paris, by all accounts.")
    task = judge.model.requests[0][1]["content"]
    assert "Capital of France?" in task and "[a]: Paris\n\n[b]: Paris, France" in task
    usage = sum((t.result.token_usage for t in result.turns), TokenUsage())
    assert result.token_usage == usage and [t.index for t in result.turns] == [1, 2, 3]


def test_a_failed_agent_is_left_out_and_named():
    judge = says("judge", "only b answered")
    a = ToolCallingAgent(ScriptedModel([call("look_around")]), name="a")  # one step, then out
    result = fan_out("go", [a, says("b", "b's answer")], aggregate=judge)
    assert [t.speaker for t in result.turns] == ["b", "judge"]
    assert result.stop_reason.startswith("1 of 2 answered (a failed: ScriptedModel ran out")
    assert "[a]" not in judge.model.requests[0][1]["content"]
    assert result.token_usage.total_tokens > sum(
        t.result.token_usage.total_tokens for t in result.turns
    )  # a's failed run used tokens too


def test_every_agent_failing_is_reported():
    result = fan_out("go", [says("a"), says("b")], aggregate=lambda answers: "unreachable")
    assert result.summary == "" and result.stop_reason.startswith("every agent failed: a failed")


def test_fan_out_checks_its_agents():
    with pytest.raises(ValueError, match="distinct names"):
        FanOut([says("a"), says("a")])
    with pytest.raises(ValueError, match="distinct names"):
        FanOut([says("a")], aggregate=says("a"))
    with pytest.raises(TypeError, match="aggregate must be"):
        FanOut([says("a")], aggregate="vote")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one agent"):
        FanOut([])


def test_a_fan_out_is_a_step_of_sequential_chats_and_a_tool():
    poll = FanOut([says("a", "x", "y"), says("b", "x", "y")], aggregate=lambda a: "agreed")
    (result,) = sequential_chats([(poll, "vote")])
    assert result.summary == "agreed"
    assert poll.as_tool("poll", "Ask everyone.")(task="again") == "agreed"


class Gate:
    """Opens once ``n`` coroutines wait at it at the same time."""

    def __init__(self, n: int) -> None:
        self.n, self.waiting, self.opened = n, 0, asyncio.Event()

    async def arrive(self) -> None:
        self.waiting += 1
        if self.waiting >= self.n:
            self.opened.set()
        await asyncio.wait_for(self.opened.wait(), 10)


class GatedModel:
    """A real Model replaying replies whose async calls wait at a gate: a fan-out gets through
    only if its agents' calls are in flight together."""

    model_id = "gated"

    def __init__(self, replies: list, gate: Gate) -> None:
        self.inner, self.gate = ScriptedModel(replies), gate

    def generate(self, messages, *, tools=None, stop=None):
        raise AssertionError("the async path must use agenerate")

    async def agenerate(self, messages, *, tools=None, stop=None):
        await self.gate.arrive()
        return self.inner.generate(messages, tools=tools, stop=stop)


async def test_async_fan_out_runs_the_agents_concurrently():
    gate = Gate(3)
    agents = [
        ToolCallingAgent(GatedModel([answer(f"{n} done")], gate), name=n) for n in ("a", "b", "c")
    ]
    result = await afan_out("go", agents, aggregate=lambda answers: ", ".join(answers.values()))
    assert result.summary == "a done, b done, c done"
