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
* ``bytearray``: **unsafe** (red team round 6, F1, F2). ``ba[k] = v`` and ``del ba[k]`` read
  the buffer pointer first, then convert the key (and the value) with ``__index__``, then store
  through the pointer they read; ``find``, ``rfind``, ``index``, ``rindex``, ``count``,
  ``startswith``, ``endswith`` and ``in`` take pointer and size, then convert ``start``, ``end``
  or the byte to look for; ``ba % args`` formats from the pointer while the arguments'
  ``__index__``/``__bytes__``/``__float__`` run. The code gets ``bytearray`` below, which converts
  keys, slices, starts, ends and needles to exact ints first and formats from an immutable
  copy; methods that make a new one (slices, ``+``, ``*``, ``split``, ``upper``...) return this
  class too. The rest take their arguments before they look at the buffer (argument clinic),
  and ``extend``/``__init__`` from an iterable fill a private buffer or re-read the size.
* ``list``: an extended-slice store (``L[::2] = values``) fixes the slice's length, then turns
  ``values`` into a sequence, which runs the code's iterator (a generator shrinking ``L``: object
  pointers written past the items, F3). ``store`` makes a list of them first; the compiler
  routes item stores it cannot tell are plain through it, ``operator.setitem`` and a list's
  ``__setitem__`` (``L.__setitem__``, ``super().__setitem__``) do the same, and so do the host's
  ``collections.UserList`` and ``copy``'s rebuilding of list items (their Python code stores the
  code's values natively). Where the key is checked after the value was made (a slice object
  in a name; unpacking and loop targets), a list takes no extended slice: the value is out of
  sight there. Every other list method converts first or re-reads the size.
* ``collections.OrderedDict``: ``==``, ``move_to_end``, ``pop`` and ``del`` go on with nodes
  and key tables a key's ``__eq__`` freed by clearing the dict (gh-119004): the code's is a
  ``dict`` with the ordered dict's methods over it (``OrderedDict`` below); one the host made
  is still the C one. ``list`` ``<``: the last comparison is made on
  items the list does not hold for it (gh-120298): a comparison method of the code's keeps both
  operands alive until the cell ends (the compiler's ``G.kept``), so freeing one frees nothing.
* numpy ``ndarray.sort``/``partition`` of object arrays move item pointers without references
  while the code's comparisons run (one setting ``a[1] = None`` left a freed pointer in the
  array): they sort a copy the code cannot reach and assign it back (``guards``).
* ``struct.Struct``: its iterators and ``pack`` trust a format that ``__init__`` can change
  (F4: ``iter_unpack`` reading past its buffer, ``pack`` walking freed codes), and an instance
  that was never initialised has none. So the code cannot subclass it (its subclasses' instances
  would be its own to re-initialise), and ``Struct.__new__`` alone does not make one.
* ``memoryview`` (``BytesIO.getbuffer()``, ``ndarray.data``): item stores check again for a
  release after converting; while one exists its object cannot be resized (``BufferError``).
* ``struct.pack_into``, ``Struct.pack_into``, ``BytesIO.readinto``: hold a buffer export while
  they convert, so the target cannot be resized.
* ``collections.deque`` (``index`` compares an item it holds no reference to: it runs over a
  list of the items, F1 of round 9; ``itertools.groupby`` likewise: ``iterators``), ``list``
  (``sort(key=)``, ``index``, ``count``, ``remove``, slices of step 1), ``dict``, ``set``:
  the interpreter checks for mutation during the callback (``deque mutated during
  iteration``, ``list modified during sort``) or re-reads sizes.
* ``bytes.join``/``bytearray.join``: the items' buffers come from C types only (3.11 has no
  ``__buffer__`` for classes of the code's).
* ``numpy`` arrays: ``resize`` keeps its reference check (``guards._checked_resize``), and an
  array with a buffer export cannot be resized.

