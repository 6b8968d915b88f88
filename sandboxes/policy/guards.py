"""Run-time guards: the checks the transformed code calls where a static decision is not enough.

``Guards`` holds one sandbox's state (the host objects it has seen through module views, the
classes cleared for native access) and offers the functions the compiled code calls: attribute
reads of private, dunder and guarded names, attribute writes, and the builtins ``getattr``,
``setattr``, ``vars`` and ``dir``. Private names are readable only on the code's own objects.
"""

from __future__ import annotations

import abc
import inspect
import sys
import types
import weakref
from collections import UserString
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sandboxes.policy.arrays import buffer_writer
from sandboxes.policy.classes import (
    NEW_CHECKS,
    OWN_MARK,
    TOKEN,
    Frozen,
    is_own_class,
    is_own_function,
    safe_class,
    shown_classes,
    under_host_abc,
    wrapped_getattr,
)
from sandboxes.policy.expressions import checked_expression_method
from sandboxes.policy.formatting import bound_format, unbound_format
from sandboxes.policy.reentrancy import checked_setitem, standin_copy
from sandboxes.policy.rules import (
    BUFFER_METHODS,
    EXPRESSION_METHODS,
    FILE_METHODS,
    GUARDED_ATTRS,
    HOST_PROTOCOL_DUNDERS,
    HOST_TABLES,
    LIBRARY_DENIED,
    NEVER_ATTRS,
    PATH_OPTIONAL_METHODS,
    RESERVED_PREFIX,
    RULED_METHODS,
    SAFE_DUNDER_DATA,
    SAFE_DUNDER_METHODS,
    SUPER_ONLY_DUNDERS,
    UNCHECKED_RESIZE,
    WRITABLE_DUNDERS,
    is_dunder,
    never_reason,
    plain_str,
)
from sandboxes.policy.tables import is_table, unshared

#: Underscore names that are documented public API (namedtuple, enum).
DOCUMENTED_PRIVATE = frozenset(
    {
        "_replace",
        "_asdict",
        "_fields",
        "_make",
        "_field_defaults",
        "_value_",
        "_name_",
        "_missing_",
        "_generate_next_value_",
        "_ignore_",
        "_order_",
    }
)
_PATH_KEYWORDS = (
    "path_or_buf",
    "path_or_buffer",
    "buf",
    "path",
    "excel_writer",
    "fname",
    "filepath_or_buffer",
    "stylesheet",
)
_IMMUTABLE = (int, float, complex, str, bytes, bool, type(None), tuple, frozenset, range)


def deny(obj: Any, name: str, why: str) -> AttributeError:
    what = obj.__name__ if isinstance(obj, type) else type(obj).__name__
    return AttributeError(f"'{name}' of {what!r} is not accessible in the sandbox: {why}")


