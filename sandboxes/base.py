"""The sandbox protocol: what every backend offers and what one run returns."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

#: Default limits shared by all backends.
DEFAULT_TIMEOUT = 30.0
DEFAULT_MEMORY_MB = 512
DEFAULT_MAX_OUTPUT = 20_000


@dataclass
class Execution:
    """The result of running one code snippet.

    ``value`` is the value of the last expression (``None`` when the code ends with a
    statement) as data, the same from every backend: JSON types as they are, any other object
    (also inside lists and dicts) as its ``repr``. ``error`` is ``"Type: message"`` plus the
    offending line of the agent's code, or ``None``. ``final_answer`` is set (as data too) when
    the code called ``final_answer(x)``.
    """

    stdout: str = ""
    value: Any = None
    error: str | None = None
    is_final: bool = False
    final_answer: Any = None
    duration_s: float = 0.0


class SandboxError(RuntimeError):
    """The sandbox itself cannot work (no engine, missing image, dead worker), not the code."""


@runtime_checkable
class Sandbox(Protocol):
    """Runs code snippets in one persistent namespace where ``tools`` are callable globals.

    Backends subclass this to inherit the context-manager methods. They also say which modules
    the code may import, as ``importable`` (a set, or ``None`` for whatever is installed), which
    the agent's prompt lists; a sandbox of your own may leave it out.
    """

    def start(self, tools: Mapping[str, Callable[..., Any]] | None = None) -> None:
        """Prepare a fresh namespace with ``tools`` as globals (idempotent for the same tools)."""
        ...

    def run(self, code: str) -> Execution:
        """Run ``code``; variables persist between calls. Never raises for the code's errors."""
        ...

    def close(self) -> None:
        """Release processes and containers; safe to call twice."""
        ...

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_importable(names: Iterable[str]) -> list[str]:
    """``names`` as a list, after checking each is installed here; a ``ValueError`` naming the
    first that is not (a typo in ``allowed_imports`` fails at construction, not in a run)."""
    import importlib.util

    names = list(names)
    for name in names:
        top = name.partition(".")[0]
        try:
            found = bool(top) and importlib.util.find_spec(top) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise ValueError(
                f"allowed_imports names {name!r}, but no module {top!r} is installed for "
                f"{sys.executable}; install it or leave it out"
            )
    return names


_BACKENDS = {
    "inline": "sandboxes.inline:InlineSandbox",
    "local": "sandboxes.local:LocalSandbox",
    "docker": "sandboxes.docker:DockerSandbox",
}


def make_sandbox(kind: str, **options: Any) -> Sandbox:
    """Build a sandbox by backend name: ``"inline"``, ``"local"`` or ``"docker"``.

    Options (``timeout``, ``memory_mb``, ``allowed_imports``, ``max_output``, and backend
    specific ones such as ``image``) are passed to the backend's constructor.
    """
    if kind not in _BACKENDS:
        known = ", ".join(sorted(_BACKENDS))
        raise ValueError(f"unknown sandbox {kind!r}; choose one of: {known}")
    module_name, _, class_name = _BACKENDS[kind].partition(":")
    backend = getattr(importlib.import_module(module_name), class_name)
    return backend(**options)
