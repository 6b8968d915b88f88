"""Conversations: two-agent chat, termination, summaries, results, humans, sequential chats."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import pytest
from scripted_agents import answer, call, says, turns

from codeact import (
    ChatResult,
    CodeAgent,
    GroupChat,
    HumanAgent,
    LiteLLMModel,
    MaxTurns,
    ModelConfigError,
    RunResult,
    ScriptedModel,
    TextMention,
    Timeout,
    TokenBudget,
    ToolCallingAgent,
    chat,
    current_turn,
    sequential_chats,
    tool,
)
from codeact.models import TokenUsage
from codeact.teams import Chat, ChatState, NestedChats

if TYPE_CHECKING:
    from openai_server import OpenAIServer

pytest_plugins = ["openai_server"]


def test_two_agents_alternate_until_max_turns():
    writer = says("writer", "draft 1", "draft 2", "draft 3")
    critic = says("critic", "too long", "better")
    result = chat(writer, critic, "Write a haiku.", max_turns=4)
    assert isinstance(result, ChatResult)
    assert turns(result) == [
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


def test_each_turns_run_result_is_reachable():
    result = chat(says("a", "a1"), says("b", "b1", "b2"), "go", max_turns=3)
    assert [(t.index, t.speaker, t.content) for t in result.turns] == [
        (1, "b", "b1"),
        (2, "a", "a1"),
        (3, "b", "b2"),
    ]
    first = result.turns[0].result
    assert isinstance(first, RunResult) and first.state == "success" and first.output == "b1"
    assert first.steps[0].tool_calls[0].name == "final_answer"
    assert "[a]: go" in first.task
    assert sum((t.result.token_usage for t in result.turns), TokenUsage()) == result.token_usage


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


def test_a_timeout_that_expires_during_a_turn_keeps_the_turn_and_ends_the_chat():
    @tool
    def slow_lookup(query: str) -> str:
        """Look something up, slowly.

        Args:
            query: What to look up.
        """
        time.sleep(0.5)
        return "found it"

    slow = ToolCallingAgent(
        ScriptedModel([call("slow_lookup", query="x"), answer("the answer is 42")]),
        tools=[slow_lookup],
        name="slow",
    )
    other = says("other", "never sent")
    started = time.monotonic()
    result = chat(other, slow, "go", max_turns=5, until=Timeout(0.2))
    assert result.stop_reason == "timeout (0.2 s)"
    assert turns(result)[-1] == ("slow", "the answer is 42")  # the running turn finished
    assert other.model.requests == []  # and nobody spoke after the deadline
    assert time.monotonic() - started < 5


def test_a_failing_agent_ends_the_chat_with_the_reason():
    result = chat(says("a"), says("b"), "go")  # b's script is empty: its run ends in error
    assert result.stop_reason.startswith("b failed: ") and "ran out" in result.stop_reason
    assert len(result.messages) == 1 and result.turns == []


# --- summaries -------------------------------------------------------------------------------


def test_last_summary_strips_the_word_that_ended_the_chat():
    a = says("a", "unused")
    b = says("b", "Ship it on Friday. APPROVED.")
    result = chat(a, b, "When?", until=TextMention("approved"))
    assert result.summary == "Ship it on Friday."
    assert result.messages[-1]["content"] == "Ship it on Friday. APPROVED."


def test_last_summary_skips_a_message_that_is_only_the_termination_word():
    a = says("a", "TERMINATE")
    b = says("b", "Final plan: two sprints.")
    result = chat(a, b, "Plan?", until=TextMention("TERMINATE", case_sensitive=True))
    assert result.messages[-1]["content"] == "TERMINATE"
    assert result.summary == "Final plan: two sprints."


def test_reflection_summary_is_written_by_the_summary_model_with_its_prompt():
    summariser = ScriptedModel(["They agreed on Friday."])
    result = chat(
        says("a", "Friday then."),
        says("b", "Thursday?", "Fine."),
        "When do we ship?",
        max_turns=3,
        summary="reflection",
        summary_model=summariser,
        summary_prompt="In one line: what was decided?",
    )
    assert result.summary == "They agreed on Friday."
    sent = summariser.requests[0][-1]["content"]
    assert "[a]: When do we ship?" in sent and "[b]: Fine." in sent
    assert sent.endswith("In one line: what was decided?")
    turns_usage = sum((t.result.token_usage for t in result.turns), TokenUsage())
    assert result.token_usage.total_tokens > turns_usage.total_tokens  # the summariser counted


def test_reflection_in_a_chat_defaults_to_the_opening_agents_model():
    opener = ToolCallingAgent(
        ScriptedModel([answer("agreed"), "Summary: both agreed."]), name="opener"
    )
    result = chat(opener, says("other", "ok?"), "deal?", max_turns=2, summary="reflection")
    assert result.summary == "Summary: both agreed."


def test_reflection_in_a_group_chat_defaults_to_its_model():
    picker = ScriptedModel(["a", "The group concluded: a1."])
    group = GroupChat(
        [says("a", "a1"), says("b")],
        select="auto",
        model=picker,
        max_rounds=1,
        summary="reflection",
    )
    assert group.run("x").summary == "The group concluded: a1."
    assert len(picker.requests) == 2


def test_a_failing_summary_model_falls_back_to_the_last_message():
    result = chat(
        says("a"), says("b", "done"), "go", max_turns=1, summary="reflection",
        summary_model=ScriptedModel([]),
    )  # fmt: skip
    assert result.summary == "done"
    assert "summary model failed" in result.summary_error and "ran out" in result.summary_error


def test_a_function_can_summarise():
    result = chat(says("a"), says("b", "x"), "go", max_turns=1, summary=lambda m: str(len(m)))
    assert result.summary == "2"


def test_turn_limits_are_checked_when_the_chat_is_built():
    with pytest.raises(ValueError, match="max_turns must be a whole number of turns, at least 1"):
        Chat(says("a"), says("b"), max_turns=0)
    with pytest.raises(ValueError, match="max_rounds must be"):
        GroupChat([says("a")], max_rounds=-1)


def test_summary_options_are_checked_when_the_chat_is_built():
    human = HumanAgent(input_fn=lambda prompt: "")
    with pytest.raises(ValueError, match="needs summary_model="):
        Chat(human, HumanAgent("other", input_fn=lambda p: ""), summary="reflection")
    with pytest.raises(ValueError, match="unknown summary 'first'"):
        Chat(says("a"), says("b"), summary="first")
    with pytest.raises(ValueError, match="needs summary_model="):
        GroupChat([says("a")], summary="reflection")


# --- the result ------------------------------------------------------------------------------


def test_str_of_a_chat_result_is_a_short_summary():
    result = chat(says("a", "a1"), says("b", "b1", "b2 " * 200), "go", max_turns=3)
    text = str(result)
    first, second = text.splitlines()
    assert first.startswith("3 turns (b ×2, a) · stopped: max turns (3) · ")
    assert f"{result.token_usage.total_tokens} tokens" in first and "$" not in first
    assert second.startswith("summary: b2 b2") and second.endswith("…") and len(second) < 220


def test_cost_sums_the_turns_selector_and_summariser(openai_server: OpenAIServer):
    def priced(content: str) -> None:
        openai_server.complete(
            content=content, model="gpt-4o-mini", prompt_tokens=1000, completion_tokens=1
        )

    model = LiteLLMModel("openai/gpt-4o-mini", api_base=openai_server.url, backoff=0.01)
    priced("ok")
    one_call = model.generate([{"role": "user", "content": "price check"}])
    assert one_call.cost_usd and one_call.cost_usd > 0
    priced("b")  # the selector picks b
    openai_server.complete(
        None,
        [{"name": "final_answer", "arguments": {"answer": "b's answer"}}],
        model="gpt-4o-mini",
        prompt_tokens=1000,
        completion_tokens=1,
    )  # b's turn
    priced("b answered.")  # the summary
    b = ToolCallingAgent(model, name="b")
    group = GroupChat(
        [says("a"), b], select="auto", model=model, max_rounds=1, summary="reflection"
    )
    result = group.run("go")
    assert result.turns[0].speaker == "b" and result.summary == "b answered."
    assert result.cost_usd == pytest.approx(3 * one_call.cost_usd)
    assert result.token_usage == TokenUsage(3000, 3)
    assert f"${result.cost_usd:.4f}" in str(result)


def test_cost_is_none_when_no_price_is_known():
    assert chat(says("a"), says("b", "x"), "go", max_turns=1).cost_usd is None


# --- humans ----------------------------------------------------------------------------------


def test_human_agent_takes_part():
    answers = iter(["yes, ship it"])
    human = HumanAgent(input_fn=lambda prompt: next(answers))
    result = chat(says("bot", "unused"), human, "Ship it?", max_turns=1)
    assert result.messages[-1] == {"name": "human", "content": "yes, ship it"}


def test_a_human_sees_the_conversation_and_a_prompt_nothing_else():
    prompts: list[str] = []
    replies = iter(["first", "second"])

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return next(replies)

    human = HumanAgent("ann", input_fn=ask)
    chat(says("bot", "bot says hi", "unused"), human, "Hello Ann.", max_turns=3)
    assert prompts == [
        "[bot]: Hello Ann.\nann> ",
        "[bot]: bot says hi\nann> ",  # only what is new since Ann spoke
    ]


# --- sequential chats ------------------------------------------------------------------------


def test_sequential_chats_carry_earlier_summaries_into_later_ones():
    researcher = says("researcher", "Germany, France, Italy.")
    writer = says("writer", "The three largest are Germany, France and Italy.")
    user = says("user")
    results = sequential_chats(
        [
            (Chat(user, researcher, max_turns=1), "Name the three largest EU economies."),
            (Chat(user, writer, max_turns=1), "Write one sentence about them."),
        ],
        carryover=["Audience: schoolchildren."],
    )
    assert [r.summary for r in results] == [
        "Germany, France, Italy.",
        "The three largest are Germany, France and Italy.",
    ]
    first, second = results[0].messages[0]["content"], results[1].messages[0]["content"]
    assert first.startswith("Name the three largest EU economies.")
    assert "Audience: schoolchildren." in first and "Germany" not in first
    assert second.startswith("Write one sentence about them.\n\nContext from earlier")
    assert "Audience: schoolchildren.\n\nGermany, France, Italy." in second


def test_sequential_chats_take_any_team_and_check_their_steps():
    group = GroupChat([says("a", "from the group")], max_rounds=1)
    (result,) = sequential_chats([(group, "go")])
    assert result.summary == "from the group"
    with pytest.raises(TypeError, match=r"each step is \(team, message\)"):
        sequential_chats([group])  # type: ignore[list-item]


# --- nesting and what a turn knows about itself ----------------------------------------------


def test_nested_group_chat_as_a_tool_of_a_code_agent():
    inner = GroupChat([says("pro", "Pros: fast."), says("con", "Cons: risky.")], max_rounds=2)
    tool_ = inner.as_tool("debate", "Debate a question and return the conclusion.")
    boss = CodeAgent(
        ScriptedModel(["```python\nfinal_answer(debate(task='Should we?'))\n```"]),
        tools=[tool_],
        sandbox="inline",
    )
    assert boss.run("decide").output == "Cons: risky."


def test_two_agent_chat_as_a_tool():
    nested = Chat(says("a"), says("b", "b's view"), max_turns=1).as_tool("ask_b", "Ask b.")
    assert nested(task="what do you think?") == "b's view"


def test_steps_and_turn_callbacks_know_the_chat_turn_and_speaker():
    seen: list[tuple] = []

    def on_step(step):
        info = current_turn()
        seen.append((info.chat, info.turn, info.speaker, info.depth, step.index))

    a, b = says("a", "a1"), says("b", "b1", "b2")
    for agent in (a, b):
        agent.step_callbacks.append(on_step)
    ended = []
    result = Chat(a, b, max_turns=3, name="pair", turn_callbacks=[ended.append]).run("go")
    assert seen == [("pair", 1, "b", 0, 1), ("pair", 2, "a", 0, 1), ("pair", 3, "b", 0, 1)]
    assert ended == result.turns
    assert current_turn() is None


def test_a_nested_chats_turns_know_the_turn_they_run_in():
    seen = []
    inner_b = says("inner_b", "inner verdict")
    inner_b.step_callbacks.append(lambda step: seen.append(current_turn()))
    reviewer = NestedChats(
        says("reviewer"), Chat(says("inner_a"), inner_b, max_turns=1, name="inner"), when="x"
    )
    chat(says("author"), reviewer, "x marks the spot", max_turns=1)
    (info,) = seen
    assert (info.chat, info.turn, info.speaker, info.depth) == ("inner", 1, "inner_b", 1)
    assert (info.parent.chat, info.parent.turn, info.parent.speaker) == ("chat", 1, "reviewer")


def test_an_unreachable_model_ends_the_chat_with_the_reason(openai_server: OpenAIServer):
    openai_server.fail(400, "messages[0].role is invalid", type="invalid_request_error")
    model = LiteLLMModel(openai_server.model_id, api_base=openai_server.url, backoff=0.01)
    result = chat(says("a"), ToolCallingAgent(model, name="b"), "go")
    assert result.stop_reason.startswith("b failed: ") and "role is invalid" in result.stop_reason
    assert result.turns == [] and len(result.messages) == 1


def test_a_misconfigured_model_is_raised_and_the_checkpoint_keeps_the_chat(
    openai_server: OpenAIServer, tmp_path
):
    openai_server.fail(401, "Incorrect API key provided", code="invalid_api_key")
    model = LiteLLMModel(openai_server.model_id, api_base=openai_server.url, backoff=0.01)
    path = tmp_path / "chat.json"
    with pytest.raises(ModelConfigError, match="api_key="):
        chat(ToolCallingAgent(model, name="a"), says("b", "b1"), "go", checkpoint=path)
    assert [m["content"] for m in json.loads(path.read_text())["messages"]] == ["go", "b1"]
