"""The code's own classes versus the host's: marks, ``type``, class creation and copying.

A class statement in the code marks its class body with ``TOKEN`` (see the transformer), so
"the code's own" classes, their instances and functions can be told from the host's: only those
may have their private names read or attributes written. The guards' own classes are ``Frozen``
so the code can neither patch nor subclass them.

Classes come from class statements only, whose bodies the compiler checks: ``type()`` with three
arguments, real metaclasses (handed out as non-callable handles) and the functional ``Enum``
API (public member names only) cannot build a class from an arbitrary namespace, which could
otherwise define what the compiler forbids (``__reduce_ex__``, ``__array_interface__``...).
"""

from __future__ import annotations

import abc
import builtins
import enum
import io
import struct
import sys
import types
import typing
from collections.abc import Iterable
from typing import Any

from sandboxes.policy.bindings import code_on_stack, is_policy_code
from sandboxes.policy.metaclasses import check_metaclass
from sandboxes.policy.rules import HOST_PROTOCOL_DUNDERS, is_dunder, native_reason, plain_str

#: The value of the mark a class statement puts in its class body (see the transformer).
TOKEN = object()
OWN_MARK = "__sb_own__"


def is_own_class(cls: Any) -> bool:
    return getattr(cls, OWN_MARK, None) is TOKEN


def is_own_function(fn: Any) -> bool:
    """A function the code defined: its code object was compiled by the policy."""
    return type(fn) is types.FunctionType and is_policy_code(fn.__code__)


def check_match_args(cls: Any, names: Any) -> None:
    """``TypeError`` unless ``names`` (what ``cls.__match_args__`` will be) is a tuple of names
    a native attribute load may read: a class pattern ``case cls(p)`` reads them from whatever
    the subject is, with no guard (an ABC the code registers a host type with, a protocol).
    Checked where a class of the code's gets them, so every class is safe to match on."""
    if type(names) is not tuple:
        raise TypeError(f"{cls.__name__}.__match_args__ must be a tuple in the sandbox")
    for name in names:
        reason = "it is not a string" if type(name) is not str else native_reason(name)
        if reason:
            raise TypeError(
                f"{cls.__name__}.__match_args__ may not name {name!r} in the sandbox: {reason}"
            )


#: Host ABCs no host code asks isinstance() of: the bases of the code's own ABCs and protocols.
_NEUTRAL_ABCS = (abc.ABC, typing.Protocol)


def under_host_abc(cls: Any) -> bool:
    """Whether ``cls`` extends a host ABC (``collections.abc.Sequence``). A host ABC asks its
    subclasses in ``isinstance()``, so their registrations and ``__subclasshook__`` answer
    for the host too (and its cache keeps the answer after the sandbox has gone)."""
    return isinstance(cls, type) and any(
        isinstance(k, abc.ABCMeta) and not is_own_class(k) and k not in _NEUTRAL_ABCS
        for k in cls.__mro__
    )


class Frozen(type):
    """Metaclass of the guards' own classes: the code cannot patch them."""

    def __setattr__(cls, name: str, value: Any) -> None:
        raise AttributeError(f"class {cls.__name__!r} is read-only in the sandbox")

    def __delattr__(cls, name: str) -> None:
        raise AttributeError(f"class {cls.__name__!r} is read-only in the sandbox")


class _TypeMeta(Frozen):
    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs:
            return safe_class(type(args[0]))
        raise TypeError(
            "type() with three arguments is not supported in the sandbox; use a class statement"
        )

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, type)

    def __subclasscheck__(cls, sub: Any) -> bool:
        return sub is cls or (isinstance(sub, type) and issubclass(sub, type))

    def __repr__(cls) -> str:
        return "<class 'type'>"


#: The sandbox's ``type``: ``type(x)`` and ``isinstance(x, type)`` work; creating classes from
#: three arguments does not, and metaclasses come back as this class instead of the real one.
SafeType = _TypeMeta("type", (), {"__doc__": "type(object) -> the object's type", "__slots__": ()})


