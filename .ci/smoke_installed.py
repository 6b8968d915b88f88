"""Smoke test of an installed codeact, run by .ci/run from a directory outside the checkout.

It proves that the wheel carries everything a user needs: the package imports from
site-packages (not the checkout), an agent runs in the default ``local`` sandbox (which loads
``sandboxes.policy`` in a worker process), and the ``codeact`` command works.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import codeact
from codeact import CodeAgent, ScriptedModel, tool

checkout = os.environ["CODEACT_CHECKOUT"]
assert not codeact.__file__.startswith(checkout), f"imported from the checkout: {codeact.__file__}"
assert "site-packages" in codeact.__file__, codeact.__file__


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first.
        b: The second.
    """
    return a + b


reply = (
    "Adding.\n```python\nx = add(40, 2)\nimport math\nprint(math.sqrt(16))\nfinal_answer(x)\n```"
)
with CodeAgent(ScriptedModel([reply]), tools=[add], sandbox="local") as agent:
    result = agent.run("What is 40 + 2?")
assert result.state == "success", result
assert result.output == 42, result.output
assert "4.0" in result.steps[0].observation, result.steps[0].observation
print(f"agent run in the local sandbox: {result.state}, answer {result.output}")

bindir = Path(sys.executable).parent
version = subprocess.run(
    [bindir / "codeact", "--version"], capture_output=True, text=True, check=True
).stdout.strip()
assert version == f"codeact {codeact.__version__}", version
print(f"codeact --version: {version}")

with tempfile.TemporaryDirectory() as tmp:
    run = Path(tmp, "run.json")
    run.write_text(json.dumps({"model_outputs": ["```python\nfinal_answer(6 * 7)\n```"]}))
    done = subprocess.run(
        [bindir / "codeact", "run", "six times seven", "--replay", str(run), "--quiet"],
        capture_output=True,
        text=True,
        cwd=tmp,
    )
    assert done.returncode == 0 and done.stdout.strip() == "42", (done.stdout, done.stderr)
    print("codeact run --replay in the local sandbox: 42")
    result.save(Path(tmp, "saved.json"))
    done = subprocess.run(
        [bindir / "codeact", "report", "saved.json", "-o", "saved.html"],
        capture_output=True,
        text=True,
        cwd=tmp,
    )
    page = Path(tmp, "saved.html").read_text()
    assert done.returncode == 0 and "What is 40 + 2?" in page, (done.stdout, done.stderr)
    assert "--tin" in page and "document.querySelectorAll" in page  # the templates shipped
    print("codeact report: the page carries its CSS and script")
