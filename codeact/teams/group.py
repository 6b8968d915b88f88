"""Several agents on one conversation, a rule picking who speaks next, and a graph of who may.

``select`` picks among the candidates: every agent, or, with ``transitions``, those allowed to
speak after the last speaker. ``"auto"`` asks a model; an answer that names no candidate, or
several, is sent back with the reason (up to ``select_retries`` times) before round robin
decides. The selector's tokens and cost count in the chat's totals.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any

from codeact.models import Model, ModelConfigError, ModelError
from codeact.teams import summary as summaries
from codeact.teams.checkpoint import CheckpointPath
from codeact.teams.conversation import Conversation, Speaker, TurnCallback, model_call, turn_limit
from codeact.teams.result import ChatResult, Turn, add_cost
from codeact.teams.termination import ChatState, Termination

Selector = Callable[[list[dict[str, str]], Sequence[Speaker]], Speaker]
Transitions = Mapping[Any, Sequence[Any]]

SELECT_PROMPT = (
    "These agents work together on a conversation:\n{roster}\n\n"
    "The conversation so far:\n\n{transcript}\n\n"
    "Who should speak next? Reply with one name only, one of: {names}."
)


class GroupChat(Conversation):
    """Several agents on one conversation; ``select`` picks who speaks next.

    ``select`` is ``"round_robin"`` (the next candidate after the last speaker, in the order
    of ``agents``), ``"random"``, ``"auto"`` (``model`` reads the candidates' descriptions and
    names one), or a callable ``(messages, candidates) -> agent``.

    ``transitions={agent_or_name: [agent_or_name, ...]}`` says who may speak after whom, for
    every ``select`` rule; an agent left out may be followed by anyone. ``summary`` is as for
    ``Chat``; ``summary_model`` defaults to ``model``.
    """

    kind = "group_chat"

    def __init__(
        self,
        agents: Sequence[Speaker],
        *,
        select: str | Selector = "round_robin",
        model: Model | None = None,
        until: Termination | None = None,
        max_rounds: int = 10,
        seed: int | None = None,
        transitions: Transitions | None = None,
        select_retries: int = 2,
        summary: summaries.Summary = "last",
        summary_model: Model | None = None,
        summary_prompt: str = summaries.SUMMARY_PROMPT,
        turn_callbacks: Sequence[TurnCallback] = (),
        name: str = "group_chat",
    ) -> None:
        if not agents:
            raise ValueError("a group chat needs at least one agent")
        if select == "auto" and model is None:
            raise ValueError('select="auto" needs model= (the model that picks speakers)')
        if isinstance(select, str) and select not in ("round_robin", "random", "auto"):
            raise ValueError(
                f"unknown select {select!r}; use round_robin, random, auto or a "
                "callable (messages, agents) -> agent"
            )
        if select_retries < 0:
            raise ValueError("select_retries must be 0 or more")
        super().__init__(
            agents,
            until=until,
            limit=turn_limit("max_rounds", max_rounds),
            summary=summary,
            summary_model=summary_model or model,
            summary_prompt=summary_prompt,
            turn_callbacks=turn_callbacks,
            name=name,
        )
        self.agents = self.speakers
        self.select, self.model = select, model
        self.max_rounds, self.select_retries = max_rounds, select_retries
        self.transitions = resolve_graph(self.agents, transitions or {}, "transitions")
        self._random = random.Random(seed)
        self.fallbacks = 0  # times "auto" fell back to round robin

    def run(self, task: str, *, checkpoint: CheckpointPath | None = None) -> ChatResult:
        """Start the conversation with ``task`` (from "user") and let the agents work on it.
        ``checkpoint``: a JSON file the chat is saved to after every turn and resumed from."""
        return super().run(task, checkpoint=checkpoint)

    def candidates(self, last: str) -> list[Speaker]:
        """Who may speak after ``last`` (every agent unless ``transitions`` say otherwise)."""
        allowed = self.transitions.get(last)
        return self.agents if allowed is None else [a for a in self.agents if a.name in allowed]

    def _pick(self, state: ChatState, turns: list[Turn]) -> Speaker | Generator[Any, Any, Speaker]:
        last = state.messages[-1]["name"] if state.turns else ""
        candidates = self.candidates(last)
        if callable(self.select):
            return self._call_selector(state.messages, candidates, last)
        if self.select == "random":
            return self._random.choice(candidates)
        if self.select == "auto" and len(candidates) > 1:
            return self._ask_model(state, candidates, last)
        return self._round_robin(candidates, last)

    def _round_robin(self, candidates: list[Speaker], last: str) -> Speaker:
        order = [a.name for a in self.agents]
        start = order.index(last) + 1 if last in order else 0
        rotated = order[start:] + order[:start]
        return next(a for name in rotated for a in candidates if a.name == name)

    def _call_selector(
        self, messages: list[dict[str, str]], candidates: list[Speaker], last: str
    ) -> Speaker:
        assert callable(self.select)
        chosen = self.select(list(messages), list(candidates))
        if any(chosen is c for c in candidates):
            return chosen
        if any(chosen is a for a in self.agents):
            allowed = ", ".join(c.name for c in candidates)
            raise ValueError(
                f"select returned {chosen.name!r}, but transitions let only {allowed} speak "
                f"after {last!r}; return one of the candidates it is given"
            )
        raise ValueError(f"select returned {chosen!r}, which is not in this group chat")

    def _ask_model(
        self, state: ChatState, candidates: list[Speaker], last: str
    ) -> Generator[Any, Any, Speaker]:
        assert self.model is not None
        names = ", ".join(c.name for c in candidates)
        prompt = SELECT_PROMPT.format(
            roster="\n".join(f"- {c.name}: {c.description}" for c in candidates),
            transcript=summaries.transcript(state.messages),
            names=names,
        )
        request: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
        for _ in range(self.select_retries + 1):
            try:
                reply = yield model_call(self.model, request)
            except ModelConfigError:
                raise
            except ModelError:
                break
            state.token_usage = state.token_usage + reply.usage
            state.cost_usd = add_cost(state.cost_usd, reply.cost_usd)
            answer = reply.content or ""
            chosen, problem = self._read_answer(answer, candidates, last)
            if chosen is not None:
                return chosen
            request += [
                {"role": "assistant", "content": answer},
                {"role": "user", "content": f"{problem} Reply with one name only: {names}."},
            ]
        self.fallbacks += 1
        return self._round_robin(candidates, last)

    def _read_answer(
        self, answer: str, candidates: list[Speaker], last: str
    ) -> tuple[Speaker | None, str]:
        """The agent the answer names, or ``None`` and what was wrong with it."""
        text = answer.strip().strip("`'\".*").strip().lower()
        by_name = {a.name.lower(): a for a in self.agents}
        named = [by_name[text]] if text in by_name else _mentioned(text, self.agents)
        if not named:
            return None, f"Your answer {answer.strip()[:80]!r} names no agent of this chat."
        if len(named) > 1:
            return None, f"Your answer names several agents ({', '.join(a.name for a in named)})."
        if not any(named[0] is c for c in candidates):
            return None, f"{named[0].name} may not speak after {last}."
        return named[0], ""

    def _saved(self) -> dict[str, Any]:
        version, internal, gauss = self._random.getstate()
        return {"random": [version, list(internal), gauss]}

    def _restore(self, saved: dict[str, Any]) -> None:
        if "random" in saved:
            version, internal, gauss = saved["random"]
            self._random.setstate((version, tuple(internal), gauss))


def _mentioned(text: str, agents: Sequence[Speaker]) -> list[Speaker]:
    return [
        a
        for a in agents
        if re.search(rf"(?<![\w-]){re.escape(a.name.lower())}(?![\w-])", text) is not None
    ]


def resolve_graph(
    agents: Sequence[Speaker], graph: Mapping[Any, Sequence[Any]], what: str
) -> dict[str, list[str]]:
    """``{agent_or_name: [agent_or_name, ...]}`` as names, checked against ``agents``."""
    names = [a.name for a in agents]

    def name_of(item: Any) -> str:
        name = item if isinstance(item, str) else getattr(item, "name", None)
        if name not in names:
            raise ValueError(
                f"{what} name {item!r}, which is not in this chat (agents: {', '.join(names)})"
            )
        return name

    resolved: dict[str, list[str]] = {}
    for key, targets in graph.items():
        source = name_of(key)
        if isinstance(targets, (str, bytes)) or not isinstance(targets, Sequence):
            raise ValueError(f"{what}[{source!r}] must be a list of agents or names")
        resolved[source] = [name_of(t) for t in targets]
        if not resolved[source]:
            raise ValueError(
                f"{what}: nobody may follow {source!r}; list at least one agent, or leave "
                f"{source!r} out to let anyone follow it"
            )
    return resolved
