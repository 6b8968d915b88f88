"""numpy arrays over memory the code wrote: never with an object dtype.

An array whose dtype holds Python objects stores raw pointers. Built over a buffer the code
filled (``np.ndarray((1,), object, buffer=bytearray(struct.pack("<Q", address)))``) its items
are whatever objects live at the addresses the code chose: a fake ``bytearray`` spanning the
whole process, any function's globals. numpy itself refuses this in ``frombuffer``, ``view``,
the ``dtype`` setter and ``getfield``, but not in the constructors that take a buffer.

Audit of numpy's entry points that take a buffer, strides or an offset (numpy 2.x):

* ``ndarray(shape, dtype, buffer, offset, strides)``, ``ndarray.__new__`` and every subclass
  inheriting it: **checked here** (any object dtype over a buffer is refused; over an object
  array an offset misaligns its pointers, so that is no exception).
* ``recarray(..., buf=...)`` (also ``numpy.rec.recarray``), ``numpy.rec.fromstring``,
  ``numpy.rec.array(bytes, ...)`` (calls ``fromstring``): **checked here**.
* ``numpy.ma.mrecords.MaskedRecords`` / ``mrecarray`` (``buf=``): **checked here**;
  ``mrecords.fromtextfile``/``openfile`` open host files: denied (``modules.RULES``).
* ``frombuffer``, ``view``, ``astype``, the ``dtype`` setter, ``getfield``/``setfield``:
  numpy refuses object dtypes over foreign memory itself (``astype(object)`` converts values).
* the ``strides``/``shape`` setters, ``ndarray(strides=...)``: numpy checks them against the
  extent of the base buffer.
* ``lib.stride_tricks.as_strided``, ``ctypeslib``, ``ndarray.ctypes``, ``memmap``,
  ``fromfile``, ``__array_interface__`` and kin on the code's objects: denied elsewhere.
* ``char.chararray(buffer=...)``: string dtypes only, but over an object array's memory it
  writes pointers: **checked here**, as every buffer consumer that writes (``frombuffer``'s
  and ``ndarray(buffer=)``'s views of it are writable; ``memoryview.cast``,
  ``struct.pack_into``, ``BytesIO.readinto``): the memory of an object array is never a
  buffer in the sandbox (``refuse_object_memory``).
* ``matrix``, ``ma.MaskedArray``, ``rec.fromrecords``, ``rec.fromarrays``, ``array``,
  ``asarray``: copies of the values (``asarray(objarr.data)`` is the same object array).

The classes are handed to the code as stand-ins (real subclasses whose metaclass checks each
construction; ``isinstance`` and ``type(x) is np.ndarray`` behave as usual because ``type()``,
``__class__`` and ``__origin__`` map the real classes to them), their ``__new__`` as a checked
function, and classes the code derives from them are checked by the same metaclass.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any

from sandboxes.policy.classes import CLASS_STANDINS, NEW_CHECKS, is_own_class


def _refuse() -> PermissionError:
    return PermissionError(
        "an array with an object dtype over a buffer is not allowed in the sandbox: its items "
        "would be raw pointers read from that memory; build it from values (np.array(..., "
        "dtype=object)) instead"
    )


def holds_objects(buffer: Any) -> bool:
    """Whether ``buffer`` is the memory of an array holding Python objects (or a memoryview of
    one): raw pointers, which a byte view of them would let the code write."""
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return False
    if isinstance(buffer, memoryview):
        buffer = buffer.obj
    return isinstance(buffer, numpy.ndarray) and bool(buffer.dtype.hasobject)


def refuse_object_memory(*values: Any) -> None:
    """``PermissionError`` if any of ``values`` is the memory of an object array."""
    if any(holds_objects(value) for value in values):
        raise PermissionError(
            "the memory of an array of Python objects holds raw pointers: it cannot be read or "
            "written as a buffer in the sandbox (convert it with .astype(...) first)"
        )


def _buffer_given(
    args: tuple[Any, ...], kwargs: dict[str, Any], keyword: str, index: int = 2
) -> bool:
    """Whether a constructor taking a buffer as its ``index``-th parameter ``keyword`` got one
    (the memory of an object array is refused whatever the new array's dtype)."""
    given = args[index] if len(args) > index else kwargs.get(keyword)
    refuse_object_memory(given)
    return given is not None


def _checked(array: Any) -> Any:
    if getattr(getattr(array, "dtype", None), "hasobject", False):
        raise _refuse()
    return array


class _ArrayClassMeta(type):
    """Metaclass of the stand-ins, and so of every class the code derives from them."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        real, keyword, index = cls.__dict__.get("__sb_array__") or _standin_of(cls)
        if cls.__dict__.get("__sb_array__") is not None:  # the stand-in itself: the real class
            if _buffer_given(args, kwargs, keyword, index):
                return _checked(real(*args, **kwargs))
            return real(*args, **kwargs)
        if cls.__new__ is not real.__new__ or not _buffer_given(args, kwargs, keyword, index):
            # Its own __new__ reaches the real one through super().__new__: checked there.
            return type.__call__(cls, *args, **kwargs)
        # Built and checked as the host class first: the code's __array_finalize__ sees it
        # only after the check.
        array = _checked(real(*args, **kwargs)).view(cls)
        if cls.__init__ is not object.__init__:
            cls.__init__(array, *args, **kwargs)
        return array

    def __instancecheck__(cls, obj: Any) -> bool:
        real = cls.__dict__.get("__sb_array__")
        return isinstance(obj, real[0]) if real else type.__instancecheck__(cls, obj)

    def __subclasscheck__(cls, sub: Any) -> bool:
        real = cls.__dict__.get("__sb_array__")
        return issubclass(sub, real[0]) if real else type.__subclasscheck__(cls, sub)


def _code_side(cls: type) -> bool | None:
    """``True`` for the code's own classes, ``None`` for stand-ins, ``False`` for the host's."""
    if "__sb_array__" in cls.__dict__:
        return None
    return is_own_class(cls)


def _standin_of(cls: type) -> tuple[type, str, int]:
    for klass in cls.__mro__:
        real = klass.__dict__.get("__sb_array__")
        if real is not None:
            return real
    raise TypeError(f"{cls.__name__} is not an array class")  # pragma: no cover


def standin(real: type, keyword: str, index: int = 2) -> type:
    """The class the code gets for ``real``, whose constructor takes a buffer as its
    ``index``-th parameter ``keyword``."""
    found = CLASS_STANDINS.get(real)
    if found is not None:
        return found
    namespace = {
        "__module__": real.__module__,
        "__qualname__": real.__qualname__,
        "__doc__": real.__doc__,
        "__sb_array__": (real, keyword, index),
    }
    made = _ArrayClassMeta(real.__name__, (real,), namespace)
    CLASS_STANDINS[real] = made
    NEW_CHECKS[real.__new__] = _checked_new(real, keyword, index)
    return made


def _checked_new(real: type, keyword: str, index: int) -> Callable[..., Any]:
    """``real.__new__`` as the code gets it (``super().__new__(cls, shape, dtype, buffer)``)."""
    new = real.__new__

    def __new__(subtype: Any, *args: Any, **kwargs: Any) -> Any:
        if not _buffer_given(args, kwargs, keyword, index):
            return new(subtype, *args, **kwargs)
        mro = subtype.__mro__ if isinstance(subtype, type) else ()
        host = next((k for k in mro if issubclass(k, real) and _code_side(k) is False), None)
        if host is None:
            return new(subtype, *args, **kwargs)  # numpy refuses it
        array = _checked(new(host, *args, **kwargs))
        return array if subtype is host or _code_side(subtype) is None else array.view(subtype)

    __new__.__doc__ = new.__doc__
    return __new__


def records_module(rec: types.ModuleType) -> dict[str, Any]:
    """``numpy.rec``: the record array class and the functions building one over bytes."""
    fromstring, array = rec.fromstring, rec.array

    def checked_fromstring(*args: Any, **kwargs: Any) -> Any:
        refuse_object_memory(*args[:1], kwargs.get("datastring"))
        return _checked(fromstring(*args, **kwargs))

    def checked_array(obj: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_array(obj):
            refuse_object_memory(obj)
        result = array(obj, *args, **kwargs)
        if obj is not None and not isinstance(obj, (list, tuple)) and not _is_array(obj):
            _checked(result)  # bytes and other buffers: read by fromstring
        return result

    checked_fromstring.__doc__, checked_array.__doc__ = fromstring.__doc__, array.__doc__
    checked_fromstring.__name__, checked_array.__name__ = "fromstring", "array"
    return {
        "recarray": standin(rec.recarray, "buf"),
        "fromstring": checked_fromstring,
        "array": checked_array,
    }


def _is_array(obj: Any) -> bool:
    import numpy

    return isinstance(obj, numpy.ndarray)


def frombuffer(real: Callable[..., Any]) -> Callable[..., Any]:
    """``numpy.frombuffer`` refusing the memory of an object array (a writable ``uint64`` view
    of it sets its pointers)."""

    def checked(buffer: Any, *args: Any, **kwargs: Any) -> Any:
        refuse_object_memory(buffer)
        return real(buffer, *args, **kwargs)

    checked.__name__ = checked.__qualname__ = "frombuffer"
    checked.__doc__ = real.__doc__
    return checked


def buffer_writer(method: Any, name: str) -> Any:
    """A method that reads or writes its object or arguments as raw memory (``struct``'s
    ``pack_into``, ``BytesIO.readinto``, ``memoryview.cast``): never an object array's."""
    if not callable(method):
        return method
    owner = getattr(method, "__self__", None)

    def checked(*args: Any, **kwargs: Any) -> Any:
        refuse_object_memory(owner, *args, *kwargs.values())
        return method(*args, **kwargs)

    checked.__name__ = checked.__qualname__ = name
    checked.__doc__ = getattr(method, "__doc__", None)
    return checked
