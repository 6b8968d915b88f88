"""``LiteLLMModel``: every provider LiteLLM supports, with our own retries and clear errors.

LiteLLM is imported on first use only (it takes seconds), so that ``import codeact`` stays fast.
"""

from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from codeact.context import with_cache_markers
from codeact.models import (
    ChatMessage,
    ModelConfigError,
    ModelError,
    TokenDelta,
    TokenUsage,
    ToolCall,
    _decode_arguments,
)

#: Set before LiteLLM is imported, unless the user set them: no remote cost-map or config
#: fetches (slow, and noisy offline); the bundled copies are used instead.
_LITELLM_ENV_DEFAULTS = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_OFFLINE_MODE": "true"}

#: Families that answer 400 to ``stop`` (OpenAI reasoning models), matched on the last id segment.
_REJECTS_STOP = re.compile(r"^(o1|o3|o4)([-_.:].*)?$|^gpt-5", re.IGNORECASE)

_RETRY_STATUSES = {408, 409, 429}
_MAX_DELAY_S = 60.0
#: A server that refuses connections (or a host that does not resolve) is usually not there at
#: all: two quick retries ride out a restart, then the run fails in about a second, not 15.
_CONNECTION_DELAYS_S = (0.25, 0.5)

log = logging.getLogger("codeact.models")
_NO_KEY_PLACEHOLDER = "no-key"  # the OpenAI client refuses to start without some key

_litellm_module: Any = None
_litellm_lock = threading.Lock()


def _litellm() -> Any:
    """Import LiteLLM on first use, quiet and offline by default."""
    global _litellm_module
    with _litellm_lock:
        if _litellm_module is None:
            for name, value in _LITELLM_ENV_DEFAULTS.items():
                os.environ.setdefault(name, value)
            import litellm

            litellm.suppress_debug_info = True
            _litellm_module = litellm
    return _litellm_module


