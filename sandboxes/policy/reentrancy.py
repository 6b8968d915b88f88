"""C methods that call the code back mid-operation: ``array.array`` converts first.

A C method that converts an argument with the code's ``__index__``, ``__float__``, ``__eq__``,
``__hash__``, ``__len__`` or ``__iter__`` runs the code in the middle of its own work. If it
trusts a size or a buffer pointer it read before the callback, a callback that resizes the
object turns the rest of the method into a read or write past the buffer: memory the code
chooses, and from there any object (red team round 5, F0: a fake ``bytearray`` over the whole
process, then the real ``builtins``). The policy cannot see inside C, so each allowed C type
that takes the code's values and can be resized is audited here (CPython 3.11):

* ``array.array``: **unsafe**. ``a[i] = v``, ``insert``, ``append``, ``extend`` (from an
  iterable) and ``fromlist`` check the index or size the buffer, then convert ``v`` with its
  type's ``__index__``/``__float__``, then store through the buffer as it is by then (``insert``
  and ``append`` convert twice, around a resize). The code gets ``array`` below: the same class
  to every caller (``isinstance``, ``memoryview``, ``struct``, numpy take it as an array), whose
  mutators turn the values into exact ``int``/``float`` first, so the code's methods have run
  before the C method starts. Methods that make a new array (slices, ``+``, ``*``, ``copy``)
  return this class too, so a real ``array.array`` never reaches the code; ``super(array, a)``
  lands on the checking layer, which the code cannot name. Slice assignment takes arrays only,
  and its indices (like every index and count) are converted before any size is read.
* ``bytearray``: converts each item before it reads the size (``ba[i] = v``, ``append``,
  ``insert``, ``extend``, ``__init__`` on an existing one, slice assignment from an iterable).
* ``memoryview`` (``BytesIO.getbuffer()``, ``ndarray.data``): item stores check again for a
  release after converting; while one exists its object cannot be resized (``BufferError``).
* ``struct.pack_into``, ``Struct.pack_into``, ``BytesIO.readinto``: hold a buffer export while
  they convert, so the target cannot be resized.
* ``collections.deque``, ``list`` (``sort(key=)``, ``index``, ``count``, ``remove``), ``dict``,
  ``set``: the interpreter checks for mutation during the callback (``deque mutated during
  iteration``, ``list modified during sort``) or re-reads sizes.
* ``bytes.join``/``bytearray.join``: the items' buffers come from C types only (3.11 has no
  ``__buffer__`` for classes of the code's).
* ``numpy`` arrays: ``resize`` keeps its reference check (``guards._checked_resize``), and an
  array with a buffer export cannot be resized.

Docker cells run the image's interpreter without this policy: the container is the boundary.
"""

from __future__ import annotations

import array as _array
import operator
import types
from typing import Any

from sandboxes.policy.classes import CLASS_STANDINS

_REAL = _array.array
_INTEGER_CODES = frozenset("bBhHiIlLqQ")
_REAL_CODES = frozenset("fd")


def plain_number(typecode: str, value: Any) -> Any:
    """``value`` as the C code of an array with ``typecode`` would convert it, converted now:
    an exact ``int`` or ``float`` (the code's ``__index__``/``__float__`` run here). Values C
    would refuse without calling anything (strings, ``None``) come back as they are."""
    kind = type(value)
    if kind is int or kind is float:
        return value
    if typecode in _REAL_CODES:
        if hasattr(kind, "__float__") or hasattr(kind, "__index__"):
            return float(value)
    elif typecode in _INTEGER_CODES and hasattr(kind, "__index__"):
        return operator.index(value)
    return value


def _shown(value: Any) -> Any:
    """A new real array (a slice, a sum, a copy) as the class the code gets."""
    if type(value) is not _REAL:
        return value
    made = array(value.typecode)
    _REAL.extend(made, value)  # same kind: a copy of the memory, nothing of the code's runs
    return made


class _Converting(_REAL):
    """The layer that converts; the code gets its subclass ``array``, so ``super(array, a)``
    finds these methods and not the C ones."""

    __slots__ = ()

    def __setitem__(self, key: Any, value: Any) -> None:
        if type(key) is not slice:
            value = plain_number(self.typecode, value)
        _REAL.__setitem__(self, key, value)

    def insert(self, index: Any, value: Any, /) -> None:
        _REAL.insert(self, index, plain_number(self.typecode, value))

    def append(self, value: Any, /) -> None:
        _REAL.append(self, plain_number(self.typecode, value))

    def extend(self, values: Any, /) -> None:
        if isinstance(values, _REAL):
            _REAL.extend(self, values)
            return
        typecode, converted = self.typecode, []
        try:
            for value in values:
                converted.append(plain_number(typecode, value))
        finally:  # what came before a failing item is appended, as by the real method
            _REAL.extend(self, converted)

    def fromlist(self, values: Any, /) -> None:
        if isinstance(values, list):
            values = [plain_number(self.typecode, value) for value in values]
        _REAL.fromlist(self, values)

    def __getitem__(self, key: Any) -> Any:
        return _shown(_REAL.__getitem__(self, key))

    def __add__(self, other: Any) -> Any:
        return _shown(_REAL.__add__(self, other))

    def __mul__(self, count: Any) -> Any:
        return _shown(_REAL.__mul__(self, count))

    def __rmul__(self, count: Any) -> Any:
        return _shown(_REAL.__rmul__(self, count))

    def __copy__(self) -> Any:
        return _shown(_REAL.__copy__(self))

    def __deepcopy__(self, memo: Any, /) -> Any:
        return _shown(_REAL.__deepcopy__(self, memo))


class array(_Converting):  # noqa: N801  (the name the code knows)
    __slots__ = ()


array.__module__ = "array"
array.__qualname__ = "array"
array.__doc__ = _REAL.__doc__
CLASS_STANDINS[_REAL] = CLASS_STANDINS[_Converting] = array


def array_module(guards: Any, module: types.ModuleType) -> dict[str, Any]:
    """The ``array`` module's class (also as ``ArrayType``) as the converting one."""
    return {"array": array, "ArrayType": array}
