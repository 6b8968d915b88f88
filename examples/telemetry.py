"""Telemetry: the OpenTelemetry span tree of a run with a tool call and a sub-agent.

``instrument`` sends codeact's spans (GenAI semantic conventions: invoke_agent, chat,
execute_tool; execute_code for sandbox runs) to a tracer provider; here an in-memory exporter,
printed as a tree; in production any exporter (OTLP to Jaeger, Tempo, Langfuse...). It reuses
the managed-agents example. Offline (no CODEACT_MODEL) the replies are replayed from
examples/runs/. Needs the extra: pip install 'codeact[otel]'.
"""

from __future__ import annotations

from _shared import pick_model
from managed_agents import price_of
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from codeact import CodeAgent
from codeact.telemetry import instrument, uninstrument


def print_tree(spans: list, parent: int | None = None, depth: int = 0) -> None:
    for span in sorted(spans, key=lambda s: s.start_time):
        if (span.parent.span_id if span.parent else None) == parent:
            tokens = span.attributes.get("gen_ai.usage.input_tokens")
            extra = f"  ({tokens} input tokens)" if tokens is not None else ""
            took = (span.end_time - span.start_time) / 1e6
            print(f"{'  ' * depth}{span.name}  {took:.1f} ms{extra}")
            print_tree(spans, span.context.span_id, depth + 1)


def main() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrument(tracer_provider=provider)
    shopper = CodeAgent(
        pick_model("managed_shopper.json"),
        tools=[price_of],
        sandbox="inline",
        name="shopper",
        description="Looks up prices in the shop's catalogue; give it a list of products.",
    )
    manager = CodeAgent(pick_model("managed_manager.json"), tools=[shopper.as_tool()])
    with manager, shopper:
        result = manager.run("I have 150 EUR. Can I buy a kettle, a toaster and a blender?")
    uninstrument()
    print(result)
    print("\nspans:")
    print_tree(list(exporter.get_finished_spans()))


if __name__ == "__main__":
    main()