class LiteLLMModel:
    """Any LiteLLM-supported model, e.g. ``"gpt-4o-mini"``, ``"anthropic/claude-sonnet-4-5"``,
    or ``"openai/<name>"`` with ``api_base`` for any OpenAI-compatible server (vLLM, llama.cpp).

    ``model_id`` may be a list of model ids: fallbacks, tried in order when one keeps failing
    (rate limits, server errors, timeouts) after its retries; each call starts with the first,
    and the reply says which one answered (``ChatMessage.model_id``, ``Step.model_id``).

    Rate limits (429), server errors (5xx), timeouts and connection errors are retried up to
    ``max_retries`` times with exponential backoff (``backoff * 2**attempt``), honouring
    ``Retry-After``; other failures raise ``ModelError`` at once, and authentication or model-id
    problems raise ``ModelConfigError``. ``cache_markers`` adds Anthropic-style
    ``cache_control`` markers to each request (``None``: for Claude models, whose prompt caches
    need them; other providers cache by themselves). ``kwargs`` (``temperature``,
    ``max_tokens``, ...) go to ``litellm.completion`` unchanged.
    """

    def __init__(
        self,
        model_id: str | Sequence[str],
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        max_retries: int = 4,
        timeout: float = 120.0,
        backoff: float = 1.0,
        cache_markers: bool | None = None,
        **kwargs: Any,
    ) -> None:
        ids = [model_id] if isinstance(model_id, str) else list(model_id)
        if not ids or not all(isinstance(i, str) and i for i in ids):
            raise ModelConfigError(f"model_id must be a model id or a list of them, not {ids!r}")
        self.model_ids = ids
        self.model_id = ids[0]
        self.api_base = api_base
        self.max_retries = max_retries
        self.timeout = timeout
        self.backoff = backoff
        self.cache_markers = cache_markers
        self.kwargs = kwargs
        self._given_key = api_key
        self._targets = {i: self._check_config(i) for i in ids}

    def __repr__(self) -> str:
        ids = self.model_id if len(self.model_ids) == 1 else self.model_ids
        base = f", api_base={self.api_base!r}" if self.api_base else ""
        return f"LiteLLMModel({ids!r}{base})"

    @property
    def settings(self) -> dict[str, Any]:
        """What shapes this model's replies besides the request (``CachedModel`` keys on it)."""
        ids = self.model_id if len(self.model_ids) == 1 else self.model_ids
        return {"model_id": ids, "api_base": self.api_base, **self.kwargs}

    @property
    def context_window(self) -> int | None:
        """Input tokens the (first) model takes, from LiteLLM's model info; ``None`` if unknown."""
        try:
            info = _litellm().get_model_info(self.model_id)
        except Exception:
            return None
        window = info.get("max_input_tokens") or info.get("max_tokens")
        return int(window) if window else None

    def _check_config(self, model_id: str) -> _Target:
        """Fail at construction on an unknown provider or a missing API key."""
        litellm = _litellm()
        try:
            _, provider, _, _ = litellm.get_llm_provider(
                model_id,
                custom_llm_provider=self.kwargs.get("custom_llm_provider"),
                api_base=self.api_base,
            )
        except Exception:
            raise ModelConfigError(
                f"LiteLLM does not know the provider of model {model_id!r}: prefix it, e.g. "
                f"'anthropic/...', or 'openai/{model_id}' for an OpenAI-compatible api_base"
            ) from None
        target = _Target(model_id, provider)
        last_segment = model_id.rsplit("/", 1)[-1]
        target.send_stop = not _REJECTS_STOP.match(last_segment) and _supports_stop(
            litellm, model_id, provider
        )
        target.cache_markers = self.cache_markers
        if target.cache_markers is None:
            target.cache_markers = _needs_cache_markers(litellm, model_id)
        env = litellm.validate_environment(model=model_id)
        missing = [k for k in env.get("missing_keys", []) if k.endswith("_API_KEY")]
        target.key_hint = " or ".join(missing) or f"{provider.upper()}_API_KEY"
        target.api_key = self._given_key
        if self._given_key is not None or env.get("keys_in_environment") or not missing:
            return target
        if self.api_base:
            target.api_key = _NO_KEY_PLACEHOLDER  # a local server decides for itself
            return target
        raise ModelConfigError(
            f"model {model_id!r} needs an API key: set {target.key_hint} in the environment "
            f"or pass api_key=... to LiteLLMModel"
        )

    def _request(
        self,
        target: _Target,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        stop: list[str] | None,
        stream: bool,
    ) -> dict[str, Any]:
        if target.cache_markers:
            messages = with_cache_markers(messages)
        request: dict[str, Any] = {"drop_params": True, **self.kwargs}
        request.update(model=target.model_id, messages=messages, timeout=self.timeout)
        request.update(num_retries=0, max_retries=0)  # the retries are ours, counted here
        if self.api_base:
            request["api_base"] = self.api_base
        if target.api_key is not None:
            request["api_key"] = target.api_key
        if tools:
            request["tools"] = tools
        if stop and target.send_stop:
            request["stop"] = stop
        if stream:
            request.update(stream=True, stream_options={"include_usage": True})
        return request

    def generate(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        stop: list[str] | None = None,
        timeout: float | None = None,
    ) -> ChatMessage:
        """One reply. ``timeout`` caps the whole call, retries and fallbacks included (the
        agent passes the time its run has left)."""
        *_, reply = self._replies(messages, tools, stop, timeout, streamed=False)
        return reply  # type: ignore[return-value]

    def stream(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        stop: list[str] | None = None,
        timeout: float | None = None,
    ) -> Iterator[TokenDelta | ChatMessage]:
        """The reply as it is written: ``TokenDelta``s, then the whole ``ChatMessage`` last.

        A stream that breaks is retried like any failed call; a ``"restart"`` delta says that
        what came before it is void.
        """
        return self._replies(messages, tools, stop, timeout, streamed=True)

    async def agenerate(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        stop: list[str] | None = None,
        timeout: float | None = None,
    ) -> ChatMessage:
        """The async twin of ``generate``."""
        reply = None
        async for item in self._areplies(messages, tools, stop, timeout, streamed=False):
            reply = item
        return reply  # type: ignore[return-value]

    def astream(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        stop: list[str] | None = None,
        timeout: float | None = None,
    ) -> AsyncIterator[TokenDelta | ChatMessage]:
        """The async twin of ``stream``."""
        return self._areplies(messages, tools, stop, timeout, streamed=True)

    def _replies(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        stop: list[str] | None,
        timeout: float | None,
        streamed: bool,
    ) -> Iterator[TokenDelta | ChatMessage]:
        """The retry and fallback loop: deltas (when ``streamed``), then the reply."""
        litellm = _litellm()
        deadline = None if timeout is None else time.monotonic() + timeout
        for target, last in self._in_order():
            request = self._request(target, messages, tools, stop, streamed)
            attempts = _Attempts(self, target, deadline)
            while True:
                if attempts.before(request) and streamed:
                    yield TokenDelta("", "restart")
                try:
                    response = litellm.completion(**request)
                    if streamed:
                        chunks = []
                        for chunk in response:
                            chunks.append(chunk)
                            yield from _deltas(chunk)
                        response = _assembled(litellm, chunks, messages)
                except Exception as exc:
                    delay = self._retry_or_fall_back(attempts, exc, request, last)
                    if delay is None:
                        break  # on to the next model
                    time.sleep(delay)
                    continue
                yield _parse_response(target.model_id, response)
                return

    async def _areplies(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        stop: list[str] | None,
        timeout: float | None,
        streamed: bool,
    ) -> AsyncIterator[TokenDelta | ChatMessage]:
        """The async twin of ``_replies``."""
        import asyncio  # not at module level: keeps `import codeact` fast

        litellm = _litellm()
        deadline = None if timeout is None else time.monotonic() + timeout
        for target, last in self._in_order():
            request = self._request(target, messages, tools, stop, streamed)
            attempts = _Attempts(self, target, deadline)
            while True:
                if attempts.before(request) and streamed:
                    yield TokenDelta("", "restart")
                try:
                    response = await litellm.acompletion(**request)
                    if streamed:
                        chunks = []
                        async for chunk in response:
                            chunks.append(chunk)
                            for delta in _deltas(chunk):
                                yield delta
                        response = _assembled(litellm, chunks, messages)
                except Exception as exc:
                    delay = self._retry_or_fall_back(attempts, exc, request, last)
                    if delay is None:
                        break  # on to the next model
                    await asyncio.sleep(delay)
                    continue
                yield _parse_response(target.model_id, response)
                return

    def _in_order(self) -> Iterator[tuple[_Target, bool]]:
        for index, model_id in enumerate(self.model_ids):
            yield self._targets[model_id], index == len(self.model_ids) - 1

    def _retry_or_fall_back(
        self, attempts: _Attempts, exc: Exception, request: dict[str, Any], last: bool
    ) -> float | None:
        """Seconds before the next attempt, ``None`` to go on to the next model, or raise."""
        try:
            return attempts.after_failure(exc, request)
        except _OutOfRetries as out:
            if last:
                raise
            following = self.model_ids[self.model_ids.index(attempts.target.model_id) + 1]
            log.warning("%s; falling back to %s", out, following)
            return None


