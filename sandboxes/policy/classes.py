"""The code's own classes versus the host's: marks, ``type``, class creation and copying.

A class statement in the code marks its class body with ``TOKEN`` (see the transformer), so
"the code's own" classes, their instances and functions can be told from the host's: only those
may have their private names read or attributes written. The guards' own classes are ``Frozen``
so the code can neither patch nor subclass them.
"""

from __future__ import annotations

import builtins
import types
from typing import Any

#: The value of the mark a class statement puts in its class body (see the transformer).
TOKEN = object()
OWN_MARK = "__sb_own__"
TOKEN_NAME = "__sb_token__"


def is_own_class(cls: Any) -> bool:
    return getattr(cls, OWN_MARK, None) is TOKEN


def is_own_function(fn: Any) -> bool:
    return type(fn) is types.FunctionType and fn.__globals__.get(TOKEN_NAME) is TOKEN


class Frozen(type):
    """Metaclass of the guards' own classes: the code cannot patch them."""

    def __setattr__(cls, name: str, value: Any) -> None:
        raise AttributeError(f"class {cls.__name__!r} is read-only in the sandbox")

    def __delattr__(cls, name: str) -> None:
        raise AttributeError(f"class {cls.__name__!r} is read-only in the sandbox")


class _TypeMeta(Frozen):
    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs:
            found = type(args[0])
            return SafeType if issubclass(found, type) else found
        raise TypeError(
            "type() with three arguments is not supported in the sandbox; use a class statement"
        )

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, type)

    def __subclasscheck__(cls, sub: Any) -> bool:
        return sub is cls or (isinstance(sub, type) and issubclass(sub, type))

    def __repr__(cls) -> str:
        return "<class 'type'>"


#: The sandbox's ``type``: ``type(x)`` and ``isinstance(x, type)`` work; creating classes from
#: three arguments does not, and metaclasses come back as this class instead of the real one.
SafeType = _TypeMeta("type", (), {"__doc__": "type(object) -> the object's type", "__slots__": ()})


def safe_class(value: Any) -> Any:
    """Hide real metaclasses (``type``, ``ABCMeta``...): calling one creates arbitrary classes."""
    return SafeType if isinstance(value, type) and issubclass(value, type) else value


def build_class(func: Any, name: str, /, *bases: Any, **kwargs: Any) -> Any:
    """The sandbox's ``__build_class__``: no custom metaclasses, no classes that are metaclasses
    or that extend the guards' own classes (checked on the result, after ``__mro_entries__``)."""
    meta = kwargs.get("metaclass")
    if meta is not None and not (
        isinstance(meta, type)
        and issubclass(meta, type)
        and not is_own_class(meta)
        and not issubclass(meta, Frozen)
    ):
        raise TypeError(
            "custom metaclasses are not supported in the sandbox; "
            "use a class decorator or __init_subclass__ instead"
        )
    cls = builtins.__build_class__(func, name, *bases, **kwargs)
    if isinstance(cls, type):
        check_base(cls)
    return cls


def check_base(cls: Any) -> Any:
    """A class the code defines: not a metaclass, not built on the guards' own classes."""
    if isinstance(cls, type) and (
        issubclass(cls, type) or any(isinstance(k, Frozen) for k in cls.__mro__)
    ):
        raise TypeError(f"subclassing {cls.__mro__[1].__name__!r} is not supported in the sandbox")
    return cls


_UNPATCHABLE = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
)


def install_copy_guard() -> None:
    """Make ``copy`` refuse to apply reduce state to classes, functions and modules.

    A ``__reduce_ex__`` written by the code can name any object it holds as the one to rebuild
    and any state to apply with ``setattr``: an unguarded attribute write on host classes (used
    by ``copy.copy``, ``deepcopy`` and everything calling them, e.g. ``dataclasses.asdict``).
    Legitimate reconstruction never produces those objects, so this is a no-op for host code.
    """
    import copy

    original = copy._reconstruct
    if getattr(original, "_sb_guarded", False):
        return

    def _reconstruct(
        x: Any, memo: Any, func: Any, args: Any, state: Any = None, *rest: Any, **kw: Any
    ) -> Any:
        if state is not None:
            real_func = func

            def func(*a: Any) -> Any:
                y = real_func(*a)
                if isinstance(y, _UNPATCHABLE) or isinstance(type(y), Frozen):
                    raise TypeError(f"copy: refusing to apply state to {type(y).__name__} {y!r}")
                return y

        return original(x, memo, func, args, state, *rest, **kw)

    _reconstruct._sb_guarded = True  # type: ignore[attr-defined]
    copy._reconstruct = _reconstruct  # type: ignore[attr-defined]
