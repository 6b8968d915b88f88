"""Which host metaclasses a class statement of the code may build its class with.

A metaclass runs host code with the new class as its argument, like a class decorator the
guards never see. Some write the class into a process-wide table: sympy's ``Singleton`` calls
``S.register(cls)`` (a class named ``Half`` replaces the host's ``S.Half``), polys'
``OptionType`` puts it into ``Options.__options__`` (every later ``Poly(..., domain=)`` of the
host calls the code's ``preprocess``). A base class brings its metaclass along
(``class D(Option)`` is built by ``OptionType``), so the check is on the metaclass Python will
actually use, and it is an allow-list: the metaclasses below were read and write only to the
class they build; any other one (a library's new metaclass included) is refused.
"""

from __future__ import annotations

import types
from typing import Any

#: Reviewed: each writes only the class it builds (or nothing).
ALLOWED = frozenset(
    {
        "abc.ABCMeta",
        "enum.EnumType",  # also the sandbox's _SandboxEnumType, a subclass (classes.py)
        "typing._ProtocolMeta",
        "typing._AnyMeta",
        "typing.NamedTupleMeta",
        "typing._TypedDictMeta",
        "typing._DeprecatedType",  # a warning on attribute reads
        "numpy._DTypeMeta",  # C: refuses new dtype classes from Python
        "pandas._libs.tslibs.offsets.OffsetMeta",  # isinstance only
        "pandas.core.dtypes.generic.ABCBase",  # isinstance only (one per pandas ABC)
        "pandas.core.dtypes.dtypes.CategoricalDtypeType",
        "dateutil.tz._factories._TzSingleton",  # the instance cache on the class itself
        "dateutil.tz._factories._TzFactory",
        "dateutil.tz._factories._TzOffsetFactory",
        "dateutil.tz._factories._TzStrFactory",
        "sympy.core.assumptions.ManagedProperties",  # the class's own assumptions
        "sympy.core.kind.KindMeta",  # the class's own instance cache
        "sympy.core.function.FunctionClass",  # the class's own nargs
        "sympy.core.function.UndefinedFunction",  # namespace checked (namesinks.py)
        "sympy.functions.elementary.exponential.ExpMeta",  # isinstance only
        "sympy.assumptions.assume.PredicateMeta",  # the class's own handler
        "sympy.matrices.common._MatrixDeprecatedMeta",  # isinstance only
    }
)


def _name(meta: type) -> str:
    return f"{meta.__module__}.{meta.__qualname__}"


def _is_reviewed(meta: type) -> bool:
    """By name: the code cannot make a metaclass (``classes.check_base``, no three-argument
    ``type``), and pandas makes its ``ABCBase`` ones in a function, so they are no module's
    attributes to compare with."""
    return meta is type or meta.__module__.startswith("sandboxes.policy.") or _name(meta) in ALLOWED


def effective_metaclass(meta: Any, bases: tuple[Any, ...]) -> Any:
    """The metaclass ``builtins.__build_class__`` will build with (Python's own rule: the most
    derived of ``meta`` and the bases' metaclasses, after ``__mro_entries__``)."""
    winner = type if meta is None else meta
    if not isinstance(winner, type):
        return winner
    for base in types.resolve_bases(bases):
        kind = type(base)
        if not issubclass(winner, kind) and issubclass(kind, winner):
            winner = kind
    return winner


def check_metaclass(meta: Any, bases: tuple[Any, ...]) -> None:
    """``TypeError`` unless the metaclass the class would get is ``type``, one of the sandbox's
    own (enum's, ``arrays``' stand-ins'), or a reviewed host metaclass."""
    winner = effective_metaclass(meta, bases)
    if isinstance(winner, type) and _is_reviewed(winner):
        return
    name = _name(winner) if isinstance(winner, type) else repr(winner)
    raise TypeError(
        f"classes built by the metaclass {name} are not supported in the sandbox "
        "(it runs host code on the new class, which may register it where the host looks)"
    )
