"""Rules about dangerous library functions hold for the function, wherever the code meets it.

A rule names a function where its module keeps it; these audits walk the allowed modules for
the same function under other names (a method of an instance or class) and for allowed public
functions that call an evaluating or denied one internally (``sympy.nsolve`` runs ``lambdify``).
"""

from __future__ import annotations

import contextlib
import sys
import types
import warnings

import pytest
from attacks import LIBRARIES

from sandboxes.policy import RestrictedPolicy
from sandboxes.policy.modules import ModuleView, ModuleViews
from sandboxes.policy.rules import GUARDED_ATTRS


def _library_views() -> tuple[ModuleViews, list[tuple[str, ModuleView]]]:
    for library in LIBRARIES:
        pytest.importorskip(library)
    import sympy.physics.mechanics  # noqa: F401  (the submodules the code commonly imports)
    import sympy.stats  # noqa: F401

    views: ModuleViews = RestrictedPolicy(LIBRARIES)._views  # type: ignore[attr-defined]
    found = []
    for name, module in sorted(sys.modules.items()):
        if module is not None and name.partition(".")[0] in LIBRARIES and views.allows(name):
            found.append((name, views.view(module)))
    return views, found


def _public(obj: object) -> list[tuple[str, object]]:
    out = []
    for attr in dir(obj):
        if not attr.startswith("_"):
            with contextlib.suppress(Exception):
                out.append((attr, getattr(obj, attr)))
    return out


def test_ruled_functions_are_guarded_under_every_attribute_name() -> None:
    """Every public attribute of a class or instance in an allowed module's view that is a
    function a module rule denies or replaces (``mpmath.mp.identify``, ``fp.identify``) has its
    name in ``rules.GUARDED_ATTRS`` (so ``Guards.ruled_attribute`` decides by the function)."""
    views, modules = _library_views()
    found = set()
    seen: set[int] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for module_name, view in modules:
            for name, value in _public(view):
                if isinstance(value, (ModuleView, types.ModuleType)) or id(value) in seen:
                    continue
                seen.add(id(value))
                if isinstance(value, (types.FunctionType, types.BuiltinFunctionType)):
                    continue
                for attr, item in _public(value):
                    if attr not in GUARDED_ATTRS and views.ruling(item) is not None:
                        found.add(f"{module_name}.{name}.{attr}")
    assert sorted(found) == [], "\n".join(sorted(found))


def test_the_ruling_follows_the_function_to_other_instances() -> None:
    """The audit above can fail: ``identify`` of any mpmath context is ``mpmath.identify``'s."""
    pytest.importorskip("mpmath")
    import mpmath

    views, _ = _library_views()
    ruling = views.ruling(mpmath.fp.identify)
    assert ruling is not None and (ruling.module, ruling.name) == ("mpmath", "identify")
    assert views.ruling(type(mpmath.mp).identify) == ruling
    assert views.ruling(mpmath.mp.sqrt) is None  # rebound to the sandbox's own context


_EVALUATORS = ("eval", "exec", "compile")


def _targets() -> dict[int, str]:
    """The functions that run strings as code or change how the host prints, by identity:
    the builtins, sympy's ``init_printing``, and ``lambdify`` unless guarded at the callee (an
    empty name: the walk stops there)."""
    import builtins

    import sympy.interactive.printing
    import sympy.utilities.lambdify  # noqa: F401

    lambdify_module = sys.modules["sympy.utilities.lambdify"]
    found = {id(getattr(builtins, name)): name for name in _EVALUATORS}
    found[id(sympy.interactive.printing.init_printing)] = "init_printing"
    guarded = getattr(lambdify_module.__dict__.get("compile"), "_sb_checked", False)
    # lambdify's source is checked where it compiles (generated.py): its callers stop there.
    found[id(lambdify_module.lambdify)] = "" if guarded else "lambdify"
    return found


