"""Group chats: every select rule, auto selection that asks again, and transition graphs."""

from __future__ import annotations

import pytest
from scripted_agents import says

from codeact import GroupChat, ScriptedModel
from codeact.models import TokenUsage


def names(result) -> list[str]:
    return [m["name"] for m in result.messages]


def test_round_robin():
    group = GroupChat([says("a", "a1", "a2"), says("b", "b1"), says("c", "c1")], max_rounds=4)
    result = group.run("plan a trip")
    assert names(result) == ["user", "a", "b", "c", "a"]
    assert result.summary == "a2"


def test_random_is_reproducible_with_a_seed():
    def run(seed: int) -> list[str]:
        agents = [says(n, *[f"{n}{i}" for i in range(8)]) for n in ("a", "b", "c")]
        return names(GroupChat(agents, select="random", seed=seed, max_rounds=8).run("go"))

    assert run(7) == run(7)
    assert len(set(run(7)[1:])) > 1  # it does pick different agents


def test_callable_selector_gets_messages_and_candidates():
    seen = []

    def last_word_picks(messages, agents):
        seen.append(len(messages))
        return agents[1] if messages[-1]["content"].endswith("b") else agents[0]

    group = GroupChat(
        [says("a", "to b", "end"), says("b", "to a")], select=last_word_picks, max_rounds=3
    )
    assert names(group.run("start")) == ["user", "a", "b", "a"]
    assert seen == [1, 2, 3]


def test_a_callable_selector_returning_a_stranger_is_an_error():
    group = GroupChat([says("a", "x")], select=lambda messages, agents: says("z"))
    with pytest.raises(ValueError, match="not in this group chat"):
        group.run("go")


def test_auto_asks_the_model_and_shows_it_the_descriptions():
    picker = ScriptedModel(["coder", "`reviewer`"])
    coder = says("coder", "def f(): ...", description="writes code")
    reviewer = says("reviewer", "needs tests", description="reviews code")
    group = GroupChat([coder, reviewer], select="auto", model=picker, max_rounds=2)
    assert names(group.run("write f")) == ["user", "coder", "reviewer"]
    prompt = picker.requests[0][0]["content"]
    assert "- coder: writes code" in prompt and "- reviewer: reviews code" in prompt
    assert "[user]: write f" in prompt and group.fallbacks == 0


def test_auto_asks_again_with_the_reason_when_the_answer_names_no_agent_or_several():
    picker = ScriptedModel(["the tester", "coder or reviewer", "Reviewer."])
    group = GroupChat(
        [says("coder"), says("reviewer", "lgtm")], select="auto", model=picker, max_rounds=1
    )
    result = group.run("review f")
    assert names(result) == ["user", "reviewer"] and group.fallbacks == 0
    retry = picker.requests[2]
    assert retry[1] == {"role": "assistant", "content": "the tester"}
    assert retry[2]["content"] == (
        "Your answer 'the tester' names no agent of this chat. "
        "Reply with one name only: coder, reviewer."
    )
    assert retry[4]["content"].startswith("Your answer names several agents (coder, reviewer).")


def test_auto_falls_back_to_round_robin_after_the_retries():
    picker = ScriptedModel(["tester", "nobody", "banana"])  # a missing agent, then nonsense
    group = GroupChat(
        [says("coder", "code"), says("reviewer")],
        select="auto",
        model=picker,
        max_rounds=1,
        select_retries=2,
    )
    result = group.run("go")
    assert names(result) == ["user", "coder"] and group.fallbacks == 1
    assert len(picker.requests) == 3


def test_auto_falls_back_when_the_selector_model_fails():
    group = GroupChat(
        [says("a", "a1"), says("b")], select="auto", model=ScriptedModel([]), max_rounds=1
    )
    assert names(group.run("go")) == ["user", "a"] and group.fallbacks == 1


def test_the_selectors_tokens_count_in_the_chat_totals():
    picker = ScriptedModel(["b", "a"])
    group = GroupChat([says("a", "a1"), says("b", "b1")], select="auto", model=picker, max_rounds=2)
    result = group.run("go")
    turns_usage = sum((t.result.token_usage for t in result.turns), TokenUsage())
    selector_usage = result.token_usage.total_tokens - turns_usage.total_tokens
    assert selector_usage > 0
    # ScriptedModel estimates ~4 characters a token: the two prompts dominate the count
    prompt_chars = sum(len(r[0]["content"]) for r in picker.requests)
    assert abs(selector_usage - prompt_chars / 4) <= 4


