"""Strings that allowed libraries evaluate as code: checked before they run.

pandas' ``eval``/``query`` read attributes of whatever the expression names (``a.__class__``...
reaches any module), pandas' ``agg``/``apply``/``transform`` look a string up as a method name,
and sympy's ``sympify`` (which nearly every sympy function applies to its string arguments) ends
in a plain ``eval`` with the real builtins. None of that passes through the sandbox's guards, so
the strings are checked here: for pandas no underscore names and none of the attributes the
guards check (``to_csv``, ``tofile``, ``ctypes``...); for sympy, an expression of
numbers, operators and calls of sympy's own functions only, when the parse comes from the code.
"""

from __future__ import annotations

import ast
import builtins
import io
import re
import sys
import threading
import types
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sandboxes.policy.bindings import is_policy_code
from sandboxes.policy.rules import GUARDED_ATTRS, NEVER_ATTRS, plain_str

#: File names the policy compiled the code under: a frame with one of them is the code's.
CODE_FILENAMES: set[str] = set()

_SCOPED = frozenset({"eval", "query"})  # pandas resolves names in the caller's frame
_IDENTIFIER = re.compile(r"[^\W\d]\w*")


def refuse_private_names(text: str, what: str) -> None:
    """``PermissionError`` if ``text`` names (outside its strings) anything starting with ``_``
    or an attribute the guards check: the library would read it without them."""
    import tokenize  # lazily: ~1 ms of the policy's import, for libraries few sandboxes allow

    try:
        tokens = tokenize.generate_tokens(io.StringIO(text).readline)
        names = [t.string for t in tokens if t.type == tokenize.NAME]
    except (tokenize.TokenError, SyntaxError):  # unparsable: every word counts, strings too
        names = _IDENTIFIER.findall(text)
    for name in names:
        if name.startswith("_") or name in GUARDED_ATTRS or name in NEVER_ATTRS:
            raise _refusal(what, name)


def _refusal(what: str, name: str) -> PermissionError:
    return PermissionError(
        f"{what}: {name!r} is not allowed in the sandbox's expressions (no names starting with "
        "'_', nor the methods the sandbox checks, such as to_csv or tofile: call those directly)"
    )


def _strings(value: Any, depth: int = 32) -> Iterable[str]:
    """``value`` if a string, else the strings in any list-like pandas accepts as a list of
    functions (lists, tuples, sets, dict values, numpy arrays, ``Index``, ``Series``), nested
    to any depth (32 levels: deeper is refused)."""
    if isinstance(value, str):
        yield value
        return
    if isinstance(value, dict):
        items: Iterable[Any] = value.values()
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = value
    elif _array_like(value):
        items = value.tolist()
    else:
        return
    if not depth:
        raise PermissionError("function specs nested this deep are not allowed in the sandbox")
    for item in items:
        yield from _strings(item, depth - 1)


def _array_like(value: Any) -> bool:
    """A numpy array or a pandas ``Index``/``Series`` (what ``tolist`` gives pandas' list of
    functions); a ``DataFrame`` (no ``tolist``) is data, not a spec."""
    module = getattr(type(value), "__module__", None) or ""
    return module.partition(".")[0] in ("numpy", "pandas") and callable(
        getattr(type(value), "tolist", None)
    )


def _plain_specs(value: Any) -> Any:
    """An iterator given as a list of functions, as the list it would give pandas (so what is
    checked is what pandas sees)."""
    if isinstance(value, Iterator) and not isinstance(value, (str, dict)):
        return list(value)
    return value


def _plain_strings(value: Any, depth: int = 32) -> Any:
    """``value`` with every string ``_strings`` would check an exact ``str`` (``plain_str``):
    pandas looks a name up by its hash, which a subclass of the code's chooses. An array-like
    holding such a string becomes a list (pandas takes either)."""
    if isinstance(value, str):
        return plain_str(value)
    if not depth:
        return value
    if isinstance(value, dict):
        return {key: _plain_strings(item, depth - 1) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_plain_strings(item, depth - 1) for item in value]
        kind = list if isinstance(value, list) else tuple if isinstance(value, tuple) else set
        return kind(items)
    if _array_like(value):
        items = value.tolist()
        plain = [_plain_strings(item, depth - 1) for item in items]
        if any(a is not b for a, b in zip(plain, items, strict=True)):
            return plain
    return value