Docker cells run the image's interpreter without this policy: the container is the boundary.
"""

from __future__ import annotations

import array as _array
import collections
import operator
import reprlib
import struct
import sys
import types
from typing import Any

from sandboxes.policy.classes import CLASS_STANDINS, NEW_CHECKS, Frozen
from sandboxes.policy.rules import plain_str

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


def shown_array(value: Any) -> Any:
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
        return shown_array(_REAL.__getitem__(self, key))

    def __add__(self, other: Any) -> Any:
        return shown_array(_REAL.__add__(self, other))

    def __mul__(self, count: Any) -> Any:
        return shown_array(_REAL.__mul__(self, count))

    def __rmul__(self, count: Any) -> Any:
        return shown_array(_REAL.__rmul__(self, count))

    def __copy__(self) -> Any:
        return shown_array(_REAL.__copy__(self))

    def __deepcopy__(self, memo: Any, /) -> Any:
        return shown_array(_REAL.__deepcopy__(self, memo))


def _standin(layer: type, real: type, module: str) -> Any:
    """The class the code gets for ``real``: a subclass of the checking ``layer`` under the
    real name (so ``super(cls, x)`` lands on the layer, which the code cannot name), and what
    ``type(x)`` answers for the real class and the layer."""
    made = type(real.__name__, (layer,), {"__slots__": (), "__module__": module})
    made.__doc__ = real.__doc__
    CLASS_STANDINS[real] = CLASS_STANDINS[layer] = made
    return made


array = _standin(_Converting, _REAL, "array")


def array_module(guards: Any, module: types.ModuleType) -> dict[str, Any]:
    """The ``array`` module's class (also as ``ArrayType``) as the converting one."""
    return {"array": array, "ArrayType": array}


# --- bytearray ------------------------------------------------------------------------------

_BYTES = bytearray


def _index(value: Any) -> Any:
    """An index, count, start or end as C converts it (``__index__``), converted now. ``None``
    and values C refuses without calling anything (no ``__index__``) come back as they are."""
    if type(value) is int or value is None:
        return value
    if hasattr(type(value), "__index__"):
        return operator.index(value)
    return value


def _plain_slice(key: slice) -> slice:
    return slice(_index(key.start), _index(key.stop), _index(key.step))


def _is_buffer(value: Any) -> bool:
    """Whether C would read ``value`` as a buffer: in 3.11 only C types export one, so asking
    runs none of the code."""
    try:
        memoryview(value).release()
    except TypeError:
        return False
    return True


def _needle(sub: Any) -> Any:
    """What ``find``/``count``/``index`` look for: a buffer as it is, else a byte value."""
    if type(sub) is bytes or type(sub) is int or _is_buffer(sub):
        return sub
    return _index(sub)


def _made(value: Any) -> Any:
    """A new real bytearray (or a list or tuple of them) as the class the code gets."""
    kind = type(value)
    if kind is _BYTES:
        return bytearray(value)
    if (kind is list or kind is tuple) and any(type(part) is _BYTES for part in value):
        return kind(bytearray(part) if type(part) is _BYTES else part for part in value)
    return value


