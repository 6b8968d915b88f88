"""The ``inline`` backend: restricted execution in the host process, for trusted code and tests.

Fastest, but it shares the host's memory and CPU: there is no memory limit, and a C call that
never returns to the interpreter cannot be interrupted. The policy here refuses the ones whose
cost their arguments show (``10**10**8``, ``math.factorial(10**7)``, ``pbkdf2_hmac`` with 10**9
rounds: ``policy/caps.py``); the others (``sum(range(10**13))``, a catastrophic regular
expression, ``decimal`` at huge precision, a huge matrix inversion) hang the host. Use ``local``
(the default everywhere) for untrusted code: its worker is killed and restarted when it
overruns. Tools get and return data, as under ``local`` and ``docker``: JSON values, other
objects as their ``repr``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from sandboxes.base import (
    DEFAULT_MAX_OUTPUT,
    DEFAULT_TIMEOUT,
    Execution,
    Sandbox,
    SandboxError,
    check_importable,
)
from sandboxes.policy import RestrictedPolicy
from sandboxes.worker import (
    MAX_ERROR,
    MAX_VALUE,
    Runner,
    _tool_error,
    call_as_host,
    restore_tuples,
)


class InlineSandbox(Sandbox):
    """Runs code with the restricted policy in this process; tools are called directly.

    One cell at a time: runs from several threads (two runs of one agent at once) take turns,
    as under ``local``; a tool that runs code in its own sandbox is refused with an error, since
    it would clobber the cell that called it.
    """

    def __init__(
        self,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        allowed_imports: Iterable[str] = (),
        max_output: int = DEFAULT_MAX_OUTPUT,
        memory_mb: int | None = None,  # accepted for a uniform API; not enforceable in-process
    ) -> None:
        self.timeout = timeout
        self._imports = check_importable(allowed_imports)
        self._runner = Runner(
            RestrictedPolicy(self._imports, cap_c_calls=True),
            max_output=max_output,
            redirect_sys_stdout=True,
            plain_values=True,
        )
        self._started = False
        self._retired = False
        # a sandbox dropped without close() lets go of what its code made all the same
        weakref.finalize(self, _retire, self._runner)
        self._lock = threading.Lock()
        self._owner: int | None = None  # the thread running a cell

    @property
    def importable(self) -> frozenset[str]:
        """The modules the code may import (the safe default set plus ``allowed_imports``)."""
        return self._runner.policy.allowed_imports  # type: ignore[union-attr]

    def start(self, tools: Mapping[str, Callable[..., Any]] | None = None) -> None:
        with self._exclusive():
            self._renew()
            self._runner.start({name: _data_tool(name, fn) for name, fn in (tools or {}).items()})
            self._started = True

    def run(self, code: str) -> Execution:
        with self._exclusive():
            if not self._started:
                self._renew()
                self._runner.start()
                self._started = True
            result = self._runner.run(code, self.timeout)
        result["value"] = restore_tuples(result["value"])
        result["final_answer"] = restore_tuples(result["final_answer"])
        return Execution(**result)

    def close(self) -> None:
        _retire(self._runner)
        self._started = False
        self._retired = True

    def _renew(self) -> None:
        """A policy of its own again after ``close`` (which retired the old one's guards)."""
        if self._retired:
            self._runner.policy = RestrictedPolicy(self._imports, cap_c_calls=True)
            self._retired = False

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        if self._owner == threading.get_ident():
            raise SandboxError(
                "a tool of this sandbox used the sandbox itself (run or start), which would "
                "overwrite the cell that called it; give the tool a sandbox of its own"
            )
        with self._lock:
            self._owner = threading.get_ident()
            try:
                yield
            finally:
                self._owner = None


def _retire(runner: Runner) -> None:
    """Let go of a session: its namespace, and its policy's guards (``RestrictedPolicy.retire``:
    what keeps a closed sandbox's objects alive otherwise)."""
    runner.namespace = {}
    runner.policy.retire()  # type: ignore[union-attr]


def _data_tool(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` as the code gets it under every backend: it is called with data made from the
    code's arguments (here, inside the cell's time limit: the code's ``__repr__`` runs now, never
    later in the tool), returns data, and its errors come as the same kind of exception the
    worker raises, with the message only (no host objects in ``args`` or a traceback)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            text = json.dumps([args, kwargs], ensure_ascii=False, default=repr)
        except (TypeError, ValueError, RecursionError) as exc:
            raise TypeError(f"arguments of {name}() cannot be sent to the tool: {exc}") from None
        if len(text) > 4 * MAX_VALUE:
            raise ValueError(f"arguments of {name}() are too large to send ({len(text)} bytes)")
        data_args, data_kwargs = json.loads(text)
        error = None
        try:
            result = call_as_host(fn, *data_args, **data_kwargs)
        except Exception as exc:
            error = _tool_error(type(exc).__name__, _message(exc))
        if error is not None:  # raised here, not in the except: no __context__ to the host's
            raise error
        try:
            return json.loads(json.dumps(result, ensure_ascii=False, default=repr))
        except Exception:  # cycles, keys that are not strings, a __repr__ that raises
            return _message(result, repr)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = getattr(fn, "description", None) or getattr(fn, "__doc__", None)
    return call


def _message(value: Any, convert: Callable[[Any], str] = str) -> str:
    try:
        return convert(value)[:MAX_ERROR]
    except Exception:
        return f"<{type(value).__name__} object>"
