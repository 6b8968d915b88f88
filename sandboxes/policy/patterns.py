"""Class patterns: the names ``case C(p, q)`` reads from its subject, checked when it runs.

A positional sub-pattern makes the interpreter read ``C.__match_args__`` and then each name it
lists from the subject, natively and unguarded. Which class ``C`` is, and what its effective
``__match_args__`` holds, is only known when the pattern runs: inherited from a dataclass or a
namedtuple, answered by a metaclass, and the subject can be any type the code registered with
its own ABC (a host generator, a frame). So the compiler routes every class pattern with
positional sub-patterns through ``match_class`` (``case <class pattern>.cls(p, q)``, see the
transformer), which reads the effective tuple, checks every name as a native attribute load is
checked, and hands the interpreter a stand-in class whose ``__match_args__`` is that checked
tuple and whose ``isinstance`` is ``C``'s. Nothing can change the tuple between the check and
the read.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from sandboxes.policy.classes import Frozen, check_match_args

#: Builtin classes whose single positional sub-pattern matches the subject itself.
_MATCH_SELF = (bool, bytearray, bytes, dict, float, frozenset, int, list, set, str, tuple)


class _PatternMeta(Frozen):
    """Metaclass of the stand-ins: ``isinstance`` asks the pattern's real class."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, _real(cls))

    def __subclasscheck__(cls, sub: Any) -> bool:
        return issubclass(sub, _real(cls))


def _real(standin: type) -> type:
    real = standin.__dict__["_real"]()
    if real is None:  # pragma: no cover - the cache entry dies with the class
        raise TypeError("the class of this pattern no longer exists")
    return real


#: real class -> (the checked ``__match_args__``, its stand-in)
_STANDINS: weakref.WeakKeyDictionary[type, tuple[Any, type]] = weakref.WeakKeyDictionary()


class ClassPattern(metaclass=Frozen):
    """What the compiled code binds for one class pattern: ``.cls`` gives the class to match."""

    __slots__ = ("_get",)

    def __init__(self, get: Callable[[], Any]) -> None:
        self._get = get

    @property
    def cls(self) -> Any:
        return checked_class(self._get())


def match_class(get: Callable[[], Any] | None, value: Any = None) -> ClassPattern:
    """``get`` returns the pattern's class when the pattern runs; in a class body (where a
    function cannot see the class's names) the compiled code passes the class as ``value``."""
    return ClassPattern(get if get is not None else lambda: value)


def checked_class(cls: Any) -> Any:
    """The class the interpreter should match ``cls``'s positional sub-patterns with."""
    if not isinstance(cls, type):
        return cls  # the interpreter refuses it: "called match pattern must be a class"
    try:
        names = cls.__match_args__
    except AttributeError:
        if cls in _MATCH_SELF:
            return cls
        names = _NONE
    cached = _STANDINS.get(cls)
    if cached is not None and cached[0] is names:
        return cached[1]
    if names is not _NONE:
        check_match_args(cls, names)
    standin = _standin(cls, names)
    _STANDINS[cls] = (names, standin)
    return standin


_NONE = object()  # no __match_args__ at all


def _standin(cls: type, names: Any) -> type:
    """A class with ``cls``'s name, a fixed copy of the checked ``__match_args__`` and
    ``cls``'s ``isinstance``; without ``__match_args__``, a subclass of a builtin like ``int``
    keeps matching itself by position (the flag comes with the builtin base)."""
    namespace: dict[str, Any] = {
        "__slots__": (),
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "_real": weakref.ref(cls),
    }
    bases: tuple[type, ...] = ()
    if names is _NONE:
        bases = tuple(b for b in cls.__mro__ if b in _MATCH_SELF)[:1]
    else:
        namespace["__match_args__"] = tuple(names)
    return _PatternMeta(cls.__name__, bases, namespace)
