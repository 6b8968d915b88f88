"""OpenTelemetry spans of runs, model and tool calls, sandbox runs and chats, checked with the
SDK's in-memory exporter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from codeact import CodeAgent, ScriptedModel, ToolCallingAgent, chat, telemetry, tool

ROOT = Path(__file__).resolve().parent.parent


@tool
def population(city: str) -> int:
    """Inhabitants of a city.

    Args:
        city: The city.
    """
    if city not in ("Paris", "Rome"):
        raise ValueError(f"no data for {city}")
    return {"Paris": 2_100_000, "Rome": 2_750_000}[city]


def code(body: str) -> str:
    return f"Thinking.\n```python\n{body}\n```"


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry.instrument(tracer_provider=provider, capture_content=False)
    yield exporter
    telemetry.uninstrument()


def tree(exporter: InMemorySpanExporter) -> dict:
    """Spans by id, and each span's children's names in start order."""
    finished = sorted(exporter.get_finished_spans(), key=lambda s: s.start_time)
    by_id = {s.context.span_id: s for s in finished}
    children: dict = {s.context.span_id: [] for s in finished}
    roots = []
    for s in finished:
        if s.parent is not None and s.parent.span_id in by_id:
            children[s.parent.span_id].append(s)
        else:
            roots.append(s)
    return {"roots": roots, "children": children}


def shape(span, children) -> tuple:
    return (span.name, [shape(c, children) for c in children[span.context.span_id]])


def boss_and_researcher():
    researcher = CodeAgent(
        ScriptedModel([code("final_answer(population('Rome') > population('Paris'))")]),
        tools=[population],
        sandbox="inline",
        name="researcher",
        description="Looks cities up.",
    )
    boss = CodeAgent(
        ScriptedModel(
            [
                code("print(population('Paris'))"),
                code("bigger = researcher('Is Rome bigger than Paris?')\nfinal_answer(bigger)"),
            ]
        ),
        tools=[population, researcher.as_tool()],
        sandbox="local",
        name="boss",
    )
    return boss, researcher


def test_a_run_with_a_tool_call_and_a_sub_agent_makes_the_right_span_tree(spans):
    boss, researcher = boss_and_researcher()
    with boss, researcher:
        result = boss.run("Which city is bigger?")
    assert result.state == "success" and result.output is True
    found = tree(spans)
    (root,) = found["roots"]
    assert shape(root, found["children"]) == (
        "invoke_agent boss",
        [
            ("chat scripted", []),
            ("execute_code local", [("execute_tool population", [])]),
            ("chat scripted", []),
            (
                "execute_code local",
                [
                    (
                        "execute_tool researcher",
                        [
                            (
                                "invoke_agent researcher",
                                [
                                    ("chat scripted", []),
                                    (
                                        "execute_code inline",
                                        [
                                            ("execute_tool population", []),
                                            ("execute_tool population", []),
                                        ],
                                    ),
                                ],
                            )
                        ],
                    )
                ],
            ),
        ],
    )
    assert len({s.context.trace_id for s in spans.get_finished_spans()}) == 1


def test_spans_carry_the_genai_attributes(spans):
    boss, researcher = boss_and_researcher()
    with boss, researcher:
        result = boss.run("Which city is bigger?")
    by_name = {}
    for span in spans.get_finished_spans():
        by_name.setdefault(span.name, []).append(span)
    (run,) = by_name["invoke_agent boss"]
    assert run.kind is SpanKind.INTERNAL
    assert run.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert run.attributes["gen_ai.agent.name"] == "boss"
    assert run.attributes["gen_ai.request.model"] == "scripted"
    assert run.attributes["gen_ai.provider.name"] == "codeact.scripted"
    assert run.attributes["gen_ai.usage.input_tokens"] == result.token_usage.input_tokens
    assert run.attributes["gen_ai.usage.output_tokens"] == result.token_usage.output_tokens
    assert run.attributes["codeact.run.state"] == "success"
    first_chat = by_name["chat scripted"][0]
    assert first_chat.kind is SpanKind.CLIENT
    assert first_chat.attributes["gen_ai.operation.name"] == "chat"
    assert first_chat.attributes["gen_ai.request.model"] == "scripted"
    assert first_chat.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    usage = result.steps[0].token_usage
    assert first_chat.attributes["gen_ai.usage.input_tokens"] == usage.input_tokens
    assert first_chat.attributes["gen_ai.usage.output_tokens"] == usage.output_tokens
    assert first_chat.attributes["gen_ai.request.stop_sequences"] == ("\nObservation:",)
    tool_span = by_name["execute_tool population"][0]
    assert tool_span.attributes["gen_ai.operation.name"] == "execute_tool"
    assert tool_span.attributes["gen_ai.tool.name"] == "population"
    assert tool_span.attributes["gen_ai.tool.type"] == "function"
    assert tool_span.attributes["gen_ai.tool.description"] == "Inhabitants of a city."
    sandbox = by_name["execute_code local"][0]
    assert sandbox.attributes["codeact.sandbox.kind"] == "local"
    for span in spans.get_finished_spans():  # contents are opt-in
        assert not any(key.endswith(("messages", "arguments", "result")) for key in span.attributes)
        assert "codeact.code" not in span.attributes


def test_failures_mark_their_spans(spans):
    model = ScriptedModel([code("population('Oslo')"), code("1 / 0"), code("final_answer(1)")])
    with CodeAgent(model, tools=[population], sandbox="inline") as agent:
        agent.run("fail twice")
    failed = [s for s in spans.get_finished_spans() if s.status.status_code is StatusCode.ERROR]
    assert sorted((s.name, s.attributes["error.type"]) for s in failed) == [
        ("execute_code inline", "ValueError"),
        ("execute_code inline", "ZeroDivisionError"),
        ("execute_tool population", "ValueError"),
    ]


def test_parallel_tool_calls_of_a_tool_calling_agent_nest_under_its_run(spans):
    calls = [{"name": "population", "arguments": {"city": c}} for c in ("Paris", "Rome")]
    model = ScriptedModel(
        [
            {"content": None, "tool_calls": calls},
            {"content": None, "tool_calls": [{"name": "final_answer", "arguments": {"answer": 1}}]},
        ]
    )
    ToolCallingAgent(model, tools=[population], name="caller").run("both")
    found = tree(spans)
    (root,) = found["roots"]
    names = sorted(n for n, _ in shape(root, found["children"])[1])
    assert names == [
        "chat scripted",
        "chat scripted",
        "execute_tool population",
        "execute_tool population",
    ]
    chats = [s for s in spans.get_finished_spans() if s.name.startswith("chat")]
    assert chats[0].attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)


def test_contents_are_recorded_only_when_asked(spans):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry.instrument(tracer_provider=provider, capture_content=True)
    model = ScriptedModel([code("print(population('Rome'))\nfinal_answer('Rome')")])
    with CodeAgent(model, tools=[population], sandbox="inline", name="a") as agent:
        agent.run("How many in Rome?")
    by_name = {s.name: s for s in exporter.get_finished_spans()}
    run = by_name["invoke_agent a"]
    assert json.loads(run.attributes["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "How many in Rome?"}]}
    ]
    assert "Rome" in run.attributes["gen_ai.output.messages"]
    assert "You solve tasks" in run.attributes["gen_ai.system_instructions"]
    chat_span = by_name["chat scripted"]
    sent = json.loads(chat_span.attributes["gen_ai.input.messages"])
    assert [m["role"] for m in sent] == ["system", "user"]
    out = json.loads(chat_span.attributes["gen_ai.output.messages"])
    assert (
        out[0]["finish_reason"] == "stop" and "population('Rome')" in out[0]["parts"][0]["content"]
    )
    tool_span = by_name["execute_tool population"]
    assert json.loads(tool_span.attributes["gen_ai.tool.call.arguments"]) == {"city": "Rome"}
    assert json.loads(tool_span.attributes["gen_ai.tool.call.result"]) == 2750000
    assert "population('Rome')" in by_name["execute_code inline"].attributes["codeact.code"]
    assert spans.get_finished_spans() == ()  # the first provider saw nothing after the switch


def test_a_chat_is_a_workflow_with_a_run_per_turn(spans):
    writer = CodeAgent(
        ScriptedModel([code("final_answer('draft')")]), sandbox="inline", name="writer"
    )
    critic = CodeAgent(
        ScriptedModel([code("final_answer('APPROVED')")]), sandbox="inline", name="critic"
    )
    with writer, critic:
        chat(writer, critic, "Write.", max_turns=2)
    found = tree(spans)
    (root,) = found["roots"]
    assert root.name == "invoke_workflow chat"
    assert root.attributes["gen_ai.operation.name"] == "invoke_workflow"
    assert root.attributes["gen_ai.workflow.name"] == "chat"
    assert root.attributes["codeact.chat.stop_reason"] == "max turns (2)"
    assert [c.name for c in found["children"][root.context.span_id]] == [
        "invoke_agent critic",
        "invoke_agent writer",
    ]


def test_a_streamed_run_is_one_span_and_the_callers_code_is_outside_it(spans):
    from opentelemetry import trace

    model = ScriptedModel([code("x = 1"), code("final_answer(x)")])
    seen = []
    with CodeAgent(model, sandbox="inline", name="s") as agent:
        for _step in agent.run("stream", stream=True):
            seen.append(trace.get_current_span().get_span_context().is_valid)
    assert seen == [False, False]
    (root,) = tree(spans)["roots"]
    assert root.name == "invoke_agent s" and root.attributes["codeact.run.steps"] == 2


def test_uninstrument_stops_tracing(spans):
    telemetry.uninstrument()
    with CodeAgent(ScriptedModel([code("final_answer(1)")]), sandbox="inline") as agent:
        agent.run("quiet")
    assert spans.get_finished_spans() == ()


PROBE = """
import json, sys
{setup}
import codeact
from codeact import CodeAgent, ScriptedModel
with CodeAgent(ScriptedModel(["```python\\nfinal_answer(1)\\n```"]), sandbox="inline") as a:
    a.run("t")
