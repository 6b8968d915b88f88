"""Functions a module rule decides on, recognised by the function itself wherever it turns up.

A rule names a function by where its module keeps it (``mpmath.identify`` is replaced,
``sympy.init_printing`` denied), but the same function is also a method of every instance of its
class (``mpmath.mp.identify``, ``mpmath.fp.identify``: the host's context), an attribute of the
class, a re-export under another module, or the target of a wrapper. So each rule is also kept
by what the function is: the object, a method's ``__func__``, the ``__wrapped__`` chain and the
code object. Where the guards hand out such a function under another name (an attribute listed
in ``rules.RULED_METHODS``, a view's re-export), it meets the same rule: denied, or the safe
version a ``METHOD_CHECKS`` entry makes of it for that instance.

A replacement that only rebinds a method to the sandbox's own instance (``random.seed`` to its
own generator, ``mpmath.sqrt`` to its own context) rules the instance, not the function: those
are not kept here (``own_contexts`` and the ``context`` guard answer for the instances).
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any

#: Kinds of values whose rule follows the function (classes have their stand-ins instead).
_FUNCTIONS = (
    types.FunctionType,
    types.MethodType,
    types.BuiltinFunctionType,
    classmethod,
    staticmethod,
)


@dataclass(frozen=True)
class Ruling:
    """The rule a function meets: ``module.name``'s, denied for ``why`` (``None``: replaced)."""

    module: str
    name: str
    why: str | None


def identities(value: Any) -> list[Any]:
    """What ``value`` runs, as the objects a rule is kept by: the function (a method's
    ``__func__``), its code object (unless a closure), and the same for each function it
    wraps."""
    found: list[Any] = []
    for _ in range(8):  # a __wrapped__ chain is short; a cycle must not hang the guards
        if isinstance(value, (classmethod, staticmethod)):
            value = value.__func__
        if type(value) is types.MethodType:
            value = value.__func__
        if value is None or any(value is seen for seen in found):
            break
        found.append(value)
        if type(value) is not types.FunctionType:
            break
        if value.__closure__ is None:  # closures share their code with every sibling wrapper
            found.append(value.__code__)
        value = value.__dict__.get("__wrapped__")
    return found


def is_rebind(real: Any, replacement: Any) -> bool:
    """Whether ``replacement`` is ``real``'s function for another instance: bound to it, or a
    closure of the same code the instance made for itself (mpmath's contexts make ``atanh``)."""
    real_code = getattr(identities(real)[0], "__code__", None) if identities(real) else None
    own = identities(replacement)
    if real_code is not None and own and getattr(own[0], "__code__", None) is real_code:
        return True
    real_self = getattr(real, "__self__", None)
    own_self = getattr(replacement, "__self__", None)
    if real_self is None or own_self is None or isinstance(real_self, types.ModuleType):
        return False
    return type(replacement) is type(real) and type(own_self) is type(real_self)


class Rulings:
    """Rulings by the identity of the functions they are about."""

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[Any, Ruling]] = {}

    def add(self, value: Any, ruling: Ruling, exact: bool = False) -> None:
        """Keep ``ruling`` for what ``value`` runs (``exact``: for ``value`` itself only, when
        the rule is about the instance a method is bound to)."""
        if not isinstance(value, _FUNCTIONS) and not _callable_instance(value):
            return
        for obj in [value] if exact else identities(value):
            self._by_id.setdefault(id(obj), (obj, ruling))  # the object is kept: ids stay its

    def find(self, value: Any) -> Ruling | None:
        if not self._by_id:
            return None
        for obj in [value, *identities(value)]:
            hit = self._by_id.get(id(obj))
            if hit is not None and hit[0] is obj:
                return hit[1]
        return None


def _callable_instance(value: Any) -> bool:
    """A host object called like a function (``numpy.test``, a ``PytestTester``)."""
    return callable(value) and not isinstance(value, (type, types.ModuleType))
