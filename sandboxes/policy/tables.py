"""Host tables as the code gets them: the libraries' module- and class-level state, unshared.

A library keeps tables its own calls read: registries, defaults, dispatch maps, a class's
default array (``sympy.Add.default_assumptions``, ``sympy.sets.fancysets.tfn``,
``numpy.polynomial.Polynomial.domain``). In ``inline`` they are the host's; changing one changes
what the host's own calls answer. The code gets them the way a library hands a caller a
constant: containers (any ``dict``, ``list`` or ``set``, subclasses and ``defaultdict`` too) as
copies, writable numpy arrays as read-only views. What cannot be copied is not handed out.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

_CONTAINERS = (dict, list, set)


def is_table(value: Any) -> bool:
    """A mutable container or a writable numpy array: state the host's code reads."""
    if isinstance(value, _CONTAINERS):
        return True
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.ndarray) and value.flags.writeable


def unshared(value: Any, deep: bool = False) -> Any:
    """``value`` (a table, ``is_table``) as the code may have it: a (deep) copy of a container,
    a read-only copy of an array (a view's ``flags.writeable`` can be set back to true: red
    team round 9, B1); other values unchanged."""
    if isinstance(value, _CONTAINERS):
        try:
            return copy.deepcopy(value) if deep else copy.copy(value)
        except Exception as exc:  # a subclass whose state does not copy
            raise AttributeError(
                f"this {type(value).__name__} is a table the host uses and cannot be copied "
                f"for the sandbox ({type(exc).__name__})"
            ) from None
    if is_table(value):
        made = value.copy()
        made.flags.writeable = False
        return made
    return value
