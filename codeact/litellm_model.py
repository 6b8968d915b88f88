"""``LiteLLMModel``: every provider LiteLLM supports, with our own retries and clear errors.

LiteLLM is imported on first use only (it takes seconds), so that ``import codeact`` stays fast.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import re
import threading
import time
from typing import Any

from codeact.models import (
    ChatMessage,
    ModelConfigError,
    ModelError,
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

    Rate limits (429), server errors (5xx), timeouts and connection errors are retried up to
    ``max_retries`` times with exponential backoff (``backoff * 2**attempt``), honouring
    ``Retry-After``; other failures raise ``ModelError`` at once, and authentication or model-id
    problems raise ``ModelConfigError``. ``kwargs`` (``temperature``, ``max_tokens``, ...) go to
    ``litellm.completion`` unchanged.
    """

    def __init__(
        self,
        model_id: str,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        max_retries: int = 4,
        timeout: float = 120.0,
        backoff: float = 1.0,
        **kwargs: Any,
    ) -> None:
        self.model_id = model_id
        self.api_base = api_base
        self.max_retries = max_retries
        self.timeout = timeout
        self.backoff = backoff
        self.kwargs = kwargs
        self._api_key = api_key
        self._send_stop = True
        self._check_config()

    def __repr__(self) -> str:
        base = f", api_base={self.api_base!r}" if self.api_base else ""
        return f"LiteLLMModel({self.model_id!r}{base})"

    @property
    def settings(self) -> dict[str, Any]:
        """What shapes this model's replies besides the request (``CachedModel`` keys on it)."""
        return {"model_id": self.model_id, "api_base": self.api_base, **self.kwargs}

    def _check_config(self) -> None:
        """Fail at construction on an unknown provider or a missing API key."""
        litellm = _litellm()
        try:
            _, provider, _, _ = litellm.get_llm_provider(
                self.model_id,
                custom_llm_provider=self.kwargs.get("custom_llm_provider"),
                api_base=self.api_base,
            )
        except Exception:
            raise ModelConfigError(
                f"LiteLLM does not know the provider of model {self.model_id!r}: prefix it, e.g. "
                f"'anthropic/...', or 'openai/{self.model_id}' for an OpenAI-compatible api_base"
            ) from None
        last_segment = self.model_id.rsplit("/", 1)[-1]
        self._send_stop = not _REJECTS_STOP.match(last_segment) and _supports_stop(
            litellm, self.model_id, provider
        )
        env = litellm.validate_environment(model=self.model_id)
        missing = [k for k in env.get("missing_keys", []) if k.endswith("_API_KEY")]
        self._key_hint = " or ".join(missing) or f"{provider.upper()}_API_KEY"
        if self._api_key is not None or env.get("keys_in_environment") or not missing:
            return
        if self.api_base:
            self._api_key = _NO_KEY_PLACEHOLDER  # a local server decides for itself
            return
        raise ModelConfigError(
            f"model {self.model_id!r} needs an API key: set {self._key_hint} in the environment "
            f"or pass api_key=... to LiteLLMModel"
        )

    def _request(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        stop: list[str] | None,
    ) -> dict[str, Any]:
        request: dict[str, Any] = {"drop_params": True, **self.kwargs}
        request.update(model=self.model_id, messages=messages, timeout=self.timeout)
        request.update(num_retries=0, max_retries=0)  # the retries are ours, counted here
        if self.api_base:
            request["api_base"] = self.api_base
        if self._api_key is not None:
            request["api_key"] = self._api_key
        if tools:
            request["tools"] = tools
        if stop and self._send_stop:
            request["stop"] = stop
        return request

    def generate(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        stop: list[str] | None = None,
    ) -> ChatMessage:
        litellm = _litellm()
        request = self._request(messages, tools, stop)
        attempts = _Attempts(self)
        while True:
            try:
                response = litellm.completion(**request)
            except Exception as exc:
                time.sleep(attempts.after_failure(exc, request))
                continue
            return _parse_response(self.model_id, response)

    async def agenerate(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        stop: list[str] | None = None,
    ) -> ChatMessage:
        litellm = _litellm()
        request = self._request(messages, tools, stop)
        attempts = _Attempts(self)
        while True:
            try:
                response = await litellm.acompletion(**request)
            except Exception as exc:
                import asyncio  # not at module level: keeps `import codeact` fast

                await asyncio.sleep(attempts.after_failure(exc, request))
                continue
            return _parse_response(self.model_id, response)


def _supports_stop(litellm: Any, model_id: str, provider: str) -> bool:
    try:
        params = litellm.get_supported_openai_params(model=model_id, custom_llm_provider=provider)
    except Exception:
        return True
    return params is None or "stop" in params


class _Attempts:
    """Decides, after each failed call, whether to wait and retry or to raise, and counts."""

    def __init__(self, model: LiteLLMModel) -> None:
        self.model = model
        self.failures = 0

    def after_failure(self, exc: Exception, request: dict[str, Any]) -> float:
        """Seconds to wait before the next attempt, or raise the ``ModelError`` to report."""
        model = self.model
        status = _status_of(exc)
        message = _provider_message(exc)
        if status in (401, 403):
            raise ModelConfigError(_auth_advice(model, status, message)) from exc
        if status == 404:
            where = " and api_base" if model.api_base else ""
            raise ModelConfigError(
                f"model {model.model_id!r} was not found (404: {message}); "
                f"check the model id{where}"
            ) from exc
        if status == 400 and "stop" in request and re.search(r"\bstop\b", message, re.I):
            model._send_stop = False  # remembered for later calls of this model
            del request["stop"]
            return 0.0
        retryable, what = _retryable(exc, status)
        if what in ("connection error", "timed out") and model.api_base:
            what += f" ({model.api_base})"
        if not retryable:
            raise ModelError(f"model {model.model_id!r} failed: {what}: {message}") from exc
        self.failures += 1
        connection = what.startswith("connection error")
        retries = (
            min(model.max_retries, len(_CONNECTION_DELAYS_S)) if connection else model.max_retries
        )
        if self.failures > retries:
            raise ModelError(
                f"model {model.model_id!r} failed after {self.failures} attempts; "
                f"last error: {what}: {message}"
            ) from exc
        delay = _retry_after(exc)
        if connection:
            delay = _CONNECTION_DELAYS_S[self.failures - 1]
        elif delay is None:
            delay = model.backoff * 2 ** (self.failures - 1)
        delay = min(delay, _MAX_DELAY_S) * random.uniform(1.0, 1.1)
        log.warning(
            "%s: %s, retrying in %.1f s (%d/%d)",
            model.model_id,
            what,
            delay,
            self.failures,
            retries,
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
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _auth_advice(model: LiteLLMModel, status: int, message: str) -> str:
    what = "rejected the API key" if status == 401 else "denied access"
    if model.api_base:
        return (
            f"the server at {model.api_base} {what} for model {model.model_id!r} "
            f"({status}: {message}); pass its key as api_key=..."
        )
    return (
        f"the provider {what} for model {model.model_id!r} ({status}: {message}); "
        f"check {model._key_hint} or pass api_key=..."
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
    return ChatMessage(
        content,
        tool_calls,
        TokenUsage(
            getattr(usage, "prompt_tokens", 0) or 0, getattr(usage, "completion_tokens", 0) or 0
        ),
        _cost(response),
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