# --- transitions -----------------------------------------------------------------------------


def test_transitions_constrain_round_robin():
    a, b, c = says("a", "a1", "a2"), says("b", "b1"), says("c", "c1", "c2")
    group = GroupChat([a, b, c], transitions={a: [c]}, max_rounds=4)
    assert names(group.run("go")) == ["user", "a", "c", "a", "c"]  # b may not follow a


def test_transitions_constrain_random():
    agents = [says(n, *[f"{n}{i}" for i in range(12)]) for n in ("a", "b", "c")]
    group = GroupChat(
        agents, select="random", seed=3, transitions={"a": ["b"], "b": ["c"]}, max_rounds=12
    )
    spoken = names(group.run("go"))[1:]
    pairs = list(zip(spoken, spoken[1:], strict=False))
    assert all(nxt == "b" for prev, nxt in pairs if prev == "a")
    assert all(nxt == "c" for prev, nxt in pairs if prev == "b")
    assert ("a", "b") in pairs


def test_transitions_give_a_callable_selector_only_the_candidates():
    seen = []

    def first(messages, candidates):
        seen.append([c.name for c in candidates])
        return candidates[0]

    group = GroupChat(
        [says("a", "a1"), says("b"), says("c", "c1")],
        select=first,
        transitions={"a": ["c"]},
        max_rounds=2,
    )
    assert names(group.run("go")) == ["user", "a", "c"]
    assert seen == [["a", "b", "c"], ["c"]]


def test_a_callable_selector_picking_a_forbidden_agent_is_an_error():
    a, b = says("a", "a1"), says("b", "b1")
    group = GroupChat(
        [a, b, says("c")],
        select=lambda messages, candidates: a if len(messages) == 1 else b,
        transitions={a: ["c"]},
    )
    with pytest.raises(ValueError, match="transitions let only c speak after 'a'"):
        group.run("go")


def test_transitions_constrain_auto_and_a_forbidden_pick_is_asked_again():
    picker = ScriptedModel(["coder", "coder", "tester"])
    coder, reviewer, tester = says("coder", "code"), says("reviewer"), says("tester", "tests")
    group = GroupChat(
        [coder, reviewer, tester],
        select="auto",
        model=picker,
        transitions={coder: [reviewer, tester]},
        max_rounds=2,
    )
    assert names(group.run("go")) == ["user", "coder", "tester"]
    second = picker.requests[1][0]["content"]
    assert "- coder" not in second and "- reviewer" in second and "- tester" in second
    assert picker.requests[2][-1]["content"].startswith("coder may not speak after coder.")


def test_auto_does_not_ask_when_only_one_agent_may_speak():
    picker = ScriptedModel(["a"])
    a, b = says("a", "a1"), says("b", "b1")
    group = GroupChat([a, b], select="auto", model=picker, transitions={a: [b]}, max_rounds=2)
    assert names(group.run("go")) == ["user", "a", "b"]
    assert len(picker.requests) == 1


def test_a_transition_graph_is_checked_when_the_chat_is_built():
    a, b = says("a"), says("b")
    with pytest.raises(ValueError, match="nobody may follow 'a'"):
        GroupChat([a, b], transitions={a: []})
    with pytest.raises(ValueError, match=r"transitions name 'z', which is not in this chat"):
        GroupChat([a, b], transitions={a: ["z"]})
    with pytest.raises(ValueError, match="transitions name"):
        GroupChat([a, b], transitions={says("stranger"): [a]})
    with pytest.raises(ValueError, match="must be a list"):
        GroupChat([a, b], transitions={a: "b"})


def test_group_chat_validates_its_configuration():
    with pytest.raises(ValueError, match="needs model="):
        GroupChat([says("a")], select="auto")
    with pytest.raises(ValueError, match="unknown select"):
        GroupChat([says("a")], select="loudest")
    with pytest.raises(ValueError, match="distinct names"):
        GroupChat([says("a"), says("a")])
    with pytest.raises(ValueError, match="at least one agent"):
        GroupChat([])
