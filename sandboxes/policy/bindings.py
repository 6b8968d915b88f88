"""Guards bound into the compiled code as constants, where neither the code nor a library can
replace them.

A guard the compiled code looks up by name lives in the code's namespace, and a library that
writes into its caller's globals (``sympy.var("__sb_getattr__")``, ``frame.f_globals[...]``)
can replace it with anything. So the transformer emits a marker constant instead of a name
(``"\\0sb:guards".read(obj, "x")``), and ``bind`` swaps the marker in every code object's
``co_consts`` for the sandbox's ``GuardTable`` after compiling: the byte code is unchanged
(``LOAD_CONST`` + a module attribute load, as fast as a global), and the table is reachable only
through code objects, which the policy never lets the code reach. The code cannot write the
markers itself (string constants that start with ``MARK_PREFIX`` are rejected).

The table also holds the flag ``on``, true only while one of the sandbox's cells runs: every
function the code defines that calls or loops starts by checking it (``if not G.on: ...``), so
that nothing the code defined runs on outside a cell's time limit (a finaliser, a host cache
calling ``__eq__`` later, a callback kept by a library).
"""

from __future__ import annotations

import sys
import types
import weakref
from typing import Any

#: Constants starting with this are the policy's markers; the code may not write them.
MARK_PREFIX = "\x00sb:"
#: Stands for the sandbox's ``GuardTable`` in the compiled code.
GUARDS = MARK_PREFIX + "guards"
#: Stands for ``classes.TOKEN``, the mark a class statement puts in its class body.
TOKEN = MARK_PREFIX + "token"


#: One sandbox's guards and state as the compiled code reaches them: a plain module object (not
#: a subclass), so that loads of its attributes take the interpreter's fast path for modules.
#: Never in ``sys.modules``, never in a namespace: only in ``co_consts`` of compiled code, where
#: nothing else puts a module.
GuardTable = types.ModuleType


def guard_table() -> GuardTable:
    return types.ModuleType("sandbox guards")


def bind(code: types.CodeType, table: GuardTable, token: object) -> types.CodeType:
    """``code`` and its nested code objects with the markers replaced by ``table`` and
    ``token``, each remembered as the code's own (``is_policy_code``)."""
    consts = []
    changed = False
    for const in code.co_consts:
        new = const
        if type(const) is str and const.startswith(MARK_PREFIX):
            new = table if const == GUARDS else token if const == TOKEN else const
        elif type(const) is types.CodeType:
            new = bind(const, table, token)
        changed = changed or new is not const
        consts.append(new)
    bound = code.replace(co_consts=tuple(consts)) if changed else code
    key = id(bound)
    _BOUND[key] = weakref.ref(bound, lambda _, key=key: _BOUND.pop(key, None))
    return bound


#: id -> the code objects ``bind`` made, while they live (by identity: code objects compare
#: equal by value, and a host function's could equal one of the code's).
_BOUND: dict[int, weakref.ref[types.CodeType]] = {}


def is_policy_code(code: Any) -> bool:
    """Whether ``code`` was compiled (and bound) by a restricted policy: the code's own."""
    ref = _BOUND.get(id(code))
    return ref is not None and ref() is code


def code_on_stack() -> bool:
    """Whether a frame of the code's is on the stack above the caller of the function that
    asks: the host's call was made from within a cell (``copy``, a warning)."""
    frame = sys._getframe(2)
    while frame is not None:
        if is_policy_code(frame.f_code):
            return True
        frame = frame.f_back
    return False