class Guards:
    """One sandbox's run-time guards; ``to_view`` turns a module into the code's view of it."""

    def __init__(self, to_view: Callable[[types.ModuleType, str], Any]) -> None:
        self.to_view = to_view
        self.cap_c_calls = False  # RestrictedPolicy(cap_c_calls=True): see caps.py
        self.namespace: dict[str, Any] = {}
        self.table: Any = None  # the GuardTable bound into the code (namespace.make_guard_table)
        self.allowed_packages: frozenset[str] = frozenset()  # top-level, set by ModuleViews
        # Classes the code made through a library (make_dataclass): their instances are its own.
        self.made_classes: weakref.WeakSet[type] = weakref.WeakSet()
        self.own_contexts: list[Any] = []  # this sandbox's mpmath contexts (mpmath_module)
        # obj, name, value -> value, for a function a module rule decides on (ruled.py): denied
        # (AttributeError) or its checked version; set by ModuleViews.
        self.ruled_attribute: Callable[[Any, str, Any], Any] = lambda obj, name, value: value
        self.shared: dict[int, Any] = {}  # id -> host object reached through a module view
        # Classes cleared for native access on their instances (the compiler's fast path):
        # own classes for public writes; "pure" own classes, with no host class in the MRO
        # defining a _private name or __getattr__, for private reads and writes too. A verdict
        # depends only on the MRO and host classes' dicts, which the code cannot change.
        self.own_types: set[type] = set()
        self.pure_types: set[type] = set()
        self.cleared: set[tuple[type, str]] = set()  # (own class, private name) for the rest
        # The module a value's class comes from when the sandbox keeps it closed (set by the
        # module views): a guarded attribute never hands out such an object.
        self.closed_home: Callable[[Any], str | None] = lambda value: None

    # --- reading ------------------------------------------------------------------------------

    def read(self, obj: Any, name: str) -> Any:
        """``obj.name`` for the names the compiler did not leave native (and for ``getattr``)."""
        if name[:1] == "_":
            value = self._read_underscore(obj, name)
        elif name in GUARDED_ATTRS or name in NEVER_ATTRS:
            return self._read_guarded(obj, name)
        else:
            value = getattr(obj, name)
        if type(value) is types.ModuleType:
            return self.to_view(value, name)
        return value

    def read_dynamic(self, obj: Any, name: Any, *default: Any) -> Any:
        """The sandbox's ``getattr``."""
        if type(name) is not str:
            raise TypeError(f"attribute name must be string, not '{type(name).__name__}'")
        if len(default) > 1:
            raise TypeError(f"getattr expected at most 3 arguments, got {2 + len(default)}")
        try:
            return self.read(obj, name)
        except AttributeError:
            if default:
                return default[0]
            raise

    def has(self, obj: Any, name: Any) -> bool:
        """The sandbox's ``hasattr``."""
        if type(name) is not str:
            raise TypeError(f"attribute name must be string, not '{type(name).__name__}'")
        try:
            self.read(obj, name)
        except AttributeError:
            return False
        return True

    def _read_underscore(self, obj: Any, name: str) -> Any:
        if is_dunder(name):
            if name in SAFE_DUNDER_DATA:
                if name == "__annotations__":
                    table = _annotations(obj)
                    value = _unshared(obj, name, table)
                    if type(value) is dict and value is not table:
                        value.update((k, shown_classes(v)) for k, v in value.items())
                    return value
                value = getattr(obj, name)
                if name in ("__class__", "__origin__"):
                    return safe_class(value)
                return shown_classes(value) if name in _CLASS_HOLDERS else value
            if isinstance(obj, Frozen) or isinstance(type(obj), Frozen):
                raise deny(obj, name, "the sandbox's own objects only show their name and doc")
            if name in SAFE_DUNDER_METHODS:
                if name == "__init__":
                    return _own_init(obj)
                value = getattr(obj, name)
                if name == "__new__":
                    return _checked_new(value)
                if name == "__setitem__":
                    return checked_setitem(value)
                return value
            if name in SUPER_ONLY_DUNDERS and type(obj) is super:
                return getattr(obj, name)
            if name == "__dict__":
                return self.instance_dict(obj)
            if name in ("__setattr__", "__delattr__", "__getattr__"):
                return self._attribute_hook(obj, name)
            reason = never_reason(name) or "only a few dunder attributes are readable"
            raise deny(obj, name, reason)
        if name in DOCUMENTED_PRIVATE or self.private_ok(obj, name):
            return getattr(obj, name)
        if name.startswith(RESERVED_PREFIX):
            raise deny(obj, name, "it is reserved for the sandbox's guards")
        raise deny(obj, name, "private names are readable only on the code's own objects")

    def private_ok(self, obj: Any, name: str) -> bool:
        """Whether ``obj._name`` is the code's own business: its own class or instance, and no
        host class on the way defines the name (or a ``__getattr__`` that would answer it)."""
        owner = obj if isinstance(obj, type) else type(obj)
        if not is_own_class(owner):
            return False
        key = (owner, name)
        if owner in self.pure_types or key in self.cleared:
            return True
        if _pure(owner):
            self.pure_types.add(owner)
            return True
        for klass in owner.__mro__:
            attrs = klass.__dict__
            if (name in attrs or "__getattr__" in attrs) and attrs.get(OWN_MARK) is not TOKEN:
                return False
        self.cleared.add(key)
        return True

    def instance_dict(self, obj: Any) -> dict[str, Any]:
        """``vars(obj)`` / ``obj.__dict__``: only for instances of the code's own classes."""
        if isinstance(obj, type) or not is_own_class(type(obj)):
            raise deny(obj, "__dict__", "only the code's own instances expose their __dict__")
        return object.__getattribute__(obj, "__dict__")

    def _attribute_hook(self, obj: Any, name: str) -> Any:
        """``__setattr__``/``__delattr__``/``__getattr__``: for ``super().__setattr__(...)`` and
        ``object.__setattr__(self, ...)`` in the code's own classes, never on host objects.
        Setters come back checking the name, as ``setattr`` would."""
        if isinstance(obj, type):
            value = getattr(obj, name)
            if value is object.__setattr__:
                return self.object_setattr
            if value is object.__delattr__:
                return self.object_delattr
            if is_own_function(value) and is_own_class(obj):
                return (
                    _checked_setter(value, self, unbound=True) if name != "__getattr__" else value
                )
            raise deny(obj, name, "only on the code's own instances")
        target = obj.__self__ if type(obj) is super else obj  # type: ignore[attr-defined]
        if isinstance(target, type) or not is_own_class(type(target)):
            raise deny(obj, name, "only on the code's own instances")
        value = getattr(obj, name)
        if name != "__getattr__":
            return _checked_setter(value, self, target=target)
        func = getattr(value, "__func__", None)
        if is_own_function(func) or is_own_function(wrapped_getattr(func)):
            return value
        return self._checked_getattr(value, target)

    def _checked_getattr(self, hook: Any, target: Any) -> Any:
        """A host class's ``__getattr__`` (``Arrayterator``'s, typing's aliases') forwards the
        name to another object with a real ``getattr``: it answers only the public names a
        native read would, so the name meets the same rules as ``obj.name``."""

        def checked(name: Any) -> Any:
            if type(name) is not str:
                raise TypeError(f"attribute name must be string, not '{type(name).__name__}'")
            if name[:1] == "_" or name in GUARDED_ATTRS or name in NEVER_ATTRS:
                raise deny(target, name, "a host class's __getattr__ answers only public names")
            value = hook(name)
            return self.to_view(value, name) if type(value) is types.ModuleType else value

        return checked

    def _read_guarded(self, obj: Any, name: str) -> Any:
        if name in NEVER_ATTRS:
            raise deny(obj, name, NEVER_ATTRS[name])
        # The code's own method of that name, not one a host base class (a DataFrame) lends it.
        own = self.private_ok(obj, name)
        if name in ("format", "format_map"):
            real = getattr(str, name)
            user = isinstance(obj, UserString)
            if user and getattr(type(obj), name) is getattr(UserString, name):
                return self.read(obj.data, name)  # it calls data.format: the same check
            value = getattr(obj, name)
            if value is real:
                return unbound_format(name, self.read_dynamic)
            # Judged by what was found, not where: super().format, proxies and str subclasses
            # all hand out the real method bound to a string.
            bound = getattr(value, "__self__", None)
            if isinstance(bound, str) and value == real.__get__(bound):
                return bound_format(bound, name, self.read_dynamic)
            return value
        elif name == "obj" and isinstance(obj, AttributeError):
            return None  # the object a failed lookup was made on: often a real module
        elif name == "mro" and isinstance(obj, type):
            raise deny(obj, name, "walking the class hierarchy reaches every class in the host")
        elif name == "register":
            value = getattr(obj, name)
            target = getattr(value, "__self__", obj)  # typing.Sequence forwards to the real ABC
            if _is_abc(target):
                if not is_own_class(target) or under_host_abc(target):
                    raise deny(
                        obj, name, "registering with a host ABC changes the host's isinstance()"
                    )
                return value
            registry = getattr(obj, "registry", None)  # functools.singledispatch
            if isinstance(registry, Mapping):
                if not is_own_function(registry.get(object)):
                    raise deny(
                        obj, name, "it registers in a dispatch table of the host's functions"
                    )
                return value
            if not own and not is_own_class(type(target)) and not is_own_class(target):
                # sympy.S.register replaces the host's singletons: a host registry's business.
                raise deny(obj, name, "it registers in a table the host uses")
            return value
        elif name == "context" and _foreign_context(getattr(obj, name), self.own_contexts):
            raise deny(obj, name, "the mpmath context of a number the host made is the host's")
        elif (name in ("ctypes", "cffi") or name in FILE_METHODS) and not own:
            raise deny(obj, name, "it reads or writes files or raw memory")
        elif name in BUFFER_METHODS and not own:
            return buffer_writer(getattr(obj, name), name)
        elif name in PATH_OPTIONAL_METHODS and not own:
            return _without_path(getattr(obj, name), name, self.read_dynamic)
        elif name in EXPRESSION_METHODS and not own:
            return checked_expression_method(getattr(obj, name), name)
        elif name in LIBRARY_DENIED and not own:
            raise deny(obj, name, LIBRARY_DENIED[name])
        elif name == UNCHECKED_RESIZE and not own:
            return _checked_resize(getattr(obj, name))
        elif name in OBJECT_COPYING and not own:
            return _object_copying(obj, name, getattr(obj, name))
        elif name in HOST_TABLES:
            return standin_copy(_unshared(obj, name, getattr(obj, name)))
        elif name in RULED_METHODS:  # the code's own method of that name is no rule's business
            return self.ruled_attribute(obj, name, getattr(obj, name))
        value = getattr(obj, name)
        if isinstance(value, type):
            return safe_class(value)  # ``MaskedArray.baseclass``: a stand-in (``arrays``)
        if type(value) is types.ModuleType:
            return self.to_view(value, name)
        home = self.closed_home(value)
        if home is not None:  # ``Q.positive.handler``: a sympy.multipledispatch Dispatcher
            raise deny(obj, name, f"it is an object of {home!r}, which the sandbox does not allow")
        return value

    # --- writing ------------------------------------------------------------------------------

    def write(self, obj: Any, name: str) -> Any:
        """``__sb_write__(obj, name).name = value``: returns ``obj`` when the write is allowed."""
        owner = type(obj)
        if name in ARRAY_GEOMETRY and _is_array(obj):
            raise AttributeError(
                f"cannot set '{name}' of an array in the sandbox: its views and iterators would "
                f"keep the old layout; use {ARRAY_GEOMETRY[name]} instead"
            )
        if is_own_class(owner) and not is_dunder(name):
            if name[:1] != "_":
                self.own_types.add(owner)
                return obj
            if self.private_ok(obj, name):
                return obj
        if name[:1] == "_":
            if is_dunder(name):
                if name not in WRITABLE_DUNDERS or not (
                    is_own_function(obj) or is_own_class(obj) or is_own_class(owner)
                ):
                    raise deny(obj, name, "this attribute cannot be assigned in the sandbox")
            elif not self.private_ok(obj, name):
                raise deny(obj, name, "private names are writable only on the code's own objects")
        if isinstance(owner, Frozen):
            raise AttributeError(f"cannot set '{name}': {obj!r} is read-only in the sandbox")
        if isinstance(obj, type):
            if not is_own_class(obj):
                raise AttributeError(
                    f"cannot set '{name}' on class {obj.__name__!r}: it belongs to the host "
                    "(subclass it instead)"
                )
        elif owner is types.FunctionType:
            if not is_own_function(obj):
                raise AttributeError(f"cannot set '{name}' on a host function in the sandbox")
        elif owner is types.ModuleType or self.shared.get(id(obj)) is obj:
            raise AttributeError(
                f"cannot set '{name}': {obj!r} belongs to a module shared with the host"
            )
        elif owner.__module__ == "typing":
            raise AttributeError(f"cannot set '{name}' on typing objects in the sandbox")
        elif _module_global(obj):
            raise AttributeError(
                f"cannot set '{name}': {obj!r} is one object every computation in the process "
                "shares (the library keeps it)"
            )
        elif not self._writable_host(obj):
            raise AttributeError(
                f"cannot set '{name}' on a {owner.__name__} in the sandbox: only the code's own "
                "objects, a few host types (DataFrame, ndarray, decimal.Context, TextWrapper...) "
                "and those of packages you allow take attributes; another may be one the whole "
                "process shares"
            )
        return obj

    def _writable_host(self, obj: Any) -> bool:
        """Whether ``obj`` is of a host class the code configures by attribute (``WRITABLE``;
        an mpmath context only if it is the sandbox's own), or of a package the user allowed
        beyond the reviewed ones (their objects are the user's to judge). Not the reviewed
        libraries' dependencies (dateutil's cached ``tzfile`` from pandas) nor Cython's own
        modules (``_cython_3_x`` functions of numpy): red team round 9, B2, B4."""
        package = (getattr(type(obj), "__module__", None) or "").partition(".")[0]
        if package in self.allowed_packages and package not in REVIEWED:
            return True
        if any(klass in self.made_classes for klass in type(obj).__mro__):
            return True
        for module_name, class_name in WRITABLE:
            module = sys.modules.get(module_name)
            kind = getattr(module, class_name, None) if module is not None else None
            if kind is not None and isinstance(obj, kind):
                return class_name != "MPContext" or any(obj is c for c in self.own_contexts)
        return False

    def write_dynamic(self, obj: Any, name: Any) -> Any:
        """The checks of ``setattr``/``delattr``, whose name is only known at run time."""
        if type(name) is not str:
            raise TypeError(f"attribute name must be string, not '{type(name).__name__}'")
        reason = never_reason(name)
        if reason:
            raise deny(obj, name, reason)
        if is_dunder(name) and name not in WRITABLE_DUNDERS:
            raise deny(obj, name, "this attribute cannot be assigned in the sandbox")
        return self.write(obj, name)

    def setattr(self, obj: Any, name: Any, value: Any) -> None:
        setattr(self.write_dynamic(obj, name), name, value)

    def delattr(self, obj: Any, name: Any) -> None:
        delattr(self.write_dynamic(obj, name), name)

    def object_setattr(self, obj: Any, name: Any, value: Any) -> None:
        """``object.__setattr__`` for the code: bypasses the object's own ``__setattr__`` only."""
        object.__setattr__(self.write_dynamic(obj, name), name, value)

    def object_delattr(self, obj: Any, name: Any) -> None:
        object.__delattr__(self.write_dynamic(obj, name), name)

    # --- builtins that look at objects ----------------------------------------------------------

    def vars(self, *args: Any) -> dict[str, Any]:
        if len(args) != 1:
            raise TypeError("vars() in the sandbox takes exactly one argument; use dir() for names")
        return self.read(args[0], "__dict__")

    def dir(self, *args: Any) -> list[str]:
        if not args:
            frame = sys._getframe(1)
            names: Iterable[str] = frame.f_locals if frame.f_globals is self.namespace else ()
        else:
            names = dir(*args)
        hidden = HOST_PROTOCOL_DUNDERS | {"__builtins__"}
        return sorted(n for n in names if not n.startswith(RESERVED_PREFIX) and n not in hidden)