class _HandleMeta(Frozen):
    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"calling the metaclass {cls.__name__} is not supported in the sandbox; "
            "use a class statement"
        )

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, _HANDLES[cls])

    def __subclasscheck__(cls, sub: Any) -> bool:
        return sub is cls or (isinstance(sub, type) and issubclass(sub, _HANDLES[cls]))

    def __repr__(cls) -> str:
        return f"<class '{_HANDLES[cls].__module__}.{cls.__name__}'>"


_HANDLES: dict[type, type] = {}  # handle -> the real metaclass
_HANDLE_OF: dict[type, type] = {}  # real metaclass -> its handle


def metaclass_handle(meta: type) -> type:
    """What the code gets for a real metaclass (``ABCMeta``, ``EnumType``): usable as
    ``metaclass=`` and in ``isinstance``, but not callable. Calling one builds a class from an
    arbitrary namespace, past the checks on class statements."""
    handle = _HANDLE_OF.get(meta)
    if handle is None:
        handle = _HandleMeta(meta.__name__, (), {"__slots__": (), "__doc__": meta.__doc__})
        _HANDLES[handle] = meta
        _HANDLE_OF[meta] = handle
    return handle


#: Host classes the code gets stand-ins for (``arrays``: numpy's classes taking a buffer),
#: wherever the sandbox hands out a class: module views, ``type(x)``, ``x.__class__``.
CLASS_STANDINS: dict[type, type] = {}
#: ``__new__`` of those classes -> the checked function the code gets for it.
NEW_CHECKS: dict[Any, Any] = {}


def safe_class(value: Any) -> Any:
    """``type(x)`` / ``x.__class__`` as the code sees them: metaclasses become handles, host
    classes with stand-ins their stand-ins, classes that open files closed handles."""
    if not (isinstance(value, type) and issubclass(value, type)):
        if not isinstance(value, type):
            return value
        if _closed_reason(value):
            return closed_class_handle(value)
        return CLASS_STANDINS.get(value, value)
    if value is type or issubclass(value, Frozen):
        return SafeType
    return metaclass_handle(value)


def _closed_reason(cls: type) -> str | None:
    """Why the code may not call ``cls``, if it may not: ``io.FileIO`` and ``pathlib.Path`` (and
    their subclasses) open a path, ``memoryview`` shows raw memory. The code never gets them from
    a module view, but may meet an instance a library made (``type(reader.buffer.raw)``) or the
    class inside a value (``numpy.ScalarType``)."""
    if issubclass(cls, io.FileIO):
        return "opens files"
    if cls is memoryview:
        return "makes raw memory views"
    pathlib = sys.modules.get("pathlib")
    return "opens files" if pathlib is not None and issubclass(cls, pathlib.Path) else None


class _ClosedHandleMeta(Frozen):
    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        real = _CLOSED_HANDLES[cls]
        why = _closed_reason(real)
        raise PermissionError(f"{cls.__name__}() {why}, which is not allowed in the sandbox")

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, _CLOSED_HANDLES[cls])

    def __subclasscheck__(cls, sub: Any) -> bool:
        return sub is cls or (isinstance(sub, type) and issubclass(sub, _CLOSED_HANDLES[cls]))


_CLOSED_HANDLES: dict[type, type] = {}  # handle -> the real class
_CLOSED_HANDLE_OF: dict[type, type] = {}


def closed_class_handle(cls: type) -> type:
    """What the code gets for a class it may not call: ``isinstance`` works, calling does not."""
    handle = _CLOSED_HANDLE_OF.get(cls)
    if handle is None:
        handle = _ClosedHandleMeta(cls.__name__, (), {"__slots__": (), "__doc__": cls.__doc__})
        _CLOSED_HANDLES[handle] = cls
        _CLOSED_HANDLE_OF[cls] = handle
    return handle


