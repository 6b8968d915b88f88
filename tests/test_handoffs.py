"""Handoffs: agents pass the conversation on through the handoff tool the chat gives them."""

from __future__ import annotations

import pytest
from scripted_agents import answer, call, says, turns

from codeact import CodeAgent, HandoffChat, HumanAgent, ScriptedModel, ToolCallingAgent, tool


def agent(name: str, *replies, description: str = "") -> ToolCallingAgent:
    return ToolCallingAgent(
        ScriptedModel(list(replies)), name=name, description=description or f"{name} desk"
    )


def handing_off(to: str, message: str) -> dict:
    """One reply that hands off and answers with the message for the next agent."""
    return {
        "content": None,
        "tool_calls": [
            {"name": "handoff", "arguments": {"to": to}},
            {"name": "final_answer", "arguments": {"answer": message}},
        ],
    }


def test_agents_hand_off_until_one_answers_without_a_handoff():
    triage = agent("triage", handing_off("billing", "Invoice 12 is wrong."))
    billing = agent("billing", answer("Refunded invoice 12."), description="handles invoices")
    tech = agent("tech", description="fixes problems")
    team = HandoffChat([triage, billing, tech], handoffs={triage: [billing, tech]})
    result = team.run("My invoice is wrong")
    assert turns(result) == [
        ("user", "My invoice is wrong"),
        ("triage", "Invoice 12 is wrong."),
        ("billing", "Refunded invoice 12."),
    ]
    assert result.stop_reason == "billing answered without a handoff"
    assert [t.handoff_to for t in result.turns] == ["billing", None]
    assert result.summary == "Refunded invoice 12."
    billing_task = billing.model.requests[0][1]["content"]
    assert "[triage]: Invoice 12 is wrong." in billing_task
    assert "Your answer ends the conversation." in billing_task  # billing hands off to nobody


def test_the_chat_adds_a_handoff_tool_that_names_the_targets():
    triage, billing, tech = agent("triage"), agent("billing"), agent("tech")
    HandoffChat([triage, billing, tech], handoffs={"triage": ["billing", tech]})
    handoff = triage.tools["handoff"]
    assert (
        "billing: billing desk" in handoff.description and "tech: tech desk" in handoff.description
    )
    assert "handoff" not in billing.tools
    assert handoff.to_schema()["function"]["parameters"]["required"] == ["to"]


def test_a_handoff_to_an_unknown_agent_is_an_error_the_model_sees_and_fixes():
    triage = agent(
        "triage",
        call("handoff", to="sales"),
        handing_off("billing", "Over to you."),
    )
    billing = agent("billing", answer("Done."))
    tech = agent("tech")
    result = HandoffChat([triage, billing, tech], handoffs={triage: [billing], tech: [triage]}).run(
        "help"
    )
    observation = result.turns[0].result.steps[0].observation
    assert (
        observation == "handoff: Error: cannot hand off to 'sales': triage can hand off to billing"
    )
    assert result.turns[0].result.steps[0].error is not None
    assert [t.speaker for t in result.turns] == ["triage", "billing"]


def test_a_handoff_the_graph_does_not_allow_is_refused_too():
    triage = agent("triage", call("handoff", to="tech"), answer("I'll answer myself."))
    billing, tech = agent("billing"), agent("tech")
    result = HandoffChat([triage, billing, tech], handoffs={triage: [billing]}).run("help")
    assert "cannot hand off to 'tech'" in result.turns[0].result.steps[0].observation
    assert result.stop_reason == "triage answered without a handoff"
    assert turns(result)[-1] == ("triage", "I'll answer myself.")


def test_agents_can_hand_back_and_max_turns_stops_a_ping_pong():
    a = agent("a", *[handing_off("b", f"a{i}") for i in range(5)])
    b = agent("b", *[handing_off("a", f"b{i}") for i in range(5)])
    result = HandoffChat([a, b], handoffs={a: [b], b: [a]}, max_turns=4).run("go")
    assert [n for n, _ in turns(result)] == ["user", "a", "b", "a", "b"]
    assert result.stop_reason == "max turns (4)"


def test_a_code_agent_hands_off_from_its_code():
    coder = CodeAgent(
        ScriptedModel(['```python\nhandoff("reviewer")\nfinal_answer("Please review f.")\n```']),
        sandbox="inline",
        name="coder",
    )
    reviewer = says("reviewer", "Looks fine.")
    result = HandoffChat([coder, reviewer], handoffs={coder: [reviewer]}).run("write f")
    assert turns(result)[1:] == [("coder", "Please review f."), ("reviewer", "Looks fine.")]
    assert "handoff(to: str) -> str" in coder.system_prompt()


def test_the_last_handoff_of_a_turn_wins():
    triage = agent(
        "triage",
        {
            "content": None,
            "tool_calls": [
                {"name": "handoff", "arguments": {"to": "billing"}},
                {"name": "handoff", "arguments": {"to": "Tech"}},
                {"name": "final_answer", "arguments": {"answer": "tech, please"}},
            ],
        },
    )
    tech = agent("tech", answer("fixed"))
    team = HandoffChat([triage, agent("billing"), tech], handoffs={triage: ["billing", "tech"]})
    assert team.run("x").turns[0].handoff_to == "tech"


def test_handoffs_are_checked_when_the_chat_is_built():
    a, b = agent("a"), agent("b")
    with pytest.raises(ValueError, match="cannot hand off to itself"):
        HandoffChat([a, b], handoffs={a: [a]})
    with pytest.raises(ValueError, match="handoffs name 'c', which is not in this chat"):
        HandoffChat([a, b], handoffs={a: ["c"]})
    with pytest.raises(ValueError, match="nobody may follow"):
        HandoffChat([a, b], handoffs={a: []})
    with pytest.raises(ValueError, match="handoffs= is empty"):
        HandoffChat([a, b], handoffs={})
    with pytest.raises(ValueError, match="'human' cannot hand off: it has no tools"):
        HandoffChat([HumanAgent(input_fn=str), a], handoffs={"human": [a]})


def test_an_agent_with_its_own_handoff_tool_is_refused():
    @tool
    def handoff(to: str) -> str:
        """Someone else's handoff.

        Args:
            to: Whom.
        """
        return to

    a = ToolCallingAgent(ScriptedModel([]), tools=[handoff], name="a")
    with pytest.raises(ValueError, match="already has a tool named 'handoff'"):
        HandoffChat([a, agent("b")], handoffs={a: ["b"]})


def test_a_code_agent_that_already_ran_is_refused_with_how_to_fix_it():
    coder = CodeAgent(
        ScriptedModel(["```python\nfinal_answer(1)\n```"]), sandbox="inline", name="coder"
    )
    coder.run("warm up")
    with pytest.raises(ValueError, match="build the HandoffChat before the agent's first run"):
        HandoffChat([coder, agent("b")], handoffs={coder: ["b"]})