def _pure(cls: type) -> bool:
    """Own classes over builtins only: no host code can answer a private name on them."""
    for klass in cls.__mro__:
        attrs = klass.__dict__
        if attrs.get(OWN_MARK) is TOKEN:
            continue
        if klass.__module__ != "builtins" or "__getattr__" in attrs:
            return False
        if any(key.startswith("_") and not is_dunder(key) for key in attrs):
            return False
    return True


#: Dunder data that holds classes: each through ``shown_classes``.
_CLASS_HOLDERS = frozenset({"__args__", "__parameters__"})


#: ``type``'s own getter of ``__annotations__``, which a metaclass's attribute cannot shadow.
_CLASS_ANNOTATIONS = type.__dict__["__annotations__"]
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made at run time, not a C type


def _annotations(obj: Any) -> Any:
    """``obj.__annotations__``, never a host table by way of a class that has none of its own.

    A class's ``__annotations__`` comes from ``type``'s getter, which stores a new dict in a
    class that has none: read on a host class, that is a lasting change; and once a metaclass
    has one (``abc.ABCMeta.__annotations__``, read by any host code), a class of that metaclass
    without its own shows the metaclass's dict instead, so that a store into "its" annotations
    wrote the host's (an ABC's ``gi_frame`` made every ``issubclass`` against a ``typing``
    protocol fail). A class of the code's gets a table of its own from ``type``'s getter; a host
    class without one gets a new empty dict, not stored in it."""
    if not isinstance(obj, type):
        return obj.__annotations__
    # C types have none, and the getter says so (an AttributeError); it stores nothing there
    if "__annotations__" in obj.__dict__ or is_own_class(obj) or not obj.__flags__ & _HEAPTYPE:
        return _CLASS_ANNOTATIONS.__get__(obj, type(obj))
    return {}


