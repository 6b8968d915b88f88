"""The attribute and name tables shared by the compile-time and run-time halves of the policy.

Reading attributes is where sandboxes break: one path from an allowed object to a function's
globals, a frame or a module's foreign imports is enough. These tables say which names are never
reachable, which public names still need a run-time look, and which dunders are safe.
"""

from __future__ import annotations

from typing import Any

#: Names starting with this are the guards' own; the code can neither read nor bind them.
RESERVED_PREFIX = "__sb_"

_FRAMES = "it exposes interpreter frames, code objects or running generators"
_GLOBALS = "it exposes a function's globals or builtins, i.e. the whole host"
_HIERARCHY = "walking the class hierarchy reaches every class in the host process"
_METHOD = "it exposes the object a built-in method is bound to (e.g. a module)"
_LOADER = "it exposes the import machinery"
_REDUCE = "object reconstruction hooks can rebuild arbitrary objects"
_RAW = "raw attribute access bypasses the sandbox's guards"

#: Attributes that never appear in ordinary code and only lead out of the sandbox.
NEVER_ATTRS: dict[str, str] = {
    **dict.fromkeys(
        (
            "gi_frame",
            "gi_code",
            "gi_yieldfrom",
            "cr_frame",
            "cr_code",
            "cr_await",
            "cr_origin",
            "ag_frame",
            "ag_code",
            "ag_await",
            "tb_frame",
            "tb_next",
            "f_back",
            "f_globals",
            "f_locals",
            "f_builtins",
            "f_code",
            "f_trace",
            "__code__",
            "__traceback__",
        ),
        _FRAMES,
    ),
    **dict.fromkeys(
        ("__globals__", "__builtins__", "__closure__", "__defaults__", "__kwdefaults__"), _GLOBALS
    ),
    # Cython's functions (numpy.random, pandas._libs) answer the Python 2 names too.
    **dict.fromkeys(
        ("func_globals", "func_code", "func_closure", "func_defaults", "func_dict"), _GLOBALS
    ),
    **dict.fromkeys(("__subclasses__", "__bases__", "__base__", "__mro__"), _HIERARCHY),
    **dict.fromkeys(("__self__", "__func__", "__objclass__", "__wrapped__"), _METHOD),
    **dict.fromkeys(("__loader__", "__spec__", "__import__", "__path__", "__file__"), _LOADER),
    **dict.fromkeys(("__reduce__", "__reduce_ex__", "__getstate__", "__setstate__"), _REDUCE),
    **dict.fromkeys(("__getattribute__", "__subclasshook__"), _RAW),
}

#: Dunders readable only through ``super()`` (``super().__init_subclass__(**kwargs)``).
SUPER_ONLY_DUNDERS = frozenset({"__init_subclass__"})

