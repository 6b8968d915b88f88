"""CachedModel: replies replayed from disk for identical requests, through a real server."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from codeact import CodeAgent, LiteLLMModel
from codeact.cache import CachedModel

if TYPE_CHECKING:
    from openai_server import OpenAIServer

pytest_plugins = ["openai_server"]

USER = [{"role": "user", "content": "hi"}]


def cached(server: OpenAIServer, tmp_path) -> CachedModel:
    return CachedModel(LiteLLMModel(server.model_id, api_base=server.url), tmp_path / "cache")


def test_identical_request_is_answered_from_disk(openai_server: OpenAIServer, tmp_path):
    openai_server.complete("hello", prompt_tokens=7, completion_tokens=2)
    model = cached(openai_server, tmp_path)
    first = model.generate(USER)
    again = cached(openai_server, tmp_path).generate(USER)  # a new process would see the same
    assert len(openai_server.completion_requests) == 1
    assert again.content == first.content == "hello"
    assert again.usage == first.usage and first.usage.input_tokens == 7


def test_a_different_request_misses(openai_server: OpenAIServer, tmp_path):
    openai_server.complete("a")
    openai_server.complete("b")
    model = cached(openai_server, tmp_path)
    assert model.generate(USER).content == "a"
    assert model.generate(USER, stop=["x"]).content == "b"
    assert (model.hits, model.misses) == (0, 2)


def test_tool_calls_survive_the_cache(openai_server: OpenAIServer, tmp_path):
    openai_server.complete(None, [{"name": "add", "arguments": {"a": 1}}])
    model = cached(openai_server, tmp_path)
    first = model.generate(USER)
    second = model.generate(USER)
    assert second.tool_calls == first.tool_calls and second.tool_calls[0].arguments == {"a": 1}


def test_async_path_uses_the_same_cache(openai_server: OpenAIServer, tmp_path):
    openai_server.complete("async")
    model = cached(openai_server, tmp_path)
    assert asyncio.run(model.agenerate(USER)).content == "async"
    assert model.generate(USER).content == "async"
    assert model.hits == 1


def test_a_rerun_of_an_agent_costs_no_requests(openai_server: OpenAIServer, tmp_path):
    openai_server.complete("```python\nfinal_answer(6 * 7)\n```")
    for _ in range(2):
        agent = CodeAgent(cached(openai_server, tmp_path), sandbox="inline")
        assert agent.run("6 * 7?").output == 42
    assert len(openai_server.completion_requests) == 1


def test_another_server_or_temperature_misses(openai_server: OpenAIServer, tmp_path):
    openai_server.complete("hot")
    openai_server.complete("cold")
    openai_server.complete("elsewhere")
    url = openai_server.url
    hot = CachedModel(LiteLLMModel(openai_server.model_id, api_base=url, temperature=1.0), tmp_path)
    cold = CachedModel(
        LiteLLMModel(openai_server.model_id, api_base=url, temperature=0.0), tmp_path
    )
    other = CachedModel(
        LiteLLMModel(openai_server.model_id, api_base=url.replace("127.0.0.1", "localhost")),
        tmp_path,
    )
    assert hot.generate(USER).content == "hot"
    assert cold.generate(USER).content == "cold"  # was the first server's cached "hot"
    assert other.generate(USER).content == "elsewhere"
    assert hot.generate(USER).content == "hot" and hot.hits == 1
    assert len(openai_server.completion_requests) == 3
