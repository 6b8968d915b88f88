"""A real OpenAI chat-completions server on 127.0.0.1 for tests, scripted per test.

Each test queues the replies the server gives, in order, and reads back what it was sent::

    def test_something(openai_server):
        openai_server.complete("Hello!")                     # 200 with a chat completion
        openai_server.fail(429, headers={"Retry-After": "1"})  # an OpenAI-style error
        model = LiteLLMModel(openai_server.model_id, api_base=openai_server.url)
        ...
        openai_server.requests[0].body["messages"]

Replies are consumed by ``POST .../chat/completions`` in arrival order. With the queue empty the
server answers 500 with a message saying so, so a test that forgot a reply fails loudly. A
request with ``"stream": true`` gets its (successful) reply as server-sent events, a few
characters per chunk, sent as they are written (``chunk_delay_s`` apart).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

#: What a test names its model; LiteLLM routes ``openai/<name>`` to any OpenAI-compatible server.
TEST_MODEL = "test-model"


def completion_body(
    content: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    *,
    model: str = TEST_MODEL,
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    finish_reason: str | None = None,
) -> dict[str, Any]:
    """A chat-completions response body holding one assistant message.

    ``tool_calls`` items are ``{"name": str, "arguments": dict | str}`` (a str is sent verbatim,
    which lets a test send undecodable JSON) or full OpenAI tool-call dicts, passed through.
    """
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = [_tool_call(call) for call in tool_calls]
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish_reason or ("tool_calls" if tool_calls else "stop"),
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def error_body(message: str, *, type: str = "server_error", code: str | None = None) -> dict:
    """An error body in OpenAI's format, as providers send with 4xx/5xx statuses."""
    return {"error": {"message": message, "type": type, "param": None, "code": code}}


def stream_events(body: dict[str, Any], *, include_usage: bool, size: int = 4) -> list[dict]:
    """A completion body as the chunks a provider streams: the role, the reasoning and the
    content ``size`` characters at a time, each tool call (name, then its arguments in
    pieces), the finish reason, and the usage when asked for."""
    choice = body["choices"][0]
    message = choice["message"]
    base = {"id": body["id"], "object": "chat.completion.chunk", "created": body["created"]}
    base["model"] = body["model"]

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    events = [chunk({"role": "assistant", "content": ""})]
    for key in ("reasoning_content", "content"):
        text = message.get(key) or ""
        events += [chunk({key: text[i : i + size]}) for i in range(0, len(text), size)]
    for index, call in enumerate(message.get("tool_calls") or []):
        head = {"index": index, "id": call["id"], "type": "function"}
        head["function"] = {"name": call["function"]["name"], "arguments": ""}
        events.append(chunk({"tool_calls": [head]}))
        arguments = call["function"]["arguments"]
        for i in range(0, len(arguments), size):
            piece = {"index": index, "function": {"arguments": arguments[i : i + size]}}
            events.append(chunk({"tool_calls": [piece]}))
    events.append(chunk({}, choice.get("finish_reason") or "stop"))
    if include_usage:
        events.append({**base, "choices": [], "usage": body["usage"]})
    return events


def _tool_call(call: dict[str, Any]) -> dict[str, Any]:
    if "function" in call:
        return call
    arguments = call.get("arguments", {})
    return {
        "id": call.get("id") or f"call_{uuid.uuid4().hex[:12]}",
        "type": "function",
        "function": {
            "name": call["name"],
            "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
        },
    }


@dataclass
class Reply:
    """One scripted answer: a status, headers and a body (dict → JSON, str/bytes → verbatim).

    ``drop=True`` closes the connection without answering, as a crashed upstream does.
    """

    status: int = 200
    body: dict[str, Any] | str | bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop: bool = False
    chunk_delay_s: float = 0.0


