"""An evaluation harness: does acting in code beat calling JSON tools, on your model?

``codeact eval builtin --model MODEL --agent both -o results.jsonl`` on the command line, or::

    from codeact.eval import evaluate, load_suite, markdown
    rows = evaluate(load_suite("builtin"), LiteLLMModel("gpt-4o-mini"), output="results.jsonl")
    print(markdown(rows))

Not loaded by ``import codeact``: it is imported when used.
"""

from codeact.eval.checks import Check, clock, items, number, text, yes_no
from codeact.eval.oracle import Calls, oracle_model
from codeact.eval.run import AGENT_KINDS, SetupError, evaluate, read_results
from codeact.eval.suites import SuiteError, load_suite
from codeact.eval.summary import markdown, paired
from codeact.eval.task import Task

__all__ = [
    "AGENT_KINDS",
    "Calls",
    "Check",
    "SetupError",
    "SuiteError",
    "Task",
    "clock",
    "evaluate",
    "items",
    "load_suite",
    "markdown",
    "number",
    "oracle_model",
    "paired",
    "read_results",
    "text",
    "yes_no",
]
