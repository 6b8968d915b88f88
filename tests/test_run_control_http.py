"""Run control end to end through LiteLLMModel and the real OpenAI-protocol server on 127.0.0.1:
images as image parts, code through the python tool, fallback models, streamed tokens."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

import pytest

from codeact import CodeAgent, LiteLLMModel, TokenDelta, ToolCallingAgent, tool

if TYPE_CHECKING:
    from openai_server import OpenAIServer

pytest_plugins = ["openai_server"]

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(32))


@pytest.fixture(autouse=True)
def no_provider_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@tool
def lookup(key: str) -> int:
    """Look a number up.

    Args:
        key: Which number.
    """
    return {"answer": 42}.get(key, 0)


@tool
def snapshot(name: str) -> bytes:
    """Take a picture.

    Args:
        name: Of what.
    """
    return PNG


def model_for(server: OpenAIServer, **options) -> LiteLLMModel:
    return LiteLLMModel(server.model_id, api_base=server.url, backoff=0.01, **options)


def image_parts(message: dict) -> list[dict]:
    content = message["content"]
    return [p for p in content if p.get("type") == "image_url"] if isinstance(content, list) else []


def test_an_image_reaches_the_server_as_an_image_part(openai_server: OpenAIServer, tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(PNG)
    openai_server.complete("```python\nfinal_answer('a tiny image')\n```")

    agent = CodeAgent(model_for(openai_server), sandbox="inline")
    assert agent.run("Describe the image.", images=[path]).output == "a tiny image"

    task = openai_server.completion_requests[0].body["messages"][1]
    assert task["content"][0] == {"type": "text", "text": "Describe the image."}
    (part,) = image_parts(task)
    assert part["image_url"]["url"].startswith("data:image/png;base64,iVBORw0KGgo")


def test_a_tools_image_reaches_the_model_on_the_next_step(openai_server: OpenAIServer):
    openai_server.complete(None, [{"name": "snapshot", "arguments": {"name": "desk"}}])
    openai_server.complete(None, [{"name": "final_answer", "arguments": {"answer": "a desk"}}])

    agent = ToolCallingAgent(model_for(openai_server), tools=[snapshot])
    assert agent.run("What is on the desk?").output == "a desk"

    sent = openai_server.completion_requests[1].body["messages"]
    assert sent[-2]["role"] == "tool" and "image/png" in sent[-2]["content"]
    assert image_parts(sent[-1])[0]["image_url"]["url"].startswith("data:image/png;base64,")


def test_a_code_agents_tool_image_reaches_the_model(openai_server: OpenAIServer):
    openai_server.complete("```python\nsnapshot('desk')\n```")
    openai_server.complete("```python\nfinal_answer('seen')\n```")
    agent = CodeAgent(model_for(openai_server), tools=[snapshot], sandbox="local")
    with agent:
        assert agent.run("look").output == "seen"
    observation = openai_server.completion_requests[1].body["messages"][-1]
    assert observation["content"][0]["text"].startswith("Observation:")
    assert len(image_parts(observation)) == 1


def test_code_action_tool_end_to_end(openai_server: OpenAIServer):
    openai_server.complete(
        None, [{"name": "python", "arguments": {"code": "n = lookup('answer')\nprint(n)"}}]
    )
    openai_server.complete(None, [{"name": "python", "arguments": {"code": "final_answer(n + 1)"}}])

    agent = CodeAgent(model_for(openai_server), tools=[lookup], sandbox="local", code_action="tool")
    with agent:
        result = agent.run("What is the answer plus one?")

    assert result.state == "success" and result.output == 43
    first, second = (r.body for r in openai_server.completion_requests)
    assert [t["function"]["name"] for t in first["tools"]] == ["python"]
    assert "stop" not in first
    assert "def lookup(key: str) -> int:" in first["messages"][0]["content"]
    call = second["messages"][2]["tool_calls"][0]
    assert json.loads(call["function"]["arguments"]) == {"code": "n = lookup('answer')\nprint(n)"}
    assert second["messages"][3] == {
        "role": "tool",
        "tool_call_id": call["id"],
        "content": "Output:\n42",
    }


def test_the_step_records_which_fallback_model_answered(openai_server: OpenAIServer):
    openai_server.fail(503, "overloaded")
    openai_server.fail(503, "overloaded")
    openai_server.complete("```python\nfinal_answer(1)\n```")
    model = LiteLLMModel(
        ["openai/primary", "openai/backup"], api_base=openai_server.url, backoff=0.01, max_retries=1
    )

    result = CodeAgent(model, sandbox="inline").run("task")

    assert result.output == 1 and result.steps[0].model_id == "openai/backup"
    assert [r.body["model"] for r in openai_server.completion_requests] == [
        "primary",
        "primary",
        "backup",
    ]


def test_tokens_stream_from_the_server_through_the_agent(openai_server: OpenAIServer):
    reply = "Thought: look it up.\n```python\nfinal_answer(lookup('answer'))\n```"
    openai_server.complete(reply, reasoning_content="Easy.")
    deltas: list[TokenDelta] = []

    agent = CodeAgent(
        model_for(openai_server), tools=[lookup], sandbox="inline", token_callbacks=[deltas.append]
    )
    result = agent.run("task")

    assert result.output == 42 and result.steps[0].reasoning == "Easy."
    assert openai_server.completion_requests[0].body["stream"] is True
    assert "".join(d.text for d in deltas if d.kind == "content") == reply
    assert "".join(d.text for d in deltas if d.kind == "reasoning") == "Easy."
    assert len(deltas) > 10


def test_async_token_events_from_the_server(openai_server: OpenAIServer):
    openai_server.complete(None, [{"name": "final_answer", "arguments": {"answer": "done"}}])
    agent = ToolCallingAgent(model_for(openai_server))

    async def events():
        return [e async for e in agent.astream("task").events()]

    events = asyncio.run(events())
    calls = "".join(e.text for e in events if isinstance(e, TokenDelta) and e.kind == "tool_call")
    assert calls == 'final_answer{"answer": "done"}'
    assert events[-1].final_answer == "done"
