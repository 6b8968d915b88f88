"""Safe stand-ins for standard-library functions that reach past the guards.

Each factory gets one sandbox's ``Guards`` and the real module, and returns the names its view
shows instead of the real ones: ``operator.attrgetter`` and ``functools.wraps`` read attributes
through the guards, ``dataclasses.dataclass`` only decorates the code's own classes, ``random``
draws from a generator of its own, ``time.sleep`` stays interruptible, ``pprint`` prints where
``print`` does, ``decimal``'s template contexts are the sandbox's own copies.
"""

from __future__ import annotations

import contextlib
import keyword
import sys
import time
import types
import typing
from collections.abc import Callable
from typing import Any

from sandboxes.policy import arrays, caps, namesinks, reentrancy
from sandboxes.policy.bindings import is_policy_code
from sandboxes.policy.classes import (
    Frozen,
    check_base,
    is_own_class,
    is_own_function,
    shown_classes,
)
from sandboxes.policy.expressions import (
    check_plain_expression,
    checked_expression_method,
    guard_named_imports,
    guard_sympy_parser,
)
from sandboxes.policy.generated import guard_lambdify
from sandboxes.policy.guards import Guards
from sandboxes.policy.rules import RESERVED_PREFIX, is_dunder, native_reason, plain_str

Replacements = dict[str, Any]


def time_module(guards: Guards, module: types.ModuleType) -> Replacements:
    def sleep(seconds: float) -> None:
        """Sleep in short slices, so the sandbox's time limit can interrupt it."""
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(left, 0.02))

    return {"sleep": sleep}


def decimal_module(guards: Guards, module: types.ModuleType) -> Replacements:
    """The template contexts as copies: the module's own are shared with the host."""
    return {name: getattr(module, name).copy() for name in ("BasicContext", "ExtendedContext")}


def random_module(guards: Guards, module: types.ModuleType) -> Replacements:
    """The module-level functions, bound to a generator of this sandbox (``seed`` included)."""
    return _rebind(module, getattr(module, "_inst", None), module.Random())


def numpy_random_module(guards: Guards, module: types.ModuleType) -> Replacements:
    """``numpy.random.seed``, ``rand``... bound to a ``RandomState`` of this sandbox."""
    shared = getattr(getattr(module, "mtrand", None), "_rand", None)
    own = module.RandomState()
    return {**_rebind(module, shared, own), "seed": own.seed}


def _rebind(module: types.ModuleType, shared: Any, own: Any) -> Replacements:
    """The module's functions that are methods of ``shared``, taken from ``own`` instead."""
    if shared is None:
        return {}
    return {
        name: getattr(own, name)
        for name in dir(module)
        if not name.startswith("_") and getattr(getattr(module, name), "__self__", None) is shared
    }


def pprint_module(guards: Guards, module: types.ModuleType) -> Replacements:
    def pprint(
        obj: Any,
        stream: Any = None,
        indent: int = 1,
        width: int = 80,
        depth: int | None = None,
        **options: Any,
    ) -> None:
        """Pretty-print ``obj`` to the sandbox's output (or to ``stream``)."""
        text = module.pformat(obj, indent=indent, width=width, depth=depth, **options)
        if stream is not None:
            stream.write(text + "\n")
        else:
            guards.namespace.get("print", print)(text)

    def pp(obj: Any, *args: Any, sort_dicts: bool = False, **options: Any) -> None:
        pprint(obj, *args, sort_dicts=sort_dicts, **options)

    return {"pprint": pprint, "pp": pp}


def pandas_module(guards: Guards, module: types.ModuleType) -> Replacements:
    """``pandas.eval`` refusing underscore names (they reach any attribute of any object), and
    ``describe_option`` printing where ``print`` does (pandas prints to the host's stdout)."""

    def describe_option(pat: str = "", _print_desc: bool = True) -> str | None:
        """Print (or return) the description of the options matching ``pat``."""
        text = module.describe_option(pat, _print_desc=False)
        if not _print_desc:
            return text
        guards.namespace.get("print", print)(text)
        return None

    namesinks.guard_pandas(module)
    return {
        **{
            name: checked_expression_method(getattr(module, name), name)
            for name in ("eval", "pivot_table", "crosstab")  # aggfunc: a method name too
        },
        "describe_option": describe_option,
    }


