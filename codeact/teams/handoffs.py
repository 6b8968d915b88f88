"""Handoffs: the agent holding the conversation passes it on by calling a ``handoff`` tool.

    HandoffChat([triage, billing, tech], handoffs={triage: [billing, tech], billing: [triage]})

The first agent takes the task. Each agent with somewhere to hand off to gets a ``handoff(to)``
tool (added to its tools when the chat is built); an agent that hands off ends its turn with the
message for the next agent, who speaks next. The conversation ends when an agent answers
without handing off (or on ``until`` / ``max_turns``). A handoff to an agent it may not hand off
to is an error the model sees, with the names it may use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from codeact.models import Model
from codeact.teams import summary as summaries
from codeact.teams.checkpoint import CheckpointPath
from codeact.teams.conversation import Conversation, Speaker, TurnCallback, render_turn, turn_limit
from codeact.teams.group import resolve_graph
from codeact.teams.result import ChatResult, Turn
from codeact.teams.termination import ChatState, Termination
from codeact.tools import Tool, ToolError


class HandoffTool(Tool):
    """The tool an agent hands the conversation on with; it records the handoff it was asked
    for (the chat reads it after the turn)."""

    name = "handoff"

    def __init__(self, source: str, targets: Sequence[Speaker]) -> None:
        self.source = source
        self.targets = {t.name: t.description for t in targets}
        self.requested: list[str] = []
        roster = "; ".join(f"{n}: {d}" for n, d in self.targets.items())
        super().__init__(
            description=(
                f"Hand the conversation to another agent, who takes the next turn ({roster}). "
                "After calling it, give your final answer: the message that agent should read."
            )
        )

    def forward(self, to: str) -> str:
        """Hand the conversation to another agent.

        Args:
            to: Name of the agent to hand the conversation to.
        """
        by_lower = {n.lower(): n for n in self.targets}
        name = by_lower.get(str(to).strip().lower())
        if name is None:
            raise ToolError(
                f"cannot hand off to {to!r}: {self.source} can hand off to "
                f"{', '.join(self.targets)}"
            )
        self.requested.append(name)
        return (
            f"Handed off to {name}. Now give your final answer: the message {name} will read "
            "(what they need to know to take over)."
        )


class HandoffChat(Conversation):
    """Agents that pass the conversation to each other through ``handoff`` tools.

    ``handoffs={agent_or_name: [agent_or_name, ...]}`` says who may hand off to whom; the
    first of ``agents`` starts. Ends when an agent answers without handing off, on ``until``,
    or after ``max_turns`` turns. ``summary`` is as for ``Chat`` (by default the last answer).

    Building the chat adds the ``handoff`` tool to the agents that hand off, so build it before
    their first run (a ``CodeAgent`` 's sandbox gets its tools when it starts).
    """

    kind = "handoffs"

    def __init__(
        self,
        agents: Sequence[Speaker],
        *,
        handoffs: Mapping[Any, Sequence[Any]],
        until: Termination | None = None,
        max_turns: int = 10,
        summary: summaries.Summary = "last",
        summary_model: Model | None = None,
        summary_prompt: str = summaries.SUMMARY_PROMPT,
        turn_callbacks: Sequence[TurnCallback] = (),
        name: str = "handoffs",
    ) -> None:
        if not agents:
            raise ValueError("a handoff chat needs at least one agent")
        super().__init__(
            agents,
            until=until,
            limit=turn_limit("max_turns", max_turns),
            summary=summary,
            summary_model=summary_model,
            summary_prompt=summary_prompt,
            turn_callbacks=turn_callbacks,
            name=name,
        )
        self.agents = self.speakers
        self.handoffs = resolve_graph(self.agents, handoffs, "handoffs")
        if not self.handoffs:
            raise ValueError("handoffs= is empty; give {agent: [agents it may hand off to]}")
        by_name = {a.name: a for a in self.agents}
        self.tools: dict[str, HandoffTool] = {}
        for source, targets in self.handoffs.items():
            if source in targets:
                raise ValueError(f"handoffs: {source!r} cannot hand off to itself")
            tool = HandoffTool(source, [by_name[t] for t in targets])
            _install(by_name[source], tool)
            self.tools[source] = tool

    def run(self, task: str, *, checkpoint: CheckpointPath | None = None) -> ChatResult:
        """The first agent takes ``task``; agents hand it on until one answers.
        ``checkpoint``: a JSON file the chat is saved to after every turn and resumed from."""
        return super().run(task, checkpoint=checkpoint)

    def _pick(self, state: ChatState, turns: list[Turn]) -> Speaker:
        if not turns:
            return self.agents[0]
        return next(a for a in self.agents if a.name == turns[-1].handoff_to)

    def _task(self, speaker: Speaker, state: ChatState) -> str:
        tool = self.tools.get(speaker.name)
        if tool is None:
            note = "Your answer ends the conversation.\n"
        else:
            tool.requested.clear()  # a fresh turn: no handoff asked for yet
            names = " or ".join(tool.targets)
            note = (
                f"If {names} should take over, call handoff(to=...) with their name, then "
                "answer with the message for them; an answer without a handoff ends the "
                "conversation.\n"
            )
        return render_turn(speaker, self.speakers, state.messages, note)

    def _took_turn(self, speaker: Speaker, turn: Turn) -> None:
        tool = self.tools.get(speaker.name)
        if tool is not None and tool.requested:
            turn.handoff_to = tool.requested[-1]  # the last one asked for wins

    def _ends(self, turn: Turn) -> str | None:
        return None if turn.handoff_to else f"{turn.speaker} answered without a handoff"


def _install(agent: Speaker, tool: HandoffTool) -> None:
    tools = getattr(agent, "tools", None)
    if not isinstance(tools, dict):
        raise ValueError(
            f"handoffs: {agent.name!r} cannot hand off: it has no tools (use a CodeAgent or "
            "ToolCallingAgent)"
        )
    if "handoff" in tools and not isinstance(tools["handoff"], HandoffTool):
        raise ValueError(f"handoffs: {agent.name!r} already has a tool named 'handoff'; rename it")
    if getattr(agent, "_started", False):  # a CodeAgent's sandbox got its tools at its start
        raise ValueError(
            f"handoffs: {agent.name!r} has already run, so its sandbox lacks the handoff tool; "
            "build the HandoffChat before the agent's first run"
        )
    tools["handoff"] = tool
