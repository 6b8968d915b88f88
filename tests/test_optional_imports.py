"""``import codeact`` loads none of the optional integrations (they are extras, loaded on use)."""

from __future__ import annotations

import json
import subprocess
import sys

#: Top-level modules of the extras, and codeact's modules that need them.
OPTIONAL = {
    "mcp",
    "mcp_types",
    "opentelemetry",
    "pygments",
    "jsonschema",
    "httpx2",
    "uvicorn",
    "ray",
}
#: (``codeact.telemetry`` is loaded: it holds the off switch the loop checks, and imports
#: OpenTelemetry only when turned on.)
OPTIONAL_CODEACT = {"codeact.mcp", "codeact.report", "codeact.templates", "codeact.ray"}


def loaded_after(statement: str) -> set[str]:
    probe = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(done.stdout))


def test_import_codeact_loads_no_optional_integration():
    modules = loaded_after("import codeact")
    assert "codeact" in modules
    assert not {m for m in modules if m.split(".")[0] in OPTIONAL}
    assert not {m for m in modules if any(m.startswith(o) for o in OPTIONAL_CODEACT)}


def test_the_probe_sees_an_integration_once_it_is_used():
    modules = loaded_after("from codeact.mcp import MCPClient")
    assert {"mcp", "codeact.mcp.client"} <= modules
