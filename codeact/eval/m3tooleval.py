"""M3ToolEval's tasks (the CodeAct paper's benchmark) from a local checkout of its repository.

    codeact eval m3tooleval:~/src/code-act --model gpt-4o-mini --agent both

The checkout is https://github.com/xingyaoww/code-act; its tasks live in
``scripts/eval/m3tooleval/tasks``. Nothing of it ships with codeact: this module imports the
user's own copy (so it runs that code on the host, as their harness does) and adapts each task:

- Their tools are plain functions with a signature string for the prompt. Each becomes a
  ``Tool`` with the documented parameter names and types, ``*args`` included
  (``max(*args: float)``, ``book_hotel(location, *preferences)``): code calls them as they are
  documented, tool calls pass the values as a list under the parameter's name.
- Their ``calculator`` runs ``eval`` on what the model wrote; here it is replaced by
  arithmetic-only evaluation (tools run on the host, outside the sandbox).
- Stateful tools (the web browser) get a deep copy of their state per run.
- Success is their own ``Task.check_answer`` (exact, after their type conversions), tried on the
  answer, its text, and a list answer as a tuple (JSON has no tuples).

Their code-as-action REPL (IPython) is never imported: codeact's sandbox takes its place.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import inspect
import io
import itertools
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codeact.eval.arithmetic import evaluate_arithmetic
from codeact.eval.checks import Check
from codeact.eval.suites import SuiteError
from codeact.eval.task import Task
from codeact.tools import Tool

ANSWER_NOTE = "\nGive only the answer (e.g. a single number) as the final answer, no other text."
_TYPES: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "dict": dict,
    "Dict": dict,
    "list": list,
    "List": list,
}
_loads = itertools.count()


def load_m3tooleval(path: str) -> list[Task]:
    """Every task of M3ToolEval in the checkout at ``path`` (its root, or the tasks folder)."""
    root = _tasks_dir(Path(path).expanduser())
    base = _import_tasks(root)
    registered = getattr(base, "task_iterators", None)
    if not isinstance(registered, list):
        raise SuiteError(f"{root} does not look like M3ToolEval's tasks (no task_iterators)")
    return [_adapt(task) for group, _ in registered for task in group]


def _tasks_dir(path: Path) -> Path:
    for candidate in (path / "scripts/eval/m3tooleval/tasks", path / "tasks", path):
        if (candidate / "__init__.py").is_file() and (candidate / "base.py").is_file():
            return candidate
    raise SuiteError(
        f"no M3ToolEval tasks under {path}: pass a checkout of github.com/xingyaoww/code-act "
        "(or its scripts/eval/m3tooleval folder)"
    )


def _import_tasks(root: Path) -> types.ModuleType:
    """Import their ``tasks`` package under a private name, with its REPL left out."""
    import importlib.util

    name = f"_codeact_m3tooleval_{next(_loads)}"
    repl = types.ModuleType(f"{name}.repl")
    repl.PythonREPL = None  # type: ignore[attr-defined]  # codeact's sandbox replaces it
    added = {f"{name}.repl": repl}
    try:
        import tqdm  # noqa: F401  (their base module imports it for a progress bar)
    except ImportError:
        added["tqdm"] = types.ModuleType("tqdm")
        added["tqdm"].tqdm = lambda iterable=None, **_: iterable  # type: ignore[attr-defined]
    spec = importlib.util.spec_from_file_location(
        name, root / "__init__.py", submodule_search_locations=[str(root)]
    )
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules.update(added)
    sys.modules[name] = package
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # they print every task as it registers
            spec.loader.exec_module(package)
        return sys.modules[f"{name}.base"]
    except Exception as exc:
        raise SuiteError(f"cannot import M3ToolEval from {root}: {type(exc).__name__}: {exc}")
    finally:
        for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
            del sys.modules[module]
        if "tqdm" in added:
            del sys.modules["tqdm"]


def _adapt(upstream: Any) -> Task:
    tools_of_task = upstream.tools
    return Task(
        name=upstream.name,
        domain=upstream.name.split("/")[0],
        prompt=upstream.instruction.strip() + ANSWER_NOTE,
        tools=lambda specs: [as_tool(spec) for spec in specs.values()],
        check=_TheirCheck(upstream),
        setup=lambda: copy.deepcopy(tools_of_task),  # a browser's state is fresh for every run
        tags=("m3tooleval",),
    )


@dataclass(frozen=True)
class _TheirCheck(Check):
    """Their ``check_answer``, on the answer, its text, and a list answer as a tuple."""

    task: Any

    @property
    def expected(self) -> Any:  # type: ignore[override]
        return self.task.expected_output

    def accepts(self, answer: Any) -> bool:
        candidates = [answer, str(answer)]
        if isinstance(answer, list):
            candidates.append(tuple(answer))
        with contextlib.redirect_stdout(io.StringIO()):
            return any(_quietly(self.task.check_answer, c) for c in candidates)


def _quietly(check: Callable[[Any], Any], answer: Any) -> bool:
    try:
        return bool(check(answer))
    except Exception:
        return False


@dataclass
class _Param:
    name: str
    annotation: Any
    variadic: bool = False
    default: Any = inspect.Parameter.empty


def as_tool(spec: Any) -> Tool:
    """One of their ``ToolType(name, description, function, fn_signature)`` as a ``Tool``."""
    function = spec.function
    if getattr(function, "__name__", "") == "calculator":
        function = _safe_calculator
    documented, returns = _parse_signature(spec.fn_signature)
    params = _parameters(function, documented)

    def call(*args: Any) -> Any:  # the documented names bind, the values go on by position
        return function(*args)

    kind = inspect.Parameter
    call.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            kind(
                p.name,
                kind.VAR_POSITIONAL if p.variadic else kind.POSITIONAL_OR_KEYWORD,
                default=kind.empty if p.variadic else p.default,
                annotation=p.annotation,
            )
            for p in params
        ],
        return_annotation=Any,
    )
    call.__annotations__ = {**{p.name: p.annotation for p in params}, "return": Any}
    docs = {p.name: "any number of values" if p.variadic else f"the {p.name}" for p in params}
    description = " ".join(spec.description.split())
    tool = Tool(call, name=spec.name, description=description, arg_descriptions=docs)
    tool.output_type = returns  # as they document it, e.g. "(str, int)"
    return tool


def _safe_calculator(expression: str) -> Any:
    return evaluate_arithmetic(str(expression))


def _parse_signature(text: str) -> tuple[list[_Param] | None, str]:
    """Their ``"name(a: str, *args: float) -> float"`` as parameters and the return text."""
    head, _, returns = text.partition("->")
    try:
        node = ast.parse(f"def {head.strip()}: pass").body[0]
    except SyntaxError:
        return None, returns.strip() or "Any"
    assert isinstance(node, ast.FunctionDef)
    params = [_Param(a.arg, _annotation(a.annotation)) for a in node.args.args]
    if node.args.vararg is not None:
        params.append(_Param(node.args.vararg.arg, _annotation(node.args.vararg.annotation), True))
    return params, returns.strip() or "Any"


def _annotation(node: ast.expr | None) -> Any:
    if isinstance(node, ast.Name):
        return _TYPES.get(node.id, Any)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        return _TYPES.get(node.value.id, Any)
    return Any


def _parameters(function: Callable[..., Any], documented: list[_Param] | None) -> list[_Param]:
    """The function's real parameters, named and typed as documented where the two agree."""
    try:
        real = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):  # builtins such as max: only the documentation says
        return documented or [_Param("args", Any, True)]
    params = [
        _Param(
            p.name,
            Any
            if p.annotation is inspect.Parameter.empty
            else _TYPES.get(p.annotation, p.annotation),
            p.kind is p.VAR_POSITIONAL,
            p.default,
        )
        for p in real
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    if documented is not None and [p.variadic for p in documented] == [p.variadic for p in params]:
        for mine, theirs in zip(params, documented, strict=True):
            mine.name = theirs.name
            if mine.annotation is Any:
                mine.annotation = theirs.annotation
    return params
