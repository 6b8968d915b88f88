"""Run agent code cells: the execution core of every backend, and the worker program.

Standard library only, so this file runs in any image with ``python3``. ``Runner`` executes cells
in one persistent namespace (used in-process by ``inline``); ``main()`` serves a ``Runner`` over a
line-based JSON protocol (used by ``local`` and ``docker``). The protocol is documented on
``main``.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import ctypes
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

CELL_FILENAME = "<agent>"


class Policy(Protocol):
    """How a cell is compiled and which globals it sees (see ``sandboxes.policy``)."""

    def compile(self, tree: ast.Module | ast.Expression, filename: str, mode: str) -> Any: ...

    def prepare(self, namespace: dict[str, Any]) -> None: ...


class _FinalAnswer(BaseException):
    """Raised by ``final_answer`` to stop the cell; a BaseException so ``except Exception`` won't eat it."""


class _Interrupted(BaseException):
    """Raised into the running cell when its time is up."""


class _CappedOutput:
    """A text sink that keeps the first ``limit`` characters and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.kept = 0
        self.dropped = 0

    def write(self, text: str) -> int:
        text = str(text)
        room = self.limit - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def flush(self) -> None:
        pass

    def getvalue(self) -> str:
        out = "".join(self.parts)
        if self.dropped:
            out += f"\n[output truncated: {self.dropped} more characters not shown]\n"
        return out


def format_error(exc: BaseException, source: str) -> str:
    """``Type: message`` plus the deepest line of the agent's own code that was running."""
    message = f"{type(exc).__name__}: {exc}"
    lines = source.splitlines()
    if isinstance(exc, SyntaxError):
        lineno, text = exc.lineno, exc.text
        message = f"{type(exc).__name__}: {exc.msg}"
    else:
        lineno, text, tb = None, None, exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == CELL_FILENAME:
                lineno = tb.tb_lineno
            tb = tb.tb_next
    if lineno and not text and 0 < lineno <= len(lines):
        text = lines[lineno - 1]
    if lineno:
        message += f"\n  at line {lineno}: {(text or '').strip()}"
    return message


class Runner:
    """Executes code cells in one namespace, capturing output, the last value and errors.

    ``policy`` restricts what the code may do (``None`` runs plain Python, for containers).
    ``interrupt`` is how a cell that overruns its time is stopped: ``"thread"`` raises into the
    calling thread (works from any thread, no signals), ``"signal"`` sends SIGINT to this process
    (also breaks blocking calls such as ``time.sleep``; the worker's main thread only).
    """

    def __init__(
        self,
        policy: Policy | None = None,
        *,
        max_output: int = 20_000,
        interrupt: str = "thread",
        redirect_sys_stdout: bool = False,
    ) -> None:
        self.policy = policy
        self.max_output = max_output
        self.interrupt = interrupt
        self.redirect_sys_stdout = redirect_sys_stdout
        self.namespace: dict[str, Any] = {}
        self._out = _CappedOutput(max_output)
        self._final: tuple[bool, Any] = (False, None)
        self._lock = threading.Lock()
        self._running = False
        self._fired = False
        self._thread_id = 0
        self._timer: threading.Timer | None = None
        self._redirect: contextlib.redirect_stdout[Any] | None = None
        if interrupt == "signal":
            signal.signal(signal.SIGINT, self._on_sigint)

    def start(self, tools: Mapping[str, Callable[..., Any]] | None = None) -> None:
        """Fresh namespace: builtins per policy, the tools, ``final_answer`` and captured ``print``."""
        ns: dict[str, Any] = {"__name__": "__main__"}
        if self.policy is not None:
            self.policy.prepare(ns)
        else:
            ns["__builtins__"] = builtins
        for name, fn in (tools or {}).items():
            ns[name] = _expose(name, fn)
        ns["final_answer"] = self._final_answer
        ns["print"] = self._print
        self.namespace = ns

    def run(self, code: str, timeout: float | None = None) -> dict[str, Any]:
        """Run one cell; returns the fields of ``sandboxes.Execution`` as a dict."""
        t0 = time.perf_counter()
        self._out = _CappedOutput(self.max_output)
        self._final = (False, None)
        value, error = None, None
        try:
            try:
                body, last = self._compile(code)
                self._arm(timeout)
                exec(body, self.namespace)
                if last is not None:
                    value = eval(last, self.namespace)
            finally:
                self._disarm()
        except _FinalAnswer:
            pass
        except (_Interrupted, KeyboardInterrupt):
            error = f"TimeoutError: the code ran longer than {timeout:g} s and was interrupted"
        except BaseException as exc:  # the code's own errors, SystemExit included
            error = format_error(exc, code)
            del exc
        self._disarm()  # again: an interrupt may have landed inside the first call
        is_final, answer = self._final
        if is_final:
            error, value = None, None
        return {
            "stdout": self._out.getvalue(),
            "value": value,
            "error": error,
            "is_final": is_final,
            "final_answer": answer,
            "duration_s": time.perf_counter() - t0,
        }

    def _compile(self, code: str) -> tuple[Any, Any]:
        tree = ast.parse(code, CELL_FILENAME, "exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        compile_ = self.policy.compile if self.policy is not None else _plain_compile
        body = compile_(tree, CELL_FILENAME, "exec")
        return body, (compile_(last, CELL_FILENAME, "eval") if last is not None else None)

    def _final_answer(self, answer: Any = None) -> None:
        """Finish the task with ``answer``."""
        self._final = (True, answer)
        raise _FinalAnswer

    def _print(self, *args: Any, sep: str | None = " ", end: str | None = "\n", **_: Any) -> None:
        """Print to the captured output (``file=`` and ``flush=`` are accepted and ignored)."""
        builtins.print(*args, sep=sep, end=end, file=self._out)

    # --- timeouts -------------------------------------------------------------------------

    def _arm(self, timeout: float | None) -> None:
        self._fired = False
        self._thread_id = threading.get_ident()
        if self.redirect_sys_stdout:
            self._redirect = contextlib.redirect_stdout(self._out)
            self._redirect.__enter__()
        if timeout:
            self._timer = threading.Timer(timeout, self._fire)
            self._timer.daemon = True
            self._timer.start()
        self._running = True

    def _disarm(self) -> None:
        """Stop the timer and undo redirection; idempotent, and safe to re-run after an interrupt."""
        self._running = False  # first, so a late signal handler no longer raises
        if self._redirect is not None:
            self._redirect.__exit__(None, None, None)
            self._redirect = None
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._fired and self.interrupt == "thread":
                # The interrupt may still be pending: clear it so it never hits the host's code.
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread_id), None)
                self._fired = False

    def _fire(self) -> None:
        with self._lock:
            if not self._running:
                return
            self._fired = True
            if self.interrupt == "signal":
                os.kill(os.getpid(), signal.SIGINT)
            else:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(self._thread_id), ctypes.py_object(_Interrupted)
                )

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self._running:
            raise _Interrupted


def _plain_compile(tree: ast.AST, filename: str, mode: str) -> Any:
    return compile(tree, filename, mode)


def _expose(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """Hand a tool to the code as a bare function, so the code cannot reach the tool object."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = getattr(fn, "description", None) or getattr(fn, "__doc__", None)
    return call