class _Target:
    """What one of the model ids needs per request (learned at construction or on the way)."""

    def __init__(self, model_id: str, provider: str) -> None:
        self.model_id = model_id
        self.provider = provider
        self.send_stop = True
        self.cache_markers: bool | None = False
        self.key_hint = ""
        self.api_key: str | None = None


class _OutOfRetries(ModelError):
    """A model kept failing with errors worth retrying: the next fallback may do better."""


def _needs_cache_markers(litellm: Any, model_id: str) -> bool:
    """Claude models (Anthropic, Bedrock, Vertex) cache only what is marked."""
    if "claude" not in model_id.lower():
        return False
    try:
        return bool(litellm.utils.supports_prompt_caching(model=model_id))
    except Exception:
        return False


def _deltas(chunk: Any) -> Iterator[TokenDelta]:
    """The text pieces of one streamed chunk: reasoning, content, tool-call names and arguments."""
    choices = getattr(chunk, "choices", None) or []
    delta = getattr(choices[0], "delta", None) if choices else None
    if delta is None:
        return
    reasoning = getattr(delta, "reasoning_content", None)
    if reasoning:
        yield TokenDelta(reasoning, "reasoning")
    if getattr(delta, "content", None):
        yield TokenDelta(delta.content, "content")
    for call in getattr(delta, "tool_calls", None) or []:
        function = getattr(call, "function", None)
        text = (getattr(function, "name", None) or "") + (
            getattr(function, "arguments", None) or ""
        )
        if text:
            yield TokenDelta(text, "tool_call")