def sympy_module(guards: Guards, module: types.ModuleType) -> Replacements:
    """``pprint`` printing where ``print`` does; sympy's string parser checked whenever the
    code makes it run (``sympify("...")``, or any sympy function given a string), and the
    source ``lambdify`` generates whenever the code makes it run (``nsolve``: ``generated``)."""
    import sympy.parsing.sympy_parser as parser
    import sympy.utilities.lambdify  # noqa: F401  (the module: the package shows the function)

    from sandboxes.policy.modules import PACKAGE_DENY

    guard_sympy_parser(parser, frozenset(PACKAGE_DENY["sympy"]))
    guard_lambdify(sys.modules["sympy.utilities.lambdify"])  # nsolve runs it, and others
    namesinks.guard_sympy(module)

    def pprint(expr: Any, **settings: Any) -> None:
        """Pretty-print ``expr`` to the sandbox's output."""
        guards.namespace.get("print", print)(module.pretty(expr, **settings))

    plots = {name: _refusing(name, _PLOTS) for name in _PLOT_NAMES if hasattr(module, name)}
    return {"pprint": pprint, "pretty_print": pprint, **plots, **sympy_sieve(guards, module)}


def sympy_sieve(guards: Guards, module: types.ModuleType) -> Replacements:
    """``sieve`` (of ``sympy``, ``sympy.ntheory``, ``...generate``) whose slices are the code's
    arrays: the host's are real ``array.array``, whose C stores convert the value after the
    bounds check (red team round 10, B2; ``reentrancy``)."""
    real, made = getattr(module, "sieve", None), getattr(module, "Sieve", None)
    found: Replacements = {}
    if real is not None:
        found["sieve"] = _SieveView(real, guards.read)
    if made is not None:  # a fresh one's slices are real arrays too (round 11, B2)

        def Sieve(*args: Any, **kwargs: Any) -> Any:  # noqa: N802  (the name the code knows)
            """``sympy.Sieve``: a prime sieve of the code's own."""
            return _SieveView(made(*args, **kwargs), guards.read)

        found["Sieve"] = Sieve
    return found


class _SieveView(metaclass=Frozen):
    """sympy's prime sieve: its methods as they are, its slices as the code's arrays."""

    __slots__ = ("_sb_real", "_sb_read")

    def __init__(self, real: Any, read: Callable[[Any, str], Any]) -> None:
        object.__setattr__(self, "_sb_real", real)
        object.__setattr__(self, "_sb_read", read)

    def __getitem__(self, key: Any) -> Any:
        return reentrancy.shown_array(self._sb_real[key])

    def __iter__(self) -> Any:
        return iter(self._sb_real)

    def __contains__(self, n: Any) -> bool:
        return n in self._sb_real

    def __repr__(self) -> str:
        return repr(self._sb_real)

    def __getattr__(self, name: str) -> Any:
        return self._sb_read(self._sb_real, name)


#: sympy's plotting functions: importable (``from sympy import plot`` in code that never calls
#: it must run), refusing when called.
_PLOT_NAMES = ("plot", "plot_parametric", "plot_implicit", "plot_backends", "textplot")
_PLOTS = "plots are not available in the sandbox (they draw with a plotting backend)"


def _refusing(name: str, why: str) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(f"{name}(): {why}")

    refuse.__name__ = refuse.__qualname__ = name
    return refuse