class _BytesConverting(_BYTES):
    """The layer that converts (see the module's docstring); the code gets ``bytearray``."""

    __slots__ = ()

    def __setitem__(self, key: Any, value: Any) -> None:
        key = _plain_slice(key) if type(key) is slice else _index(key)
        _BYTES.__setitem__(self, key, _index(value) if type(key) is int else value)

    def __delitem__(self, key: Any) -> None:
        _BYTES.__delitem__(self, _plain_slice(key) if type(key) is slice else _index(key))

    def __getitem__(self, key: Any) -> Any:
        return _made(_BYTES.__getitem__(self, key))

    def __contains__(self, item: Any) -> bool:
        if type(item) is not int and hasattr(type(item), "__index__"):
            try:  # C tries the byte value first, then the buffer
                item = operator.index(item)
            except TypeError:
                if not _is_buffer(item):
                    name = type(item).__name__
                    raise TypeError(f"a bytes-like object is required, not '{name}'") from None
                item = bytes(memoryview(item))
        return _BYTES.__contains__(self, item)

    def __mod__(self, args: Any) -> Any:
        return bytearray(bytes(memoryview(self)) % args)  # formats from a copy nobody holds

    def find(self, sub: Any, start: Any = None, end: Any = None, /) -> int:
        return _BYTES.find(self, _needle(sub), _index(start), _index(end))

    def rfind(self, sub: Any, start: Any = None, end: Any = None, /) -> int:
        return _BYTES.rfind(self, _needle(sub), _index(start), _index(end))

    def index(self, sub: Any, start: Any = None, end: Any = None, /) -> int:
        return _BYTES.index(self, _needle(sub), _index(start), _index(end))

    def rindex(self, sub: Any, start: Any = None, end: Any = None, /) -> int:
        return _BYTES.rindex(self, _needle(sub), _index(start), _index(end))

    def count(self, sub: Any, start: Any = None, end: Any = None, /) -> int:
        return _BYTES.count(self, _needle(sub), _index(start), _index(end))

    def startswith(self, prefix: Any, start: Any = None, end: Any = None, /) -> bool:
        return _BYTES.startswith(self, prefix, _index(start), _index(end))

    def endswith(self, suffix: Any, start: Any = None, end: Any = None, /) -> bool:
        return _BYTES.endswith(self, suffix, _index(start), _index(end))


def _making(name: str) -> Any:
    real = getattr(_BYTES, name)

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return _made(real(self, *args, **kwargs))

    method.__name__, method.__qualname__, method.__doc__ = name, f"bytearray.{name}", real.__doc__
    return method


#: The methods that return new bytearrays (their arguments are converted before they read).
_MAKING = [
    "__add__",
    "__mul__",
    "__rmul__",
    "copy",
    "replace",
    "translate",
    "join",
    "capitalize",
    "center",
    "expandtabs",
    "ljust",
    "rjust",
    "lower",
    "upper",
    "swapcase",
    "title",
    "zfill",
    "strip",
    "lstrip",
    "rstrip",
    "removeprefix",
    "removesuffix",
    "split",
    "rsplit",
    "splitlines",
    "partition",
    "rpartition",
]
for _name in _MAKING:
    setattr(_BytesConverting, _name, _making(_name))


bytearray = _standin(_BytesConverting, _BYTES, "builtins")


# --- list -----------------------------------------------------------------------------------


def list_slice_item(key: slice, value: Any) -> tuple[slice, Any]:
    """``(key, value)`` for ``L[key] = value`` on a list, converted as its C method would
    convert them, now: an extended slice gets a list, not an iterator of the code's."""
    key = _plain_slice(key)
    if key.step is None or key.step == 1 or type(value) is list or type(value) is tuple:
        return key, value
    try:
        items = iter(value)
    except TypeError:  # asked once: C would ask the code's __iter__ again
        raise TypeError("must assign iterable to extended slice") from None
    return key, list(items)


def store(value: Any, target: Any, key: Any) -> None:
    """``target[key] = value``, for the stores the compiler cannot tell are plain (arguments in
    Python's order of evaluation: value, target, key)."""
    if type(key) is slice and isinstance(target, list):
        key, value = list_slice_item(key, value)
    target[key] = value


def setitem(target: Any, key: Any, value: Any, /) -> None:
    """``operator.setitem``."""
    store(value, target, key)


def target_key(key: Any) -> Any:
    """A key of an item store checked where the value is not in sight (a slice object in a
    name, an unpacking or loop target): no extended slice."""
    if type(key) is slice:
        key = _plain_slice(key)
        if key.step is not None and key.step != 1:
            raise TypeError(
                "an extended slice (a step other than 1) is a key of a list store in the sandbox "
                "only written out in a plain assignment: x[a:b:c] = values"
            )
    return key