def _assembled(litellm: Any, chunks: list[Any], messages: Any) -> Any:
    """One response from the chunks (``None`` for none: a malformed response)."""
    return litellm.stream_chunk_builder(chunks, messages=messages) if chunks else None


def _supports_stop(litellm: Any, model_id: str, provider: str) -> bool:
    try:
        params = litellm.get_supported_openai_params(model=model_id, custom_llm_provider=provider)
    except Exception:
        return True
    return params is None or "stop" in params


class _Attempts:
    """Decides, after each failed call, whether to wait and retry or to raise, and counts."""

    def __init__(self, model: LiteLLMModel, target: _Target, deadline: float | None) -> None:
        self.model = model
        self.target = target
        self.deadline = deadline
        self.failures = 0

    def before(self, request: dict[str, Any]) -> bool:
        """Cap this attempt's timeout by the deadline (raise when it has passed); whether it
        is a retry."""
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise ModelError(
                    f"model {self.target.model_id!r} gave no reply within the time the run had left"
                )
            request["timeout"] = min(self.model.timeout, left)
        return self.failures > 0

    def after_failure(self, exc: Exception, request: dict[str, Any]) -> float:
        """Seconds to wait before the next attempt, or raise the ``ModelError`` to report."""
        model, target = self.model, self.target
        model_id = target.model_id
        status = _status_of(exc)
        message = _provider_message(exc)
        if status in (401, 403):
            raise ModelConfigError(_auth_advice(model, target, status, message)) from exc
        if status == 404:
            where = " and api_base" if model.api_base else ""
            raise ModelConfigError(
                f"model {model_id!r} was not found (404: {message}); check the model id{where}"
            ) from exc
        if status == 400 and "stop" in request and re.search(r"\bstop\b", message, re.I):
            target.send_stop = False  # remembered for later calls of this model
            del request["stop"]
            return 0.0
        retryable, what = _retryable(exc, status)
        if what in ("connection error", "timed out") and model.api_base:
            what += f" ({model.api_base})"
        if not retryable:
            raise ModelError(f"model {model_id!r} failed: {what}: {message}") from exc
        self.failures += 1
        connection = what.startswith("connection error")
        retries = (
            min(model.max_retries, len(_CONNECTION_DELAYS_S)) if connection else model.max_retries
        )
        if self.failures > retries:
            raise _OutOfRetries(
                f"model {model_id!r} failed after {self.failures} attempts; "
                f"last error: {what}: {message}"
            ) from exc
        delay = _retry_after(exc)
        if connection:
            delay = _CONNECTION_DELAYS_S[self.failures - 1]
        elif delay is None:
            delay = model.backoff * 2 ** (self.failures - 1)
        delay = min(delay, _MAX_DELAY_S) * random.uniform(1.0, 1.1)
        if self.deadline is not None and time.monotonic() + delay >= self.deadline:
            raise ModelError(
                f"model {model_id!r} failed ({what}: {message}) and the run has no time left "
                "to retry"
            ) from exc
        log.warning(
            "%s: %s, retrying in %.1f s (%d/%d)", model_id, what, delay, self.failures, retries
        )
        return delay


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _status_of(exc: Exception) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _retryable(exc: Exception, status: int | None) -> tuple[bool, str]:
    """Whether a failure is transient, and a short description of it.

    LiteLLM reports an unreadable body (not JSON, no choices) as a 500 too; only a 500 backed by a
    real HTTP error response or a connection failure is worth another attempt.
    """
    import httpx
    import openai

    chain = _causes(exc)
    if any(isinstance(e, (openai.APITimeoutError, httpx.TimeoutException)) for e in chain):
        return True, "timed out"
    if any(isinstance(e, (openai.APIConnectionError, httpx.TransportError)) for e in chain):
        return True, "connection error"
    if status == 429:
        return True, "rate limited (HTTP 429)"
    answered = getattr(exc, "litellm_response_headers", None) is not None or any(
        isinstance(e, httpx.HTTPStatusError) for e in chain
    )
    if status is not None and (status in _RETRY_STATUSES or status >= 500):
        if answered or status != 500:
            return True, f"server error (HTTP {status})"
        return False, "malformed response"
    return False, f"HTTP {status}" if status else type(exc).__name__