def mpmath_module(guards: Guards, module: types.ModuleType) -> Replacements:
    """Contexts of the sandbox's own: ``mpmath.mp`` and ``mpmath.iv`` (and every module-level
    name bound to them: ``mpf``, ``sqrt``, ``workdps``, ``pi``...) are new contexts, as
    ``decimal``'s is; the module's are the host's (``mp.dps = 50`` set it for everyone)."""
    shared_mp, shared_iv = module.mp, module.iv
    own_mp, own_iv = type(shared_mp)(), type(shared_iv)()
    for ctx in (own_mp, own_iv):  # the links mpmath's __init__ makes between its contexts
        ctx._mp, ctx._fp, ctx._iv = own_mp, module.fp, own_iv
    guards.own_contexts.extend((own_mp, own_iv))

    out: Replacements = {"mp": own_mp, "iv": own_iv, "identify": checked_identify(own_mp.identify)}
    for name in dir(module):
        if name.startswith("_") or name in out:
            continue
        value = getattr(module, name)
        for shared, own in ((shared_mp, own_mp), (shared_iv, own_iv)):
            if type(value) is types.MethodType and value.__self__ is shared:
                out[name] = value.__func__.__get__(own)
            elif getattr(shared, name, None) is value:
                out[name] = getattr(own, name)
            else:
                continue
            break
    return out


def checked_identify(method: Any) -> Callable[..., Any]:
    """mpmath's ``identify`` of any context (bound, or the class's function given the context
    first): constants given as strings must be plain expressions of the context's public names
    (mpmath ``eval``s them with the real builtins, in a namespace of every name of the context)."""
    import inspect

    signature = inspect.signature(method)

    def identify(*args: Any, **kwargs: Any) -> Any:
        """``mpmath.identify``, with its constants' strings checked."""
        bound = signature.bind(*args, **kwargs)
        constants = bound.arguments.get("constants")
        if constants and not isinstance(constants, dict):
            constants = bound.arguments["constants"] = [plain_str(c) for c in constants]
            context = getattr(method, "__self__", None)
            context = bound.arguments.get("ctx") if context is None else context
            names = [n for n in dir(context) if n not in _MPMATH_UNSAFE]
            for text in constants:
                check_plain_expression(text, names, "identify()")
        return method(*bound.args, **bound.kwargs)

    identify.__doc__ = getattr(method, "__doc__", None)
    return identify


#: Names of an mpmath context its ``identify`` strings may not call: what the view denies or
#: checks (plotting imports matplotlib; ``identify`` evaluates strings itself).
_MPMATH_UNSAFE = frozenset({"plot", "cplot", "splot", "identify"})
#: ``module.name`` of a replaced function -> its checked version for another instance or the
#: class (``mpmath.fp.identify``), made when the guards hand it out (``ruled.py``).
METHOD_CHECKS: dict[str, Callable[[Guards, Any], Any]] = {
    "mpmath.identify": lambda guards, method: checked_identify(method),
}


def sympy_strategies_module(guards: Guards, module: types.ModuleType) -> Replacements:
    """``debug`` printing where ``print`` does: its default stream is the ``sys.stdout`` that
    was current when sympy was imported (the host's, the user's terminal under ``inline``)."""

    def debug(rule: Any, file: Any = None) -> Any:
        """Print out the expression before and after each time ``rule`` is used."""
        return module.debug(rule, sys.stdout if file is None else file)

    return {"debug": debug}


def sympy_symbol_module(guards: Guards, module: types.ModuleType) -> Replacements:
    """``var`` binding its symbols in the sandbox's namespace: sympy's writes them into the
    globals of whichever frame called it, the host's through ``Series.apply(sympy.var)``."""

    def var(names: Any, **args: Any) -> Any:
        """Create symbols and bind them as globals of the sandbox: ``var('x y')``."""
        made = module.symbols(names, **args)
        todo = [made]
        while todo:
            item = todo.pop()
            if isinstance(item, (tuple, list)):
                todo.extend(item)
                continue
            name = getattr(item, "name", None) or getattr(item, "__name__", None)
            _bind(guards, name, item)
        return made

    return {"var": var}


def _bind(guards: Guards, name: Any, value: Any) -> None:
    """Bind ``value`` as a global of the sandbox, if ``name`` is one the code could bind."""
    name = plain_str(name)
    if (
        isinstance(name, str)
        and name.isidentifier()
        and not is_dunder(name)
        and not name.startswith(RESERVED_PREFIX)
    ):
        guards.namespace[name] = value


