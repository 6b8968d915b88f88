"""Models: OpenAI-format chat messages in, one assistant message out, sync and async.

``ScriptedModel`` replays fixed replies (tests, offline examples, recorded runs);
``LiteLLMModel`` (in ``codeact.litellm_model``) reaches every provider LiteLLM supports. This
module is on the ``import codeact`` fast path and imports nothing outside the standard library.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import math
import os
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

#: Key under which ``ToolCall.arguments`` holds the model's text when it was not a JSON object,
#: so the agent can tell the model its arguments were malformed instead of crashing.
RAW_ARGUMENTS_KEY = "__raw_arguments__"


@dataclass
class ToolCall:
    """One tool call requested by the model."""

    name: str
    arguments: dict[str, Any]
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            self.id = f"call_{os.urandom(12).hex()}"

    def to_dict(self) -> dict[str, Any]:
        """OpenAI format, with arguments as a JSON string (raw text sent back verbatim)."""
        raw = self.arguments.get(RAW_ARGUMENTS_KEY)
        arguments = raw if isinstance(raw, str) else json.dumps(self.arguments)
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": arguments},
        }


@dataclass
class TokenUsage:
    """Tokens of one or more model calls; ``+`` sums them over a run."""

    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens
        )

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass
class ChatMessage:
    """What a model returns: one assistant message, with its cost when known.

    ``reasoning`` is a reasoning model's thinking (LiteLLM's ``reasoning_content``): kept for
    the record, never sent back. ``thinking_blocks`` are the signed thinking blocks some
    providers (Anthropic, with tools) require back in the next request, so they are sent.
    ``model_id`` says which model answered (one of a ``LiteLLMModel``'s fallbacks).
    """

    content: str | None
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: TokenUsage = field(default_factory=TokenUsage)
    cost_usd: float | None = None
    reasoning: str | None = None
    thinking_blocks: list[dict[str, Any]] | None = None
    model_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The OpenAI-format assistant message to append to the conversation."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [call.to_dict() for call in self.tool_calls]
        if self.thinking_blocks:
            message["thinking_blocks"] = self.thinking_blocks
        return message


@dataclass
class TokenDelta:
    """A piece of a reply while the model writes it (from a model's optional ``stream`` and
    ``astream`` methods, which end with the whole ``ChatMessage``).

    ``kind`` is ``"content"`` (the reply's text), ``"reasoning"`` (a reasoning model's
    thinking), ``"tool_call"`` (a tool call's name and arguments as they stream) or
    ``"restart"`` (a broken stream is being retried: what came before is void). The agent
    fills in ``agent`` and ``step``.
    """

    text: str
    kind: str = "content"
    agent: str = ""
    step: int = 0


class ModelError(RuntimeError):
    """The model could not produce a reply; the message says what happened.

    Raised out of ``agent.run`` with the partial run as ``result`` (a ``RunResult`` with state
    ``"error"``: the steps so far, their tokens and cost), so that nothing is lost.
    """

    result: Any = None


class ModelConfigError(ModelError):
    """A misconfiguration the user must fix (missing API key, bad model id)."""


def accepted_options(method: Callable[..., Any], **options: Any) -> dict[str, Any]:
    """The ``options`` that ``method`` takes as keywords, leaving out ``None`` values.

    The agent offers a model more than the ``Model`` protocol requires (``timeout``: the time
    its run has left); a model of your own that doesn't take it still works.
    """
    taken = _keywords(getattr(method, "__func__", method))
    return {k: v for k, v in options.items() if v is not None and (taken is None or k in taken)}


@functools.lru_cache(maxsize=256)
def _keywords(function: Callable[..., Any]) -> frozenset[str] | None:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return frozenset()
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return frozenset(p.name for p in parameters)


@runtime_checkable
class Model(Protocol):
    """Messages (+ tool schemas, stop sequences) in, an assistant message out.

    Optional, used when present: a ``timeout`` keyword (seconds the run has left), and
    ``stream``/``astream`` methods with ``generate``'s arguments that yield ``TokenDelta``s
    and then the ``ChatMessage`` (for token streaming).
    """

    model_id: str

    def generate(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        stop: list[str] | None = None,
    ) -> ChatMessage: ...

    async def agenerate(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        stop: list[str] | None = None,
    ) -> ChatMessage: ...


# -- ScriptedModel ------------------------------------------------------------------------------


class ScriptedModel:
    """Replays fixed assistant replies in order; a real model for tests and offline runs.

    Each response is a string (the assistant's text) or a dict ``{"content": str | None,
    "tool_calls": [{"name": str, "arguments": dict}], "reasoning": str}``. ``requests`` keeps a
    copy of every message list it was sent, as it was then (copies of unchanged messages are
    shared from one request to the next), ``calls`` the keyword options of each call. Token
    usage is estimated from text length (~4 characters per token) so budgets and summaries work
    offline. ``stop`` and ``timeout`` are ignored; ``stream`` gives the reply word by word.
    """

    model_id = "scripted"

    def __init__(self, responses: Sequence[str | dict[str, Any]]) -> None:
        self.responses: list[ChatMessage] = [_scripted_reply(r, i) for i, r in enumerate(responses)]
        self.requests: list[list[dict[str, Any]]] = []
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._last: list[tuple[dict[str, Any], dict[str, Any], int]] = []  # see _snapshot

    @classmethod
    def from_run(cls, source: str | os.PathLike[str] | dict[str, Any]) -> ScriptedModel:
        """Replay a saved run: a JSON file (or its dict) whose ``"model_outputs"`` are responses."""
        if isinstance(source, dict):
            run = source
        else:
            with open(source, encoding="utf-8") as f:
                run = json.load(f)
        outputs = run.get("model_outputs") if isinstance(run, dict) else None
        if not isinstance(outputs, list):
            raise ValueError(f"cannot replay {source!r}: it has no 'model_outputs' list")
        return cls(outputs)

    def generate(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        stop: list[str] | None = None,
        timeout: float | None = None,
    ) -> ChatMessage:
        with self._lock:
            index = len(self.requests)
            request, chars = self._snapshot(messages)
            self.requests.append(request)
            self.calls.append({"tools": tools, "stop": stop, "timeout": timeout})
        if index >= len(self.responses):
            raise ModelError(
                f"ScriptedModel ran out after {len(self.responses)} responses "
                f"(call {index + 1} asked for another); add responses to the script"
            )
        reply = self.responses[index]
        usage = TokenUsage(math.ceil(chars / 4), _estimate_tokens([reply.to_dict()]))
        calls = copy.deepcopy(reply.tool_calls)
        return ChatMessage(
            reply.content, calls, usage, reasoning=reply.reasoning, model_id=self.model_id
        )

    def _snapshot(self, messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
        """A copy of ``messages`` as they are now, and their characters (for the token estimate).

        Made incrementally, since a conversation mostly grows at its end: a message that is the
        very object of the previous request and still equal to its copy there reuses that copy
        (and its count); anything new, or changed in place since, is copied afresh. A full deep
        copy each call made a 50-step run quadratic in its length.
        """
        last, kept = self._last, []
        for i, message in enumerate(messages):
            if i < len(last) and last[i][0] is message and last[i][1] == message:
                kept.append(last[i])
            else:
                copied = copy.deepcopy(message)
                kept.append((message, copied, _message_chars(copied)))
        self._last = kept
        return [copied for _, copied, _ in kept], sum(chars for _, _, chars in kept)

    async def agenerate(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        stop: list[str] | None = None,
        timeout: float | None = None,
    ) -> ChatMessage:
        return self.generate(messages, tools=tools, stop=stop)

    def stream(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        stop: list[str] | None = None,
        timeout: float | None = None,
    ) -> Iterator[TokenDelta | ChatMessage]:
        """The scripted reply a word at a time (reasoning, text, tool calls), then whole."""
        reply = self.generate(messages, tools=tools, stop=stop)
        for kind, text in (("reasoning", reply.reasoning), ("content", reply.content)):
            for piece in re.findall(r"\S+\s*|\s+", text or ""):
                yield TokenDelta(piece, kind)
        for call in reply.tool_calls:
            yield TokenDelta(f"{call.name}({json.dumps(call.arguments)})", "tool_call")
        yield reply

    async def astream(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        stop: list[str] | None = None,
        timeout: float | None = None,
    ) -> AsyncIterator[TokenDelta | ChatMessage]:
        for item in self.stream(messages, tools=tools, stop=stop):
            yield item


def _scripted_reply(response: str | dict[str, Any], index: int) -> ChatMessage:
    """Validate one scripted response up front, so a bad script fails at construction."""
    if isinstance(response, str):
        return ChatMessage(response)
    if not isinstance(response, dict):
        raise TypeError(f"scripted response {index} must be a str or a dict, not {response!r}")
    content = response.get("content")
    calls = response.get("tool_calls") or []
    if content is not None and not isinstance(content, str):
        raise TypeError(f"scripted response {index}: 'content' must be a str or None")
    tool_calls = []
    for call in calls:
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            raise TypeError(f"scripted response {index}: tool calls need a 'name', got {call!r}")
        arguments = call.get("arguments") or {}
        if isinstance(arguments, str):
            arguments = _decode_arguments(arguments)
        if not isinstance(arguments, dict):
            raise TypeError(f"scripted response {index}: 'arguments' of {call['name']} not a dict")
        tool_calls.append(ToolCall(call["name"], arguments, call.get("id") or ""))
    reasoning = response.get("reasoning")
    if reasoning is not None and not isinstance(reasoning, str):
        raise TypeError(f"scripted response {index}: 'reasoning' must be a str")
    return ChatMessage(content, tool_calls, reasoning=reasoning)


def _estimate_tokens(messages: list[dict[str, Any]]) -> int:
    """About four characters per token, counting text content and tool-call arguments."""
    return math.ceil(sum(_message_chars(message) for message in messages) / 4)


def _message_chars(message: dict[str, Any]) -> int:
    chars = 0
    content = message.get("content")
    if isinstance(content, str):
        chars += len(content)
    elif isinstance(content, list):  # multimodal parts
        chars += sum(len(str(part.get("text", ""))) for part in content if isinstance(part, dict))
    for call in message.get("tool_calls") or []:
        function = call.get("function", call)
        chars += len(str(function.get("name", ""))) + len(str(function.get("arguments", "")))
    return chars


def _decode_arguments(raw: str) -> dict[str, Any]:
    """JSON object → dict; anything else is kept verbatim under ``RAW_ARGUMENTS_KEY``."""
    if not raw.strip():
        return {}
    try:
        decoded = json.loads(raw)
    except ValueError:
        return {RAW_ARGUMENTS_KEY: raw}
    return decoded if isinstance(decoded, dict) else {RAW_ARGUMENTS_KEY: raw}