def checked_expression_method(method: Any, name: str) -> Any:
    """``method`` (pandas' ``eval``, ``query``, ``agg``...) refusing what ``refuse_private_names``
    refuses in the expression or method name it is given (the first two positions: the unbound
    form too; and every keyword: ``aggfunc=``, named aggregation)."""
    if not callable(method) or getattr(method, "_sb_checked", False):
        return method  # a module view's replacement, met again as a guarded attribute

    def call(*args: Any, **kwargs: Any) -> Any:
        # What is checked is what the method gets: the code's str subclasses as exact copies.
        args = (*(_plain_strings(value) for value in args[:2]), *args[2:])
        kwargs = {key: _plain_strings(value) for key, value in kwargs.items()}
        # Every keyword: named aggregation (x=('v', 'name')) and aggfunc= take method names too.
        args = tuple(_plain_specs(a) if i < 2 else a for i, a in enumerate(args))
        kwargs = {key: _plain_specs(value) for key, value in kwargs.items()}
        candidates = [*args[:2], *kwargs.values()]
        for value in candidates:
            for text in _strings(value):
                refuse_private_names(text, f"{name}()")
        if name in _SCOPED:
            if "level" in kwargs:
                raise PermissionError(
                    f"{name}(level=...) is not allowed in the sandbox: it reads the variables "
                    "of the callers' frames (the host's); pass local_dict= instead"
                )
            _give_namespaces(kwargs, name)
        return method(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = getattr(method, "__doc__", None)
    call._sb_checked = True  # type: ignore[attr-defined]
    return call


def _give_namespaces(kwargs: dict[str, Any], name: str) -> None:
    """pandas resolves ``@name`` and bare names in the frames above the call unless given
    ``local_dict`` and ``global_dict``: pass both, from the frame that called the wrapper when
    that is the code's (a C caller such as ``map`` or ``functools.partial`` has no frame of its
    own). Called back by host code (``contextlib.contextmanager(pd.eval)``) it would read the
    host's frame: refused, unless the code gave both dicts itself."""
    if kwargs.get("local_dict") is not None and kwargs.get("global_dict") is not None:
        return
    frame = sys._getframe(2)
    try:
        if not is_policy_code(frame.f_code):
            raise PermissionError(
                f"{name}() resolves names in its caller's frame: in the sandbox only the code "
                "may call it without local_dict= and global_dict="
            )
        if kwargs.get("global_dict") is None:
            kwargs["global_dict"] = frame.f_globals
        if kwargs.get("local_dict") is None:
            kwargs["local_dict"] = frame.f_locals
    finally:
        del frame


# --- sympy ---------------------------------------------------------------------------------

_SYMPY_NODES = (
    ast.Expression,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.Call,
    ast.keyword,
    ast.Tuple,
    ast.List,
    ast.Set,
    ast.Dict,
    ast.Subscript,
    ast.Slice,
    ast.IfExp,
    ast.operator,
    ast.unaryop,
    ast.cmpop,
    ast.boolop,
)
#: Builtins a sympy expression may name (sympy's parser puts every builtin function in reach).
_SYMPY_BUILTINS = frozenset(
    {"abs", "pow", "round", "divmod", "int", "float", "complex", "bool", "max", "min"}
)
_patch_lock = threading.Lock()


def check_sympy_code(
    code: str, local_dict: dict[str, Any], global_dict: dict[str, Any], denied: frozenset[str]
) -> None:
    """``PermissionError`` unless ``code`` (sympy's parser output) is plain math: numbers,
    operators, and calls of names that are sympy's own objects (or the code's ``locals``)."""
    try:
        tree = ast.parse(code, "<sympy>", "eval")
    except SyntaxError:
        return  # sympy's own eval raises the same error, naming the string
    for node in ast.walk(tree):
        if not isinstance(node, _SYMPY_NODES):
            kind = type(node).__name__
            raise PermissionError(
                f"sympy expression: {kind} is not allowed in strings parsed in the sandbox; "
                "build the expression from Symbol(...) and operators instead"
            )
        if isinstance(node, ast.Call) and not isinstance(node.func, ast.Name):
            raise PermissionError("sympy expression: only named functions may be called")
        if isinstance(node, ast.keyword) and node.arg is None:
            raise PermissionError("sympy expression: ** arguments are not allowed")
        if isinstance(node, ast.Name) and not _sympy_name_ok(
            node.id, local_dict, global_dict, denied
        ):
            raise PermissionError(
                f"sympy expression: the name {node.id!r} is not allowed in strings parsed in "
                "the sandbox"
            )


def _sympy_name_ok(
    name: str, local_dict: dict[str, Any], global_dict: dict[str, Any], denied: frozenset[str]
) -> bool:
    if name.startswith("_") or name in denied:
        return False
    if name in local_dict:
        return True  # the code's own ``locals=``, or symbols the parser made
    if name not in global_dict:
        return name in _SYMPY_BUILTINS  # eval would look in the real builtins
    value = global_dict[name]
    if isinstance(value, types.ModuleType):
        return False
    if isinstance(value, types.BuiltinFunctionType) and getattr(value, "__module__", "") in (
        "builtins",
        None,
    ):
        return name in _SYMPY_BUILTINS and getattr(builtins, name, None) is value
    owner = value if isinstance(value, type) or callable(value) else type(value)
    module = getattr(owner, "__module__", None) or ""
    return module == "sympy" or module.startswith("sympy.")


def guard_sympy_parser(sympy_parser: types.ModuleType, denied: frozenset[str]) -> None:
    """Wrap ``sympy_parser.stringify_expr`` (process-wide, once) so that a parse started by the
    sandboxed code is checked by ``check_sympy_code``; the host's own parses pass unchanged."""
    with _patch_lock:
        original = sympy_parser.stringify_expr
        if getattr(original, "_sb_checked", False):
            return

        def stringify_expr(
            s: str, local_dict: dict[str, Any], global_dict: dict[str, Any], transformations: Any
        ) -> str:
            code = original(s, local_dict, global_dict, transformations)
            if _called_from_code():
                check_sympy_code(code, local_dict, global_dict, denied)
            return code

        stringify_expr._sb_checked = True  # type: ignore[attr-defined]
        stringify_expr.__doc__ = original.__doc__
        sympy_parser.stringify_expr = stringify_expr


def _called_from_code(get_frame: Callable[[int], Any] = sys._getframe) -> bool:
    frame = get_frame(2)
    while frame is not None:
        if frame.f_code.co_filename in CODE_FILENAMES:
            return True
        frame = frame.f_back
    return False


def guard_named_imports(modules: Iterable[types.ModuleType], allowed: frozenset[str]) -> None:
    """Wrap the ``import_module`` global of each of ``modules`` (process-wide, once) so that an
    import the sandboxed code started, of a name it chose, finds only ``allowed`` names (others
    look missing: ``None``); the host's own calls pass unchanged. sympy.stats imports the module
    its ``library=`` argument names, whatever importing it does (``antigravity`` starts a
    browser, ``this`` prints)."""
    with _patch_lock:
        for module in modules:
            original = module.__dict__.get("import_module")
            if not callable(original) or getattr(original, "_sb_checked", False):
                continue

            def import_module(name: Any, *args: Any, _original: Any = original, **kw: Any) -> Any:
                if _called_from_code() and name not in allowed:
                    return None
                return _original(name, *args, **kw)

            import_module._sb_checked = True  # type: ignore[attr-defined]
            module.import_module = import_module  # type: ignore[attr-defined]


def check_plain_expression(text: Any, names: Iterable[str], what: str) -> None:
    """``PermissionError`` unless ``text`` is arithmetic on numbers and calls of ``names``:
    what a library may ``eval`` for the code (mpmath's ``identify(x, ['log(2)'])``, in a
    namespace where every other name is a real builtin)."""
    if not isinstance(text, str):
        raise TypeError(f"{what}: expressions must be strings")
    allowed = frozenset(names)
    plain = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.operator, ast.unaryop, ast.Load)
    for node in ast.walk(ast.parse(text, "<expression>", "eval")):
        if isinstance(node, ast.Name) and not node.id.startswith("_") and node.id in allowed:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, complex)):
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            continue
        if not isinstance(node, plain):
            raise PermissionError(
                f"{what}: {text!r} is not allowed in the sandbox (numbers, operators and the "
                "library's own functions only)"
            )
