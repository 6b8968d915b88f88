"""The async path: every team's ``arun`` takes turns with the agents' ``arun`` and asks its
models with ``agenerate``."""

from __future__ import annotations

import asyncio
import threading

from scripted_agents import AsyncOnlyModel, async_says, says, turns

from codeact import (
    Chat,
    GroupChat,
    HandoffChat,
    HumanAgent,
    RunResult,
    TextMention,
    ToolCallingAgent,
    achat,
    asequential_chats,
    chat,
)
from codeact.models import TokenUsage


async def test_achat_gives_what_chat_gives():
    def pair():
        return says("a", "a1", "a2"), says("b", "b1", "APPROVED")

    expected = chat(*pair(), "go", until=TextMention("approved"))
    result = await achat(*pair(), "go", until=TextMention("approved"))
    assert turns(result) == turns(expected) and result.stop_reason == expected.stop_reason


async def test_async_group_chat_selects_and_summarises_with_agenerate():
    picker = AsyncOnlyModel(["b", "a", "They finished."])
    group = GroupChat(
        [async_says("a", "a1"), async_says("b", "b1")],
        select="auto",
        model=picker,
        max_rounds=2,
        summary="reflection",
    )
    result = await group.arun("go")
    assert turns(result)[1:] == [("b", "b1"), ("a", "a1")]
    assert result.summary == "They finished." and len(picker.inner.requests) == 3


async def test_async_handoffs():
    triage = ToolCallingAgent(
        AsyncOnlyModel(
            [
                {
                    "content": None,
                    "tool_calls": [
                        {"name": "handoff", "arguments": {"to": "billing"}},
                        {"name": "final_answer", "arguments": {"answer": "for billing"}},
                    ],
                }
            ]
        ),
        name="triage",
    )
    billing = async_says("billing", "paid")
    result = await HandoffChat([triage, billing], handoffs={triage: [billing]}).arun("pay")
    assert turns(result)[1:] == [("triage", "for billing"), ("billing", "paid")]


async def test_async_sequential_chats_carry_over():
    second_b = async_says("b2", "second")
    results = await asequential_chats(
        [
            (Chat(async_says("a1"), async_says("b1", "first"), max_turns=1), "one"),
            (Chat(async_says("a2"), second_b, max_turns=1), "two"),
        ]
    )
    assert [r.summary for r in results] == ["first", "second"]
    assert "first" in second_b.model.inner.requests[0][1]["content"]


async def test_speakers_with_only_a_sync_api_run_off_the_event_loop():
    loop_thread = threading.get_ident()
    threads = []

    class Oracle:
        name, description = "oracle", "answers at once"

        def run(self, task: str) -> RunResult:
            threads.append(threading.get_ident())
            return RunResult("42", "success", [], TokenUsage(), 0.0, task)

    human = HumanAgent(input_fn=lambda prompt: threads.append(threading.get_ident()) or "ok")
    result = await Chat(human, Oracle(), max_turns=2).arun("question")
    assert turns(result)[1:] == [("oracle", "42"), ("human", "ok")]
    assert threads and loop_thread not in threads


async def test_two_async_chats_run_concurrently():
    gate = asyncio.Event()
    arrived = []

    class Waiter:
        description = "waits for the other chat"

        def __init__(self, name: str) -> None:
            self.name = name

        def run(self, task: str):
            raise AssertionError("sync run on the async path")

        async def arun(self, task: str) -> RunResult:
            arrived.append(self.name)
            if len(arrived) == 2:
                gate.set()
            await asyncio.wait_for(gate.wait(), 10)
            return RunResult(self.name, "success", [], TokenUsage(), 0.0, task)

    one, two = await asyncio.gather(
        achat(says("x"), Waiter("w1"), "go", max_turns=1),
        achat(says("y"), Waiter("w2"), "go", max_turns=1),
    )
    assert (one.summary, two.summary) == ("w1", "w2")
