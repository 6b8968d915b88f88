"""The shared corpora (``tests/attacks.py``) through the ``local`` backend's worker process.

Ordinary code must run unchanged, and no escape may work, with the restricted policy applied in
the worker and every value crossing the process boundary as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from attacks import ATTACKS, BENIGN, LIBRARIES, LIBRARY_ATTACKS, TOOLS

from sandboxes.local import LocalSandbox


@pytest.fixture(scope="module")
def sb() -> Iterator[LocalSandbox]:
    """One worker for the whole corpus: an attack that poisoned it would let later ones escape."""
    with LocalSandbox(timeout=3, grace=1) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def library_sb() -> Iterator[LocalSandbox]:
    for library in LIBRARIES:
        pytest.importorskip(library)
    # The first import of pandas or sympy takes a while on a busy machine.
    with LocalSandbox(timeout=30, grace=1, allowed_imports=LIBRARIES) as sandbox:
        yield sandbox


def _as_sent(value: Any) -> Any:
    """``value`` as JSON, with non-JSON parts as their ``repr`` (the corpus lists tuples as
    lists; the worker keeps tuples, so both sides are compared in this form)."""
    try:
        return json.loads(json.dumps(value, default=repr))
    except (TypeError, ValueError):
        return repr(value)


@pytest.mark.parametrize(
    ("code", "expected"), [(c, e) for _, c, e in BENIGN], ids=[i for i, *_ in BENIGN]
)
def test_ordinary_code_runs_unchanged(sb: LocalSandbox, code: str, expected: Any) -> None:
    sb.start()
    ex = sb.run(code)
    assert ex.error is None
    assert _as_sent(ex.value) == _as_sent(expected)


def _assert_contained(sandbox: LocalSandbox, code: str) -> None:
    sandbox.start(TOOLS)
    ex = sandbox.run(code)
    assert ex.value != "ESCAPED" and ex.final_answer != "ESCAPED", ex
    assert "ESCAPED" not in ex.stdout, ex
    assert sandbox.run("1 + 1").value == 2  # and the sandbox still works afterwards


@pytest.mark.parametrize("code", [c for _, c in ATTACKS], ids=[i for i, _ in ATTACKS])
def test_escape_attempt_fails(sb: LocalSandbox, code: str) -> None:
    _assert_contained(sb, code)


@pytest.mark.parametrize(
    "code", [c for _, c in LIBRARY_ATTACKS], ids=[i for i, _ in LIBRARY_ATTACKS]
)
def test_library_escape_attempt_fails(library_sb: LocalSandbox, code: str) -> None:
    _assert_contained(library_sb, code)
