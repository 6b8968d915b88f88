"""Audits of the allowed libraries' own code: places where host code stores or answers
attributes under names its caller chose (``sandboxes/policy/namesinks.py``).

They fail when a library upgrade adds such a place, so that someone reviews it: a dunder name
there is a protocol numpy reads from the instance (``__array_interface__``: a raw pointer).
"""

from __future__ import annotations

import ast
import importlib
import re
import sys
from pathlib import Path

import pytest
from attacks import LIBRARIES

from sandboxes import make_sandbox

_SINK = re.compile(r"__dict__\.update\(|setattr\(\s*\w+\s*,\s*[A-Za-z_]\w*\s*,")
_SKIPPED = re.compile(r"/tests?/|distutils|/testing/|conftest")

#: Every function of the libraries that stores attributes under a name it does not spell out,
#: and why it is safe. ``namesinks`` marks the ones the sandbox wraps.
REVIEWED = {
    "mpmath/ctx_base.py:_init_aliases": "import time, mpmath's own names",
    "mpmath/ctx_fp.py:_wrap_specfun": "import time, mpmath's own names",
    "mpmath/ctx_iv.py:_wrap_specfun": "import time, mpmath's own names",
    "mpmath/ctx_mp_python.py:_wrap_specfun": "import time, mpmath's own names",
    "mpmath/functions/functions.py:_wrap_specfun": "import time, mpmath's own names",
    "numpy/dtypes.py:_add_dtype_helper": "import time, numpy's own dtype names",
    "numpy/lib/_polynomial_impl.py:__init__": "namesinks: poly1d(p) copies p.__dict__",
    "numpy/ma/core.py:_update_from": "fixed names; the other object's dict goes into _optinfo",
    "pandas/core/accessor.py:_add_delegate_accessors": "import time, pandas' own names",
    "pandas/core/accessor.py:decorator": "register_*_accessor: denied",
    "pandas/core/arrays/arrow/array.py:__setstate__": "__setstate__ is never readable",
    "pandas/core/arrays/sparse/array.py:__setstate__": "__setstate__ is never readable",
    "pandas/core/common.py:temp_setattr": "pandas.core is closed; internal callers, fixed names",
    "pandas/core/computation/expr.py:disallowed": "import time; pandas.core.computation denied",
    "pandas/core/flags.py:__setitem__": "only the flag names pandas defines",
    "pandas/core/frame.py:to_period": "axis names only (index, columns)",
    "pandas/core/frame.py:to_timestamp": "axis names only (index, columns)",
    "pandas/core/indexers/objects.py:__init__": "namesinks: BaseIndexer(**kwargs)",
    "pandas/core/indexes/extension.py:wrapper": "import time, pandas' own names",
    "pandas/core/resample.py:__init__": "a fixed list of the parent's attributes",
    "pandas/io/excel/_openpyxl.py:_write_cells_normal": "pandas.io: Excel denied",
    "pandas/io/excel/_openpyxl.py:_write_cells_write_only": "pandas.io: Excel denied",
    "pandas/io/formats/style.py:_copy": "Styler denied (style)",
    "pandas/io/formats/style.py:clear": "Styler denied (style)",
    "pandas/io/json/_json.py:_convert_axes": "axis names only (index, columns)",
    "pandas/io/pytables.py:_set_attr_if_changed": "HDFStore denied",
    "pandas/io/pytables.py:get_attrs": "HDFStore denied",
    "pandas/io/pytables.py:set_info": "HDFStore denied",
    "pandas/io/pytables.py:update_info": "HDFStore denied",
    "sympy/assumptions/ask.py:register_handler": "denied (writes Q.<name> on the host's Q)",
    "sympy/codegen/ast.py:__new__": "the class's own __slots__ names",
    "sympy/combinatorics/free_groups.py:__new__": "generator names; values are group elements",
    "sympy/core/assumptions.py:_prepare_class_assumptions": "is_<fact> of sympy's own facts",
    "sympy/core/basic.py:__setstate__": "__setstate__ is never readable",
    "sympy/core/cache.py:propfunc": "'__' + the decorated method's own name",
    "sympy/core/decorators.py:sympify_method_args": "class creation, names of the class body",
    "sympy/core/facts.py:_from_python": "a fixed list of names",
    "sympy/core/function.py:__new__": "namesinks: UndefinedFunction(name, **kwargs)",
    "sympy/core/parameters.py:__init__": "sympy's global_parameters, built at import",
    "sympy/core/symbol.py:__setstate__": "__setstate__ is never readable",
    "sympy/integrals/risch.py:__init__": "a fixed list of names",
    "sympy/physics/quantum/circuitplot.py:update": "needs matplotlib (absent: CircuitPlot fails)",
    "sympy/plotting/backends/base_backend.py:check_and_set": "plotting: refuses when called",
    "sympy/plotting/series.py:_line_surface_color": "plotting: refuses when called",
    "sympy/polys/fields.py:__new__": "generator names; values are field elements",
    "sympy/polys/polyutils.py:__setstate__": "__setstate__ is never readable",
    "sympy/polys/rings.py:__new__": "generator names; values are ring elements",
    "sympy/printing/cxx.py:_attach_print_method": "import time, sympy's own names",
    "sympy/printing/python.py:__init__": "_print_<name> of a fixed list",
    "sympy/utilities/_compilation/compilation.py:simple_cythonize": "sympy.utilities denied",
    "sympy/utilities/decorator.py:accessor": "the decorated property's own name",
}

