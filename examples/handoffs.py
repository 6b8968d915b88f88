"""Handoffs: a triage agent passes the customer to billing or tech support.

Each agent that may hand off gets a ``handoff(to)`` tool from the chat. Triage hands off and
writes a note for the next agent; billing answers without handing off, which ends the chat.

Live: set CODEACT_MODEL (any LiteLLM model id with tool calling) and run this file. Offline (no
CODEACT_MODEL): the agents' replies are replayed with ScriptedModel; the refund tool, the
handoff tool and the chat run for real.
"""

from __future__ import annotations

import os

from codeact import HandoffChat, LiteLLMModel, ScriptedModel, ToolCallingAgent, tool

LIVE = os.environ.get("CODEACT_MODEL")
INVOICES = {"INV-12": 120.0, "INV-13": 80.0}


@tool
def refund(invoice: str, amount: float) -> str:
    """Refund part of an invoice.

    Args:
        invoice: The invoice id, e.g. "INV-12".
        amount: How much to refund, in euros.
    """
    if invoice not in INVOICES:
        raise ValueError(f"no invoice {invoice!r}; known: {', '.join(INVOICES)}")
    if amount > INVOICES[invoice]:
        raise ValueError(f"{invoice} is only {INVOICES[invoice]:.2f} EUR")
    return f"refunded {amount:.2f} EUR on {invoice}"


def calls(*tool_calls: tuple[str, dict]) -> dict:
    """A scripted agent reply calling tools."""
    return {"content": None, "tool_calls": [{"name": n, "arguments": a} for n, a in tool_calls]}


def model(*replies: dict) -> LiteLLMModel | ScriptedModel:
    return (
        LiteLLMModel(LIVE, api_base=os.environ.get("CODEACT_API_BASE"))
        if LIVE
        else ScriptedModel(list(replies))
    )


def main() -> None:
    print(f"Running live with {LIVE}." if LIVE else "Offline: replaying scripted replies.")
    triage = ToolCallingAgent(
        model(
            calls(
                ("handoff", {"to": "billing"}),
                ("final_answer", {"answer": "Customer was charged twice on INV-12 (20 EUR)."}),
            )
        ),
        name="triage",
        description="greets customers and sends them to the right desk",
    )
    billing = ToolCallingAgent(
        model(
            calls(("refund", {"invoice": "INV-12", "amount": 20.0})),
            calls(("final_answer", {"answer": "I refunded 20.00 EUR on INV-12. Sorry!"})),
        ),
        tools=[refund],
        name="billing",
        description="invoices, charges and refunds",
    )
    tech = ToolCallingAgent(
        model(), name="tech", description="fixes problems with the product itself"
    )
    team = HandoffChat(
        [triage, billing, tech],
        handoffs={triage: [billing, tech], billing: [triage], tech: [triage]},
    )
    result = team.run("Hi, I was charged 20 EUR twice on invoice INV-12.")
    for turn in result.turns:
        handed = f" -> hands off to {turn.handoff_to}" if turn.handoff_to else ""
        print(f"[{turn.speaker}]{handed}: {turn.content}")
    print(f"\n{result}")


if __name__ == "__main__":
    main()
