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