def item_key(target: Any, key: Any) -> Any:
    """``target_key`` for a target the compiler can name again: only a list's is refused."""
    if type(key) is slice and isinstance(target, list):
        return target_key(key)
    return key


def checked_setitem(method: Any) -> Any:
    """``L.__setitem__`` / ``list.__setitem__`` / ``super().__setitem__`` of a list: through
    ``list_slice_item``. Any other ``__setitem__`` comes back as it is."""
    if type(method) is types.MethodWrapperType and isinstance(method.__self__, list):

        def bound(key: Any, value: Any, /) -> None:
            if type(key) is slice:
                key, value = list_slice_item(key, value)
            method(key, value)

        return bound
    if type(method) is types.WrapperDescriptorType and method.__objclass__ is list:

        def unbound(self: Any, key: Any, value: Any, /) -> None:
            if type(key) is slice and isinstance(self, list):
                key, value = list_slice_item(key, value)
            method(self, key, value)

        return unbound
    return method


class UserList(collections.UserList):  # type: ignore[type-arg]
    """``collections.UserList``, whose item store goes through ``store``."""

    def __setitem__(self, i: Any, item: Any) -> None:
        store(item, self.data, i)


UserList.__module__ = "collections"

# --- OrderedDict ------------------------------------------------------------------------------

_ODICT = collections.OrderedDict


class OrderedDict(dict):  # type: ignore[type-arg]
    """``collections.OrderedDict`` for the code: a ``dict`` (ordered since 3.7) with the ordered
    dict's methods written over ``dict``'s, so no C code of CPython 3.11's ordered dict (its node
    table and linked list) runs while the keys' ``__eq__``/``__hash__`` do. That code kept using
    nodes and key tables a key's ``__eq__`` had freed by clearing the dict: in ``==`` (red team
    round 7, F3; gh-119004, fixed in 3.12) and in ``move_to_end``/``pop``/``del`` (round 8, F3)."""

    def __eq__(self, other: Any) -> Any:
        if isinstance(other, (OrderedDict, _ODICT)):  # snapshots: the lists own their keys
            return dict.__eq__(self, other) and list(self) == list(other)
        return dict.__eq__(self, other)

    def __ne__(self, other: Any) -> Any:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]

    def move_to_end(self, key: Any, last: bool = True) -> None:
        value = dict.pop(self, key)
        if last:
            dict.__setitem__(self, key, value)
            return
        rest = list(dict.items(self))
        dict.clear(self)
        dict.__setitem__(self, key, value)
        dict.update(self, rest)

    def popitem(self, last: bool = True) -> tuple[Any, Any]:
        if not self:
            raise KeyError("dictionary is empty")
        if last:
            return dict.popitem(self)
        key = next(iter(self))
        return key, dict.pop(self, key)

    def copy(self) -> Any:
        return type(self)(self)

    def __or__(self, other: Any) -> Any:
        if not isinstance(other, dict):
            return NotImplemented
        made = self.copy()
        made.update(other)
        return made

    def __ror__(self, other: Any) -> Any:
        if not isinstance(other, dict):
            return NotImplemented
        made = type(self)(other)
        made.update(self)
        return made

    @reprlib.recursive_repr()
    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}({list(self.items())!r})" if self else f"{name}()"


OrderedDict.__module__ = "collections"
OrderedDict.__doc__ = _ODICT.__doc__
CLASS_STANDINS[_ODICT] = OrderedDict


# --- deque -----------------------------------------------------------------------------

_DEQUE = collections.deque


class _IndexOverCopy(_DEQUE):  # type: ignore[type-arg]
    """``index`` over a list of the items: CPython 3.11's compares an item it holds no
    reference to, and checks for mutation only after the code's ``__eq__`` has returned (red
    team round 9, F1: an item freed inside its own comparison)."""

    __slots__ = ()

    def index(self, value: Any, start: Any = 0, stop: Any = sys.maxsize, /) -> int:
        items = list(self)
        first, last, _ = slice(_index(start), _index(stop)).indices(len(items))
        for i in range(first, last):
            if items[i] is value or items[i] == value:
                return i
        raise ValueError(f"{value!r} is not in deque")


