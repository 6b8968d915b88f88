"""Conversations: two-agent chat, group chat and speaker selection, nested chats, termination."""

from __future__ import annotations

import pytest

from codeact import (
    ChatResult,
    CodeAgent,
    GroupChat,
    HumanAgent,
    MaxTurns,
    ScriptedModel,
    TextMention,
    Timeout,
    TokenBudget,
    ToolCallingAgent,
    chat,
)
from codeact.models import TokenUsage
from codeact.teams import Chat, ChatState


def says(name: str, *messages: str, description: str = "") -> ToolCallingAgent:
    """An agent whose turns answer with the given messages, in order."""
    replies = [
        {"content": None, "tool_calls": [{"name": "final_answer", "arguments": {"answer": m}}]}
        for m in messages
    ]
    return ToolCallingAgent(
        ScriptedModel(replies), name=name, description=description or f"{name} agent"
    )


def test_two_agents_alternate_until_max_turns():
    writer = says("writer", "draft 1", "draft 2", "draft 3")
    critic = says("critic", "too long", "better")
    result = chat(writer, critic, "Write a haiku.", max_turns=4)
    assert isinstance(result, ChatResult)
    assert [(m["name"], m["content"]) for m in result.messages] == [
        ("writer", "Write a haiku."),
        ("critic", "too long"),
        ("writer", "draft 1"),
        ("critic", "better"),
        ("writer", "draft 2"),
    ]
    assert result.summary == "draft 2"
    assert result.stop_reason == "max turns (4)"


def test_each_turn_is_a_run_on_the_conversation_so_far():
    critic = says("critic", "ok")
    writer = says("writer")
    chat(writer, critic, "Review my poem: rain on the roof.", max_turns=1)
    task = critic.model.requests[0][1]["content"]
    assert "You are critic (critic agent) in a conversation with writer." in task
    assert "[writer]: Review my poem: rain on the roof." in task


def test_text_mention_ends_the_chat():
    a = says("a", "still thinking", "never said")
    b = says("b", "hmm", "Looks good. APPROVED")
    result = chat(a, b, "go", until=TextMention("approved"))
    assert result.messages[-1]["content"] == "Looks good. APPROVED"
    assert result.stop_reason == "mentioned 'approved'"
    assert len(result.messages) == 4


def test_conditions_compose_with_or_and_and():
    state = ChatState(
        [{"name": "a", "content": "DONE"}], turns=3, started=0.0, token_usage=TokenUsage(10, 5)
    )
    assert (MaxTurns(5) | TextMention("DONE")).check(state) == "mentioned 'DONE'"
    assert (MaxTurns(5) & TextMention("DONE")).check(state) is None
    assert (MaxTurns(3) & TextMention("DONE")).check(state) == "max turns (3) and mentioned 'DONE'"
    assert (TokenBudget(15) | MaxTurns(9) | TextMention("x")).check(
        state
    ) == "token budget (15 >= 15)"
    assert Timeout(0).check(state).startswith("timeout")


def test_token_budget_stops_a_chat():
    a = says("a", *["word " * 40] * 5)
    b = says("b", *["word " * 40] * 5)
    result = chat(a, b, "go", max_turns=10, until=TokenBudget(1))
    assert len(result.messages) == 2 and result.stop_reason.startswith("token budget")
    assert result.token_usage.total_tokens > 0


def test_timeout_stops_a_chat():
    result = chat(says("a", "x"), says("b", "y", "z"), "go", max_turns=10, until=Timeout(0))
    assert result.stop_reason == "timeout (0 s)" and len(result.messages) == 2


def test_group_chat_round_robin():
    group = GroupChat([says("a", "a1", "a2"), says("b", "b1"), says("c", "c1")], max_rounds=4)
    result = group.run("plan a trip")
    assert [m["name"] for m in result.messages] == ["user", "a", "b", "c", "a"]
    assert result.summary == "a2"


def test_group_chat_callable_selector_gets_messages_and_agents():
    seen = []

    def last_word_picks(messages, agents):
        seen.append(len(messages))
        return agents[1] if messages[-1]["content"].endswith("b") else agents[0]

    group = GroupChat(
        [says("a", "to b", "end"), says("b", "to a")], select=last_word_picks, max_rounds=3
    )
    result = group.run("start")
    assert [m["name"] for m in result.messages] == ["user", "a", "b", "a"]
    assert seen == [1, 2, 3]


def test_group_chat_auto_asks_the_model_and_falls_back_on_nonsense():
    picker = ScriptedModel(["coder", "I think the reviewer should go", "banana"])
    coder = says("coder", "def f(): ...", "fixed", description="writes code")
    reviewer = says("reviewer", "needs tests", description="reviews code")
    group = GroupChat([coder, reviewer], select="auto", model=picker, max_rounds=3)
    result = group.run("write f")
    assert [m["name"] for m in result.messages] == ["user", "coder", "reviewer", "coder"]
    assert group.fallbacks == 1  # "banana" named nobody: round-robin picked turn 2 -> coder
    prompt = picker.requests[0][0]["content"]
    assert "- coder: writes code" in prompt and "- reviewer: reviews code" in prompt


def test_group_chat_validates_its_configuration():
    with pytest.raises(ValueError, match="needs model="):
        GroupChat([says("a")], select="auto")
    with pytest.raises(ValueError, match="unknown select"):
        GroupChat([says("a")], select="loudest")
    with pytest.raises(ValueError, match="distinct names"):
        GroupChat([says("a"), says("a")]).run("x")


def test_human_agent_takes_part():
    answers = iter(["yes, ship it"])
    human = HumanAgent(input_fn=lambda prompt: next(answers))
    result = chat(says("bot", "unused"), human, "Ship it?", max_turns=1)
    assert result.messages[-1] == {"name": "human", "content": "yes, ship it"}


def test_nested_group_chat_as_a_tool_of_a_code_agent():
    inner = GroupChat([says("pro", "Pros: fast."), says("con", "Cons: risky.")], max_rounds=2)
    tool = inner.as_tool("debate", "Debate a question and return the conclusion.")
    boss = CodeAgent(
        ScriptedModel(["```python\nfinal_answer(debate(task='Should we?'))\n```"]),
        tools=[tool],
        sandbox="inline",
    )
    assert boss.run("decide").output == "Cons: risky."


def test_two_agent_chat_as_a_tool():
    nested = Chat(says("a"), says("b", "b's view"), max_turns=1).as_tool("ask_b", "Ask b.")
    assert nested(task="what do you think?") == "b's view"


def test_a_failing_agent_ends_the_chat_with_the_reason():
    result = chat(says("a"), says("b"), "go")  # b's script is empty: its run ends in error
    assert result.stop_reason.startswith("b failed: ") and "ran out" in result.stop_reason
    assert len(result.messages) == 1
