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
* ``char.chararray(buffer=...)``, ``matrix``, ``ma.MaskedArray``, ``rec.fromrecords``,
  ``rec.fromarrays``, ``array``/``asarray``: string dtypes only, or copies of the values.

The classes are handed to the code as stand-ins (real subclasses whose metaclass checks each
construction; ``isinstance`` and ``type(x) is np.ndarray`` behave as usual because ``type()``,
``__class__`` and ``__origin__`` map the real classes to them), their ``__new__`` as a checked
function, and classes the code derives from them are checked by the same metaclass.
"""

from __future__ import annotations

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


def _buffer_given(args: tuple[Any, ...], kwargs: dict[str, Any], keyword: str) -> bool:
    """Whether a constructor taking ``(shape, dtype, <keyword>, ...)`` got a buffer."""
    given = args[2] if len(args) > 2 else kwargs.get(keyword)
    return given is not None


def _checked(array: Any) -> Any:
    if getattr(getattr(array, "dtype", None), "hasobject", False):
        raise _refuse()
    return array


class _ArrayClassMeta(type):
    """Metaclass of the stand-ins, and so of every class the code derives from them."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        real, keyword = cls.__dict__.get("__sb_array__") or _standin_of(cls)
        if cls.__dict__.get("__sb_array__") is not None:  # the stand-in itself: the real class
            if _buffer_given(args, kwargs, keyword):
                return _checked(real(*args, **kwargs))
            return real(*args, **kwargs)
        if cls.__new__ is not real.__new__ or not _buffer_given(args, kwargs, keyword):
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


def _standin_of(cls: type) -> tuple[type, str]:
    for klass in cls.__mro__:
        real = klass.__dict__.get("__sb_array__")
        if real is not None:
            return real
    raise TypeError(f"{cls.__name__} is not an array class")  # pragma: no cover


def standin(real: type, keyword: str) -> type:
    """The class the code gets for ``real``, whose constructor takes a buffer as ``keyword``
    (the third parameter)."""
    found = CLASS_STANDINS.get(real)
    if found is not None:
        return found
    namespace = {
        "__module__": real.__module__,
        "__qualname__": real.__qualname__,
        "__doc__": real.__doc__,
        "__sb_array__": (real, keyword),
    }
    made = _ArrayClassMeta(real.__name__, (real,), namespace)
    CLASS_STANDINS[real] = made
    NEW_CHECKS[real.__new__] = _checked_new(real, keyword)
    return made


def _checked_new(real: type, keyword: str) -> Callable[..., Any]:
    """``real.__new__`` as the code gets it (``super().__new__(cls, shape, dtype, buffer)``)."""
    new = real.__new__

    def __new__(subtype: Any, *args: Any, **kwargs: Any) -> Any:
        if not _buffer_given(args, kwargs, keyword):
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
        return _checked(fromstring(*args, **kwargs))

    def checked_array(obj: Any, *args: Any, **kwargs: Any) -> Any:
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