def _unshared(obj: Any, name: str, value: Any) -> Any:
    """A mutable table that belongs to a host function or class comes as a copy (an array as a
    read-only view, ``tables``): the host's code reads it (``TextWrapper.unicode_whitespace_trans``,
    a function's ``__annotations__``, ``Add.default_assumptions``, ``Polynomial.domain``). An
    instance's own table is the instance's business."""
    if not is_table(value):
        return value
    if isinstance(obj, (types.FunctionType, types.MethodType)):
        return value if is_own_function(getattr(obj, "__func__", obj)) else unshared(value)
    if name == "__annotations__" and not isinstance(obj, type) and not is_own_class(type(obj)):
        return unshared(value)  # a host callable object's (numpy's function dispatchers)
    for klass in (obj if isinstance(obj, type) else type(obj)).__mro__:
        if klass.__dict__.get(name) is value:
            return value if is_own_class(klass) else unshared(value)
    return value


def _own_init(obj: Any) -> Any:
    """``__init__`` re-initialises an existing object: only the code's own instances
    (``super().__init__(...)``, ``Base.__init__(self, ...)``), never a host object
    (``type(alias).__init__(alias, dict, ...)`` rewrites ``typing.List[int]``)."""
    if isinstance(obj, type):
        init = obj.__init__  # type: ignore[misc]

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            if isinstance(self, type) or not is_own_class(type(self)):
                raise deny(obj, "__init__", "only the code's own instances may be re-initialised")
            init(self, *args, **kwargs)

        __init__.__doc__ = getattr(init, "__doc__", None)
        __init__._sb_hook_safe = True  # type: ignore[attr-defined]  # hooks.check_hooks
        return __init__
    target = obj.__self__ if type(obj) is super else obj  # type: ignore[attr-defined]
    if isinstance(target, type) or not is_own_class(type(target)):
        raise deny(obj, "__init__", "only the code's own instances may be re-initialised")
    return obj.__init__