#: Host classes whose ``__getattr__``/``__getattribute__`` answers names from data, and why a
#: dunder from there is harmless (or refused).
GETATTR_REVIEWED = {
    "numpy.lib.Arrayterator.__getattr__": "the wrapped object's own attribute",
    "numpy.lib.user_array.container.__getattr__": "the wrapped ndarray's own attribute",
    "sympy.integrals.risch.DifferentialExtension.__getattr__": "None for its __slots__ only",
    "sympy.stats.rv.NamedArgsMixin.__getattr__": "the class's own _argnames (the code's "
    "subclasses: the protocol dunders are absent, classes._ABSENT)",
    "numpy.lib._npyio_impl.BagObj.__getattribute__": "npz files: denied",
    "numpy.ma.mrecords.MaskedRecords.__getattribute__": "fields after the class's attributes",
    "numpy.object_.__getattribute__": "C: the type's attributes",
    "numpy.rec.recarray.__getattribute__": "fields only after ndarray's own attributes",
    "numpy.record.__getattribute__": "fields only after the scalar's own attributes",
    "numpy.ufunc.__getattribute__": "C: the type's attributes",
    "pandas.HDFStore.__getattr__": "HDFStore denied",
    "pandas._config.config.DictWrapper.__getattr__": "options denied",
    "pandas.api.typing.Expression.__getattr__": "answers another Expression, never data",
    "pandas.api.typing.Resampler.__getattr__": "answers a groupby of a column, never data",
    "pandas.core.generic.NDFrame.__getattr__": "namesinks: dunders refused for the code",
    "pandas.core.groupby.groupby.GroupBy.__getattr__": "answers a groupby of a column",
    "pandas.core.groupby.groupby.GroupByPlot.__getattr__": "plotting: denied",
    "pandas.core.window.rolling.BaseWindow.__getattr__": "answers a window of a column",
    "pandas.io.common._BytesIOWrapper.__getattr__": "pandas.io internals, not reachable",
    "pandas.io.common._IOWrapper.__getattr__": "pandas.io internals, not reachable",
    "sympy.core.singleton.SingletonRegistry.__getattr__": "registration is denied",
}


def _libraries() -> list:
    for library in LIBRARIES:
        pytest.importorskip(library)
    return [importlib.import_module(name) for name in LIBRARIES]