def _provider_message(exc: Exception) -> str:
    """The provider's own error message, without LiteLLM's class-name prefixes."""
    response = getattr(exc, "response", None)
    try:
        error = response.json().get("error")  # type: ignore[union-attr]
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    except Exception:
        pass
    text = str(getattr(exc, "message", "") or exc)
    text = re.sub(r"^(litellm\.\w+: )?(\w+: )?(\w+Exception - )?", "", text).strip()
    return text if len(text) <= 300 else text[:300] + "..."


def _retry_after(exc: Exception) -> float | None:
    """Seconds from ``Retry-After`` (or ``retry-after-ms``) on the error's HTTP response."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or getattr(exc, "litellm_response_headers", None)
    if not headers:
        return None
    try:
        if headers.get("retry-after-ms"):
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            import email.utils  # here: it imports socket, random, urllib (import codeact is fast)

            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _auth_advice(model: LiteLLMModel, target: _Target, status: int, message: str) -> str:
    what = "rejected the API key" if status == 401 else "denied access"
    if model.api_base:
        return (
            f"the server at {model.api_base} {what} for model {target.model_id!r} "
            f"({status}: {message}); pass its key as api_key=..."
        )
    return (
        f"the provider {what} for model {target.model_id!r} ({status}: {message}); "
        f"check {target.key_hint} or pass api_key=..."
    )


def _parse_response(model_id: str, response: Any) -> ChatMessage:
    """LiteLLM's response object → ``ChatMessage``; an unusable reply is a ``ModelError``."""
    choices = getattr(response, "choices", None)
    message = getattr(choices[0], "message", None) if choices else None
    if message is None:
        raise ModelError(f"model {model_id!r} failed: malformed response: no message in choices")
    content = message.content
    if isinstance(content, list):  # content parts
        content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    tool_calls = [
        ToolCall(
            call.function.name, _decode_arguments(call.function.arguments or ""), call.id or ""
        )
        for call in (message.tool_calls or [])
    ]
    usage = getattr(response, "usage", None)
    blocks = getattr(message, "thinking_blocks", None)
    return ChatMessage(
        content,
        tool_calls,
        TokenUsage(
            getattr(usage, "prompt_tokens", 0) or 0, getattr(usage, "completion_tokens", 0) or 0
        ),
        _cost(response),
        reasoning=getattr(message, "reasoning_content", None) or None,
        thinking_blocks=[dict(b) for b in blocks] if blocks else None,
        model_id=model_id,
    )


def _cost(response: Any) -> float | None:
    """Price of the call in USD when LiteLLM knows the model, else ``None``."""
    hidden = getattr(response, "_hidden_params", None) or {}
    cost = hidden.get("response_cost")
    if cost is None:
        try:
            cost = _litellm().completion_cost(completion_response=response)
        except Exception:
            return None
    return float(cost) if cost is not None else None
