"""A run report: one self-contained HTML page of a saved run, sub-agent runs nested.

It runs the managed-agents example (a manager that gives a shopper agent a task), saves the
run, and writes ``run.html`` beside it with ``codeact.report.write_report``, the same as
``codeact report run.json -o run.html``. Open the page in any browser: it needs no network.
Offline (no CODEACT_MODEL) the models' replies are replayed from examples/runs/.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from _shared import pick_model
from managed_agents import price_of

from codeact import CodeAgent
from codeact.report import write_report


def main() -> None:
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
    out = Path(os.environ.get("CODEACT_REPORT_DIR") or tempfile.mkdtemp(prefix="codeact-report-"))
    result.save(out / "run.json")
    page = write_report(out / "run.json", out / "run.html")
    print(result)
    print(f"report: {page} ({page.stat().st_size:,} bytes); open it in a browser")


if __name__ == "__main__":
    main()