print(json.dumps({{"otel": sorted(m for m in sys.modules if m.startswith("opentelemetry")),
                  "spans": {spans}}}))
"""
SDK_SETUP = """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
"""


def probe(setup: str, spans: str, **env: str) -> dict:
    script = PROBE.format(setup=setup, spans=spans)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CODEACT_OTEL")}
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_off_by_default_no_opentelemetry_is_even_imported():
    assert probe("", "[]") == {"otel": [], "spans": []}


def test_the_env_var_turns_it_on_with_the_global_provider():
    found = probe(SDK_SETUP, "[s.name for s in exporter.get_finished_spans()]", CODEACT_OTEL="1")
    assert found["spans"] == ["chat scripted", "execute_code inline", "invoke_agent code_agent"]


async def test_async_runs_and_chats_are_traced_the_same(spans):
    from codeact import Chat

    agent = CodeAgent(ScriptedModel([code("final_answer(2)")]), sandbox="inline", name="solo")
    writer = CodeAgent(ScriptedModel([code("final_answer('w')")]), sandbox="inline", name="writer")
    critic = CodeAgent(ScriptedModel([code("final_answer('c')")]), sandbox="inline", name="critic")
    with agent, writer, critic:
        assert (await agent.arun("two")).output == 2
        await Chat(writer, critic, max_turns=2).arun("Write.")
    found = tree(spans)
    shapes = [shape(root, found["children"]) for root in found["roots"]]
    assert shapes[0] == ("invoke_agent solo", [("chat scripted", []), ("execute_code inline", [])])
    assert shapes[1][0] == "invoke_workflow chat"
    assert [name for name, _ in shapes[1][1]] == ["invoke_agent critic", "invoke_agent writer"]