def _foreign_context(value: Any, own: list[Any]) -> bool:
    """An mpmath context (``mp``, ``iv``) other than the sandbox's own: ``mpf.context`` of a
    number sympy made is the host's ``mpmath.mp``, whose ``dps`` every host computation uses."""
    module = getattr(type(value), "__module__", "") or ""
    return module.startswith("mpmath.ctx_") and not any(value is ctx for ctx in own)


def _checked_new(value: Any) -> Any:
    """``cls.__new__``: checked where a stand-in class checks its construction (``arrays``)."""
    try:
        return NEW_CHECKS.get(value, value)
    except TypeError:  # unhashable
        return value


def _is_abc(obj: Any) -> bool:
    """An ABC, or ``ABCMeta`` itself (``ABCMeta.register(Sequence, dict)``)."""
    return isinstance(obj, abc.ABCMeta) or (isinstance(obj, type) and issubclass(obj, abc.ABCMeta))


def _without_path(method: Any, name: str, getattr_: Callable[..., Any]) -> Any:
    """A pandas-style writer that returns text, refusing a path or buffer argument (under any
    name: ``to_xml`` calls it ``path_or_buffer``) and a file to read (``stylesheet``). Format
    strings it is given (``formatters``, ``float_format``) become functions formatting as the
    sandbox's ``str.format`` does: pandas would call the real one (``"{0.decode.__globals__}"``
    reads any attribute of the cells' objects)."""
    if not callable(method):
        return method
    try:
        signature: inspect.Signature | None = inspect.signature(method)
    except (TypeError, ValueError):
        signature = None
    first = next(iter(signature.parameters), None) if signature else None
    keywords = (*_PATH_KEYWORDS, first) if first else _PATH_KEYWORDS

    def call(*args: Any, **kwargs: Any) -> Any:
        if (args and args[0] is not None) or any(kwargs.get(k) is not None for k in keywords):
            raise PermissionError(
                f"{name}() with a path or buffer is not allowed in the sandbox; "
                "call it without one to get the text"
            )
        if signature is not None:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError:
                pass  # the method raises it, naming the argument
            else:
                for key in _FORMAT_ARGUMENTS:
                    if key in bound.arguments:
                        bound.arguments[key] = _safe_formatters(bound.arguments[key], getattr_)
                args, kwargs = bound.args, bound.kwargs
        return method(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


#: Arguments of pandas' writers taking format strings (one, or a list or dict of them).
_FORMAT_ARGUMENTS = ("formatters", "float_format", "formatter")


def _safe_formatters(value: Any, getattr_: Callable[..., Any]) -> Any:
    """Format strings in ``value`` as functions formatting through the sandbox's guards
    (``%``-style strings, which read no attributes, stay as they are). Strings, lists, tuples
    and dicts are read as the builtin types (a subclass of the code's answers ``in`` or
    iterates as it likes) and passed on as exact copies: pandas sees what was checked."""
    if isinstance(value, str):
        value = plain_str(value)
        if "{" not in value:
            return value

        def formatter(*args: Any, **kwargs: Any) -> str:
            return bound_format(value, "format", getattr_)(*args, **kwargs)

        return formatter
    if isinstance(value, dict):
        return {key: _safe_formatters(item, getattr_) for key, item in dict.items(value)}
    if isinstance(value, list):
        return [_safe_formatters(item, getattr_) for item in list.copy(value)]
    if isinstance(value, tuple):
        return tuple(
            _safe_formatters(item, getattr_) for item in tuple.__getitem__(value, slice(None))
        )
    return value


def _checked_setter(method: Any, guards: Guards, target: Any = None, unbound: bool = False) -> Any:
    """A ``__setattr__``/``__delattr__`` that first checks the name as ``setattr`` does."""

    def checked(*args: Any) -> Any:
        obj, name = (args[0], args[1]) if unbound else (target, args[0])
        guards.write_dynamic(obj, name)
        return method(*args)

    return checked


#: Libraries whose objects the sandbox reviewed: an attribute write on one of their objects
#: is refused unless its class is in ``WRITABLE``. The others may be objects the whole process
#: shares: an enum's members, ``np.finfo(t)`` (cached per type), sympy's predicates, domains
#: and their elements (``QQ.one``), ``Q`` (red team rounds 7 and 8, B1, B3).
REVIEWED = frozenset(sys.stdlib_module_names) | {"numpy", "pandas", "sympy", "mpmath"}
#: (module, class): the host classes whose instances the code sets attributes on, each one
#: it made and configures: ``df.columns = [...]``, ``a.flags.writeable = False``,
#: ``decimal.getcontext().prec = 50``, ``mpmath.mp.dps = 50``, ``TextWrapper().width = 40``.
WRITABLE = (
    ("pandas.core.generic", "NDFrame"),
    ("pandas", "Index"),
    ("pandas", "Flags"),
    ("numpy", "ndarray"),
    ("numpy._core.multiarray", "flagsobj"),
    ("numpy.random", "BitGenerator"),
    ("decimal", "Context"),
    ("mpmath.ctx_mp", "MPContext"),
    ("textwrap", "TextWrapper"),
    ("calendar", "Calendar"),
    ("json", "JSONEncoder"),
    ("json", "JSONDecoder"),
    ("difflib", "SequenceMatcher"),
    ("csv", "DictReader"),
    ("csv", "DictWriter"),
    ("string", "Template"),
    ("types", "SimpleNamespace"),
)


#: (len(sys.modules) when made, id -> each mutable global of every loaded module).
_MODULE_GLOBALS: tuple[int, dict[int, Any]] = (-1, {})
_NOT_STATE = (type, types.FunctionType, types.BuiltinFunctionType, types.ModuleType)


def _module_global(obj: Any) -> bool:
    """Whether ``obj`` is a global of a loaded module, however the code reached it (sympy's
    ``ZZ`` as ``Poly(x).domain``, not only as ``sympy.ZZ``). Made again when modules were
    loaded since; the table holds the objects, so an id is never another object's."""
    global _MODULE_GLOBALS
    count, table = _MODULE_GLOBALS
    if count != len(sys.modules):
        count, table = len(sys.modules), {}
        for module in list(sys.modules.values()):
            if type(module) is types.ModuleType:
                for value in list(module.__dict__.values()):
                    if not is_immutable(value) and not isinstance(value, _NOT_STATE):
                        table[id(value)] = value
        _MODULE_GLOBALS = (count, table)
    return table.get(id(obj)) is obj


#: numpy's loops over object arrays that compare items hold no reference to them while the
#: code's comparisons run (``reentrancy``; round 7 F2: in-place sorts, round 9 F3: argmax on
#: items that were tuples): these run on a private copy (the sorts assign it back).
IN_PLACE_SORTS = frozenset({"sort", "partition"})
OBJECT_COPYING = IN_PLACE_SORTS | {"argmax", "argmin"}  # not max/min: pandas' agg("max")


def _on_copy(array: Any, name: str, args: Any, kwargs: Any) -> Any:
    if name in IN_PLACE_SORTS:
        array[...] = getattr(sys.modules["numpy"], name)(array, *args, **kwargs)
        return None
    return getattr(array.copy(), name)(*args, **kwargs)


def _object_copying(obj: Any, name: str, method: Any) -> Any:
    """``a.sort(...)``, ``a.argmax()`` / ``np.ndarray.sort(a, ...)``: for an object array (or
    one with object fields), on a copy the code cannot reach; anything else as it is."""
    numpy = sys.modules.get("numpy")
    if numpy is None or not callable(method):
        return method
    ndarray = numpy.ndarray
    if isinstance(obj, ndarray):
        if not obj.dtype.hasobject:
            return method

        def bound(*args: Any, **kwargs: Any) -> Any:
            return _on_copy(obj, name, args, kwargs)

        bound.__doc__ = getattr(method, "__doc__", None)
        return bound
    if isinstance(obj, type) and issubclass(obj, ndarray):

        def unbound(self: Any, *args: Any, **kwargs: Any) -> Any:
            if not (isinstance(self, ndarray) and self.dtype.hasobject):
                return method(self, *args, **kwargs)
            return _on_copy(self, name, args, kwargs)

        unbound.__doc__ = getattr(method, "__doc__", None)
        return unbound
    return method


def _checked_resize(method: Any) -> Any:
    """``ndarray.resize`` with the reference check numpy needs to stay memory safe."""
    if not callable(method):
        return method

    def resize(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("refcheck", True) is not True:
            raise PermissionError("resize(refcheck=False) is not allowed in the sandbox")
        return method(*args, **kwargs)

    resize.__doc__ = getattr(method, "__doc__", None)
    return resize


def is_immutable(value: Any) -> bool:
    return isinstance(value, _IMMUTABLE)


#: An array's layout, set in place: an iterator or a subscript in progress (an index's
#: ``__index__`` may run this) keeps the old strides and size, and reads or writes past the
#: buffer (red team round 6). What to use instead, for the error.
ARRAY_GEOMETRY = {
    "shape": "a.reshape(...) (or np.reshape)",
    "dtype": "a.view(dtype) or a.astype(dtype)",
    "strides": "np.lib.stride_tricks.as_strided",
}


def _is_array(obj: Any) -> bool:
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(obj, numpy.ndarray)