def _reaches(func: object, targets: dict[int, str], memo: dict[int, str | None], depth: int = 3):
    """The target ``func`` calls, directly or through functions of its module it names."""
    import builtins
    import dis

    func = getattr(func, "__func__", func)
    if targets.get(id(func)) == "":
        return None
    code = getattr(func, "__code__", None)
    if not isinstance(code, types.CodeType) or not isinstance(func, types.FunctionType):
        return None
    if id(code) in memo:
        return memo[id(code)]
    memo[id(code)] = None  # recursion
    namespace = func.__globals__
    codes, found = [code], None
    # What a decorator's wrapper calls: its __wrapped__ and the functions in its closure.
    inner = [func.__dict__.get("__wrapped__")] + [c.cell_contents for c in func.__closure__ or ()]
    for value in inner:
        if found is None and depth and isinstance(value, types.FunctionType):
            found = _reaches(value, targets, memo, depth - 1)
    while codes and found is None:
        current = codes.pop()
        codes.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
        names = set(current.co_names)
        if names & set(_EVALUATORS):  # a global, not re.compile: by instruction
            names -= set(_EVALUATORS)
            for ins in dis.get_instructions(current):
                if ins.opname == "LOAD_GLOBAL" and ins.argval in _EVALUATORS:
                    value = namespace.get(ins.argval, getattr(builtins, ins.argval))
                    if id(value) in targets:
                        found = targets[id(value)]
        for name in names:
            if found is not None:
                break
            value = namespace.get(name)
            if value is not None and targets.get(id(value)):
                found = f"{name}"
            elif depth and isinstance(value, types.FunctionType):
                inner = _reaches(value, targets, memo, depth - 1)
                if inner:
                    found = f"{name} -> {inner}"
    memo[id(code)] = found
    return found


def _audited_callers() -> set[str]:
    """The ``checked`` table of ``sandboxes/policy/LIBRARIES.md``: callers reviewed as safe."""
    from pathlib import Path

    import sandboxes.policy

    text = (Path(sandboxes.policy.__file__).parent / "LIBRARIES.md").read_text()
    section = text.partition("## Internal callers of evaluating functions")[2]
    section = section.partition("\n## ")[0]
    return {line.split("`")[1] for line in section.splitlines() if line.startswith("| `")}


def test_allowed_functions_that_evaluate_internally_are_ruled_or_reviewed() -> None:
    """Every public function or method in an allowed module's view whose code reaches ``eval``,
    ``exec``, ``compile``, ``init_printing`` or an unchecked ``lambdify`` (through functions of
    its module, three calls deep) is denied or replaced, or listed in LIBRARIES.md as checked."""
    views, modules = _library_views()
    views.view(sys.modules["sympy"]).Symbol  # noqa: B018  (the view's guards are installed)
    targets, memo, reviewed = _targets(), {}, _audited_callers()
    found = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for module_name, view in modules:
            for name, value in _public(view):
                if isinstance(value, (ModuleView, types.ModuleType)):
                    continue
                items = [(name, value)]
                if not isinstance(value, (types.FunctionType, types.BuiltinFunctionType)):
                    items += [(f"{name}.{a}", v) for a, v in _public(value)]
                for label, item in items:
                    func = getattr(item, "__func__", item)
                    if str(getattr(func, "__module__", "")).startswith("sandboxes."):
                        continue  # the sandbox's own replacement
                    reached = _reaches(item, targets, memo)
                    if reached and views.ruling(item) is None:
                        key = f"{func.__module__}.{func.__qualname__}"
                        found.setdefault(key, f"{module_name}.{label}: {reached}")
    unreviewed = sorted(f"{key} ({how})" for key, how in found.items() if key not in reviewed)
    assert unreviewed == [], "\n".join(unreviewed)


@pytest.mark.parametrize("backend", ["inline", "local"])
def test_nsolve_and_numeric_sums_work_on_ordinary_expressions(backend: str) -> None:
    """lambdify's check passes what sympy generates for ordinary math (MINT-style code)."""
    from sandboxes import make_sandbox

    code = """
from sympy import symbols, nsolve, sin, cos, exp, log, sqrt, Piecewise, Sum, oo, CRootOf
x, y = symbols("x y")
t = symbols("theta'")
[str(v) for v in (
    nsolve(x**2 - 2, x, 1), nsolve(sin(x) - x / 2, x, 2), nsolve(exp(x) - 3 * cos(x), 1),
    nsolve([x + y - 3, x - y - 1], [x, y], [1, 1]).T, nsolve(t**2 - 3, t, 1),
    nsolve(Piecewise((x - 1, x > 0), (x + 1, True)), x, 0.5), nsolve(log(x) + sqrt(x) - 2, x, 1),
    Sum(1 / x**2, (x, 1, oo)).evalf(5), CRootOf(x**5 + x + 1, 1).evalf(5),
)]
"""
    with make_sandbox(backend, timeout=30, allowed_imports=LIBRARIES) as sb:
        sb.start({})
        ex = sb.run(code)
    assert ex.error is None, ex.error
    assert (
        ex.value[0].startswith("1.4142135623")
        and ex.value[3] == "Matrix([[2.00000000000000, 1.00000000000000]])"
    )
    assert ex.value[7] == "1.6449" and len(ex.value) == 9
