"""Source a library generates from the code's objects and then runs: checked before it compiles.

sympy's ``lambdify`` prints an expression as Python and ``exec``s it with the real builtins and
a namespace of real modules (``numpy``, ``mpmath``, ``builtins``). The code cannot call it (it
is denied), but allowed functions do (``nsolve``), and the printer pastes names verbatim: an
undefined ``Function``'s name, a ``Symbol``'s, whatever a class's print method returns. So when
the code is on the stack, the source is checked where lambdify compiles it (its module's
``compile``, process-wide, once): the statements lambdify writes (one function of assignments
and a return), expressions without lambdas or private or guarded attribute names, and every
name it loads either local, a safe builtin, or a value the sandbox's views show unchanged
(no denied or replaced function, no closed module). That is code the sandbox would run as the
code's own with native attribute loads; the host's own lambdify calls pass unchanged.
"""

from __future__ import annotations

import ast
import builtins
import sys
import threading
import types
from typing import Any

from sandboxes.policy.expressions import _called_from_code
from sandboxes.policy.rules import native_reason

#: Builtins generated math may name (sympy prints ``builtins.sum`` and ``range`` for sums).
_BUILTINS = frozenset(
    {"abs", "sum", "range", "min", "max", "pow", "round", "int", "float", "complex", "bool"}
)
_NODES = (
    ast.Module,
    ast.FunctionDef,
    ast.arguments,
    ast.arg,
    ast.Assign,
    ast.Return,
    ast.Expr,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.Attribute,
    ast.Constant,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.Call,
    ast.keyword,
    ast.Tuple,
    ast.List,
    ast.Dict,
    ast.Set,
    ast.Subscript,
    ast.Slice,
    ast.IfExp,
    ast.GeneratorExp,
    ast.ListComp,
    ast.comprehension,
    ast.Starred,
    ast.operator,
    ast.unaryop,
    ast.cmpop,
    ast.boolop,
)
#: Packages whose modules lambdify's namespaces hold; their names are judged by a view.
_PACKAGES = ("numpy", "mpmath", "math", "cmath", "sympy", "scipy")
_lock = threading.Lock()
_views: list[Any] = []  # one ModuleViews of the packages, made on first use


def check_generated(source: str, namespace: dict[str, Any]) -> None:
    """``PermissionError`` unless ``source`` (lambdify's) is plain generated math (see above)."""
    try:
        tree = ast.parse(source, "<lambdify>", "exec")
    except SyntaxError:
        return  # compile raises the same error
    if "__builtins__" in namespace:
        _refuse("a namespace with its own __builtins__")
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    if len(tree.body) != 1 or len(functions) != 1 or functions[0].decorator_list:
        _refuse("more than one function definition")
    local = {a.arg for a in ast.walk(functions[0].args) if isinstance(a, ast.arg)}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node is not functions[0]:
            _refuse("a nested function")
        if not isinstance(node, _NODES):
            _refuse(f"{type(node).__name__}")
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            local.add(node.id)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and native_reason(node.attr):
            _refuse(f"the attribute {node.attr!r}")
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in local:
            _check_name(node.id, namespace)
        if isinstance(node, ast.Attribute):
            base = _module_at(node.value, namespace)
            if base is builtins and node.attr not in _BUILTINS:
                _refuse(f"builtins.{node.attr}")
            if isinstance(base, types.ModuleType) and base is not builtins:
                _check_module_attribute(base, node.attr)


def _module_at(node: ast.expr, namespace: dict[str, Any]) -> Any:
    """The module a dotted name (``numpy.linalg``) stands for, or ``None``."""
    if isinstance(node, ast.Name):
        value = namespace.get(node.id)
    elif isinstance(node, ast.Attribute):
        base = _module_at(node.value, namespace)
        value = getattr(base, node.attr, None) if base is not None else None
    else:
        return None
    return value if isinstance(value, types.ModuleType) else None


def _check_name(name: str, namespace: dict[str, Any]) -> None:
    if name.startswith("_"):
        _refuse(f"the name {name!r}")
    if name not in namespace:
        if name not in _BUILTINS:
            _refuse(f"the name {name!r}")
        return
    value = namespace[name]
    if value is builtins:
        return  # its attributes are checked by name
    if isinstance(value, types.ModuleType):
        if value.__name__.partition(".")[0] not in _PACKAGES or not _module_views().allows(
            value.__name__
        ):
            _refuse(f"the module {value.__name__!r}")
        return
    views = _module_views()
    if views.ruling(value) is not None or any(value is getattr(builtins, n) for n in _UNSAFE):
        _refuse(f"the name {name!r}")
    for package in _PACKAGES:
        module = sys.modules.get(package)
        if module is not None and getattr(module, name, None) is value:
            _check_module_attribute(module, name)


_UNSAFE = ("eval", "exec", "compile", "open", "getattr", "setattr", "delattr", "vars", "globals")


def _check_module_attribute(module: types.ModuleType, attr: str) -> None:
    """``module.attr`` must be what the sandbox's view of ``module`` shows (or the same
    function for the sandbox's own instance: mpmath's contexts)."""
    from sandboxes.policy.ruled import is_rebind

    views = _module_views()
    real = getattr(module, attr, None)
    if not views.allows(module.__name__):
        _refuse(f"the module {module.__name__!r}")
    try:
        shown = getattr(views.view(module), attr)
    except AttributeError:
        _refuse(f"{module.__name__}.{attr}")
    if shown is real or type(shown).__name__ == "ModuleView" or is_rebind(real, shown):
        return
    if isinstance(real, type) and getattr(shown, "__module__", None) == real.__module__:
        return  # mpmath's mpf of the sandbox's own context
    _refuse(f"{module.__name__}.{attr}")


def _module_views() -> Any:
    with _lock:
        if not _views:
            from sandboxes.policy.modules import ModuleViews

            _views.append(ModuleViews(_PACKAGES))
        return _views[0]


def _refuse(what: str) -> None:
    raise PermissionError(
        f"sympy generated code with {what} from the sandbox's expression: only names of "
        "symbols and of the libraries' functions may appear (Function and Symbol names must "
        "be identifiers)"
    )


def guard_lambdify(module: types.ModuleType) -> None:
    """Check the source ``module`` (``sympy.utilities.lambdify``) compiles when the sandboxed
    code is on the stack (process-wide, once): its ``compile`` global, which lambdify calls on
    the source it generated, with its namespace in the calling frame."""
    with _lock:
        if getattr(module.__dict__.get("compile"), "_sb_checked", False):
            return

        def compile(source: Any, filename: Any, mode: Any, *args: Any, **kwargs: Any) -> Any:
            if _called_from_code():
                frame = sys._getframe(1)
                namespace = frame.f_locals.get("namespace")
                del frame
                if not isinstance(source, str) or not isinstance(namespace, dict):
                    _refuse("a source the sandbox cannot check")
                check_generated(source, namespace)
            return builtins.compile(source, filename, mode, *args, **kwargs)

        compile._sb_checked = True  # type: ignore[attr-defined]
        module.compile = compile  # type: ignore[attr-defined]