#: sympy functions that bind their generators as globals of their caller's caller
#: (``sympy.utilities.magic.pollute``): the host's when host code calls them back.
POLLUTERS = {
    "sympy.polys.rings": "vring",
    "sympy.polys.fields": "vfield",
    "sympy.combinatorics.free_groups": "vfree_group",
    "sympy.combinatorics.fp_groups": "vfp_group",
}
#: Calls ``f`` from a frame whose globals are a scratch dict: ``pollute`` writes there.
_SCRATCH_CALL = "lambda f, a, k: (lambda: f(*a, **k))()"


def sympy_polluting_module(guards: Guards, module: types.ModuleType) -> Replacements:
    """``vring``, ``vfield``...: their generators bound in the sandbox's namespace (as
    ``var`` does), never in the globals of the frame that called them."""
    name = POLLUTERS[module.__name__]
    real = getattr(module, name)

    def bound(*args: Any, **kwargs: Any) -> Any:
        scratch: dict[str, Any] = {"__builtins__": {}}
        result = eval(_SCRATCH_CALL, scratch)(real, args, kwargs)  # noqa: S307 (our own text)
        for key, value in list(scratch.items()):
            if key != "__builtins__":
                _bind(guards, key, value)
        return result

    bound.__name__ = bound.__qualname__ = name
    bound.__doc__ = real.__doc__
    return {name: bound}


def sympy_stats_module(guards: Guards, module: types.ModuleType) -> Replacements:
    """sympy.stats' sampling imports the module named by ``library=``: only the libraries it
    samples with, when the code asks (process-wide, once, for every sympy.stats module)."""
    stats = [m for name, m in list(sys.modules.items()) if name.startswith("sympy.stats")]
    guard_named_imports(stats, _SAMPLE_LIBRARIES)
    return {}


_SAMPLE_LIBRARIES = frozenset({"scipy", "numpy", "pymc", "pymc3"})


def numpy_module(guards: Guards, module: types.ModuleType) -> Replacements:
    """``bmat`` and ``r_``/``c_`` given a string of names look them up in the frame that
    called them: the code's own only (host code calling back, ``Series.apply(np.bmat)``,
    would have them read its frame)."""
    real_bmat = module.bmat
    namesinks.guard_numpy(module)

    def bmat(obj: Any, ldict: Any = None, gdict: Any = None) -> Any:
        """``numpy.bmat``: a matrix from blocks (a string names the code's variables)."""
        if isinstance(obj, str) and gdict is None:
            gdict, ldict = _code_namespaces("bmat()")
        return real_bmat(obj, ldict, gdict)

    return {
        "bmat": bmat,
        "r_": _Concatenator(module.r_, real_bmat),
        "c_": _Concatenator(module.c_, real_bmat),
        "ndarray": arrays.standin(module.ndarray, "buffer"),
        "recarray": arrays.standin(module.recarray, "buf"),
        "frombuffer": arrays.frombuffer(module.frombuffer),
        "errstate": _errstate(module.errstate),
        **{name: _objects_copied(module, name) for name in _OBJECT_REDUCTIONS},
    }


#: numpy functions comparing an object array's items without references (``guards``).
_OBJECT_REDUCTIONS = ("argmax", "argmin", "max", "min", "amax", "amin", "sort", "partition")


