"""The audit that makes host-state fixes class fixes: the libraries' state is the same after the
whole corpus ran ``inline``.

``inline`` shares the host's process, so a module-level or class-level table the code can change
(a registry, a dispatch table, a defaults dict, a class's array) changes what the host's own
calls answer afterwards. Instead of one test per table, this fingerprints every mutable
container the allowed libraries keep in their modules, their classes and their module-level
objects, runs the attack and benign corpora, and asserts nothing changed but the caches listed
below, each with its reason.
"""

from __future__ import annotations

import contextlib
import fnmatch
import importlib
import os
import sys
import time
import types
from typing import Any

import pytest
from attacks import AFTER_CELL, ATTACKS, BENIGN, LIBRARIES, LIBRARY_ATTACKS, TOOLS

from sandboxes import make_sandbox

#: State that legitimately changes when ordinary code runs, by key pattern, with the reason.
CHANGING: dict[str, str] = {
    "sympy.*._cache": "sympy's caches named so, filled by lookups: a multipledispatch "
    "Dispatcher's handler per argument types, factor_cache's factorisations",
    "sympy.polys.domains.modularinteger._modular_integer_cache": "one class per modulus and "
    "domain, made the first time a computation modulo it needs one (factor(..., modulus=5))",
    "sympy.*._assumptions": "a sympy object's memo of the facts derived for it (x.is_zero is "
    "worked out once); the code can neither read nor write it (a private name)",
    "sympy.assumptions.*.class_fact_registry.*facts": "defaultdicts: looking a class up adds an "
    "empty entry for it (the registry itself is denied)",
    "sympy.utilities.lambdify.[A-Z]*": "lambdify's namespace of a module's names (MPMATH, "
    "NUMPY...), filled from the module the first time it prints for it (nsolve); sympy.utilities "
    "is denied, and lambdify copies from it",
}
#: How much of one container is looked at: the audit must stay a few seconds.
_ITEMS = 400
_DEPTH = 2
_ARRAY_BYTES = 1 << 16
_NOT_STATE = (type, types.FunctionType, types.BuiltinFunctionType, types.ModuleType)
_NOT_STATE += (types.MethodType, types.WrapperDescriptorType, types.MethodDescriptorType)
_NOT_STATE += (property, staticmethod, classmethod, int, float, complex, str, bytes, tuple)


def _summary(value: Any, depth: int = 0) -> Any:
    """What identifies the contents of a mutable container (``None`` for anything else): its
    length and its items' ids, with containers among them summarised in turn."""
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ndarray):
        if not value.flags.writeable or value.dtype.hasobject or value.nbytes > _ARRAY_BYTES:
            return None if not value.flags.writeable else ("array", value.shape, value.dtype.str)
        return ("array", value.shape, value.dtype.str, value.tobytes())
    if isinstance(value, dict):
        items = list(dict.items(value))
        return ("dict", len(items), tuple(_pair(k, v, depth) for k, v in items[:_ITEMS]))
    if isinstance(value, list):
        items = list.copy(value)
        return ("list", len(items), tuple(_item(v, depth) for v in items[:_ITEMS]))
    if isinstance(value, (set, bytearray)):
        items = list(value)
        return (type(value).__name__, len(items), frozenset(map(id, items[:_ITEMS])))
    return None


def _pair(key: Any, value: Any, depth: int) -> Any:
    return (id(key), _item(value, depth))


def _item(value: Any, depth: int) -> Any:
    inner = _summary(value, depth + 1) if depth < _DEPTH else None
    return id(value) if inner is None else inner


def _record(state: dict[str, Any], key: str, value: Any) -> None:
    summary = _summary(value)
    if summary is not None:
        state[key] = summary
        return
    if isinstance(value, _NOT_STATE):
        return
    # A module-level object (TensorManager, SI, a Dispatcher): its own tables, in its __dict__
    # or its slots.
    items: list[tuple[str, Any]] = []
    for klass in type(value).__mro__:
        attrs = vars(klass).get("__dict__")  # the interpreter's descriptor: no code of theirs
        if isinstance(attrs, types.GetSetDescriptorType) and not items:
            with contextlib.suppress(AttributeError, TypeError):
                items = list(attrs.__get__(value).items())
        slots = vars(klass).get("__slots__", ())
        for slot in [slots] if isinstance(slots, str) else slots:
            member = vars(klass).get(slot)
            if isinstance(member, types.MemberDescriptorType):
                with contextlib.suppress(AttributeError):
                    items.append((slot, member.__get__(value)))
    for name, item in items:
        summary = _summary(item)
        if summary is not None:
            state[f"{key}.{name}"] = summary