def test_every_place_storing_caller_named_attributes_is_reviewed() -> None:
    found = set()
    for package in _libraries():
        root = Path(package.__file__).parent
        for path in root.rglob("*.py"):
            relative = path.relative_to(root.parent).as_posix()
            text = path.read_text(errors="replace")
            if _SKIPPED.search(relative) or not _SINK.search(text):
                continue
            lines = [i for i, line in enumerate(text.splitlines(), 1) if _SINK.search(line)]
            functions = [n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.FunctionDef)]
            for line in lines:  # the innermost function holding the line
                holders = [f for f in functions if f.lineno <= line <= (f.end_lineno or 0)]
                if holders:
                    found.add(f"{relative}:{max(holders, key=lambda f: f.lineno).name}")
    assert sorted(found - REVIEWED.keys()) == []
    assert len(found) > 40  # the scan still sees the known places


def test_every_host_getattr_answering_names_is_reviewed() -> None:
    _libraries()
    for name in (
        "numpy.ma.mrecords",
        "numpy.lib.user_array",
        "sympy.integrals.risch",
        "sympy.stats",
    ):
        importlib.import_module(name)  # what other tests import, for one result
    from sandboxes.policy.modules import ModuleViews

    views = ModuleViews(LIBRARIES)
    found = set()
    for name, module in list(sys.modules.items()):
        if name.partition(".")[0] not in LIBRARIES or module is None or not views.allows(name):
            continue
        for value in list(vars(module).values()):
            home = getattr(value, "__module__", None) or ""
            if isinstance(value, type) and home.partition(".")[0] in LIBRARIES:
                for hook in ("__getattr__", "__getattribute__"):
                    if hook in value.__dict__:
                        found.add(f"{home}.{value.__qualname__}.{hook}")
    assert sorted(found - GETATTR_REVIEWED.keys()) == []


#: Metaclasses of the libraries (and of what they import) that a class statement may not use.
METACLASSES_REFUSED = {
    "sympy.core.singleton.Singleton": "S.register(cls): replaces the host's singletons",
    "sympy.polys.polyoptions.OptionType": "Options.__options__ and a property on Options",
    "sympy.core.cache.lazy_function.<locals>.LazyFunctionMeta": "lazy_function: denied",
    "ast._ABC": "ast is not importable",
    "sympy.physics.quantum.circuitplot.CreateOneQubitGate": "a gate factory, not a metaclass",
}


def test_every_metaclass_of_the_libraries_is_reviewed() -> None:
    """Each metaclass the code could meet is allowed (``metaclasses.ALLOWED``: it writes only
    the class it builds) or refused here with the reason."""
    from sandboxes.policy.metaclasses import ALLOWED

    _libraries()
    for name in ("sympy.polys.polyoptions", "sympy.matrices.common", "sympy.physics.quantum"):
        importlib.import_module(name)
    importlib.import_module("sympy.physics.quantum.circuitplot")
    tops = {*LIBRARIES, "abc", "enum", "typing", "ast", "dateutil"}

    def metaclasses(root: type):
        for sub in type.__subclasses__(root):
            yield sub
            yield from metaclasses(sub)

    found = {
        f"{meta.__module__}.{meta.__qualname__}"
        for meta in metaclasses(type)
        if isinstance(meta.__module__, str) and meta.__module__.partition(".")[0] in tops
    }
    assert sorted(found - ALLOWED - METACLASSES_REFUSED.keys()) == [], sorted(found - ALLOWED)
    assert "sympy.core.singleton.Singleton" in found


def test_the_wrapped_entry_points_still_take_public_names() -> None:
    """What the guards wrap keeps working for ordinary keywords and labels."""
    _libraries()
    code = (
        "import numpy as np, pandas as pd, sympy as sp\n"
        "class Fixed(pd.api.indexers.BaseIndexer):\n    pass\n"
        "f = sp.Function('f', real=True)\n"
        "g = sp.symbols('g', cls=sp.Function)\n"
        "s = pd.Series({'a': 1, '__x__': 2})\n"
        "[f(1).is_real, str(g(2)), Fixed(window_size=2, step_note=3).step_note, int(s.a),"
        " hasattr(s, '__x__'), int(s['__x__']), int(np.poly1d(np.poly1d([1, 2]))(1))]"
    )
    with make_sandbox("inline", allowed_imports=LIBRARIES) as sb:
        sb.start({})
        ex = sb.run(code)
    assert ex.error is None, ex.error
    assert ex.value == [True, "g(2)", 3, 1, False, 2, 3]