def shown_classes(value: Any, depth: int = 3) -> Any:
    """``value`` with the classes in it as the code gets them (``safe_class``), through tuples
    and frozensets: ``base64.bytes_types`` and ``Union[bytes, bytearray].__args__`` held the
    real ``bytearray``, past its stand-in (red team round 8, B2)."""
    if isinstance(value, type):
        return safe_class(value)
    kind = type(value)
    if depth and (kind is tuple or kind is frozenset):
        shown = [shown_classes(part, depth - 1) for part in value]
        if any(new is not old for new, old in zip(shown, value, strict=True)):
            return kind(shown)
    return value


def build_class(func: Any, name: str, /, *bases: Any, **kwargs: Any) -> Any:
    """The sandbox's ``__build_class__``: no custom metaclasses, host ones only if reviewed
    (``metaclasses``), no classes that are metaclasses
    or that extend the guards' own classes (checked on the result, after ``__mro_entries__``),
    and no way to answer the host's memory protocols: a ``__getattr__`` that never answers
    dunder names, and data descriptors for the protocol names, which win over anything the
    instance dict may hold (it is reachable through ``vars(obj)``)."""
    meta = kwargs.get("metaclass")
    if meta is not None:
        meta = kwargs["metaclass"] = _HANDLES.get(meta, meta)
        if not (
            isinstance(meta, type)
            and issubclass(meta, type)
            and not is_own_class(meta)
            and not issubclass(meta, Frozen)
        ):
            raise TypeError(
                "custom metaclasses are not supported in the sandbox; "
                "use a class decorator or __init_subclass__ instead"
            )
    check_metaclass(meta, bases)
    cls = builtins.__build_class__(func, name, *bases, **kwargs)
    if isinstance(cls, type):
        check_base(cls)
        if "__match_args__" in cls.__dict__:
            check_match_args(cls, cls.__dict__["__match_args__"])
        if is_own_class(cls):
            hook = cls.__dict__.get("__getattr__")
            if hook is not None:
                type.__setattr__(cls, "__getattr__", _public_getattr(hook))
            for protocol in HOST_PROTOCOL_DUNDERS:
                type.__setattr__(cls, protocol, _ABSENT)
            if "__getitem__" in cls.__dict__ and getattr(cls, "__iter__", None) is None:
                type.__setattr__(cls, "__iter__", _sequence_iter)
            _check_string_comparisons(cls)
    return cls


_C_SLOTS = (types.WrapperDescriptorType, types.MethodDescriptorType)


def _check_string_comparisons(cls: type) -> None:
    """A ``str`` or ``bytes`` of the code's compares as one: host code takes it where it takes
    a string (a zone key through pandas, a name for a registry) and compares it in C, where
    its ``__eq__`` ran mid-walk of a cache it could free (red team round 11, B4: ``ZoneInfo``'s
    strong cache), or steered a host dict's lookups (round 5, F11)."""
    if issubclass(cls, (str, bytes)):
        for name in ("__eq__", "__ne__", "__hash__"):
            value = cls.__dict__.get(name)  # None: absent, or __hash__ = None
            if value is not None and not isinstance(value, _C_SLOTS):  # ``object.__hash__``
                raise TypeError(
                    f"a subclass of {cls.__mro__[1].__name__} may not define {name} in the "
                    "sandbox: host code compares such strings with its own"
                )


def _sequence_iter(self: Any) -> Any:
    """Iteration over ``__getitem__`` (``for x in obj``, ``iter(obj)``), as a generator: the C
    iterator of CPython 3.11, re-entered from the code's ``__getitem__``, released the sequence
    twice when both calls ended (red team round 10, F3). A generator re-entered refuses."""
    index = 0
    while True:
        try:
            value = self[index]
        except (IndexError, StopIteration):
            return
        yield value
        index += 1


_sequence_iter._sb_hook_safe = True  # type: ignore[attr-defined]  # hooks.check_hooks


def _public_getattr(hook: Any) -> Any:
    def __getattr__(self: Any, name: str) -> Any:
        if is_dunder(name):
            raise AttributeError(name)
        return hook.__get__(self, type(self))(name)

    __getattr__.__doc__ = getattr(hook, "__doc__", None)
    return __getattr__


