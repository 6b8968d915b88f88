"""LiteLLMModel's run-control features against the real OpenAI-protocol server on 127.0.0.1:
fallback models, token streaming, reasoning content, the run's time cap, cache markers."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

import pytest

from codeact.litellm_model import LiteLLMModel
from codeact.models import ChatMessage, ModelError, ScriptedModel, TokenDelta, accepted_options

if TYPE_CHECKING:
    from openai_server import OpenAIServer

pytest_plugins = ["openai_server"]

USER = [{"role": "user", "content": "hi"}]


@pytest.fixture(autouse=True)
def no_provider_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def fallback_model(server: OpenAIServer, **options) -> LiteLLMModel:
    ids = ["openai/primary", "openai/secondary"]
    return LiteLLMModel(ids, api_base=server.url, backoff=0.01, max_retries=1, **options)


# --- fallback models --------------------------------------------------------------------------


def test_a_fallback_model_answers_when_the_first_keeps_failing(openai_server, caplog):
    openai_server.fail(503, "overloaded")
    openai_server.fail(503, "still overloaded")
    openai_server.complete("from the second")

    with caplog.at_level(logging.WARNING, logger="codeact"):
        reply = fallback_model(openai_server).generate(USER)

    assert reply.content == "from the second"
    assert reply.model_id == "openai/secondary"
    models = [r.body["model"] for r in openai_server.completion_requests]
    assert models == ["primary", "primary", "secondary"]
    assert "falling back to openai/secondary" in caplog.text


def test_each_call_starts_with_the_first_model_again(openai_server):
    model = fallback_model(openai_server)
    openai_server.fail(503)
    openai_server.fail(503)
    openai_server.complete("second")
    openai_server.complete("first is back")
    assert model.generate(USER).model_id == "openai/secondary"
    assert model.generate(USER).model_id == "openai/primary"


def test_a_mistake_that_retrying_cannot_fix_does_not_fall_back(openai_server):
    openai_server.fail(400, "bad request: messages malformed", type="invalid_request_error")
    with pytest.raises(ModelError, match="primary.*messages malformed"):
        fallback_model(openai_server).generate(USER)
    assert len(openai_server.completion_requests) == 1


def test_when_every_model_fails_the_last_error_is_raised(openai_server):
    for _ in range(4):
        openai_server.fail(503, "down")
    with pytest.raises(ModelError, match="secondary.*failed after 2 attempts"):
        fallback_model(openai_server).generate(USER)


def test_fallbacks_work_through_the_async_api(openai_server):
    openai_server.fail(500, "boom")
    openai_server.fail(500, "boom")
    openai_server.complete("async second")
    reply = asyncio.run(fallback_model(openai_server).agenerate(USER))
    assert (reply.content, reply.model_id) == ("async second", "openai/secondary")


def test_model_id_lists_are_checked_at_construction():
    with pytest.raises(ModelError, match="list of them"):
        LiteLLMModel([])


# --- token streaming --------------------------------------------------------------------------


def test_deltas_arrive_in_order_and_add_up_to_the_reply(openai_server):
    openai_server.complete(
        "The answer is 42.", reasoning_content="Six sevens.", prompt_tokens=9, completion_tokens=4
    )
    model = LiteLLMModel(openai_server.model_id, api_base=openai_server.url)

    *deltas, reply = model.stream(USER)

    assert openai_server.completion_requests[0].body["stream"] is True
    content = [d.text for d in deltas if d.kind == "content"]
    reasoning = [d.text for d in deltas if d.kind == "reasoning"]
    assert len(content) > 1 and "".join(content) == "The answer is 42."
    assert "".join(reasoning) == "Six sevens."
    assert reply.content == "The answer is 42." and reply.reasoning == "Six sevens."
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (9, 4)


def test_streamed_tool_calls_arrive_as_deltas_and_in_the_reply(openai_server):
    openai_server.complete(None, [{"name": "python", "arguments": {"code": "print(6 * 7)"}}])
    model = LiteLLMModel(openai_server.model_id, api_base=openai_server.url)

    *deltas, reply = model.stream(USER)

    assert "".join(d.text for d in deltas if d.kind == "tool_call") == (
        'python{"code": "print(6 * 7)"}'
    )
    assert reply.tool_calls[0].name == "python"
    assert reply.tool_calls[0].arguments == {"code": "print(6 * 7)"}


def test_deltas_come_while_the_model_writes(openai_server):
    openai_server.complete("one two three four five six", chunk_delay_s=0.15)
    model = LiteLLMModel(openai_server.model_id, api_base=openai_server.url)

    seen = [time.monotonic() for item in model.stream(USER) if isinstance(item, TokenDelta)]

    assert len(seen) >= 5
    assert seen[-1] - seen[0] > 0.4  # spread over the stream, not delivered at the end


def test_a_broken_stream_is_retried_and_says_so(openai_server):
    openai_server.drop()
    openai_server.complete("whole")
    model = LiteLLMModel(openai_server.model_id, api_base=openai_server.url, backoff=0.01)

    *deltas, reply = model.stream(USER)

    assert [d.kind for d in deltas][0] == "restart" and reply.content == "whole"


def test_async_streaming(openai_server):
    openai_server.complete("streamed asynchronously")
    model = LiteLLMModel(openai_server.model_id, api_base=openai_server.url)

    async def collect():
        return [item async for item in model.astream(USER)]

    *deltas, reply = asyncio.run(collect())
    assert "".join(d.text for d in deltas) == reply.content == "streamed asynchronously"


def test_scripted_model_streams_its_replies_word_by_word():
    *deltas, reply = ScriptedModel([{"content": "a b c", "reasoning": "r"}]).stream(USER)
    assert reply.content == "a b c"
    assert [(d.kind, d.text) for d in deltas] == [
        ("reasoning", "r"),
        ("content", "a "),
        ("content", "b "),
        ("content", "c"),
    ]


# --- reasoning content ------------------------------------------------------------------------


def test_reasoning_is_kept_but_not_sent_back(openai_server):
    openai_server.complete("42", reasoning_content="I multiplied.")
    reply = LiteLLMModel(openai_server.model_id, api_base=openai_server.url).generate(USER)
    assert reply.reasoning == "I multiplied."
    assert "reasoning" not in str(reply.to_dict())


def test_signed_thinking_blocks_are_sent_back():
    block = {"type": "thinking", "thinking": "...", "signature": "abc"}
    message = ChatMessage("ok", thinking_blocks=[block])
    assert message.to_dict()["thinking_blocks"] == [block]


# --- the run's time cap -----------------------------------------------------------------------


def test_timeout_caps_the_whole_call_including_retries(openai_server):
    for _ in range(3):
        openai_server.complete("late", delay_s=2.0)
    model = LiteLLMModel(openai_server.model_id, api_base=openai_server.url, backoff=0.01)
    started = time.monotonic()
    with pytest.raises(ModelError, match="no time left|within the time"):
        model.generate(USER, timeout=0.8)
    assert time.monotonic() - started < 1.6  # alone, each attempt would have waited 120 s


def test_models_without_the_new_options_still_get_the_old_ones():
    class Plain:
        def generate(self, messages, *, tools=None, stop=None): ...

    def anything(messages, **kwargs): ...

    offered = {"tools": [1], "stop": None, "timeout": 3.0}
    assert accepted_options(Plain().generate, **offered) == {"tools": [1]}
    assert accepted_options(anything, **offered) == {"tools": [1], "timeout": 3.0}


# --- prompt-cache markers ---------------------------------------------------------------------


def test_cache_markers_mark_the_system_prompt_and_the_newest_message(openai_server):
    openai_server.complete("ok")
    messages = [
        {"role": "system", "content": "You solve tasks."},
        {"role": "user", "content": "task"},
        {"role": "assistant", "content": "code"},
        {"role": "user", "content": "Observation: 1"},
    ]
    model = LiteLLMModel(openai_server.model_id, api_base=openai_server.url, cache_markers=True)

    model.generate(messages)

    sent = openai_server.completion_requests[0].body["messages"]
    marker = {"type": "ephemeral"}
    assert sent[0]["content"] == [
        {"type": "text", "text": "You solve tasks.", "cache_control": marker}
    ]
    assert sent[1] == messages[1] and sent[2] == messages[2]
    assert sent[3]["content"][0]["cache_control"] == marker
    assert messages[0]["content"] == "You solve tasks."  # the caller's list is untouched


def test_cache_markers_default_to_claude_models_only(openai_server):
    assert (
        LiteLLMModel(openai_server.model_id, api_base=openai_server.url)
        ._targets[openai_server.model_id]
        .cache_markers
        is False
    )
    claude = LiteLLMModel("anthropic/claude-sonnet-4-5", api_key="k")
    assert claude._targets["anthropic/claude-sonnet-4-5"].cache_markers is True


def test_context_window_comes_from_litellm_model_info():
    assert LiteLLMModel("gpt-4o-mini", api_key="k").context_window == 128_000
    assert (
        LiteLLMModel("openai/unknown-thing", api_base="http://127.0.0.1:9").context_window is None
    )
