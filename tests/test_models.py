"""Models against a real OpenAI-compatible HTTP server on 127.0.0.1, and ScriptedModel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from codeact.litellm_model import LiteLLMModel
from codeact.models import (
    RAW_ARGUMENTS_KEY,
    ChatMessage,
    Model,
    ModelConfigError,
    ModelError,
    ScriptedModel,
    TokenUsage,
    ToolCall,
    _estimate_tokens,
)

if TYPE_CHECKING:
    from openai_server import OpenAIServer

pytest_plugins = ["openai_server"]  # the openai_server fixture

USER = [{"role": "user", "content": "What is 6 * 7?"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture(autouse=True)
def no_provider_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests must not depend on (or leak) a developer's real keys."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def local_model(server: OpenAIServer, model_id: str | None = None, **options) -> LiteLLMModel:
    options.setdefault("backoff", 0.01)
    return LiteLLMModel(model_id or server.model_id, api_base=server.url, **options)


# -- LiteLLMModel against the server ---------------------------------------------------------


def test_generate_returns_content_and_usage(openai_server: OpenAIServer) -> None:
    openai_server.complete("42", prompt_tokens=12, completion_tokens=3)

    reply = local_model(openai_server).generate(USER)

    assert reply.content == "42"
    assert reply.tool_calls == []
    assert reply.usage == TokenUsage(input_tokens=12, output_tokens=3)


def test_request_carries_messages_model_temperature_and_stop(openai_server: OpenAIServer) -> None:
    openai_server.complete("ok")

    local_model(openai_server, temperature=0.3).generate(USER, stop=["Observation:"])

    body = openai_server.completion_requests[0].body
    assert body["messages"] == USER
    assert body["model"] == "test-model"
    assert body["temperature"] == 0.3
    assert body["stop"] == ["Observation:"]


def test_api_key_is_sent_as_bearer_token(openai_server: OpenAIServer) -> None:
    openai_server.complete("ok")

    local_model(openai_server, api_key="sk-local-123").generate(USER)

    assert openai_server.requests[0].headers["authorization"] == "Bearer sk-local-123"


def test_local_server_needs_no_api_key(openai_server: OpenAIServer) -> None:
    openai_server.complete("no key needed")  # OPENAI_API_KEY is unset by the autouse fixture

    assert local_model(openai_server).generate(USER).content == "no key needed"


def test_rate_limit_waits_for_retry_after_then_succeeds(openai_server: OpenAIServer) -> None:
    openai_server.fail(429, "slow down", headers={"Retry-After": "1"}, type="rate_limit_error")
    openai_server.complete("made it")

    reply = local_model(openai_server).generate(USER)

    first, second = openai_server.completion_requests
    assert reply.content == "made it"
    assert second.time - first.time >= 0.9  # backoff is 0.01 s: only Retry-After explains this


def test_server_error_is_retried(openai_server: OpenAIServer) -> None:
    openai_server.fail(500, "boom")
    openai_server.complete("recovered")

    reply = local_model(openai_server).generate(USER)

    assert reply.content == "recovered"
    assert len(openai_server.completion_requests) == 2


def test_dropped_connection_is_retried(openai_server: OpenAIServer) -> None:
    openai_server.drop()
    openai_server.complete("recovered")

    reply = local_model(openai_server).generate(USER)

    assert reply.content == "recovered"
    assert len(openai_server.completion_requests) == 2


def test_timeout_is_retried(openai_server: OpenAIServer) -> None:
    openai_server.complete("too late", delay_s=1.0)
    openai_server.complete("in time")

    reply = local_model(openai_server, timeout=0.3).generate(USER)

    assert reply.content == "in time"


@pytest.mark.parametrize("status", [500, 502, 503, 529])
def test_persistent_server_error_gives_up_after_max_retries(
    openai_server: OpenAIServer, status: int
) -> None:
    for _ in range(3):
        openai_server.fail(status, "overloaded, try later")

    with pytest.raises(ModelError) as raised:
        local_model(openai_server, max_retries=2).generate(USER)

    assert len(openai_server.completion_requests) == 3
    message = str(raised.value)
    assert "after 3 attempts" in message
    assert str(status) in message
    assert "overloaded, try later" in message


@pytest.mark.parametrize(
    "body",
    ["<html>Bad gateway</html>", {"id": "x", "object": "chat.completion"}, {"choices": []}],
    ids=["not-json", "no-choices", "empty-choices"],
)
def test_malformed_body_raises_model_error_without_retry(
    openai_server: OpenAIServer, body: str | dict
) -> None:
    openai_server.reply(body)

    with pytest.raises(ModelError, match="malformed response"):
        local_model(openai_server).generate(USER)

    assert len(openai_server.completion_requests) == 1


def test_unauthorized_raises_config_error(openai_server: OpenAIServer) -> None:
    openai_server.fail(401, "Incorrect API key provided", code="invalid_api_key")

    with pytest.raises(ModelConfigError, match="api_key=") as raised:
        local_model(openai_server).generate(USER)

    assert "Incorrect API key provided" in str(raised.value)
    assert len(openai_server.completion_requests) == 1


def test_bad_request_raises_model_error_at_once(openai_server: OpenAIServer) -> None:
    openai_server.fail(400, "messages[0].role is invalid", type="invalid_request_error")

    with pytest.raises(ModelError, match="messages\\[0\\].role is invalid") as raised:
        local_model(openai_server).generate(USER)

    assert not isinstance(raised.value, ModelConfigError)
    assert len(openai_server.completion_requests) == 1


def test_unknown_model_raises_config_error(openai_server: OpenAIServer) -> None:
    openai_server.fail(404, "The model `test-model` does not exist", code="model_not_found")

    with pytest.raises(ModelConfigError, match="not found"):
        local_model(openai_server).generate(USER)


def test_tool_calls_are_parsed_with_dict_arguments(openai_server: OpenAIServer) -> None:
    openai_server.complete(None, [{"name": "get_weather", "arguments": {"city": "Paris"}}])

    reply = local_model(openai_server).generate(USER, tools=[WEATHER_TOOL])

    assert reply.content is None
    [call] = reply.tool_calls
    assert (call.name, call.arguments) == ("get_weather", {"city": "Paris"})
    assert call.id.startswith("call_")


def test_undecodable_tool_arguments_are_kept_raw(openai_server: OpenAIServer) -> None:
    openai_server.complete(None, [{"name": "get_weather", "arguments": '{"city": Paris'}])

    [call] = local_model(openai_server).generate(USER, tools=[WEATHER_TOOL]).tool_calls

    assert call.arguments == {RAW_ARGUMENTS_KEY: '{"city": Paris'}


def test_tool_schemas_are_forwarded(openai_server: OpenAIServer) -> None:
    openai_server.complete("no tool needed")

    local_model(openai_server).generate(USER, tools=[WEATHER_TOOL])

    assert openai_server.completion_requests[0].body["tools"] == [WEATHER_TOOL]


def test_stop_is_not_sent_to_a_family_that_rejects_it(openai_server: OpenAIServer) -> None:
    openai_server.complete("ok")

    local_model(openai_server, "openai/o3-mini").generate(USER, stop=["Observation:"])

    assert "stop" not in openai_server.completion_requests[0].body


def test_stop_rejected_by_server_is_dropped_and_remembered(openai_server: OpenAIServer) -> None:
    openai_server.fail(400, "Unsupported parameter: 'stop' is not supported with this model.")
    openai_server.complete("first")
    openai_server.complete("second")
    model = local_model(openai_server, max_retries=0)

    assert model.generate(USER, stop=["Observation:"]).content == "first"
    assert model.generate(USER, stop=["Observation:"]).content == "second"

    sent_stop = ["stop" in r.body for r in openai_server.completion_requests]
    assert sent_stop == [True, False, False]


def test_cost_is_recorded_for_a_priced_model(openai_server: OpenAIServer) -> None:
    openai_server.complete("ok", model="gpt-4o-mini", prompt_tokens=1000, completion_tokens=100)

    reply = local_model(openai_server, "openai/gpt-4o-mini").generate(USER)

    assert reply.cost_usd is not None and reply.cost_usd > 0


def test_cost_is_none_for_an_unpriced_model(openai_server: OpenAIServer) -> None:
    openai_server.complete("ok")

    assert local_model(openai_server).generate(USER).cost_usd is None


async def test_agenerate_talks_to_the_same_server(openai_server: OpenAIServer) -> None:
    openai_server.fail(500, "boom")
    openai_server.complete(None, [{"name": "get_weather", "arguments": {"city": "Rome"}}])

    reply = await local_model(openai_server).agenerate(USER, tools=[WEATHER_TOOL])

    assert reply.tool_calls[0].arguments == {"city": "Rome"}
    assert len(openai_server.completion_requests) == 2
    assert openai_server.completion_requests[1].headers.get("x-stainless-async") != "false"


def test_missing_api_key_raises_config_error_at_construction() -> None:
    with pytest.raises(ModelConfigError, match="OPENAI_API_KEY") as raised:
        LiteLLMModel("gpt-4o-mini")

    assert "api_key=" in str(raised.value)


def test_unknown_provider_raises_config_error_at_construction() -> None:
    with pytest.raises(ModelConfigError, match="openai/my-local-model"):
        LiteLLMModel("my-local-model", api_base="http://127.0.0.1:9/v1")


def test_repr_does_not_show_the_api_key(openai_server: OpenAIServer) -> None:
    model = local_model(openai_server, api_key="sk-secret")

    assert "sk-secret" not in repr(model)
    assert isinstance(model, Model)


def test_import_codeact_loads_no_heavy_dependencies() -> None:
    code = (
        "import sys, codeact\n"
        "heavy = ('litellm', 'pydantic', 'rich', 'httpx', 'RestrictedPython', 'asyncio')\n"
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "[]"


def test_litellm_switches_respect_the_users_settings() -> None:
    code = (
        "import os\n"
        "from codeact import LiteLLMModel\n"
        "LiteLLMModel('openai/x', api_base='http://127.0.0.1:9/v1')\n"
        "print(os.environ['LITELLM_OFFLINE_MODE'], os.environ['LITELLM_LOCAL_MODEL_COST_MAP'])"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITELLM_")}
    env["LITELLM_OFFLINE_MODE"] = "false"

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )

    assert out.stdout.split() == ["false", "True"]


# -- ScriptedModel -----------------------------------------------------------------------------


def test_scripted_model_replays_strings_in_order() -> None:
    model = ScriptedModel(["first", "second"])

    assert model.generate(USER).content == "first"
    assert model.generate(USER).content == "second"
    assert model.model_id == "scripted"


def test_scripted_model_replays_tool_call_dicts() -> None:
    model = ScriptedModel(
        [{"content": None, "tool_calls": [{"name": "final_answer", "arguments": {"answer": 42}}]}]
    )

    [call] = model.generate(USER).tool_calls

    assert (call.name, call.arguments) == ("final_answer", {"answer": 42})
    assert call.id.startswith("call_")


def test_scripted_model_says_when_the_script_ran_out() -> None:
    model = ScriptedModel(["one", "two"])
    model.generate(USER)
    model.generate(USER)

    with pytest.raises(ModelError, match="ran out after 2 responses"):
        model.generate(USER)


def test_scripted_model_records_copies_of_requests() -> None:
    model = ScriptedModel(["a", "b"])
    messages = list(USER)
    model.generate(messages)
    messages.append({"role": "assistant", "content": "a"})
    model.generate(messages)

    assert model.requests == [USER, messages]
    assert len(model.requests[0]) == 1


def test_scripted_model_estimates_token_usage() -> None:
    reply = ScriptedModel(["The answer is 42, computed as 6 * 7."]).generate(USER)

    assert reply.usage.input_tokens > 0
    assert reply.usage.output_tokens > 0


def test_scripted_model_replays_a_run_file(tmp_path) -> None:
    run = {"model_outputs": ["thinking", {"content": "done", "tool_calls": []}]}
    path = tmp_path / "run.json"
    path.write_text(json.dumps(run))

    model = ScriptedModel.from_run(path)

    assert [model.generate(USER).content for _ in range(2)] == ["thinking", "done"]


def test_scripted_model_replays_a_run_dict() -> None:
    model = ScriptedModel.from_run({"task": "t", "model_outputs": ["only"]})

    assert model.generate(USER).content == "only"


def test_scripted_model_rejects_a_run_without_model_outputs() -> None:
    with pytest.raises(ValueError, match="model_outputs"):
        ScriptedModel.from_run({"steps": []})


def test_scripted_model_rejects_a_malformed_script_at_construction() -> None:
    with pytest.raises(TypeError, match="response 1"):
        ScriptedModel(["fine", {"tool_calls": [{"arguments": {}}]}])


async def test_scripted_model_agenerate_shares_the_script() -> None:
    model = ScriptedModel(["sync", "async"])
    model.generate(USER)

    assert (await model.agenerate(USER)).content == "async"


# -- message types -----------------------------------------------------------------------------


def test_chat_message_to_dict_is_openai_format() -> None:
    message = ChatMessage("calling", [ToolCall("get_weather", {"city": "Oslo"}, id="call_1")])

    assert message.to_dict() == {
        "role": "assistant",
        "content": "calling",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
            }
        ],
    }


def test_chat_message_without_tool_calls_has_no_tool_calls_key() -> None:
    assert ChatMessage("hi").to_dict() == {"role": "assistant", "content": "hi"}


def test_raw_tool_arguments_are_sent_back_verbatim() -> None:
    call = ToolCall("f", {RAW_ARGUMENTS_KEY: "{oops"}, id="call_2")

    assert call.to_dict()["function"]["arguments"] == "{oops"


def test_token_usage_adds_up() -> None:
    total = TokenUsage(10, 2) + TokenUsage(5, 1)

    assert (total.input_tokens, total.output_tokens, total.total_tokens) == (15, 3, 18)


def test_tool_call_ids_are_unique() -> None:
    assert ToolCall("f", {}).id != ToolCall("f", {}).id


def test_scripted_model_requests_are_what_was_sent_at_each_call() -> None:
    model = ScriptedModel(["one", "two", "three"])
    conversation = [{"role": "system", "content": "sys"}, {"role": "user", "content": "task"}]
    model.generate(conversation)
    conversation.append({"role": "assistant", "content": "one"})
    model.generate(conversation)
    conversation[1]["content"] = "task, edited in place"  # as a compaction might
    conversation.append({"role": "user", "content": "more"})
    reply = model.generate(conversation)
    assert model.requests[0] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "task"},
    ]
    assert model.requests[1][1] == {"role": "user", "content": "task"}
    assert model.requests[2] == conversation and model.requests[2] is not conversation
    assert model.requests[2][1] is not conversation[1]  # copies, not the live messages
    assert reply.usage.input_tokens == _estimate_tokens(conversation)