#: Public attribute names that are compiled to a run-time guard instead of a native load:
#: format strings can read attributes, exception ``obj`` carries the looked-up object, ABC
#: ``register`` and ``mro`` act on host classes, and the rest write files or expose memory.
FILE_METHODS = frozenset(
    {
        "tofile",
        "dump",
        "savefig",
        "to_pickle",
        "to_parquet",
        "to_feather",
        "to_hdf",
        "to_sql",
        "to_stata",
        "to_orc",
        "to_excel",
        "to_clipboard",
        "to_gbq",
        "to_iceberg",
    }
)
#: pandas writers that return text when called without a path or buffer.
PATH_OPTIONAL_METHODS = frozenset(
    {"to_csv", "to_json", "to_html", "to_latex", "to_markdown", "to_xml", "to_string"}
)
#: Methods of allowed libraries that evaluate a string or look it up as a method name (pandas'
#: ``eval``, ``query``, ``agg``...): they get it checked for underscore names first.
EXPRESSION_METHODS = frozenset(
    {"eval", "query", "agg", "aggregate", "apply", "transform", "pivot_table", "crosstab"}
)
#: Library methods the code's objects never get from a host base class.
LIBRARY_DENIED = {
    "style": "pandas' Styler renders Jinja templates that read files and any attribute",
    "from_custom_template": "it reads templates from the file system",
    **dict.fromkeys(
        ("plot", "hist", "boxplot"), "it imports the plotting backend module the call names"
    ),
    # sympy.physics.units: they write the tables every host conversion reads (the quantity
    # mapper's class-level dict, the unit systems' shared maps).
    **dict.fromkeys(
        (
            "set_global_relative_scale_factor",
            "set_global_dimension",
            "set_quantity_dimension",
            "set_quantity_scale_factor",
        ),
        "it changes the host's unit tables (every later convert_to); use the quantities as "
        "they are, or scale with numbers: 7 * units.meter",
    ),
    "register_handlerclass": "it registers a class in the host's add/mul dispatch "
    "(sympy.core.add.add, sympy.core.mul.mul)",
    # sympy's Printer: the class-level settings every later latex()/pretty() of the process
    # uses (red team round 8, B5; init_printing, its caller, is denied too).
    "set_global_settings": "it changes how every printer of the process prints; pass the "
    "settings to the call: sympy.latex(expr, symbol_names={...})",
}
#: numpy's ``resize(refcheck=False)`` frees memory that views still point to.
UNCHECKED_RESIZE = "resize"
#: Public class attributes of allowed modules' classes that hold mutable tables the host's
#: instances read (``TextWrapper.unicode_whitespace_trans``, sympy's ``default_assumptions``
#: dict subclass, ``Polynomial.domain``, a writable array): the code gets copies and read-only
#: views (``tables``; a test audits that the allowed modules have no others, by ``isinstance``).
HOST_TABLES = frozenset(
    {"unicode_whitespace_trans", "cssclasses", "cssclasses_weekday_head"}
    | {"default_assumptions", "domain", "window"}
    # sympy objects holding a C deque or ordered dict (red team round 11, B1, B3): copies as
    # the code's stand-ins (``reentrancy.standin_copy``)
    | {"rules_cache", "map"}
    # numpy, pandas, sympy and mpmath (a test audits them too): sympy.Rel.ValidRelationOperator
    # maps "==" to the class every host Eq() builds.
    | {
        "ValidRelationOperator",
        "after",
        "before",
        "components",
        "defaults",
        "defined_functions",
        "excludes",
        "free_symbols",
        "harmonic_cache",
        "include",
        "indented_args",
        "inits",
        "labels",
        "mapping",
        "not_in_args",
        "op_2class",
        "order",
        "relators",
        "requires",
        "reserved_words",
        "rules",
        "simpleFunctions",
        "type_aliases",
        "type_func_suffixes",
        "type_headers",
        "type_literal_suffixes",
        "type_macros",
        "type_mappings",
        "type_math_macro_suffixes",
        "type_modules",
    }
)
#: Public class attributes by which allowed libraries hand out a dispatch table of their own
#: (sympy predicates' ``handler``, a ``sympy.multipledispatch.Dispatcher`` whose ``add``
#: registers into the host's ``ask()``, and the legacy ``AlgebraicPredicate.AlgebraicHandler``):
#: the guard refuses objects of modules the sandbox denies (a test audits the libraries'
#: classes for others).
DISPATCH_TABLES = frozenset({"handler", "AlgebraicHandler"})
#: Methods reading or writing raw memory of their object or arguments (``memoryview.cast``,
#: ``Struct.pack_into``, ``BytesIO.readinto``): never an object array's (``arrays``).
BUFFER_METHODS = frozenset({"cast", "pack_into", "readinto", "readinto1"})
#: Public attributes holding a numpy array class (``MaskedArray.baseclass``): the code gets the
#: class's stand-in (``arrays``).
ARRAY_CLASS_ATTRS = frozenset({"baseclass"})
#: Attribute names under which a class or instance of an allowed module holds a function that
#: a module rule denies or replaces (``mpmath.mp.identify`` is ``mpmath.identify``): checked by
#: the function (``ruled.py``; a test walks the allowed modules and keeps this list complete).
RULED_METHODS = frozenset({"identify", "cplot", "splot"})
GUARDED_ATTRS = frozenset(
    {"format", "format_map", "obj", "mro", "register", "context"}
    | {"sort", "partition", "argmax", "argmin"}  # on object arrays: guards.OBJECT_COPYING
    | {"ctypes", "cffi", UNCHECKED_RESIZE}
    | ARRAY_CLASS_ATTRS
    | BUFFER_METHODS
    | FILE_METHODS
    | PATH_OPTIONAL_METHODS
    | HOST_TABLES
    | DISPATCH_TABLES
    | EXPRESSION_METHODS
    | LIBRARY_DENIED.keys()
    | RULED_METHODS
)

#: Dunder attributes any object may have read: plain data, never a door to the host.
SAFE_DUNDER_DATA = frozenset(
    {
        "__name__",
        "__qualname__",
        "__doc__",
        "__module__",
        "__class__",
        "__cause__",
        "__context__",
        "__suppress_context__",
        "__notes__",
        "__match_args__",
        "__slots__",
        "__members__",
        "__version__",
        "__all__",
        "__origin__",
        "__args__",
        "__parameters__",
        "__annotations__",
        "__abstractmethods__",
        "__total__",
        "__required_keys__",
        "__optional_keys__",
        "__text_signature__",
    }
)