def _objects_copied(module: types.ModuleType, name: str) -> Callable[..., Any]:
    """``numpy.argmax`` (...) on a copy of an object array the code holds: C compares items it
    holds no reference to while the code's ``__eq__`` runs, and may free them."""
    real = getattr(module, name)

    def reduced(a: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(a, module.ndarray) and a.dtype.hasobject:
            a = a.copy()
        return real(a, *args, **kwargs)

    reduced.__name__ = reduced.__qualname__ = name
    reduced.__doc__ = real.__doc__
    return reduced


def _errstate(real: Any) -> Callable[..., Any]:
    """``numpy.errstate`` with ``"print"`` as ``"warn"``: numpy's C code prints that mode with
    ``fprintf(stderr)``, the host's stream, past the cell's (red team round 5, F5); a warning
    goes where the cell's ``sys.stderr`` goes."""

    def errstate(*args: Any, **kwargs: Any) -> Any:
        """``numpy.errstate``: floating-point error handling within a ``with`` block."""
        modes = {key: plain_str(mode) for key, mode in kwargs.items()}
        return real(*args, **{k: "warn" if v == "print" else v for k, v in modes.items()})

    errstate.__doc__ = real.__doc__
    return errstate


def numpy_char_module(guards: Guards, module: types.ModuleType) -> Replacements:
    """``chararray(shape, itemsize, unicode, buffer)``: never over an object array's memory."""
    return {"chararray": arrays.standin(module.chararray, "buffer", 3)}


def struct_module(guards: Guards, module: types.ModuleType) -> Replacements:
    """``pack_into`` never writes into an object array's memory (its pointers)."""
    return {"pack_into": arrays.buffer_writer(module.pack_into, "pack_into")}


def numpy_records_module(guards: Guards, module: types.ModuleType) -> Replacements:
    return arrays.records_module(module)


def numpy_mrecords_module(guards: Guards, module: types.ModuleType) -> Replacements:
    """``MaskedRecords`` (``mrecarray``) takes a buffer as ``recarray`` does (``arrays``)."""
    records = arrays.standin(module.MaskedRecords, "buf")
    return {"MaskedRecords": records, "mrecarray": records}


def numpy_typing_module(guards: Guards, module: types.ModuleType) -> Replacements:
    """``NDArray`` is an alias of ``ndarray`` that builds one when called: over the stand-in."""
    alias = module.NDArray
    return {
        "NDArray": types.GenericAlias(arrays.standin(alias.__origin__, "buffer"), alias.__args__)
    }


def _code_namespaces(what: str) -> tuple[dict[str, Any], Any]:
    """The globals and locals of the frame that called the caller, if it is the code's."""
    frame = sys._getframe(2)
    if not is_policy_code(frame.f_code):
        raise PermissionError(
            f"{what} with a string of names works only when the code calls it itself"
        )
    return frame.f_globals, frame.f_locals


class _Concatenator(metaclass=Frozen):
    """``numpy.r_`` / ``numpy.c_``, with ``_code_namespaces`` for a string of names."""

    __slots__ = ("_sb_real", "_sb_bmat")

    def __init__(self, real: Any, bmat: Any) -> None:
        object.__setattr__(self, "_sb_real", real)
        object.__setattr__(self, "_sb_bmat", bmat)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            gdict, ldict = _code_namespaces("r_[...]")
            return self._sb_bmat(key, ldict, gdict)
        return self._sb_real[key]

    def __len__(self) -> int:
        return len(self._sb_real)

    def __repr__(self) -> str:
        return repr(self._sb_real)


def math_module(guards: Guards, module: types.ModuleType) -> Replacements:
    """With ``cap_c_calls``: ``factorial``, ``comb``, ``perm`` refused above a second's work."""
    if not guards.cap_c_calls:
        return {}
    return {"factorial": caps.factorial, "comb": caps.comb, "perm": caps.perm}


def hashlib_module(guards: Guards, module: types.ModuleType) -> Replacements:
    """With ``cap_c_calls``: key derivation refused above a second's worth of rounds."""
    if not guards.cap_c_calls:
        return {}
    return {"pbkdf2_hmac": caps.pbkdf2_hmac, "scrypt": caps.scrypt}


def operator_module(guards: Guards, module: types.ModuleType) -> Replacements:
    def attrgetter(attr: str, *attrs: str) -> Callable[[Any], Any]:
        """``operator.attrgetter`` whose lookups go through the sandbox's guards."""
        paths = [_dotted(name) for name in (attr, *attrs)]

        def get(obj: Any, path: list[str]) -> Any:
            for part in path:
                obj = guards.read_dynamic(obj, part)
            return obj

        if len(paths) == 1:
            return lambda obj: get(obj, paths[0])
        return lambda obj: tuple(get(obj, path) for path in paths)

    def methodcaller(name: str, /, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        """``operator.methodcaller`` whose lookup goes through the sandbox's guards."""
        name = plain_str(name)
        if not isinstance(name, str):
            raise TypeError("method name must be a string")
        return lambda obj: guards.read_dynamic(obj, name)(*args, **kwargs)

    return {
        "attrgetter": attrgetter,
        "methodcaller": methodcaller,
        "setitem": reentrancy.setitem,
        "__setitem__": reentrancy.setitem,
    }


def _dotted(name: Any) -> list[str]:
    name = plain_str(name)
    if not isinstance(name, str):
        raise TypeError("attribute name must be a string")
    return name.split(".")


def _own_target(obj: Any) -> bool:
    """``obj`` is the code's own: a function, class or instance of its own, or a method
    wrapper (``classmethod``, ``property``) around its own functions."""
    if isinstance(obj, (classmethod, staticmethod)):
        obj = obj.__func__
    if isinstance(obj, property):
        return all(f is None or is_own_function(f) for f in (obj.fget, obj.fset, obj.fdel))
    return is_own_function(obj) or is_own_class(obj) or is_own_class(type(obj))


def _own_only(decorator: Any, name: str) -> Callable[..., Any]:
    """``decorator``, which writes attributes on what it is given (``typing.final`` sets
    ``__final__``), for the code's own functions and classes only."""

    def checked(obj: Any) -> Any:
        if not _own_target(obj):
            raise PermissionError(
                f"{name}() writes attributes on what it is given: only the code's own "
                "functions and classes in the sandbox"
            )
        return decorator(obj)

    checked.__name__ = checked.__qualname__ = name
    checked.__doc__ = getattr(decorator, "__doc__", None)
    return checked


def typing_module(guards: Guards, module: types.ModuleType) -> Replacements:
    """``final``, ``runtime_checkable`` (``typing.Protocol`` itself: every host protocol would
    pass ``isinstance``) and ``dataclass_transform``'s decorators: the code's objects only."""
    transform = module.dataclass_transform

    def dataclass_transform(**kwargs: Any) -> Callable[[Any], Any]:
        """``typing.dataclass_transform`` for the code's own classes and functions."""
        return _own_only(transform(**kwargs), "dataclass_transform")

    return {
        "final": _own_only(module.final, "final"),
        "runtime_checkable": _own_only(module.runtime_checkable, "runtime_checkable"),
        "dataclass_transform": dataclass_transform,
        **reentrancy.typing_aliases(module),
        "get_args": lambda tp: shown_classes(module.get_args(tp)),
        "get_origin": lambda tp: shown_classes(module.get_origin(tp)),
    }


def abc_module(guards: Guards, module: types.ModuleType) -> Replacements:
    """``abstractmethod`` (and the deprecated ``abstractclassmethod``/``abstractstaticmethod``)
    set ``__isabstractmethod__`` on what they are given: the code's own functions only."""
    return {
        name: _own_only(getattr(module, name), name)
        for name in ("abstractmethod", "abstractclassmethod", "abstractstaticmethod")
    }


def functools_module(guards: Guards, module: types.ModuleType) -> Replacements:
    copied = ("__name__", "__qualname__", "__doc__")

    def update_wrapper(
        wrapper: Any, wrapped: Any, assigned: Any = copied, updated: Any = ()
    ) -> Any:
        """Copy the name and docstring of ``wrapped`` (other attributes stay where they are)."""
        for name in copied:
            if name not in assigned:
                continue
            with contextlib.suppress(AttributeError, TypeError):
                guards.setattr(wrapper, name, guards.read(wrapped, name))
        return wrapper

    def wraps(wrapped: Any, assigned: Any = copied, updated: Any = ()) -> Callable[[Any], Any]:
        return lambda wrapper: update_wrapper(wrapper, wrapped, assigned, updated)

    def total_ordering(cls: Any) -> Any:
        if not is_own_class(cls):
            raise TypeError("total_ordering() can only decorate classes defined in the sandbox")
        return module.total_ordering(cls)

    def singledispatch(func: Any) -> Any:
        """``functools.singledispatch`` whose ``register`` never evaluates annotation strings."""
        dispatcher = module.singledispatch(func)
        real_register = dispatcher.register

        def register(cls: Any, func: Any = None) -> Any:
            if _dispatch_type(cls):
                return real_register(cls, func)
            if func is None and callable(cls):
                code = getattr(cls, "__code__", None)
                first = code.co_varnames[0] if code is not None and code.co_argcount else None
                annotation = (getattr(cls, "__annotations__", None) or {}).get(first)
                if _dispatch_type(annotation):
                    return real_register(annotation, cls)
                raise TypeError(
                    "register() in the sandbox needs the first parameter annotated with a class "
                    "(not a string), or the class passed explicitly: @f.register(int)"
                )
            raise TypeError(f"Invalid first argument to `register()`: {cls!r}")

        dispatcher.register = register
        return dispatcher

    return {
        "update_wrapper": update_wrapper,
        "wraps": wraps,
        "total_ordering": total_ordering,
        "singledispatch": singledispatch,
    }


def _dispatch_type(obj: Any) -> bool:
    if isinstance(obj, type):
        return True
    if typing.get_origin(obj) in (typing.Union, types.UnionType):
        return all(isinstance(arg, type) for arg in typing.get_args(obj))
    return False


def dataclasses_module(guards: Guards, module: types.ModuleType) -> Replacements:
    """``dataclass`` and ``make_dataclass`` build methods with ``exec`` from the field names, and
    give the class ``__match_args__`` from them: names are checked for both first."""

    def dataclass(cls: Any = None, /, **options: Any) -> Any:
        """``dataclasses.dataclass`` for classes defined in the sandbox (it rewrites the class)."""

        def wrap(target: Any) -> Any:
            if not is_own_class(target):
                raise TypeError("dataclass() can only decorate classes defined in the sandbox")
            names = list(target.__dict__.get("__annotations__", {}))
            _check_field_names(names, options)
            return check_base(module.dataclass(target, **options))

        return wrap if cls is None else wrap(cls)

    def make_dataclass(
        cls_name: str, fields: Any, *, bases: Any = (), namespace: Any = None, **options: Any
    ) -> Any:
        """``make_dataclass`` with field names a native attribute load may read, and no dunders
        in ``namespace``."""
        cls_name = plain_str(cls_name)
        fields = [_plain_field(spec) for spec in fields]
        names = [spec if isinstance(spec, str) else spec[0] for spec in fields]
        for name in names:
            reason = native_reason(name) if isinstance(name, str) else "it is not a string"
            if reason:
                raise TypeError(f"field name {name!r} is not allowed in the sandbox: {reason}")
        _check_field_names(names, options)
        if namespace is not None:
            namespace = {plain_str(key): value for key, value in dict(namespace).items()}
            for key in namespace:
                if not isinstance(key, str) or key.startswith("__"):
                    raise TypeError(
                        f"namespace keys may not start with '__' in the sandbox: {key!r}"
                    )
        cls = module.make_dataclass(cls_name, fields, bases=bases, namespace=namespace, **options)
        if cls.__module__ == "types":  # as 3.12 does: the caller's (not a host library's class)
            cls.__module__ = guards.namespace.get("__name__", "__main__")
        guards.made_classes.add(cls)
        return check_base(cls)

    return {"dataclass": dataclass, "make_dataclass": make_dataclass}


def _plain_field(spec: Any) -> Any:
    """A ``make_dataclass`` field (``name`` or ``(name, type[, field])``) with its name exact."""
    if isinstance(spec, (tuple, list)) and spec:
        return (plain_str(spec[0]), *spec[1:])
    return plain_str(spec)


def _check_field_names(names: list[Any], options: dict[str, Any]) -> None:
    """Field names go into the source of the methods dataclasses ``exec``s: identifiers only.
    Class patterns read the fields by name (``__match_args__``): where one may not be read
    natively (``_cache``), the class gets no ``__match_args__`` (unless asked to: an error)."""
    for name in names:
        if type(name) is not str or not name.isidentifier() or keyword.iskeyword(name):
            raise TypeError(f"dataclass field names must be identifiers: {name!r}")
    blocked = [name for name in names if native_reason(name)]
    if blocked and options.get("match_args", True):
        if options.get("match_args") is True:
            raise TypeError(
                f"match_args=True is not allowed in the sandbox with the field {blocked[0]!r}: "
                f"{native_reason(blocked[0])}"
            )
        options["match_args"] = False
