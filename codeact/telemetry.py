"""OpenTelemetry traces of runs, model calls, tool calls, sandbox runs and chats.

Off unless turned on, and then free: the loop checks ``telemetry.tracer is None`` at its few
seams and this module imports nothing from OpenTelemetry until ``instrument()`` is called (or
``CODEACT_OTEL=1`` is set when codeact is imported). Spans follow the OpenTelemetry GenAI
semantic conventions::

    invoke_agent {agent}          a run (INTERNAL)
      chat {model}                each model call (CLIENT): model, token usage, finish reason
      execute_code {sandbox}      each sandbox run of a CodeAgent (codeact's own; no convention)
        execute_tool {tool}       each host tool call (INTERNAL)
          invoke_agent {helper}   an agent used as a tool, and so on down
    invoke_workflow {chat|group_chat}   a two-agent or group chat, with a run per turn

Message contents (prompts, replies, code, tool arguments and results) are recorded only with
``capture_content=True`` or ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any

#: The tracer while instrumented, else ``None`` (the only thing the loop looks at).
tracer: Any = None
capture_content = False
_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_MAX_CONTENT = 20_000  # characters of one recorded content attribute


def instrument(tracer_provider: Any = None, *, capture_content: bool | None = None) -> None:
    """Trace codeact from now on, into ``tracer_provider`` (default: the global one).

    ``capture_content`` records message contents too (default: as
    ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` says); they may hold secrets and
    personal data, so they are off unless asked for.
    """
    global tracer
    try:
        from opentelemetry import trace
    except ImportError:
        raise ImportError(
            "codeact.telemetry needs OpenTelemetry: pip install 'codeact[otel]'"
        ) from None
    if capture_content is None:
        capture_content = os.environ.get(_CONTENT_ENV, "").lower() in ("1", "true", "yes")
    globals()["capture_content"] = capture_content
    provider = tracer_provider or trace.get_tracer_provider()
    # the version as the package has it so far (CODEACT_OTEL instruments during `import codeact`)
    version = getattr(sys.modules.get("codeact"), "__version__", None) or _installed_version()
    tracer = provider.get_tracer("codeact", version)


def _installed_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("codeact")
    except metadata.PackageNotFoundError:
        return None


def uninstrument() -> None:
    """Stop tracing (spans already started still end)."""
    global tracer
    tracer = None


# --- the seams the loop calls (only while instrumented) ----------------------------------


def trace_loop(agent: Any, run: Any, loop: Generator[Any, Any, Any]) -> Generator[Any, Any, Any]:
    """The agent's loop inside an ``invoke_agent`` span. The loop yields requests (think, act)
    that its driver carries out before resuming it, and finished steps: the span is current
    while a request is carried out, so model and tool calls nest in it, and never while the
    caller's code runs between steps (``stream=True``)."""
    from opentelemetry import context, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode

    model_id = str(getattr(agent.model, "model_id", type(agent.model).__name__))
    attributes = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.provider.name": provider_name(model_id),
        "gen_ai.agent.name": agent.name,
        "gen_ai.agent.description": agent.description,
        "gen_ai.request.model": model_id,
        "codeact.agent.kind": getattr(agent, "kind", type(agent).__name__),
    }
    span = tracer.start_span(
        f"invoke_agent {agent.name}", kind=SpanKind.INTERNAL, attributes=attributes
    )
    if capture_content:
        instructions = [_text(run.meta.get("system_prompt"))]
        span.set_attribute("gen_ai.system_instructions", _json(instructions))
        span.set_attribute("gen_ai.input.messages", _json([_message("user", run.task)]))
    from codeact.memory import Step

    value: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                item = loop.throw(error) if error is not None else loop.send(value)
            except StopIteration as done:
                _finish_run(span, done.value)
                return done.value
            value, error = None, None
            token = (
                None if isinstance(item, Step) else context.attach(trace.set_span_in_context(span))
            )
            try:
                value = yield item
            except GeneratorExit:
                raise
            except BaseException as exc:  # the driver's failure, back into the loop
                error = exc
            finally:
                if token is not None:
                    context.detach(token)
    except GeneratorExit:  # the run was left early (a stream the caller stopped)
        loop.close()
        span.set_attribute("codeact.run.state", "interrupted")
        raise
    except BaseException as exc:
        span.set_attribute("error.type", type(exc).__qualname__)
        span.set_status(Status(StatusCode.ERROR, str(exc)[:500]))
        span.record_exception(exc)
        raise
    finally:
        span.end()


def _finish_run(span: Any, result: Any) -> None:
    from opentelemetry.trace import Status, StatusCode

    span.set_attributes(
        {
            "gen_ai.usage.input_tokens": result.token_usage.input_tokens,
            "gen_ai.usage.output_tokens": result.token_usage.output_tokens,
            "codeact.run.state": result.state,
            "codeact.run.steps": len(result.steps),
        }
    )
    if result.state == "error":
        span.set_attribute("error.type", "codeact.run_error")
        span.set_status(Status(StatusCode.ERROR, str(result.error)[:500]))
    if capture_content and result.output is not None:
        span.set_attribute("gen_ai.output.messages", _json([_message("assistant", result.output)]))


def think(model: Any, messages: list[dict[str, Any]], options: dict[str, Any]) -> Any:
    """``model.generate`` inside a ``chat`` span with the model, usage and finish reason."""
    with _chat_span(model, messages, options) as done:
        return done(model.generate(messages, **options))


async def athink(model: Any, messages: list[dict[str, Any]], options: dict[str, Any]) -> Any:
    """``model.agenerate`` inside a ``chat`` span."""
    with _chat_span(model, messages, options) as done:
        return done(await model.agenerate(messages, **options))


@contextmanager
def _chat_span(
    model: Any, messages: list[dict[str, Any]], options: dict[str, Any]
) -> Iterator[Callable[[Any], Any]]:
    from opentelemetry.trace import SpanKind, Status, StatusCode

    model_id = str(getattr(model, "model_id", type(model).__name__))
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider_name(model_id),
        "gen_ai.request.model": model_id,
    }
    if options.get("stop"):
        attributes["gen_ai.request.stop_sequences"] = list(options["stop"])
    with tracer.start_as_current_span(
        f"chat {model_id}",
        kind=SpanKind.CLIENT,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        if capture_content:
            span.set_attribute("gen_ai.input.messages", _json(_messages(messages)))

        def done(reply: Any) -> Any:
            finish = finish_reason(reply)
            span.set_attributes(
                {
                    "gen_ai.response.model": str(getattr(reply, "model", None) or model_id),
                    "gen_ai.response.finish_reasons": [finish],
                    "gen_ai.usage.input_tokens": reply.usage.input_tokens,
                    "gen_ai.usage.output_tokens": reply.usage.output_tokens,
                }
            )
            if capture_content:
                out = {**_message("assistant", reply.content or ""), "finish_reason": finish}
                out["parts"] += [_tool_call_part(c) for c in reply.tool_calls]
                span.set_attribute("gen_ai.output.messages", _json([out]))
            return reply

        try:
            yield done
        except Exception as exc:
            span.set_attribute("error.type", type(exc).__qualname__)
            span.set_status(Status(StatusCode.ERROR, str(exc)[:500]))
            span.record_exception(exc)
            raise


def call_tool(tool: Any, arguments: dict[str, Any], call: Callable[[], Any]) -> Any:
    """``call()`` (one call of ``tool``) inside an ``execute_tool`` span."""
    with _tool_span(tool, arguments) as done:
        result = call()
        done(result)
        return result


async def acall_tool(
    tool: Any, arguments: dict[str, Any], call: Callable[[], Awaitable[Any]]
) -> Any:
    """``await call()`` (one call of an async ``tool``) inside an ``execute_tool`` span."""
    with _tool_span(tool, arguments) as done:
        result = await call()
        done(result)
        return result


@contextmanager
def _tool_span(tool: Any, arguments: dict[str, Any]) -> Iterator[Callable[[Any], None]]:
    from opentelemetry.trace import SpanKind, Status, StatusCode

    attributes = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": tool.name,
        "gen_ai.tool.description": tool.description,
        "gen_ai.tool.type": "function",
    }
    with tracer.start_as_current_span(
        f"execute_tool {tool.name}",
        kind=SpanKind.INTERNAL,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        if capture_content:
            span.set_attribute("gen_ai.tool.call.arguments", _json(arguments))

        def done(result: Any) -> None:
            if capture_content:
                span.set_attribute("gen_ai.tool.call.result", _json(result))

        try:
            yield done
        except Exception as exc:
            span.set_attribute("error.type", type(exc).__qualname__)
            span.set_status(Status(StatusCode.ERROR, str(exc)[:500]))
            span.record_exception(exc)
            raise


def trace_sandbox_run(kind: str, run: Callable[[str], Any], code: str) -> Any:
    """One sandbox run inside an ``execute_code`` span; the code's error marks it failed."""
    from opentelemetry.trace import SpanKind, Status, StatusCode

    attributes = {"codeact.sandbox.kind": kind, "codeact.code.lines": code.count("\n") + 1}
    with tracer.start_as_current_span(
        f"execute_code {kind}", kind=SpanKind.INTERNAL, attributes=attributes
    ) as span:
        if capture_content:
            span.set_attribute("codeact.code", _clip(code))
        ex = run(code)
        span.set_attribute("codeact.code.is_final", bool(ex.is_final))
        if ex.error:
            span.set_attribute("error.type", ex.error.split(":", 1)[0].strip()[:100] or "_OTHER")
            span.set_status(Status(StatusCode.ERROR, ex.error[:500]))
        if capture_content and ex.stdout:
            span.set_attribute("codeact.code.stdout", _clip(ex.stdout))
        return ex


def trace_workflow(kind: str, task: str, run: Callable[[], Any]) -> Any:
    """A chat or group chat inside an ``invoke_workflow`` span; each turn's run nests in it."""
    with _workflow_span(kind, task) as finish:
        return finish(run())


async def atrace_workflow(kind: str, task: str, running: Awaitable[Any]) -> Any:
    """The async twin of ``trace_workflow``."""
    with _workflow_span(kind, task) as finish:
        return finish(await running)


@contextmanager
def _workflow_span(kind: str, task: str) -> Iterator[Callable[[Any], Any]]:
    from opentelemetry.trace import SpanKind

    attributes = {"gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": kind}
    with tracer.start_as_current_span(
        f"invoke_workflow {kind}", kind=SpanKind.INTERNAL, attributes=attributes
    ) as span:
        if capture_content:
            span.set_attribute("gen_ai.input.messages", _json([_message("user", task)]))

        def finish(result: Any) -> Any:
            span.set_attributes(
                {
                    "gen_ai.usage.input_tokens": result.token_usage.input_tokens,
                    "gen_ai.usage.output_tokens": result.token_usage.output_tokens,
                    "codeact.chat.turns": len(result.turns),
                    "codeact.chat.stop_reason": str(result.stop_reason),
                }
            )
            if capture_content:
                summary = [_message("assistant", result.summary)]
                span.set_attribute("gen_ai.output.messages", _json(summary))
            return result

        yield finish


# --- attribute values ----------------------------------------------------------------------

_PROVIDERS = {
    "gpt-": "openai",
    "o1": "openai",
    "o3": "openai",
    "o4": "openai",
    "claude": "anthropic",
    "gemini": "gcp.gemini",
    "mistral": "mistral_ai",
    "deepseek": "deepseek",
    "command": "cohere",
}
_LITELLM_PREFIXES = {
    "gemini": "gcp.gemini",
    "vertex_ai": "gcp.vertex_ai",
    "bedrock": "aws.bedrock",
    "azure": "azure.ai.openai",
    "mistral": "mistral_ai",
    "xai": "x_ai",
}


def provider_name(model_id: str) -> str:
    """``gen_ai.provider.name`` from a LiteLLM model id (``provider/model`` or a known name)."""
    if model_id == "scripted":
        return "codeact.scripted"
    if "/" in model_id:
        prefix = model_id.split("/", 1)[0].lower()
        return _LITELLM_PREFIXES.get(prefix, prefix)
    lowered = model_id.lower()
    return next((p for start, p in _PROVIDERS.items() if lowered.startswith(start)), "_OTHER")


def finish_reason(reply: Any) -> str:
    """Why the model stopped: as it said when the model reports it, else from the reply."""
    reason = getattr(reply, "finish_reason", None)
    if isinstance(reason, str) and reason:
        return reason
    return "tool_calls" if reply.tool_calls else "stop"


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_CONTENT else text[:_MAX_CONTENT] + "...[truncated]"


def _json(value: Any) -> str:
    return _clip(json.dumps(value, ensure_ascii=False, default=repr))


def _text(content: Any) -> dict[str, Any]:
    return {"type": "text", "content": content if isinstance(content, str) else repr(content)}


def _message(role: str, content: Any) -> dict[str, Any]:
    return {"role": role, "parts": [_text(content)]}


def _tool_call_part(call: Any) -> dict[str, Any]:
    return {"type": "tool_call", "id": call.id, "name": call.name, "arguments": call.arguments}


def _messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI-format messages in the conventions' shape (role and typed parts)."""
    shaped = []
    for message in messages:
        role = message.get("role", "user")
        parts: list[dict[str, Any]] = []
        if role == "tool":
            parts.append(
                {
                    "type": "tool_call_response",
                    "id": message.get("tool_call_id"),
                    "result": message.get("content"),
                }
            )
        elif message.get("content"):
            parts.append(_text(message["content"]))
        for call in message.get("tool_calls") or []:
            function = call.get("function", {})
            parts.append(
                {
                    "type": "tool_call",
                    "id": call.get("id"),
                    "name": function.get("name"),
                    "arguments": function.get("arguments"),
                }
            )
        shaped.append({"role": role, "parts": parts})
    return shaped


if os.environ.get("CODEACT_OTEL", "").lower() in ("1", "true", "yes"):
    instrument()