def fingerprint(packages: list[str]) -> dict[str, Any]:
    """Every mutable container of ``packages``' loaded modules: module attributes, attributes of
    the classes they define, and the attributes of module-level objects, private names too."""
    state: dict[str, Any] = {}
    for name, module in list(sys.modules.items()):
        parts = name.split(".")
        if parts[0] not in packages or not isinstance(module, types.ModuleType):
            continue
        if {"tests", "conftest"} & set(parts):  # a package's test suite, which pytest loads
            continue
        for attr, value in list(vars(module).items()):
            if attr in ("__loader__", "__spec__", "__builtins__"):  # the import system's
                continue
            _record(state, f"{name}.{attr}", value)
            if isinstance(value, type) and value.__module__ == name:
                for class_attr, item in list(vars(value).items()):
                    _record(state, f"{name}.{attr}.{class_attr}", item)
    return state


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    changed = [key for key in before.keys() & after.keys() if before[key] != after[key]]
    return sorted(key for key in changed if not any(fnmatch.fnmatch(key, p) for p in CHANGING))


def _loaded_by(codes: list[str]) -> list[str]:
    """The library modules running ``codes`` loads (by imports, and lazily: ``np.polynomial``,
    sympy's predicates), found in a forked child so that this process loads them before its
    first fingerprint, and sees what the code changes in them."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        os.close(read)
        try:
            known = set(sys.modules)
            _run_all(codes)
            found = [n for n in sys.modules if n not in known and n.partition(".")[0] in LIBRARIES]
            os.write(write, "\n".join(found).encode())
        finally:
            os._exit(0)
    os.close(write)
    data = b"".join(iter(lambda: os.read(read, 1 << 16), b""))
    os.close(read)
    os.waitpid(pid, 0)
    return sorted(data.decode().split())


def _run_all(codes: list[str]) -> None:
    tools = {**TOOLS, "mark": lambda value=None: None}
    for code in codes:
        with make_sandbox("inline", timeout=5, allowed_imports=LIBRARIES) as sb:
            sb.start(tools)
            sb.run(code)


def test_fingerprint_sees_a_change_of_a_class_table_and_of_a_module_object() -> None:
    pytest.importorskip("sympy")
    import sympy
    from sympy.assumptions import global_assumptions

    before = fingerprint(["sympy"])
    fact = sympy.Q.positive(sympy.Symbol("audit_probe"))
    global_assumptions.add(fact)
    sympy.Add.default_assumptions["audit_probe"] = True
    try:
        after = fingerprint(["sympy"])
    finally:
        global_assumptions.discard(fact)
        del sympy.Add.default_assumptions["audit_probe"]
    assert "sympy.assumptions.assume.global_assumptions" in _changes(before, after)
    assert "sympy.core.add.Add.default_assumptions" in _changes(before, after)
    assert _changes(before, fingerprint(["sympy"])) == []


def test_the_corpus_leaves_the_libraries_state_unchanged_inline() -> None:
    """Every attack and every benign snippet, ``inline`` with numpy, pandas, sympy and mpmath
    allowed: no table of theirs changed, except the caches ``CHANGING`` names."""
    for library in LIBRARIES:
        pytest.importorskip(library)
    corpus = [code for _, code in ATTACKS + LIBRARY_ATTACKS + AFTER_CELL]
    benign = [code for _, code, _ in BENIGN]
    for name in _loaded_by(corpus + benign):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    _run_all(benign)  # warms the caches ordinary code fills
    started = time.perf_counter()
    before = fingerprint(LIBRARIES)
    walk = time.perf_counter() - started
    _run_all(corpus + benign)
    after = fingerprint(LIBRARIES)
    assert len(before) > 1000 and walk < 20, (len(before), walk)  # it saw them, and is bounded
    assert _changes(before, after) == []
