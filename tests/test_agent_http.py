"""Agents end to end through LiteLLMModel and a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from codeact import CodeAgent, LiteLLMModel, ModelError, ToolCallingAgent, tool

if TYPE_CHECKING:
    from openai_server import OpenAIServer

pytest_plugins = ["openai_server"]


@tool
def lookup(key: str) -> int:
    """Look a number up.

    Args:
        key: Which number.
    """
    return {"answer": 42}.get(key, 0)


def model_for(server: OpenAIServer) -> LiteLLMModel:
    return LiteLLMModel(server.model_id, api_base=server.url, backoff=0.01)


def test_code_agent_runs_through_the_server_and_survives_a_429(openai_server: OpenAIServer):
    openai_server.complete(
        "```python\nn = lookup('answer')\nprint(n)\n```", prompt_tokens=100, completion_tokens=20
    )
    openai_server.fail(429, "slow down", headers={"Retry-After": "0"})
    openai_server.complete(
        "```python\nfinal_answer(n + 1)\n```", prompt_tokens=130, completion_tokens=10
    )

    result = CodeAgent(model_for(openai_server), tools=[lookup], sandbox="inline").run("go")

    assert result.state == "success" and result.output == 43
    assert result.token_usage.input_tokens == 230 and result.token_usage.output_tokens == 30
    sent = [r.body for r in openai_server.completion_requests]
    assert len(sent) == 3  # the 429 was retried
    assert sent[2]["messages"][-1] == {"role": "user", "content": "Observation:\nOutput:\n42"}
    assert "def lookup(key: str) -> int:" in sent[0]["messages"][0]["content"]
    assert sent[0]["stop"] == ["\nObservation:"]


def test_tool_calling_agent_through_the_server(openai_server: OpenAIServer):
    openai_server.complete(None, [{"name": "lookup", "arguments": {"key": "answer"}}])
    openai_server.complete(None, [{"name": "final_answer", "arguments": {"answer": "42"}}])

    result = ToolCallingAgent(model_for(openai_server), tools=[lookup]).run("go")

    assert result.output == "42"
    first, second = (r.body for r in openai_server.completion_requests)
    assert [t["function"]["name"] for t in first["tools"]] == ["lookup", "final_answer"]
    assistant, tool_message = second["messages"][2:]
    assert assistant["tool_calls"][0]["function"]["name"] == "lookup"
    assert tool_message == {
        "role": "tool",
        "tool_call_id": assistant["tool_calls"][0]["id"],
        "content": "42",
    }


def test_malformed_tool_arguments_become_an_observation(openai_server: OpenAIServer):
    openai_server.complete(None, [{"name": "lookup", "arguments": "{key: answer"}])
    openai_server.complete(None, [{"name": "final_answer", "arguments": {"answer": 1}}])

    result = ToolCallingAgent(model_for(openai_server), tools=[lookup]).run("go")

    assert "arguments must be a JSON object" in result.steps[0].error
    assert "{key: answer" in result.steps[0].observation
    assert result.output == 1


def test_persistent_server_errors_raise_model_error_with_the_run(openai_server: OpenAIServer):
    for _ in range(3):
        openai_server.fail(503, "overloaded")
    agent = CodeAgent(
        LiteLLMModel(
            openai_server.model_id, api_base=openai_server.url, backoff=0.01, max_retries=2
        ),
        sandbox="inline",
    )
    with pytest.raises(ModelError, match="503") as raised:
        agent.run("go")
    result = raised.value.result
    assert result.state == "error" and "503" in result.error and result.steps == []


def test_arun_through_the_server(openai_server: OpenAIServer):
    openai_server.complete("```python\nfinal_answer(lookup('answer'))\n```")
    agent = CodeAgent(model_for(openai_server), tools=[lookup], sandbox="inline")
    assert asyncio.run(agent.arun("go")).output == 42


def test_an_unreachable_server_fails_fast_and_visibly(caplog):
    import socket
    import time

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    agent = CodeAgent(
        LiteLLMModel("openai/m", api_base=f"http://127.0.0.1:{port}/v1"), sandbox="inline"
    )
    started = time.monotonic()
    with caplog.at_level("WARNING", logger="codeact"), pytest.raises(ModelError) as raised:
        agent.run("go")
    elapsed = time.monotonic() - started
    assert elapsed < 10, elapsed  # was 15.7 s of silent retries
    assert "connection error" in str(raised.value) and str(port) in str(raised.value)
    assert raised.value.result.state == "error" and raised.value.result.steps == []
    retries = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert len(retries) == 2 and "connection error" in retries[0]
