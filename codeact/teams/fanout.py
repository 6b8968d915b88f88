"""Fan-out: the same task to several agents at once, then one answer made from theirs.

    answers = {agent.name: agent.run(task).output for agent in agents}   # concurrently
    summary = aggregate(answers)                                          # a function or an agent

The agents run in threads under ``run`` and as concurrent ``arun`` s under ``arun``. An agent
whose run fails is left out of the answers (``stop_reason`` names it); the others still count.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from codeact.models import TokenUsage
from codeact.teams.conversation import Speaker, TurnCallback, as_turn, summary_tool, turn_call
from codeact.teams.driver import All, Loop, adrive, drive
from codeact.teams.result import ChatResult, Turn, TurnInfo, add_cost, current_turn
from codeact.teams.summary import transcript
from codeact.tools import Tool

AGGREGATE_PROMPT = (
    "Several agents worked on this task independently:\n\n{task}\n\n"
    "Their answers:\n\n{answers}\n\n"
    "Combine them into the best single answer to the task: keep what they agree on, resolve "
    "what they disagree on. Give that answer as your final answer."
)

Aggregate = Callable[[dict[str, str]], Any]


class FanOut:
    """The same task to each of ``agents`` concurrently, then ``aggregate`` over the answers.

    ``aggregate`` is a function ``{agent name: answer} -> answer``, an agent (given the task
    and the answers through ``aggregate_prompt``), or ``None`` (the summary lists the answers).
    The ``ChatResult`` has the task, each answer (and the aggregating agent's) as messages,
    and the aggregate answer as ``summary``.
    """

    def __init__(
        self,
        agents: Sequence[Speaker],
        *,
        aggregate: Aggregate | Speaker | None = None,
        aggregate_prompt: str = AGGREGATE_PROMPT,
        turn_callbacks: Sequence[TurnCallback] = (),
        name: str = "fan_out",
    ) -> None:
        if not agents:
            raise ValueError("a fan-out needs at least one agent")
        names = [a.name for a in agents]
        if hasattr(aggregate, "run"):
            names.append(aggregate.name)  # type: ignore[union-attr]
        elif aggregate is not None and not callable(aggregate):
            raise TypeError("aggregate must be a function {name: answer} -> answer, or an agent")
        if len(set(names)) != len(names):
            raise ValueError("agents in a fan-out need distinct names (pass name=...)")
        self.agents, self.aggregate = list(agents), aggregate
        self.aggregate_prompt = aggregate_prompt
        self.turn_callbacks, self.name = list(turn_callbacks), name

    def run(self, task: str) -> ChatResult:
        """Give ``task`` to every agent at once (in threads) and aggregate their answers."""
        return drive(self._loop(task))

    async def arun(self, task: str) -> ChatResult:
        """The async twin of ``run``: the agents' ``arun`` s, gathered."""
        return await adrive(self._loop(task))

    def as_tool(self, name: str, description: str) -> Tool:
        """This fan-out as a tool: the tool's ``task`` goes out, the aggregate answer comes back."""
        return summary_tool(self.run, name, description)

    def _loop(self, task: str) -> Loop:
        started = time.perf_counter()
        opening = [{"name": "user", "content": task}]
        parent = current_turn()
        calls = [
            turn_call(agent, task, opening, TurnInfo(self.name, i, agent.name, parent))
            for i, agent in enumerate(self.agents, 1)
        ]
        outcomes = yield All(calls)
        spent: list[Turn] = []  # every run, failed ones too: their tokens were used
        failed: list[str] = []
        for i, (agent, outcome) in enumerate(zip(self.agents, outcomes, strict=True), 1):
            if outcome.error is not None:
                raise outcome.error  # not the model's mistake: the environment's
            spent.append(as_turn(i, agent.name, outcome.value[0], task, outcome.value[1]))
            if spent[-1].result.state == "error":
                failed.append(f"{agent.name} failed: {spent[-1].result.error}")
        turns = [t for t in spent if t.result.state != "error"]
        messages = opening + [{"name": t.speaker, "content": t.content} for t in turns]
        summary = transcript(messages[1:])
        reason = f"{len(turns)} of {len(self.agents)} answered"
        if failed:
            reason += " (" + "; ".join(failed) + ")"
        if not turns:
            reason = "every agent failed: " + "; ".join(failed)
        elif hasattr(self.aggregate, "run"):
            aggregator: Any = self.aggregate
            prompt = self.aggregate_prompt.format(task=task, answers=summary)
            info = TurnInfo(self.name, len(self.agents) + 1, aggregator.name, parent)
            value, seconds = yield turn_call(aggregator, prompt, messages, info)
            spent.append(as_turn(info.turn, aggregator.name, value, prompt, seconds))
            if spent[-1].result.state == "error":
                reason += f"; the aggregator {aggregator.name} failed: {spent[-1].result.error}"
            else:
                turns.append(spent[-1])
                messages.append({"name": aggregator.name, "content": spent[-1].content})
                summary = spent[-1].content
        elif self.aggregate is not None:
            value = self.aggregate({t.speaker: t.content for t in turns})  # type: ignore[operator]
            summary = value if isinstance(value, str) else str(value)
        for turn in turns:
            for callback in self.turn_callbacks:
                callback(turn)
        usage, cost = TokenUsage(), None
        for turn in spent:
            usage, cost = usage + turn.result.token_usage, add_cost(cost, turn.result.cost_usd)
        duration = time.perf_counter() - started
        return ChatResult(messages, summary, reason, usage, duration, cost, turns)


def fan_out(
    task: str, agents: Sequence[Speaker], *, aggregate: Aggregate | Speaker | None = None
) -> ChatResult:
    """Give ``task`` to every agent concurrently and aggregate their answers (see ``FanOut``)."""
    return FanOut(agents, aggregate=aggregate).run(task)


async def afan_out(
    task: str, agents: Sequence[Speaker], *, aggregate: Aggregate | Speaker | None = None
) -> ChatResult:
    """The async twin of ``fan_out``: the agents' ``arun`` s run concurrently."""
    return await FanOut(agents, aggregate=aggregate).arun(task)