deque = _standin(_IndexOverCopy, _DEQUE, "collections")


def collections_module(guards: Any, module: types.ModuleType) -> dict[str, Any]:
    return {"UserList": UserList, "OrderedDict": OrderedDict, "deque": deque}


def typing_aliases(module: types.ModuleType) -> dict[str, Any]:
    """``typing``'s aliases of classes with stand-ins (``Deque``, ``OrderedDict``) over the
    stand-ins: an alias builds its class when called and is its base in a class statement
    (``typing.Deque()`` made a real deque: red team round 10, B1)."""
    made = {}
    for name, alias in vars(module).items():
        origin = getattr(alias, "__origin__", None)
        if type(alias) is module._SpecialGenericAlias and origin in CLASS_STANDINS:
            made[name] = module._SpecialGenericAlias(  # type: ignore[attr-defined]
                CLASS_STANDINS[origin], alias._nparams, inst=alias._inst, name=alias._name
            )
    return made


def standin_copy(value: Any) -> Any:
    """A host's real ``deque``, ``OrderedDict``, ``array`` or ``bytearray`` (a table of a
    library's object: ``HOST_TABLES``) as a copy of the code's class; anything else as it is."""
    kind = type(value)
    if kind is _DEQUE:
        return deque(value, value.maxlen)
    if kind is _ODICT:
        return OrderedDict(value)
    if kind is _BYTES:
        return bytearray(value)
    return shown_array(value)


# --- zoneinfo -------------------------------------------------------------------------------


def _zone_key(key: Any) -> str:
    """A zone key as an exact ``str``: C's ``ZoneInfo(key)`` compares the key with its cache's
    while it walks the cache's nodes, and a key's ``__eq__`` that cleared the cache left it on a
    freed node (red team round 10, F7). A ``str`` compares without calling anything."""
    if not isinstance(key, str):
        raise TypeError(f"ZoneInfo keys are strings, not {type(key).__name__}")
    return plain_str(key)


class _ZoneHandleMeta(Frozen):
    def __call__(cls, key: Any) -> Any:
        return _ZONE(_zone_key(key))

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, _ZONE)

    def __subclasscheck__(cls, sub: Any) -> bool:
        return sub is cls or (isinstance(sub, type) and issubclass(sub, _ZONE))


def zoneinfo_module(guards: Any, module: types.ModuleType) -> dict[str, Any]:
    """``ZoneInfo`` whose keys are exact strings (the host's class and cache: ``isinstance``
    holds for the zones pandas and datetime made)."""
    global _ZONE
    _ZONE = module.ZoneInfo

    def no_cache(key: Any) -> Any:
        return _ZONE.no_cache(_zone_key(key))

    def clear_cache(*, only_keys: Any = None) -> None:
        keys = None if only_keys is None else [_zone_key(key) for key in only_keys]
        _ZONE.clear_cache(only_keys=keys)

    handle = _ZoneHandleMeta(
        "ZoneInfo",
        (),
        {
            "__slots__": (),
            "__doc__": _ZONE.__doc__,
            "__module__": "zoneinfo",
            "no_cache": staticmethod(no_cache),
            "clear_cache": staticmethod(clear_cache),
            "from_file": staticmethod(_ZONE.from_file),
        },
    )
    CLASS_STANDINS[_ZONE] = handle
    return {"ZoneInfo": handle}


_ZONE: Any = None


# --- struct ---------------------------------------------------------------------------------


def _new_struct(cls: Any, *args: Any, **kwargs: Any) -> Any:
    raise TypeError(
        "Struct.__new__ alone makes no Struct in the sandbox; call struct.Struct(format)"
    )


NEW_CHECKS[struct.Struct.__new__] = _new_struct
