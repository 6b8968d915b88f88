"""Data analysis with pandas inside the sandbox.

The code runs in the default ``local`` sandbox (a separate, resource-limited worker process
with the restricted policy); ``allowed_imports=["pandas"]`` lets it import pandas there. Data
comes from a host tool as plain records, so the host never unpickles anything from the sandbox.
"""

from __future__ import annotations

from _shared import pick_model

from codeact import CodeAgent, tool

SALES = [
    {"region": "north", "month": "2026-01", "units": 120, "price": 9.5},
    {"region": "north", "month": "2026-02", "units": 135, "price": 9.5},
    {"region": "south", "month": "2026-01", "units": 80, "price": 11.0},
    {"region": "south", "month": "2026-02", "units": 95, "price": 11.0},
    {"region": "west", "month": "2026-01", "units": 60, "price": 12.0},
    {"region": "west", "month": "2026-02", "units": 150, "price": 10.0},
]


@tool
def sales_records() -> list:
    """All sales rows: region, month ("YYYY-MM"), units sold and unit price in EUR."""
    return SALES


TASK = "Which region had the highest revenue growth from January to February 2026, in percent?"


def main() -> None:
    model = pick_model("data_analysis.json")
    with CodeAgent(model, tools=[sales_records], allowed_imports=["pandas"]) as agent:
        result = agent.run(TASK)
    print(result)


if __name__ == "__main__":
    main()
