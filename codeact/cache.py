"""An on-disk cache of model replies, for reproducible and free reruns during development.

Off unless you wrap a model in it: ``CachedModel(LiteLLMModel("gpt-4o-mini"))``. A reply is keyed
by everything that shapes it (the model's id and settings — server, temperature and other
sampling options, as its ``settings`` says —, the messages, tool schemas and stop sequences), so
a changed prompt, tool or setting misses the cache instead of replaying a stale answer.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from codeact.models import ChatMessage, Model, TokenUsage, ToolCall


class CachedModel:
    """A ``Model`` that answers from ``directory`` when it has seen the exact request before."""

    def __init__(self, model: Model, directory: str | os.PathLike[str] = ".codeact-cache") -> None:
        self.model = model
        self.model_id = model.model_id
        self.directory = Path(directory)
        self.hits = 0
        self.misses = 0

    def generate(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        stop: list[str] | None = None,
    ) -> ChatMessage:
        path, reply = self._lookup(messages, tools, stop)
        if reply is None:
            reply = self._remember(path, self.model.generate(messages, tools=tools, stop=stop))
        return reply

    async def agenerate(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        stop: list[str] | None = None,
    ) -> ChatMessage:
        path, reply = self._lookup(messages, tools, stop)
        if reply is None:
            reply = await self.model.agenerate(messages, tools=tools, stop=stop)
            self._remember(path, reply)
        return reply

    def _lookup(self, messages: Any, tools: Any, stop: Any) -> tuple[Path, ChatMessage | None]:
        request = {
            "model": self.model_id,
            "settings": getattr(self.model, "settings", None),
            "messages": messages,
            "tools": tools,
            "stop": stop,
        }
        text = json.dumps(request, sort_keys=True, ensure_ascii=False, default=repr)
        path = self.directory / f"{hashlib.sha256(text.encode()).hexdigest()}.json"
        reply = _load(path)
        if reply is not None:
            self.hits += 1
        return path, reply

    def _remember(self, path: Path, reply: ChatMessage) -> ChatMessage:
        self.misses += 1
        _store(path, reply)
        return reply


def _load(path: Path) -> ChatMessage | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # absent, or a torn write: ask the model again
    return ChatMessage(
        data["content"],
        [ToolCall(c["name"], c["arguments"], c["id"]) for c in data["tool_calls"]],
        TokenUsage(**data["usage"]),
        data.get("cost_usd"),
    )


def _store(path: Path, reply: ChatMessage) -> None:
    data = {
        "content": reply.content,
        "tool_calls": [
            {"name": c.name, "arguments": c.arguments, "id": c.id} for c in reply.tool_calls
        ],
        "usage": {
            "input_tokens": reply.usage.input_tokens,
            "output_tokens": reply.usage.output_tokens,
        },
        "cost_usd": reply.cost_usd,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False)
    os.replace(fh.name, path)  # atomic: concurrent runs never read half a reply