@dataclass
class RecordedRequest:
    """What the server received: ``body`` is the decoded JSON (``None`` if it was not JSON)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    time: float  # time.monotonic() on arrival


class OpenAIServer:
    """Serves queued replies on ``url`` (an ``api_base`` ending in ``/v1``) from a daemon thread."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.owner = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def model_id(self) -> str:
        """A LiteLLM model id that reaches this server when used with ``api_base=url``."""
        return f"openai/{TEST_MODEL}"

    def start(self) -> OpenAIServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- scripting ----------------------------------------------------------------------------

    def reply(
        self,
        body: dict[str, Any] | str | bytes,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        delay_s: float = 0.0,
        chunk_delay_s: float = 0.0,
    ) -> None:
        """Queue a raw reply (use for malformed bodies and unusual statuses)."""
        with self._lock:
            reply = Reply(status, body, dict(headers or {}), delay_s, chunk_delay_s=chunk_delay_s)
            self.replies.append(reply)

    def complete(
        self,
        content: str | None = None,
        tool_calls: list[dict[str, Any]] | None = None,
        *,
        delay_s: float = 0.0,
        chunk_delay_s: float = 0.0,
        reasoning_content: str | None = None,
        **body_options: Any,
    ) -> None:
        """Queue a successful chat completion (see ``completion_body`` for the options);
        ``reasoning_content`` is a reasoning model's thinking, as DeepSeek and vLLM send it."""
        body = completion_body(content, tool_calls, **body_options)
        if reasoning_content is not None:
            body["choices"][0]["message"]["reasoning_content"] = reasoning_content
        self.reply(body, delay_s=delay_s, chunk_delay_s=chunk_delay_s)

    def fail(
        self,
        status: int,
        message: str = "scripted failure",
        *,
        headers: dict[str, str] | None = None,
        type: str = "server_error",
        code: str | None = None,
    ) -> None:
        """Queue an OpenAI-style error reply with ``status``."""
        self.reply(error_body(message, type=type, code=code), status=status, headers=headers)

    def drop(self) -> None:
        """Queue a reply that closes the connection without an answer."""
        with self._lock:
            self.replies.append(Reply(drop=True))

    @property
    def completion_requests(self) -> list[RecordedRequest]:
        """The chat-completions requests received so far, oldest first."""
        return [r for r in self.requests if r.path.rstrip("/").endswith("/chat/completions")]

    # -- serving ------------------------------------------------------------------------------

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            if not request.path.rstrip("/").endswith("/chat/completions"):
                return Reply(404, error_body(f"no route {request.path}", type="not_found"))
            if self.replies:
                return self.replies.popleft()
        message = f"test server: no reply queued for request #{len(self.completion_requests)}"
        return Reply(500, error_body(message))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real providers do; bodies carry Content-Length
    disable_nagle_algorithm = True  # headers and body go out in separate writes: avoid 40 ms stalls

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def _serve(self) -> None:
        arrived = time.monotonic()
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        recorded = RecordedRequest(self.command, self.path, headers, body, arrived)
        reply = self.server.owner._next_reply(recorded)  # type: ignore[attr-defined]
        if reply.delay_s:
            time.sleep(reply.delay_s)
        if reply.drop:
            self.close_connection = True
            self.connection.close()
            return
        streamed = isinstance(recorded.body, dict) and recorded.body.get("stream") is True
        if streamed and reply.status == 200 and isinstance(reply.body, dict):
            self._stream(reply, recorded.body)
            return
        payload = reply.body
        if isinstance(payload, dict):
            payload = json.dumps(payload)
        if isinstance(payload, str):
            payload = payload.encode()
        headers = dict(reply.headers)
        self.send_response(reply.status)
        self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout test): not an error

    def _stream(self, reply: Reply, request: dict[str, Any]) -> None:
        """Send a completion as server-sent events, chunk by chunk (HTTP chunked encoding)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        usage = (request.get("stream_options") or {}).get("include_usage")
        try:
            for event in stream_events(reply.body, include_usage=bool(usage)):  # type: ignore[arg-type]
                data = f"data: {json.dumps(event)}\n\n".encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
                if reply.chunk_delay_s:
                    time.sleep(reply.chunk_delay_s)
            done = b"data: [DONE]\n\n"
            self.wfile.write(f"{len(done):x}\r\n".encode() + done + b"\r\n0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A started ``OpenAIServer``; closed after the test."""
    with OpenAIServer() as server:
        yield server
