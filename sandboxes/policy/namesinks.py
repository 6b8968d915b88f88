"""Host code that stores or answers attributes under names its caller chose: never dunders.

The compiler checks the names a class body or an attribute store of the code defines, and the
code's own classes answer the raw-memory protocols with nothing (``classes._ABSENT``). Host code
that takes a name from its caller and stores it is an attribute write no guard sees:
``sympy.Function(name, **kwargs)`` puts ``kwargs`` in the new class's dict,
``pandas.api.indexers.BaseIndexer(**kwargs)`` ``setattr``s each on the instance, ``numpy.poly1d(p)``
copies ``p.__dict__`` (the code's instance dict may hold any key) into a host instance. Host code
that answers a name from data is the same read: ``Series.__getattr__`` returns the item labelled
so. A dunder there is a protocol C code looks up on the instance: ``__array_interface__`` hands
numpy a pointer the code chose (memory anywhere, then the real builtins).

Each such entry point is wrapped once per process and refuses dunder names when the code is
on the stack; the host's own calls pass unchanged. ``LIBRARIES.md`` has the audit; a test scans
the libraries' sources for new places that store caller-named attributes.
"""

from __future__ import annotations

import threading
import types
from collections.abc import Iterable
from typing import Any

from sandboxes.policy.expressions import _called_from_code
from sandboxes.policy.rules import is_dunder

_lock = threading.Lock()


def refuse_dunders(names: Iterable[Any], what: str) -> None:
    """``TypeError`` if one of ``names`` (an exact ``str`` or a subclass) is a dunder."""
    for name in names:
        if isinstance(name, str) and is_dunder(str.__str__(name)):
            raise TypeError(
                f"{what}: the attribute name {str.__str__(name)!r} is not allowed in "
                "the sandbox (dunder names are protocols the host looks up)"
            )


def _patch(owner: type, name: str, make: Any) -> None:
    """Replace ``owner.name`` with ``make(original)``, once per process."""
    with _lock:
        original = owner.__dict__[name]
        if getattr(original, "_sb_checked", False):
            return
        replacement = make(original)
        replacement._sb_checked = True
        replacement.__doc__ = getattr(original, "__doc__", None)
        setattr(owner, name, replacement)


def guard_sympy(module: types.ModuleType) -> None:
    """``UndefinedFunction`` (behind ``Function(name, ...)`` and ``symbols(cls=Function)``):
    no dunder keywords or ``__dict__`` keys, bases of applied undefined functions only."""
    from sympy.core.function import AppliedUndef, UndefinedFunction

    def make(original: Any) -> Any:
        def __new__(
            mcl: Any, name: Any, bases: Any = (AppliedUndef,), __dict__: Any = None, **kwargs: Any
        ) -> Any:
            if _called_from_code():
                refuse_dunders([*kwargs, *(__dict__ or ())], "sympy.Function()")
                if not all(isinstance(b, type) and issubclass(b, AppliedUndef) for b in bases):
                    raise TypeError("sympy.Function(): bases must be applied undefined functions")
            return original(mcl, name, bases, __dict__, **kwargs)

        return __new__

    _patch(UndefinedFunction, "__new__", make)


def guard_pandas(module: types.ModuleType) -> None:
    """``NDFrame.__getattr__`` answers no dunder from labels; ``BaseIndexer(**kwargs)`` takes
    no dunder keyword."""
    from pandas.api.indexers import BaseIndexer
    from pandas.core.generic import NDFrame

    def make_getattr(original: Any) -> Any:
        def __getattr__(self: Any, name: str) -> Any:
            if is_dunder(name) and _called_from_code():
                return object.__getattribute__(self, name)
            return original(self, name)

        return __getattr__

    def make_init(original: Any) -> Any:
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            if _called_from_code():
                refuse_dunders(kwargs, f"{type(self).__name__}()")
            original(self, *args, **kwargs)

        return __init__

    _patch(NDFrame, "__getattr__", make_getattr)
    _patch(BaseIndexer, "__init__", make_init)


def guard_numpy(module: types.ModuleType) -> None:
    """``poly1d(p)`` copies ``p.__dict__``: not when it holds a dunder key."""
    poly1d = module.poly1d

    def make(original: Any) -> Any:
        def __init__(self: Any, c_or_r: Any, *args: Any, **kwargs: Any) -> None:
            if isinstance(c_or_r, poly1d) and _called_from_code():
                refuse_dunders(vars(c_or_r), "numpy.poly1d()")
            original(self, c_or_r, *args, **kwargs)

        return __init__

    _patch(poly1d, "__init__", make)
