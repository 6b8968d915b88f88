"""Nested chats triggered by messages: an agent answers some messages by holding a chat."""

from __future__ import annotations

import pytest
from scripted_agents import says, turns

from codeact import Chat, GroupChat, NestedChats, chat
from codeact.models import TokenUsage


def test_a_matching_message_runs_the_nested_chat_and_its_summary_is_the_reply():
    editor, checker = says("editor"), says("checker", "Two facts are wrong; fix them.")
    writer = says("writer", "unused")
    reviewed = NestedChats(writer, Chat(editor, checker, max_turns=1), when="DRAFT")
    result = chat(says("author"), reviewed, "Draft: the moon is cheese.", max_turns=1)
    assert turns(result)[-1] == ("writer", "Two facts are wrong; fix them.")
    assert writer.model.requests == []  # the nested chat answered for it
    (inner,) = result.turns[0].nested
    assert turns(inner) == [
        ("editor", "Draft: the moon is cheese."),
        ("checker", "Two facts are wrong; fix them."),
    ]
    assert result.token_usage == inner.token_usage  # the nested chat's tokens count outside


def test_other_messages_get_the_agents_own_turn():
    writer = says("writer", "my own reply")
    reviewed = NestedChats(writer, Chat(says("e"), says("c")), when="draft")
    result = chat(says("author"), reviewed, "Hello there.", max_turns=1)
    assert turns(result)[-1] == ("writer", "my own reply")
    assert result.turns[0].nested == [] and result.turns[0].result.steps


def test_a_function_decides_on_the_whole_conversation():
    reviewer = says("reviewer", "plain answer")
    nested = NestedChats(
        reviewer,
        Chat(says("x"), says("y", "from the nested chat"), max_turns=1),
        when=lambda messages: messages[-1]["name"] == "coder",
    )
    group = GroupChat([says("coder", "def f(): ..."), nested, says("pm", "ship")], max_rounds=3)
    result = group.run("Build f")
    assert turns(result)[1:] == [
        ("coder", "def f(): ..."),
        ("reviewer", "from the nested chat"),
        ("pm", "ship"),
    ]


def test_several_nested_chats_run_in_order_with_carryover():
    legal = says("legal", "No legal issues.")
    first = Chat(says("ed1"), says("style", "Style is fine."), max_turns=1)
    second = Chat(says("ed2"), legal, max_turns=1)
    nested = NestedChats(says("writer"), [first, second], when=lambda m: True)
    result = chat(says("author"), nested, "Post: we won.", max_turns=1)
    assert result.summary == "No legal issues."
    assert [c.summary for c in result.turns[0].nested] == ["Style is fine.", "No legal issues."]
    legal_task = legal.model.requests[0][1]["content"]
    assert "Post: we won." in legal_task and "Style is fine." in legal_task
    usage = sum((c.token_usage for c in result.turns[0].nested), TokenUsage())
    assert result.token_usage == usage


def test_message_builds_the_nested_chats_opening():
    checker = says("checker", "ok")
    nested = NestedChats(
        says("w"),
        Chat(says("q"), checker, max_turns=1),
        when="check",
        message=lambda messages: f"Check {len(messages)} messages: " + messages[-1]["content"],
    )
    chat(says("a"), nested, "check this", max_turns=1)
    assert "[q]: Check 1 messages: check this" in checker.model.requests[0][1]["content"]


def test_the_wrapper_speaks_as_its_agent():
    writer = says("writer", description="writes posts")
    nested = NestedChats(writer, Chat(says("a"), says("b")), when="x")
    assert (nested.name, nested.description, nested.model) == (
        "writer",
        "writes posts",
        writer.model,
    )
    assert nested.tools is writer.tools


def test_nested_chats_are_checked():
    with pytest.raises(TypeError, match="chats must be"):
        NestedChats(says("a"), ["not a chat"], when="x")  # type: ignore[list-item]
    with pytest.raises(TypeError, match="when must be"):
        NestedChats(says("a"), Chat(says("b"), says("c")), when=3)  # type: ignore[arg-type]


async def test_nested_chats_run_on_the_async_path():
    nested = NestedChats(
        says("w"), Chat(says("a"), says("b", "async verdict"), max_turns=1), when="go"
    )
    result = await Chat(says("u"), nested, max_turns=1).arun("go")
    assert result.summary == "async verdict" and result.turns[0].nested
