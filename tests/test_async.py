"""``arun`` and ``astream``: many runs at once on one event loop, with no thread per run."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
import time
from typing import TYPE_CHECKING

import pytest

from codeact import (
    CodeAgent,
    LiteLLMModel,
    ModelError,
    ScriptedModel,
    ToolCallingAgent,
    prompts,
    tool,
)

if TYPE_CHECKING:
    from openai_server import OpenAIServer

pytest_plugins = ["openai_server"]


def code(source: str) -> str:
    return f"Thought: go.\n```python\n{source}\n```"


def calls(*pairs):
    return {"content": None, "tool_calls": [{"name": n, "arguments": a} for n, a in pairs]}


def loop_bound_tool():
    """An async tool that only works on the event loop it was made for, as an HTTP session
    or an asyncio lock does."""
    home = asyncio.get_running_loop()

    @tool
    async def fetch(key: str) -> str:
        """Fetch a value, asynchronously.

        Args:
            key: What to fetch.
        """
        assert asyncio.get_running_loop() is home, "the tool ran on another event loop"
        await asyncio.sleep(0.01)
        return f"value of {key}"

    return fetch


async def test_500_concurrent_aruns_through_litellm_with_async_tools(
    openai_server: OpenAIServer,
) -> None:
    count = 500
    for _ in range(count):
        openai_server.complete(code("final_answer(fetch('k'))"))
    fetch = loop_bound_tool()
    model = LiteLLMModel(openai_server.model_id, api_base=openai_server.url)
    agents = [
        CodeAgent(model, tools=[fetch], sandbox="inline", verbose=False) for _ in range(count)
    ]
    runs = asyncio.gather(*(agent.arun("go") for agent in agents))
    results = await asyncio.wait_for(runs, timeout=300)
    assert [r.state for r in results] == ["success"] * count
    assert {r.output for r in results} == {"value of k"}
    assert len(openai_server.completion_requests) == count


class WaitingModel:
    """Answers only once ``expected`` calls are waiting at the same time (a model that a run
    blocks on in a thread of its own would never see them all)."""

    model_id = "waiting"

    def __init__(self, expected: int, reply: str) -> None:
        self.expected = expected
        self.reply = ScriptedModel([reply] * expected)
        self.waiting = 0
        self.all_in = asyncio.Event()

    def generate(self, messages, *, tools=None, stop=None):
        raise AssertionError("the sync path was used under arun")

    async def agenerate(self, messages, *, tools=None, stop=None):
        self.waiting += 1
        if self.waiting == self.expected:
            self.all_in.set()
        await self.all_in.wait()
        return self.reply.generate(messages)


async def test_every_run_waits_for_the_model_at_once_without_a_thread_each() -> None:
    count = 300
    model = WaitingModel(count, code("final_answer(1)"))
    before = threading.active_count()
    agents = [CodeAgent(model, sandbox="inline", verbose=False) for _ in range(count)]
    runs = asyncio.gather(*(agent.arun("t") for agent in agents))
    results = await asyncio.wait_for(runs, timeout=60)
    assert [r.output for r in results] == [1] * count
    assert threading.active_count() - before < 80  # bounded pools, not a thread per run


async def test_async_tools_of_one_reply_are_awaited_together_on_the_loop() -> None:
    first, second = asyncio.Event(), asyncio.Event()

    @tool
    async def ping(name: str) -> str:
        """Signal the other call and wait for its signal.

        Args:
            name: "a" or "b".
        """
        mine, other = (first, second) if name == "a" else (second, first)
        mine.set()
        await asyncio.wait_for(other.wait(), 10)  # both calls must be in flight at once
        return f"pong {name}"

    model = ScriptedModel(
        [
            calls(("ping", {"name": "a"}), ("ping", {"name": "b"})),
            calls(("final_answer", {"answer": 1})),
        ]
    )
    result = await ToolCallingAgent(model, tools=[ping], verbose=False).arun("t")
    assert result.steps[0].observation == "ping: pong a\nping: pong b"
    assert [u.name for u in result.steps[0].tool_uses] == ["ping", "ping"]
    assert result.output == 1


async def test_plain_tools_under_arun_run_off_the_event_loop() -> None:
    loop_thread = threading.get_ident()
    seen = []

    @tool
    def where() -> str:
        """Say which thread runs this."""
        seen.append(threading.get_ident())
        return "here"

    model = ScriptedModel([calls(("where", {})), calls(("final_answer", {"answer": 1}))])
    result = await ToolCallingAgent(model, tools=[where], verbose=False).arun("t")
    assert result.steps[0].observation == "where: here" and result.output == 1
    assert seen and seen[0] != loop_thread


async def test_many_tool_calling_aruns_with_async_tools() -> None:
    fetch = loop_bound_tool()
    count = 500
    model = ScriptedModel(
        [calls(("fetch", {"key": "k"}), ("final_answer", {"answer": "done"}))] * count
    )
    agents = [ToolCallingAgent(model, tools=[fetch], verbose=False) for _ in range(count)]
    results = await asyncio.wait_for(asyncio.gather(*(a.arun("t") for a in agents)), 120)
    assert {r.steps[0].observation for r in results} == {"fetch: value of k\nfinal_answer: done"}


async def test_astream_yields_steps_as_they_complete() -> None:
    seen = []
    agent = CodeAgent(
        ScriptedModel([code("print('a')"), code("final_answer('b')")]),
        sandbox="inline",
        step_callbacks=[lambda s: seen.append(s.index)],
        verbose=False,
    )
    stream = agent.astream("t")
    indices = []
    async for step in stream:
        indices.append(step.index)
        assert seen == indices
    assert indices == [1, 2]
    assert stream.result.output == "b" and stream.result.state == "success"


async def test_leaving_an_async_stream_early_keeps_the_partial_run() -> None:
    agent = CodeAgent(
        ScriptedModel([code("x = 1"), code("x = 2"), code("final_answer(x)")]),
        sandbox="inline",
        verbose=False,
    )
    stream = agent.astream("t")
    async for step in stream:
        if step.index == 2:
            break
    assert stream.result.state == "interrupted"
    assert [s.index for s in stream.result.steps] == [1, 2] and stream.result.output is None


async def test_a_model_failure_under_arun_raises_with_the_partial_run() -> None:
    agent = CodeAgent(ScriptedModel([code("x = 1")]), sandbox="inline", verbose=False)
    with pytest.raises(ModelError, match="ran out") as raised:
        await agent.arun("t")
    result = raised.value.result
    assert result.state == "error"
    assert [s.observation for s in result.steps] == [prompts.code_observation("", None, None)]


@tool
def slow() -> int:
    """Take a while (so that two cells calling it overlap in time)."""
    time.sleep(0.2)
    return 42


@pytest.mark.parametrize("backend", ["inline", "local"])
@pytest.mark.parametrize("mode", ["run", "arun"])
def test_one_managed_agent_called_twice_in_one_reply(backend: str, mode: str) -> None:
    helper = CodeAgent(
        ScriptedModel([code("x = slow()\nfinal_answer(x)")] * 2),
        tools=[slow],
        sandbox=backend,
        name="helper",
        description="Answers.",
        verbose=False,
    )
    boss = ToolCallingAgent(
        ScriptedModel(
            [
                calls(("helper", {"task": "one"}), ("helper", {"task": "two"})),
                calls(("final_answer", {"answer": "ok"})),
            ]
        ),
        tools=[helper.as_tool()],
        verbose=False,
    )
    with helper:
        result = boss.run("t") if mode == "run" else asyncio.run(boss.arun("t"))
    assert result.steps[0].error is None, result.steps[0].error
    assert result.steps[0].observation == "helper: 42\nhelper: 42"
    assert [u.run.state for u in result.steps[0].tool_uses] == ["success", "success"]


def test_async_tools_calling_agents_from_sandboxed_code_do_not_exhaust_the_threads() -> None:
    """More runs than threads, each blocked in a cell on an async tool that runs another agent:
    with one bounded pool every thread would wait for work that needs a thread."""
    script = textwrap.dedent(
        """
        import asyncio
        from codeact import CodeAgent, ScriptedModel, tool

        def code(s):
            return f"```python\\n{s}\\n```"

        @tool
        async def research(topic: str) -> str:
            '''Ask a sub-agent.

            Args:
                topic: The topic.
            '''
            sub = CodeAgent(ScriptedModel([code("final_answer('found ' + 'it')")]),
                            sandbox="inline", verbose=False)
            return (await sub.arun(topic)).output

        async def main():
            agents = [CodeAgent(ScriptedModel([code("final_answer(research('x'))")]),
                                tools=[research], sandbox="inline", verbose=False)
                      for _ in range(6)]
            results = await asyncio.wait_for(
                asyncio.gather(*(a.arun("t") for a in agents)), 30)
            print(sorted({r.output for r in results}))

        asyncio.run(main())
        """
    )
    env = {"CODEACT_THREADS": "2", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "['found it']"
