"""What the host calls on the code's objects later, outside any cell: only the code's functions.

Every function the code defines checks on entry that one of its cells runs (``bindings``), so
nothing it defined runs on at the host's leisure. A class of the code's could still have the
host call something else: a dunder bound to a host callable (``__hash__ = gen.__next__``,
looked up by a host cache later), or a finaliser of a host base class (``io.StringIO``'s
calls ``self.close()``) finding ``close = functools.partial(time.sleep, 5)``, on the class or
on the instance, when the garbage collector frees it. So class bodies may bind dunders to the
code's own functions and a few harmless host kinds only, and a host finaliser runs for the
code's instances only within a cell.
"""

from __future__ import annotations

import types
from typing import Any

from sandboxes.policy.bindings import GuardTable
from sandboxes.policy.classes import Frozen, is_own_class, is_own_function, wrapped_getattr
from sandboxes.policy.rules import is_dunder

#: Dunders that hold data, not hooks.
_DATA_DUNDERS = frozenset(
    {"__doc__", "__module__", "__qualname__", "__slots__", "__match_args__", "__annotations__"}
)
#: Host callables a class may bind a dunder to: unbound methods of builtin classes
#: (``__hash__ = object.__hash__``, ``__str__ = str.__str__``), classes and the libraries'
#: functions (``typing.NamedTuple`` makes a ``__new__``). Not the sandbox's own stand-ins (its
#: ``time.sleep``), builtins bound to a module, partials, bound methods or method wrappers
#: (``gen.__next__``).
_HOST_KINDS = (
    types.WrapperDescriptorType,
    types.MethodDescriptorType,
    types.ClassMethodDescriptorType,
)


#: Descriptors a class body gets from Python itself (``__slots__``).
_SLOT_KINDS = (types.MemberDescriptorType, types.GetSetDescriptorType)


def check_hooks(cls: type) -> None:
    """``TypeError`` for a dunder in the class body of ``cls`` bound to a callable the host
    could call later with no check of its own (what a base class has under that name, as an
    ``Enum``'s ``__new__``, is the base's business)."""
    for name, value in cls.__dict__.items():
        if not is_dunder(name) or name in _DATA_DUNDERS or value is None:
            continue
        inherited = any(k.__dict__.get(name) is value for k in cls.__mro__[1:])
        for part in _parts(value):
            if not inherited and not _harmless(part, name):
                raise TypeError(
                    f"{cls.__name__}.{name} may be a function defined in the code, not "
                    f"{type(part).__name__} {part!r}: the host calls it, possibly after the "
                    "code has run"
                )


def _parts(value: Any) -> list[Any]:
    """The callables a class attribute stands for (``staticmethod(f)`` -> ``f``...)."""
    if isinstance(value, (staticmethod, classmethod)):
        return [value.__func__]
    if isinstance(value, property):
        return [f for f in (value.fget, value.fset, value.fdel) if f is not None]
    if callable(value) or not _is_descriptor(value):
        return [value]
    # A descriptor: what its lookup calls (partialmethod, cached_property, enum.property and
    # other DynamicClassAttribute kinds: red team 7, B3, a getter that was partial(eval, ...)).
    named = ("fget", "fset", "fdel", "func", "__func__")
    return [getattr(value, a) for a in named if getattr(value, a, None) is not None] or [value]


def _is_descriptor(value: Any) -> bool:
    kind = type(value)
    return any(hasattr(kind, m) for m in ("__get__", "__set__", "__delete__"))


def _harmless(value: Any, name: str) -> bool:
    hook = wrapped_getattr(value)  # the class body's own __getattr__, behind a dunder filter
    if hook is not None:
        return _harmless(hook, name)
    if isinstance(value, type):  # called as the hook, a class makes an instance: only the
        # generic alias of __class_getitem__ (``__eq__ = functools.partial`` equalled anything
        # in the host's typing cache: red team round 8, B4)
        return name == "__class_getitem__" or is_own_class(value)
    if not callable(value) and (
        not _is_descriptor(value)
        or isinstance(value, _SLOT_KINDS)
        or is_own_class(type(value))
        or isinstance(type(value), Frozen)  # the guards' own (``classes._Absent``)
    ):
        return True  # data; a host descriptor of no parts known may call anything on lookup
    if is_own_function(value) or isinstance(value, _HOST_KINDS):
        return True
    if type(value) is types.FunctionType:  # the guards' own mark theirs (Base.__init__'s)
        module = value.__module__ or ""
        return not module.startswith("sandboxes.") or getattr(value, "_sb_hook_safe", False)
    if isinstance(value, types.BuiltinFunctionType):  # dict.fromkeys, not time.sleep
        return isinstance(getattr(value, "__self__", None), type)
    # An instance of the code's class runs what its class's __call__ is: the code's function,
    # not what a host base lends (a functools.partial subclass calls any host function).
    call = type(value).__call__  # it is callable: checked above
    return is_own_class(type(value)) and is_own_function(getattr(call, "__func__", call))


def guard_finaliser(cls: type, table: GuardTable) -> None:
    """For a class of the code's extending a host class with a finaliser (``io.IOBase``'s closes
    the stream): run that finaliser only within one of the sandbox's cells."""
    if not is_own_class(cls):
        return
    host = next((k.__dict__["__del__"] for k in cls.__mro__ if "__del__" in k.__dict__), None)
    if host is None or getattr(host, "_sb_guarded", False):
        return

    def __del__(self: Any) -> None:
        if table.on:
            host(self)

    __del__._sb_guarded = True  # type: ignore[attr-defined]
    type.__setattr__(cls, "__del__", __del__)
