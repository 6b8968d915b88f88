"""Finding a suite by name: ``builtin``, ``m3tooleval:PATH``, or a suite of your own."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from codeact.eval.task import Task


class SuiteError(ValueError):
    """A suite that cannot be found or loaded; the message says what to pass instead."""


def load_suite(spec: str) -> list[Task]:
    """The tasks of a suite.

    ``"builtin"`` is the suite shipped here; ``"m3tooleval:PATH"`` loads M3ToolEval from a
    checkout of its repository (https://github.com/xingyaoww/code-act); ``"module:name"``
    imports ``name`` from ``module`` (found from the current directory too): a list of ``Task``
    or a function returning one.
    """
    if spec == "builtin":
        from codeact.eval.builtin import tasks

        return tasks()
    if spec.startswith("m3tooleval:"):
        from codeact.eval.m3tooleval import load_m3tooleval

        return load_m3tooleval(spec.partition(":")[2])
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise SuiteError(
            f"unknown suite {spec!r}: use builtin, m3tooleval:PATH or module:name (a list of Task)"
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        found: Any = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise SuiteError(f"cannot load suite {spec!r}: {exc}") from None
    if callable(found):
        found = found()
    if not isinstance(found, (list, tuple)) or not all(isinstance(t, Task) for t in found):
        raise SuiteError(f"suite {spec!r} is not a list of codeact.eval.Task")
    return list(found)
