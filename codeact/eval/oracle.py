"""Oracle models: the replies a good model would give, replayed by ``ScriptedModel``.

A ``CodeAgent`` oracle is a fixed list of code replies. A tool-calling oracle's later calls
depend on earlier results, and ``ScriptedModel`` only replays a fixed list: so the oracle
function runs once up front against a fresh state of the task's own (deterministic) tools,
every call it makes is recorded as one reply, and the real run then replays those replies
against another fresh state, where the tools give the same results.
"""

from __future__ import annotations

from typing import Any

from codeact.eval.task import Task
from codeact.models import ScriptedModel
from codeact.tools import Tool


class Calls:
    """Given to ``Task.oracle_calls``: each call is one model reply with one tool call.

    ``calls("search", query="x")`` returns the tool's result; ``calls.batch(("a", {...}),
    ("b", {...}))`` makes several calls in one reply (as models call tools in parallel) and
    returns their results in order. Batch only calls that don't change state: the agent runs
    a reply's calls concurrently.
    """

    def __init__(self, tools: list[Tool]) -> None:
        self._tools = {t.name: t for t in tools}
        self.replies: list[dict[str, Any]] = []

    def __call__(self, name: str, **arguments: Any) -> Any:
        return self.batch((name, arguments))[0]

    def batch(self, *calls: tuple[str, dict[str, Any]]) -> list[Any]:
        self.replies.append(
            {"content": None, "tool_calls": [{"name": n, "arguments": a} for n, a in calls]}
        )
        results = []
        for name, arguments in calls:
            if name not in self._tools:
                raise KeyError(f"the oracle called {name!r}, which is not a tool of the task")
            results.append(self._tools[name](**arguments))
        return results


def code_replies(task: Task) -> list[str]:
    """The oracle's code, as the replies of a model that writes code."""
    blocks = [task.oracle_code] if isinstance(task.oracle_code, str) else list(task.oracle_code)
    return [f"```python\n{block.strip()}\n```" for block in blocks]


def tool_replies(task: Task) -> list[dict[str, Any]]:
    """The oracle's tool calls, computed against a fresh state, then its ``final_answer``."""
    if task.oracle_calls is None:
        raise ValueError(f"task {task.name!r} has no tool-call oracle")
    _, tools = task.start()
    calls = Calls(tools)
    answer = task.oracle_calls(calls)
    final = {"name": "final_answer", "arguments": {"answer": answer}}
    return [*calls.replies, {"content": None, "tool_calls": [final]}]


def oracle_model(task: Task, agent: str) -> ScriptedModel:
    """A ``ScriptedModel`` replaying the oracle of ``task`` for ``agent`` (``"code"``/``"tool"``).

    Usable as the ``model`` of ``evaluate``, which calls it once per run.
    """
    if not task.has_oracle:
        raise ValueError(f"task {task.name!r} ships no oracle")
    if agent == "code":
        return ScriptedModel(code_replies(task))
    if agent == "tool":
        return ScriptedModel(tool_replies(task))
    raise ValueError(f"unknown agent kind {agent!r}; use 'code' or 'tool'")
