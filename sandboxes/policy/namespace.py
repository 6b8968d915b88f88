"""What the code's namespace holds (safe builtins), and the guard table its compiled code calls."""

from __future__ import annotations

import ast
import builtins
import sys
from collections.abc import Callable
from typing import Any

from sandboxes.policy import caps, iterators, reentrancy
from sandboxes.policy.bindings import GuardTable, guard_table
from sandboxes.policy.classes import SafeType, build_class
from sandboxes.policy.control import GuardedAsyncContext, GuardedContext, make_reraise, outside
from sandboxes.policy.hooks import check_hooks, guard_finaliser
from sandboxes.policy.modules import ModuleViews
from sandboxes.policy.patterns import match_class

SAFE_BUILTINS = [
    "abs",
    "aiter",
    "all",
    "anext",
    "any",
    "ascii",
    "bin",
    "bool",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "complex",
    "dict",
    "divmod",
    "enumerate",
    "filter",
    "float",
    "format",
    "frozenset",
    "hash",
    "hex",
    "id",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "list",
    "map",
    "max",
    "min",
    "next",
    "object",
    "oct",
    "ord",
    "pow",
    "print",
    "property",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "zip",
    "None",
    "True",
    "False",
    "Ellipsis",
    "NotImplemented",
]

#: Builtins that are present but refuse, so the error says why instead of "not defined".
DENIED_BUILTINS = {
    "open": "there is no file access",
    "exec": "running code from strings is limited to eval() of expressions",
    "compile": "running code from strings is limited to eval() of expressions",
    "input": "there is no interactive input",
    "breakpoint": "there is no debugger",
    "help": "there is no interactive help; read the docstring: print(obj.__doc__)",
    "globals": "the namespace dictionaries are not accessible; dir() lists the names",
    "locals": "the namespace dictionaries are not accessible; dir() lists the names",
    "memoryview": "raw memory views are not available",
    "exit": "call final_answer(...) to finish",
    "quit": "call final_answer(...) to finish",
    "copyright": "it is not available",
    "credits": "it is not available",
    "license": "it is not available",
}


def _denied(name: str, why: str) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(f"{name}() is not available in the sandbox: {why}")

    refuse.__name__ = refuse.__qualname__ = name
    return refuse


def _exceptions() -> dict[str, type]:
    return {
        name: value
        for name, value in vars(builtins).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    }


def make_guard_table(views: ModuleViews) -> GuardTable:
    """The guards the compiled code calls (``transformer``), bound into it as a constant."""
    guards = views.guards
    table = guards.table = guard_table()
    kept: dict[int, Any] = {}  # a cell's comparison operands (transformer._kept_operands)
    table.__dict__.update(
        read=guards.read,
        write=guards.write,
        reraise=make_reraise(table),
        with_=lambda cm: GuardedContext(cm, table),
        awith=lambda cm: GuardedAsyncContext(cm, table),
        type=type,
        own_types=guards.own_types,
        pure_types=guards.pure_types,
        on=False,  # a cell of this sandbox is running (RestrictedPolicy.enter_cell)
        outside=outside,
        not_implemented=NotImplemented,
        pow=caps.capped_pow,
        ipow=caps.capped_ipow,
        match_class=match_class,
        store=reentrancy.store,
        target_key=reentrancy.target_key,
        item_key=reentrancy.item_key,
        kept=kept,
        id=id,
        slice=slice,
    )
    return table


def make_namespace(
    views: ModuleViews, compile_: Callable[[ast.AST, str, str], Any]
) -> tuple[dict[str, Any], Callable[[dict[str, Any]], None]]:
    """One sandbox's ``__builtins__`` (its ``eval`` and ``__import__`` are bound to it), and the
    function that installs them into a namespace."""
    guards = views.guards
    table: dict[str, Any] = {name: getattr(builtins, name) for name in SAFE_BUILTINS}
    table.update(_exceptions())
    table.update({name: _denied(name, why) for name, why in DENIED_BUILTINS.items()})

    def eval_(source: Any, globals: Any = None, locals: Any = None) -> Any:
        """Evaluate an expression string under the same rules as the rest of the code."""
        if not guards.table.on:  # a partial(eval, ...) a host object kept (red team 7, B2)
            outside()
        if not isinstance(source, str):
            raise TypeError("eval() in the sandbox takes a string of Python code")
        code = compile_(ast.parse(source.lstrip(" \t"), "<eval>", "eval"), "<eval>", "eval")
        if globals is None:
            frame = sys._getframe(1)
            if frame.f_globals.get("__builtins__") is table:
                globals = frame.f_globals
                locals = frame.f_locals if locals is None else locals
            else:  # called back from host code: never run in the host's globals
                globals = guards.namespace
        elif type(globals) is not dict:
            raise TypeError("globals must be a dict")
        else:
            return _eval_in(code, globals, locals)
        return builtins.eval(code, globals, locals)

    def _eval_in(code: Any, given: dict[str, Any], locals: Any) -> Any:
        """Evaluate in a copy of the code's ``globals`` dict with the sandbox's builtins (a dict
        without ``__builtins__`` would get the real ones)."""
        scope = dict(given)
        install(scope)
        try:
            return builtins.eval(code, scope, locals)
        finally:
            for key, value in scope.items():  # write back what the expression bound (walrus)
                if key != "__builtins__" and given.get(key) is not value:
                    given[key] = value

    def install(namespace: dict[str, Any]) -> None:
        namespace["__builtins__"] = table

    def build_class_(func: Any, name: str, /, *bases: Any, **kwargs: Any) -> Any:
        cls = build_class(func, name, *bases, **kwargs)
        if isinstance(cls, type):
            check_hooks(cls)
            guard_finaliser(cls, guards.table)
        return cls

    table.update(
        {
            "type": SafeType,
            "bytearray": reentrancy.bytearray,
            "iter": iterators.iter,
            "getattr": guards.read_dynamic,
            "hasattr": guards.has,
            "setattr": guards.setattr,
            "delattr": guards.delattr,
            "vars": guards.vars,
            "dir": guards.dir,
            "eval": eval_,
            "__import__": views.import_,
            "__build_class__": build_class_,
        }
    )
    if guards.cap_c_calls:
        table["pow"] = caps.capped_pow
    return table, install
