"""Timeouts and ``final_answer`` must get through the code's own ``except`` and ``with``; and the
code's cleanup must not run outside its cells.

The host stops a cell by raising a control-flow exception into it (a ``BaseException`` that is
not an ``Exception``). ``except BaseException`` or an ``__exit__`` returning ``True`` would
swallow it, so every handler starts with ``reraise()`` and every ``with`` item is wrapped.

A generator the garbage collector closes after its cell runs its ``finally``, ``except`` and
``__exit__`` blocks wherever the host (or a later cell) happens to be, with no time limit of its
own: there ``G.on`` is false, and ``GeneratorExit`` ends it quietly, before any context
manager's ``__exit__`` (the host's as well as the code's) runs.
"""

from __future__ import annotations

import builtins
import sys
from collections.abc import Callable
from typing import Any

from sandboxes.policy.bindings import GuardTable, code_on_stack, is_policy_code
from sandboxes.policy.classes import Frozen, is_own_class

_GROUP = getattr(builtins, "BaseExceptionGroup", ())  # Python 3.11+


class OutsideCellError(RuntimeError):
    """Code of a sandbox was called when none of its cells runs (by the host, later)."""


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


def make_reraise(table: GuardTable) -> Callable[[], None]:
    """``G.reraise()``, called first in every ``except`` and ``finally`` block: re-raise a
    timeout instead of handling it; outside a cell, end the code instead."""

    def reraise() -> None:
        found = control_exception(sys.exc_info()[1])
        if found is not None:
            raise found
        if not table.on:
            raise GeneratorExit

    return reraise


def outside() -> None:
    """``G.outside()``: what a function of the code does when it is entered (or a generator
    resumed) outside the sandbox's cells, where no time limit holds."""
    raise OutsideCellError(
        "code from a sandbox was called outside its cells (by the host, after the code ran), "
        "where it may not run"
    )


class GuardedContext(metaclass=Frozen):
    """Wraps a ``with`` item so its ``__exit__`` cannot suppress a timeout."""

    __slots__ = ("_sb_cm", "_sb_exit", "_sb_table")

    def __init__(self, cm: Any, table: GuardTable) -> None:
        kind = type(cm)
        if not hasattr(kind, "__enter__") or not hasattr(kind, "__exit__"):
            raise TypeError(
                f"{kind.__name__!r} object does not support the context manager protocol"
            )
        object.__setattr__(self, "_sb_cm", cm)
        object.__setattr__(self, "_sb_exit", kind.__exit__)
        object.__setattr__(self, "_sb_table", table)

    def __enter__(self) -> Any:
        cm = self._sb_cm
        return type(cm).__enter__(cm)

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        if not self._sb_table.on:
            # The host's context managers too: their exits call what the code gave them
            # (ExitStack callbacks, closing()'s close), which may be a host callable.
            raise GeneratorExit
        suppress = self._sb_exit(self._sb_cm, kind, exc, tb)
        return bool(suppress) and control_exception(exc) is None


class GuardedAsyncContext(metaclass=Frozen):
    """``GuardedContext`` for ``async with``."""

    __slots__ = ("_sb_cm", "_sb_exit", "_sb_table")

    def __init__(self, cm: Any, table: GuardTable) -> None:
        kind = type(cm)
        if not hasattr(kind, "__aenter__") or not hasattr(kind, "__aexit__"):
            raise TypeError(
                f"{kind.__name__!r} object does not support the asynchronous context manager "
                "protocol"
            )
        object.__setattr__(self, "_sb_cm", cm)
        object.__setattr__(self, "_sb_exit", kind.__aexit__)
        object.__setattr__(self, "_sb_table", table)

    async def __aenter__(self) -> Any:
        cm = self._sb_cm
        return await type(cm).__aenter__(cm)

    async def __aexit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        if not self._sb_table.on:
            raise GeneratorExit
        suppress = await self._sb_exit(self._sb_cm, kind, exc, tb)
        return bool(suppress) and control_exception(exc) is None


def install_coroutine_warning_guard() -> None:
    """A coroutine the code never awaited warns when it is collected, naming it by its
    ``__qualname__``, which the code may set to any text (newlines too): collected by the
    host's garbage collector after the cell, that is the code writing lines into the host's
    stderr (red team round 5, F5). For the code's coroutines the warning names the compiled
    name (``co_qualname``: identifiers), and only while code of a sandbox is on the stack (in
    a cell, where stderr is the cell's); after the cell there is no one to tell."""
    import warnings

    original = getattr(warnings, "_warn_unawaited_coroutine", None)
    if original is None or getattr(original, "_sb_guarded", False):
        return

    def _warn_unawaited_coroutine(coro: Any) -> None:
        code = getattr(coro, "cr_code", None)
        if not is_policy_code(code):
            return original(coro)
        if code_on_stack():
            warnings.warn(
                f"coroutine '{code.co_qualname}' was never awaited",
                RuntimeWarning,
                stacklevel=2,
            )
        return None

    _warn_unawaited_coroutine._sb_guarded = True  # type: ignore[attr-defined]
    warnings._warn_unawaited_coroutine = _warn_unawaited_coroutine  # type: ignore[attr-defined]