_PUBLIC_GETATTR = _public_getattr(None).__code__


def wrapped_getattr(fn: Any) -> Any:
    """The class body's ``__getattr__`` inside the stand-in ``_public_getattr`` made for it (to
    be judged as what it is), or None for any other function."""
    if type(fn) is types.FunctionType and fn.__code__ is _PUBLIC_GETATTR:
        return fn.__closure__[0].cell_contents  # type: ignore[index]
    return None


#: C classes whose instances others read raw and whose ``__init__`` may run again: an instance
#: of the code's subclass would be its own to re-initialise (``reentrancy``: ``struct.Struct``).
UNSUBCLASSABLE: tuple[type, ...] = (struct.Struct,)


def check_base(cls: Any) -> Any:
    """A class the code defines: not a metaclass, not built on the guards' own classes or on
    a class in ``UNSUBCLASSABLE``."""
    if isinstance(cls, type) and (
        issubclass(cls, (type, *UNSUBCLASSABLE)) or any(isinstance(k, Frozen) for k in cls.__mro__)
    ):
        raise TypeError(f"subclassing {cls.__mro__[1].__name__!r} is not supported in the sandbox")
    return cls


_UNPATCHABLE = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
)


def _check_state(state: Any) -> Any:
    """State for one of the code's own objects names attributes, never dunders (``__class__``);
    its names come back as exact ``str`` (a subclass's ``__hash__`` would steer ``setattr``)."""
    pair = isinstance(state, tuple) and len(state) == 2
    parts = state if pair else (state,)
    plain = []
    for part in parts:
        if isinstance(part, dict):
            part = {plain_str(key): value for key, value in part.items()}
            if any(isinstance(key, str) and is_dunder(key) for key in part):
                raise TypeError("copy: refusing state that sets dunder attributes")
        plain.append(part)
    return tuple(plain) if pair else plain[0]


def install_copy_guard() -> None:
    """Make ``copy`` apply reduce state (and list or dict items) only to a copy of the object.

    A ``__reduce_ex__`` written by the code can name any object it holds as the one to rebuild
    and any state to apply with ``setattr``: an unguarded attribute write on host classes and
    on host instances (red team round 5, F14: the host's ``calendar.month_name``, ``sympy.S``),
    used by ``copy.copy``, ``deepcopy`` and everything calling them (``dataclasses.asdict``).
    So the rebuilt object is never a class, function, module or one of the guards' objects; for
    the code's own classes it is an instance of the class copied, with no dunder state; and
    while a cell runs it is an instance of the copied object's class for any class (the code
    may have reached a host class that took its ``__reduce_ex__``: a namespace sink). Legitimate
    reconstruction rebuilds the object's own class, so this is a no-op for host code.
    """
    import copy

    original = copy._reconstruct
    if getattr(original, "_sb_guarded", False):
        return

    def _reconstruct(
        x: Any, memo: Any, func: Any, args: Any, state: Any = None, *rest: Any, **kw: Any
    ) -> Any:
        if state is not None or any(item is not None for item in rest[:2]):
            real_func = func
            own = is_own_class(type(x))
            if own and state is not None:
                state = _check_state(state)
            same_class = own or code_on_stack()

            def func(*a: Any) -> Any:
                y = real_func(*a)
                if isinstance(y, _UNPATCHABLE) or isinstance(type(y), Frozen):
                    raise TypeError(f"copy: refusing to apply state to {type(y).__name__} {y!r}")
                if same_class and not isinstance(y, type(x)):
                    raise TypeError(f"copy: {type(x).__name__} rebuilt as another type")
                return y

        items = rest[1] if len(rest) > 1 else None
        if items is None:
            return original(x, memo, func, args, state, *rest, **kw)
        # Dict items are stored last, natively by copy (y[key] = value): through the store a
        # list needs (``reentrancy``; a slice key and an iterator as the value otherwise).
        from sandboxes.policy.reentrancy import store

        y = original(x, memo, func, args, state, rest[0], None, *rest[2:], **kw)
        copier = kw.get("deepcopy", copy.deepcopy)
        for key, value in items:
            if memo is not None:
                key, value = copier(key, memo), copier(value, memo)
            store(value, y, key)
        return y

    _reconstruct._sb_guarded = True  # type: ignore[attr-defined]
    copy._reconstruct = _reconstruct  # type: ignore[attr-defined]