_OPERATORS = [
    "add",
    "sub",
    "mul",
    "matmul",
    "truediv",
    "floordiv",
    "mod",
    "divmod",
    "pow",
    "lshift",
    "rshift",
    "and",
    "xor",
    "or",
]
#: Special methods that ordinary code calls explicitly (``super().__init__()``, ``x.__eq__(y)``).
SAFE_DUNDER_METHODS = frozenset(
    {
        f"__{name}__"
        for name in [
            "init",
            "new",
            "repr",
            "str",
            "bytes",
            "format",
            "hash",
            "bool",
            "eq",
            "ne",
            "lt",
            "le",
            "gt",
            "ge",
            "len",
            "length_hint",
            "iter",
            "next",
            "reversed",
            "contains",
            "getitem",
            "setitem",
            "delitem",
            "missing",
            "call",
            "enter",
            "exit",
            "aenter",
            "aexit",
            "aiter",
            "anext",
            "neg",
            "pos",
            "abs",
            "invert",
            "complex",
            "int",
            "float",
            "index",
            "round",
            "trunc",
            "floor",
            "ceil",
            "post_init",
            "sizeof",
            "dir",
            "copy",
            "deepcopy",
        ]
    }
    | {f"__{p}{op}__" for op in _OPERATORS for p in ("", "r", "i")}
)

#: Attribute dunders that may be assigned (on the code's own functions, classes and objects).
WRITABLE_DUNDERS = frozenset({"__name__", "__qualname__", "__doc__"})

#: Protocols through which host C code trusts a Python object with raw memory (a data pointer
#: in ``__array_interface__``, capsules in the others): no object the code creates may answer
#: them, or ``numpy.asarray(obj)`` reads and writes any address.
HOST_PROTOCOL_DUNDERS = frozenset(
    {
        "__array_interface__",
        "__array_struct__",
        "__cuda_array_interface__",
        "__dlpack__",
        "__dlpack_device__",
        "__dataframe__",
        "__arrow_c_array__",
        "__arrow_c_stream__",
        "__arrow_c_schema__",
        "__arrow_c_device_array__",
    }
)
_PROTOCOL = "host libraries trust it to describe raw memory"

#: Dunders a class statement may not define.
CLASS_BODY_FORBIDDEN: dict[str, str] = {
    **dict.fromkeys(HOST_PROTOCOL_DUNDERS, _PROTOCOL),
    "__del__": "finalizers run at unpredictable times, outside the time limit",
    "__reduce__": _REDUCE,
    "__reduce_ex__": _REDUCE,
    "__getstate__": _REDUCE,
    "__class__": "it would make instances lie about their type",
    "__dict__": "it is managed by the interpreter",
    "__module__": "it is set by the sandbox",
    "__qualname__": "it is set by the interpreter",
    "__annotations__": "it is managed by the interpreter",
    "__builtins__": _GLOBALS,
    "__globals__": _GLOBALS,
    "__getattribute__": _RAW,
    "__subclasshook__": "a host ABC asks it of its subclasses: it would answer isinstance() for "
    "the host; use ABC.register on the code's own ABCs",
}


def plain_str(value: Any) -> Any:
    """``value`` as an exact ``str`` when it is a ``str`` of any class, else as it is. A check
    of a name or template the code gave must test, and pass on, this copy: a subclass of the
    code's answers ``startswith``, ``in`` and ``isidentifier`` itself, and steers the host's
    dict and attribute lookups with its ``__hash__`` and ``__eq__`` (red team round 5, F11).
    ``str.__str__`` copies the characters without calling any method of the code's."""
    if type(value) is str or not isinstance(value, str):
        return value
    return str.__str__(value)


def is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def native_reason(name: str) -> str | None:
    """Why ``obj.name`` may not compile to a native attribute load (``None`` when it may): what
    the interpreter reads by name without a guard (class patterns, ``__match_args__``) must
    pass this too."""
    reason = never_reason(name)
    if reason:
        return reason
    if name.startswith("_"):
        return "private and dunder names are only readable through the sandbox's checks"
    if name in GUARDED_ATTRS:
        return "the sandbox checks this attribute at run time"
    return None


def never_reason(name: str) -> str | None:
    """Why ``name`` may never be read or written, or ``None`` when it may be (with guards)."""
    if name.startswith(RESERVED_PREFIX):
        return "it is reserved for the sandbox's guards"
    return NEVER_ATTRS.get(name)
