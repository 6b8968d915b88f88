"""Timeouts and ``final_answer`` must get through the code's own ``except`` and ``with``.

The host stops a cell by raising a control-flow exception into it (a ``BaseException`` that is
not an ``Exception``). ``except BaseException`` or an ``__exit__`` returning ``True`` would
swallow it, so every handler starts with ``reraise_control()`` and every ``with`` item is wrapped.
"""

from __future__ import annotations

import builtins
import sys
from typing import Any

from sandboxes.policy.classes import Frozen, is_own_class
from sandboxes.worker import CELL_GLOBALS

_GROUP = getattr(builtins, "BaseExceptionGroup", ())  # Python 3.11+


def _is_control(exc: BaseException) -> bool:
    kind = type(exc)
    if kind is KeyboardInterrupt:
        return True
    return (
        not isinstance(exc, Exception) and kind.__module__ != "builtins" and not is_own_class(kind)
    )


def control_exception(exc: BaseException | None) -> BaseException | None:
    """The host's control-flow exception (timeout, final answer) inside ``exc``, if any."""
    if isinstance(exc, _GROUP):
        for inner in exc.exceptions:
            found = control_exception(inner)
            if found is not None:
                return found
        return None
    return exc if exc is not None and _is_control(exc) else None


def reraise_control() -> None:
    """Called first in every ``except`` and ``finally`` block: re-raise a timeout instead of
    handling it; outside a cell, end the code instead (``outside_cell``)."""
    found = control_exception(sys.exc_info()[1])
    if found is not None:
        raise found
    if sys._getframe(1).f_globals is not CELL_GLOBALS.get():
        outside_cell()


def outside_cell() -> None:
    """The code runs outside its own cells, where no time limit of its own holds: a generator
    that the garbage collector closes after its namespace was replaced runs its ``finally``,
    ``except`` and ``__exit__`` blocks wherever the host (or a later cell) happens to be.
    ``GeneratorExit`` ends such a generator quietly, and ends any other stray call too."""
    raise GeneratorExit


class GuardedContext(metaclass=Frozen):
    """Wraps a ``with`` item so its ``__exit__`` cannot suppress a timeout."""

    __slots__ = ("_sb_cm", "_sb_exit")

    def __init__(self, cm: Any) -> None:
        kind = type(cm)
        if not hasattr(kind, "__enter__") or not hasattr(kind, "__exit__"):
            raise TypeError(
                f"{kind.__name__!r} object does not support the context manager protocol"
            )
        object.__setattr__(self, "_sb_cm", cm)
        object.__setattr__(self, "_sb_exit", kind.__exit__)

    def __enter__(self) -> Any:
        cm = self._sb_cm
        return type(cm).__enter__(cm)

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        if sys._getframe(1).f_globals is not CELL_GLOBALS.get() and is_own_class(type(self._sb_cm)):
            outside_cell()  # the host's own context managers still clean up
        suppress = self._sb_exit(self._sb_cm, kind, exc, tb)
        return bool(suppress) and control_exception(exc) is None


class GuardedAsyncContext(metaclass=Frozen):
    """``GuardedContext`` for ``async with``."""

    __slots__ = ("_sb_cm", "_sb_exit")

    def __init__(self, cm: Any) -> None:
        kind = type(cm)
        if not hasattr(kind, "__aenter__") or not hasattr(kind, "__aexit__"):
            raise TypeError(
                f"{kind.__name__!r} object does not support the asynchronous context manager "
                "protocol"
            )
        object.__setattr__(self, "_sb_cm", cm)
        object.__setattr__(self, "_sb_exit", kind.__aexit__)

    async def __aenter__(self) -> Any:
        cm = self._sb_cm
        return await type(cm).__aenter__(cm)

    async def __aexit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        if sys._getframe(1).f_globals is not CELL_GLOBALS.get() and is_own_class(type(self._sb_cm)):
            outside_cell()
        suppress = await self._sb_exit(self._sb_cm, kind, exc, tb)
        return bool(suppress) and control_exception(exc) is None