class _Absent(metaclass=Frozen):
    """A data descriptor that makes an attribute missing, whatever the instance dict holds."""

    __slots__ = ()

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        raise AttributeError("not available in the sandbox")

    def __set__(self, obj: Any, value: Any) -> None:
        raise AttributeError("not available in the sandbox")

    def __delete__(self, obj: Any) -> None:
        raise AttributeError("not available in the sandbox")


_ABSENT = _Absent()


# --- Enum: the functional API builds a class from names the code chooses -------------------------

_ENUM_TYPE = getattr(enum, "EnumType", enum.EnumMeta)  # EnumType since Python 3.11


class _SandboxEnumType(_ENUM_TYPE):
    """Metaclass of the sandbox's ``Enum`` bases: ``Enum("Name", names)`` takes public member
    names only; ``isinstance`` checks against a base also accept the host's enums."""

    def __call__(cls, value: Any, names: Any = None, *args: Any, **kwargs: Any) -> Any:
        if names is not None:
            names = _public_member_names(names)
        return super().__call__(value, names, *args, **kwargs)

    def __instancecheck__(cls, obj: Any) -> bool:
        real = _ENUM_REAL.get(cls)
        return isinstance(obj, real) if real else type.__instancecheck__(cls, obj)

    def __subclasscheck__(cls, sub: Any) -> bool:
        real = _ENUM_REAL.get(cls)
        return issubclass(sub, real) if real else type.__subclasscheck__(cls, sub)


def _public_member_names(names: Any) -> Any:
    """``names`` as the functional API takes them, with every name an exact ``str`` (checked
    and passed on: ``plain_str``), public only."""
    if isinstance(names, str):
        names = plain_str(names)
        keys: Iterable[Any] = names.replace(",", " ").split()
    elif hasattr(names, "keys"):
        names = {plain_str(key): names[key] for key in list(names.keys())}
        keys = list(names)
    else:
        names = [
            plain_str(item) if isinstance(item, str) else (plain_str(item[0]), *item[1:])
            for item in names
        ]
        keys = [item if isinstance(item, str) else item[0] for item in names]
    for key in keys:
        if not isinstance(key, str) or key.startswith("_"):
            raise ValueError(f"enum member names must be public in the sandbox: {key!r}")
    return names


def _sandbox_enum(base: type) -> type:
    namespace = _SandboxEnumType.__prepare__(base.__name__, (base,))
    namespace["__module__"] = "enum"
    namespace["__qualname__"] = base.__qualname__
    namespace["__doc__"] = base.__doc__
    return _SandboxEnumType(base.__name__, (base,), namespace)


_ENUM_BASES = [enum.Enum, enum.IntEnum, enum.Flag, enum.IntFlag]
_ENUM_BASES += [enum.StrEnum] if hasattr(enum, "StrEnum") else []
#: The host's enum bases -> the sandbox's (substituted wherever a module view shows them).
ENUM_SUBSTITUTES: dict[type, type] = {base: _sandbox_enum(base) for base in _ENUM_BASES}
_ENUM_REAL = {sandboxed: real for real, sandboxed in ENUM_SUBSTITUTES.items()}


def sandbox_class(value: type) -> type:
    """A class a module view shows: enum bases substituted; other memberless host enums (whose
    functional API would build a class from the code's names, e.g. ``ReprEnum``) refused."""
    found = ENUM_SUBSTITUTES.get(value)
    if found is not None:
        return found
    if isinstance(value, _ENUM_TYPE) and not value.__members__ and value not in _ENUM_REAL:
        raise AttributeError(f"the enum base {value.__name__!r} is not available in the sandbox")
    return value
