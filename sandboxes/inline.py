"""The ``inline`` backend: restricted execution in the host process.

Fastest, and used by tests; the code shares the host's memory and CPU, so a C call that never
returns (``10**10**8``) cannot be interrupted here. Use ``local`` for untrusted code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sandboxes.base import (
    DEFAULT_MAX_OUTPUT,
    DEFAULT_TIMEOUT,
    Execution,
    Sandbox,
    check_importable,
)
from sandboxes.policy import RestrictedPolicy
from sandboxes.worker import Runner, restore_tuples


class InlineSandbox(Sandbox):
    """Runs code with the restricted policy in this process; tools are called directly."""

    def __init__(
        self,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        allowed_imports: Iterable[str] = (),
        max_output: int = DEFAULT_MAX_OUTPUT,
        memory_mb: int | None = None,  # accepted for a uniform API; not enforceable in-process
    ) -> None:
        self.timeout = timeout
        self._runner = Runner(
            RestrictedPolicy(check_importable(allowed_imports)),
            max_output=max_output,
            plain_values=True,
        )
        self._started = False

    @property
    def importable(self) -> frozenset[str]:
        """The modules the code may import (the safe default set plus ``allowed_imports``)."""
        return self._runner.policy.allowed_imports  # type: ignore[union-attr]

    def start(self, tools: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self._runner.start(tools)
        self._started = True

    def run(self, code: str) -> Execution:
        if not self._started:
            self.start()
        result = self._runner.run(code, self.timeout)
        result["value"] = restore_tuples(result["value"])
        result["final_answer"] = restore_tuples(result["final_answer"])
        return Execution(**result)

    def close(self) -> None:
        self._runner.namespace = {}
        self._started = False
