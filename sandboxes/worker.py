"""Run agent code cells: the execution core of every backend, and the worker program.

Standard library only, so this file runs in any image with ``python3``. ``Runner`` executes cells
in one persistent namespace (used in-process by ``inline``); ``main()`` serves a ``Runner`` over a
line-based JSON protocol (used by ``local`` and ``docker``), run as ``python -m sandboxes.worker``.
The program is two processes: a supervisor (``sandboxes.supervisor``) holds the host's channel,
and the cells run in its child (``serve_cells``), which has a socket of its own to the supervisor.

The protocol: one JSON object per line (UTF-8) on the worker's stdin (host to worker) and stdout
(worker to host). Nothing else the worker or the code writes reaches the host's stream.

Host to worker::

    {"op": "start", "nonce": str, "tools": {name: doc}, "restricted": bool,
     "allowed_imports": [...], "max_output": n, "memory_mb": n | null, "sys_path": [...],
     "workdir": path (optional)}                                     -> "ready" or "error"
    {"op": "run", "nonce": str, "id": n, "code": str, "timeout": seconds | null}
                                                                     -> "tool_call"*, then "done"
    {"op": "tool_result", "id": n, "ok": true, "value": ...}
    {"op": "tool_result", "id": n, "ok": false, "type": "ValueError", "error": "message"}

Worker to host, each with the ``nonce`` of the request it answers::

    {"op": "ready"}  |  {"op": "error", "error": str}                (answers to "start")
    {"op": "tool_call", "id": n, "name": str, "args": [...], "kwargs": {...}}
    {"op": "done", "id": n, "stdout": str, "value": ..., "error": str | null, "is_final": bool,
     "final_answer": ..., "duration_s": float}

The nonce is the host's proof that a message came through the supervisor: the cell process never
sees it (the supervisor removes it from requests and adds it to answers), and a message outside a
pending request ends the worker (see ``sandboxes.supervisor``). ``start`` may be sent again to
get a fresh namespace; limits and ``sys_path`` apply once per process. Tools are stubs that send
``tool_call`` and block for the matching ``tool_result``; an error result is raised in the code as
an exception of the same type name (a builtin exception class when one exists, else a
``RuntimeError`` subclass). Only JSON crosses: a value that is not JSON-serialisable (inside a
result, an argument or a tool's return) crosses as its ``repr`` string, and a value whose JSON
exceeds ``MAX_VALUE`` bytes crosses as a shortened ``repr``; an error message is cut at
``MAX_ERROR`` characters. ``done`` echoes the ``id`` of its ``run``. A ``tool_result`` whose ``id``
is not awaited is dropped: it answers a call the timeout interrupted. The worker stops the code
at ``timeout`` (SIGALRM); a host that gets no ``done`` in time kills it.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import contextvars
import gc
import io
import json
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

CELL_FILENAME = "<agent>"
MAX_VALUE = 1_000_000  # bytes of JSON per value in a "done" message; larger values cross as repr
MAX_ERROR = 20_000  # characters of an error message (`raise ValueError(huge)` must still cross)
#: Seconds between repeats of a timeout's interrupt: code that catches the first one on its way
#: out (a loop in ``__exit__`` or ``finally``) gets another.
REFIRE_S = 0.1
#: Lists and dicts one message may hold. ``{},`` is 3 bytes of JSON and ~64 bytes of objects once
#: parsed: without a count, a line under the size cap costs whoever parses it 20-50 times its size
#: (the host, the supervisor; N sandboxes at once N times that).
MAX_CONTAINERS = 100_000
#: Compiled cells a session keeps, by source text (a repeated cell skips the policy's compile).
_COMPILED_KEPT = 64
#: A JSON string, or an unterminated one to the end of the line: once a quote opens the match
#: cannot fail (nor backtrack), so a line of quotes that never close is one linear scan, not a
#: retry from each quote (that made such a line minutes of the supervisor's time).
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*(?:"|\\?\Z)', re.DOTALL)


class Policy(Protocol):
    """How a cell is compiled and which globals it sees (see ``sandboxes.policy``); it is told
    when cells run, so that the code it compiled refuses to run at any other time."""

    def compile(self, tree: ast.Module | ast.Expression, filename: str, mode: str) -> Any: ...

    def prepare(self, namespace: dict[str, Any]) -> None: ...

    def enter_cell(self) -> None: ...

    def leave_cell(self) -> None: ...


class _FinalAnswer(BaseException):
    """Ends the cell on ``final_answer``; a BaseException so ``except Exception`` misses it."""


class _Interrupted(BaseException):
    """Raised into the running cell when its time is up."""


#: The output of the cell running in this context, where ``sys.stdout`` and ``sys.stderr``
#: writes go while cells run (``_Routed``).
_CELL_OUTPUT: contextvars.ContextVar[_CappedOutput | None] = contextvars.ContextVar(
    "codeact_cell_output", default=None
)


class _Routed:
    """Stands in for ``sys.stdout`` or ``sys.stderr`` while cells run: what a cell writes
    through them (a library printing: ``DataFrame.info()``, sympy's ``vprint``, warnings) goes
    to the cell's output; writes of the host's own (other threads, other contexts) to the stream
    it replaced. Per context, not per process, so ``inline`` can route in a threaded host."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream  # private: a library that kept sys.stdout hands this out

    def _target(self) -> Any:
        return _CELL_OUTPUT.get() or self._stream

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)


def call_as_host(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call host code (a tool) from a cell with the host's own ``sys.stdout``/``sys.stderr``:
    what it prints is the host's, as when a tool runs in the host's process under ``local``."""
    token = _CELL_OUTPUT.set(None)
    try:
        return fn(*args, **kwargs)
    finally:
        _CELL_OUTPUT.reset(token)


_routing_lock = threading.Lock()
_routing_cells = 0


def _route_std_streams(on: bool) -> None:
    """Put ``_Routed`` in front of ``sys.stdout``/``sys.stderr`` while any cell runs (counted:
    sandboxes in several threads), and take it away after the last."""
    global _routing_cells
    with _routing_lock:
        _routing_cells += 1 if on else -1
        if _routing_cells != (1 if on else 0):
            return  # another cell runs: the streams are routed already, and stay so
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if on and not isinstance(stream, _Routed):
                setattr(sys, name, _Routed(stream))
            elif not on and isinstance(stream, _Routed):
                setattr(sys, name, stream._stream)


class _CappedOutput:
    """A text sink that keeps the first ``limit`` characters and counts the rest.

    It answers what libraries ask of ``sys.stdout`` before printing (``encoding``: sympy's
    ``pprint`` draws with Unicode only when the stream can take it)."""

    encoding = "utf-8"
    errors = "strict"

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

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise io.UnsupportedOperation("the sandbox's output has no file descriptor")

    def writable(self) -> bool:
        return True

    def getvalue(self) -> str:
        out = "".join(self.parts)
        if self.dropped:
            out += f"\n[output truncated: {self.dropped} more characters not shown]\n"
        return out


def format_error(exc: BaseException, source: str) -> str:
    """``Type: message`` plus the deepest line of the agent's own code that was running.

    The message, and a ``SyntaxError``'s ``lineno`` and ``text``, may be the code's own
    (``__str__``, properties): ``Runner`` calls this inside the cell's time limit, and whatever
    they raise gives a plain message instead of an error here."""
    kind = type(exc).__name__
    try:
        return _error_text(exc, source)
    except (_Interrupted, KeyboardInterrupt):
        raise
    except BaseException:
        return f"{str.__str__(kind) if isinstance(kind, str) else 'Exception'}: (no message)"


def _error_text(exc: BaseException, source: str) -> str:
    lines = source.splitlines()
    if isinstance(exc, SyntaxError):
        lineno, text = exc.lineno, exc.text
        message = f"{type(exc).__name__}: {exc.msg}"
    else:
        lineno, text, tb = None, None, exc.__traceback__
        message = f"{type(exc).__name__}: {exc}"
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == CELL_FILENAME:
                lineno = tb.tb_lineno
            tb = tb.tb_next
    if len(message) > MAX_ERROR:
        message = f"{message[:MAX_ERROR]}... [shortened from {len(message)} characters]"
    if lineno and not text and 0 < lineno <= len(lines):
        text = lines[lineno - 1]
    if lineno:
        message += f"\n  at line {lineno}: {str(text or '').strip()[:1000]}"
    return str.__str__(message)


class Runner:
    """Executes code cells in one namespace, capturing output, the last value and errors.

    ``policy`` restricts what the code may do (``None`` runs plain Python, for containers).
    ``interrupt`` is how a cell that overruns its time is stopped: ``"thread"`` raises into the
    calling thread (works from any thread, no signals), ``"signal"`` arms an interval timer whose
    SIGALRM raises in this process's main thread (no timer thread; also breaks blocking calls
    such as ``time.sleep``; the worker's main thread only). SIGINT interrupts the same way.
    ``plain_values`` turns the value and final answer into data (``plain_value``) while the
    cell's time limit still holds, so that nothing the code defined runs when they are printed
    or compared later, outside that limit. ``redirect_sys_stdout`` sends what a cell writes to
    ``sys.stdout`` and ``sys.stderr`` (libraries print there) to its output too, per context
    (``_Routed``): other threads of the host keep their streams.
    """

    def __init__(
        self,
        policy: Policy | None = None,
        *,
        max_output: int = 20_000,
        interrupt: str = "thread",
        redirect_sys_stdout: bool = False,
        plain_values: bool = False,
    ) -> None:
        self.policy = policy
        self.plain_values = plain_values
        self.max_output = max_output
        self.interrupt = interrupt
        self.redirect_sys_stdout = redirect_sys_stdout
        self.namespace: dict[str, Any] = {}
        self._compiled: dict[str, tuple[Any, Any]] = {}  # this session's cells, by source
        self._carried = _own_variables(_cell_context(self.namespace))
        self._out = _CappedOutput(max_output)
        self._final: tuple[bool, Any] = (False, None)
        self._finishing = False
        self._lock = threading.Lock()
        self._running = False
        self._fired = False
        self._thread_id = 0
        self._generation = 0  # which cell the watchdog is timing (a late fire spares the next)
        self._routing = False
        self._host_sigint = False  # a real SIGINT reached the host during the cell (thread mode)
        self._sigint_handler: Any = None  # the host's handler, while _arm has wrapped it
        if interrupt == "signal":
            signal.signal(signal.SIGINT, self._on_sigint)
            signal.signal(signal.SIGALRM, self._on_sigint)

    def start(self, tools: Mapping[str, Callable[..., Any]] | None = None) -> None:
        """Fresh namespace: builtins per policy, the tools, ``final_answer``, captured ``print``."""
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
        self._carried = _own_variables(_cell_context(ns))
        self._compiled = {}

    def run(self, code: str, timeout: float | None = None) -> dict[str, Any]:
        """Run one cell; returns the fields of ``sandboxes.Execution`` as a dict."""
        t0 = time.perf_counter()
        self._out = _CappedOutput(self.max_output)
        self._final = (False, None)
        value, error = None, None
        self._context = _next_context(self._carried)
        try:
            try:
                body, last = self._compile(code)
                self._arm(timeout)
                value, error = self._context.run(self._cell, body, last, code)
            finally:
                self._disarm()
        except _Interrupted:  # the time limit (or, in a worker, the host's interrupt)
            error = "KeyboardInterrupt: the code was interrupted"
            if timeout:
                error = f"TimeoutError: the code ran longer than {timeout:g} s and was interrupted"
        except KeyboardInterrupt:
            if self._host_sigint:
                raise  # inline: the cell runs in the host's thread, and this is the user's Ctrl-C
            error = "KeyboardInterrupt: the code raised KeyboardInterrupt"  # never its object
        except BaseException as exc:  # the compiler's verdict (a SyntaxError), the worker's own
            error = format_error(exc, code)
            del exc
        self._disarm()  # again: an interrupt may have landed inside the first call
        self._carried = _own_variables(self._context)
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

    def _cell(self, body: Any, last: Any, code: str) -> tuple[Any, str | None]:
        """The cell under its time limit: the code, and all of the code's that making the result
        runs (its exception's ``__str__``, a value's ``__repr__`` when ``plain_values``)."""
        value, error = None, None
        _CELL_OUTPUT.set(self._out)
        try:
            if body is not None:
                exec(body, self.namespace)
            if last is not None:
                value = eval(last, self.namespace)
        except _FinalAnswer:
            pass
        except _Interrupted:
            raise
        except KeyboardInterrupt as exc:
            if self._host_sigint:
                raise  # the user's Ctrl-C (inline): it leaves run(); the code's own does not
            value, error = None, format_error(exc, code)
            del exc
        except BaseException as exc:  # the code's own errors, SystemExit included
            value, error = None, format_error(exc, code)
            del exc
        if self.plain_values:
            self._finishing = True  # final_answer() from a __repr__ now would bring back objects
            try:
                is_final, answer = self._final
                if is_final:
                    self._final = (False, None)  # until its data is made
                    self._final = (True, plain_value(answer))
                value = plain_value(value)
            except (_Interrupted, KeyboardInterrupt):
                raise
            except BaseException as exc:  # a __repr__ that raises (json's default=repr)
                value, error = None, format_error(exc, code)
                del exc
            finally:
                self._finishing = False
        return value, error

    def _compile(self, code: str) -> tuple[Any, Any]:
        """The cell's statements and its last expression (if any), compiled by the policy.

        Compiled code is kept per session (``_compiled``), by source text: the same text
        compiled again by the same policy gives the same code (the policy's compile reads
        nothing but the tree and its own guard table), code objects are immutable, and the code
        can reach none (no ``__code__``, frames or ``co_consts``). So a cached cell carries
        nothing from its earlier run; the cache goes with the namespace at ``start``.
        """
        cached = self._compiled.get(code)
        if cached is not None:
            return cached
        tree = ast.parse(code, CELL_FILENAME, "exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        compile_ = self.policy.compile if self.policy is not None else _plain_compile
        body = compile_(tree, CELL_FILENAME, "exec") if tree.body or last is None else None
        compiled = body, (compile_(last, CELL_FILENAME, "eval") if last is not None else None)
        if len(self._compiled) >= _COMPILED_KEPT:
            del self._compiled[next(iter(self._compiled))]  # the oldest
        self._compiled[code] = compiled
        return compiled

    def _final_answer(self, answer: Any = None) -> None:
        """Finish the task with ``answer``."""
        if self._finishing:
            raise RuntimeError("final_answer() cannot be called while the cell's result is made")
        self._final = (True, answer)
        raise _FinalAnswer

    def _print(self, *args: Any, sep: str | None = " ", end: str | None = "\n", **_: Any) -> None:
        """Print to the captured output (``file=`` and ``flush=`` are accepted and ignored)."""
        builtins.print(*args, sep=sep, end=end, file=self._out)

    # --- timeouts -------------------------------------------------------------------------

    def _arm(self, timeout: float | None) -> None:
        self._fired = False
        self._thread_id = threading.get_ident()
        if self.redirect_sys_stdout and not self._routing:
            _route_std_streams(True)
            self._routing = True
        self._running = True
        self._host_sigint = False
        if self.interrupt == "thread":
            self._watch_sigint()
        if self.policy is not None:
            self.policy.enter_cell()
        if timeout and self.interrupt == "signal":
            signal.setitimer(signal.ITIMER_REAL, timeout, REFIRE_S)
        elif timeout:
            self._generation += 1
            _WATCHDOG.arm(self, timeout, self._generation)

    def _disarm(self) -> None:
        """Stop the timer and undo redirection; idempotent, safe to re-run after an interrupt."""
        self._running = False  # first, so a late signal handler no longer raises
        if self.policy is not None:
            self.policy.leave_cell()
        if self.interrupt == "signal":
            signal.setitimer(signal.ITIMER_REAL, 0)
        if self._routing:
            self._routing = False
            _route_std_streams(False)
        if self.interrupt == "thread":
            _WATCHDOG.disarm(self)
            self._unwatch_sigint()
        with self._lock:
            if self._fired and self.interrupt == "thread":
                import ctypes  # lazily: it adds ~3 ms to the worker's start-up

                # The interrupt may still be pending: clear it so it never hits the host's code.
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread_id), None)
                self._fired = False

    def _watch_sigint(self) -> None:
        """In ``"thread"`` mode the cell runs in the host's thread, where a Ctrl-C raises the
        host's ``KeyboardInterrupt``: wrap the host's SIGINT handler for the cell, to tell that
        one (which leaves ``run``) from a ``KeyboardInterrupt`` the code raised itself (the
        cell's error). Signals reach the main thread only, so elsewhere every one is the code's."""
        if self._sigint_handler is not None or threading.current_thread() is not (
            threading.main_thread()
        ):
            return
        handler = signal.getsignal(signal.SIGINT)
        if not callable(handler):
            return  # ignored or the default action: no KeyboardInterrupt comes from a signal

        def on_sigint(signum: int, frame: Any) -> Any:
            self._host_sigint = True
            return handler(signum, frame)

        self._sigint_handler = handler
        signal.signal(signal.SIGINT, on_sigint)

    def _unwatch_sigint(self) -> None:
        handler, self._sigint_handler = self._sigint_handler, None
        if handler is not None:
            signal.signal(signal.SIGINT, handler)

    def _fire(self, generation: int) -> None:
        """The watchdog's job in ``"thread"`` mode: raise ``_Interrupted`` in the cell (it
        calls again every ``REFIRE_S`` until the cell has ended)."""
        import ctypes

        with self._lock:
            if not self._running or generation != self._generation:
                return
            self._fired = True
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(self._thread_id), ctypes.py_object(_Interrupted)
            )

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self._running:
            raise _Interrupted


class _Watchdog:
    """One long-lived thread that interrupts the overrunning cells of every ``"thread"``-mode
    ``Runner`` in this process (``inline``): arming a cell is a dict entry, not a new timer
    thread, which cost more than a short cell itself. Disarming doesn't wake the thread; it may
    wake later for nothing, which is cheaper than waking it every cell."""

    def __init__(self) -> None:
        self._due: dict[Runner, tuple[float, int]] = {}  # runner -> (deadline, its cell)
        self._wake = threading.Condition()
        self._next = float("inf")  # when the thread looks next
        self._pid = 0  # the process the thread runs in (none in a forked child)

    def arm(self, runner: Runner, timeout: float, generation: int) -> None:
        deadline = time.monotonic() + timeout
        with self._wake:
            self._due[runner] = (deadline, generation)
            if self._pid != os.getpid():
                self._pid = os.getpid()
                threading.Thread(target=self._serve, name="sandbox-watchdog", daemon=True).start()
            elif deadline < self._next:
                self._wake.notify()

    def disarm(self, runner: Runner) -> None:
        with self._wake:
            self._due.pop(runner, None)

    def _serve(self) -> None:
        while True:
            with self._wake:
                now = time.monotonic()
                due = [(r, g) for r, (t, g) in self._due.items() if t <= now]
                for runner, generation in due:  # again every REFIRE_S, until it disarms
                    self._due[runner] = (now + REFIRE_S, generation)
                self._next = min((t for t, _ in self._due.values()), default=float("inf"))
                if not due:
                    wait = None if self._next == float("inf") else self._next - now
                    self._wake.wait(wait)
                    continue
            for runner, generation in due:  # outside the lock: _fire takes the runner's
                runner._fire(generation)


_WATCHDOG = _Watchdog()


def plain_value(value: Any) -> Any:
    """``value`` as JSON data (other objects inside it as their ``repr``); as a shortened
    ``repr`` when it is larger than ``MAX_VALUE`` bytes or not representable (cycles, keys).

    Tuples stay tuples: on the wire they are objects under ``TUPLE_KEY``, which the receiving
    side turns back with ``restore_tuples`` (the value as the host gets it, from any backend).
    """
    kind = type(value)
    if value is None or kind is bool or kind is int or kind is float:
        return value
    if kind is str and len(value) <= MAX_VALUE // 4:
        return value
    try:
        text = json.dumps(_tag_tuples(value), ensure_ascii=False, default=repr)
    except (TypeError, ValueError, RecursionError):
        return _short_repr(value)
    return json.loads(text) if len(text) <= MAX_VALUE else _short_repr(value)


#: The key under which a tuple crosses as JSON (``{TUPLE_KEY: [items]}``); no code's own dict
#: has a key starting with a NUL.
TUPLE_KEY = "\x00tuple"


def _tag_tuples(value: Any) -> Any:
    """A copy of ``value``'s lists, dicts and tuples with each tuple under ``TUPLE_KEY``.

    Iterative, so deep data is fine; more than ``MAX_VALUE`` parts (a cycle, or data whose JSON
    would be too large anyway) is a ``ValueError``.
    """
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(root, 0, value)]
    parts = 0
    while stack:
        target, key, item = stack.pop()
        parts += 1
        if parts > MAX_VALUE:
            raise ValueError("too many parts")
        kind = type(item)
        if kind is list or isinstance(item, tuple):
            copy: Any = [None] * len(item)
            target[key] = copy if kind is list else {TUPLE_KEY: copy}
            stack.extend((copy, i, v) for i, v in enumerate(item))
        elif kind is dict:
            copy = dict.fromkeys(item)  # the keys in order; the values are filled in below
            target[key] = copy
            stack.extend((copy, k, v) for k, v in item.items())
        else:
            target[key] = item
    return root[0]


def restore_tuples(value: Any) -> Any:
    """Data from ``plain_value`` with its tuples back (the only key of their object)."""
    if isinstance(value, list):
        return [restore_tuples(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1 and TUPLE_KEY in value and isinstance(value[TUPLE_KEY], list):
            return tuple(restore_tuples(v) for v in value[TUPLE_KEY])
        return {k: restore_tuples(v) for k, v in value.items()}
    return value


def _cell_context(namespace: dict[str, Any]) -> contextvars.Context:
    """The context the first cell of ``namespace`` runs in: the caller's context variables, with
    a ``decimal`` context of its own (``getcontext().prec = 2`` must not reach the host's)."""
    context = contextvars.copy_context()
    if "decimal" in sys.modules:  # not imported yet: the cells create their own anyway
        # Imported, not read from sys.modules: another thread may be importing it right now,
        # and the import waits for it to finish where sys.modules holds it half made.
        import decimal

        context.run(decimal.setcontext, decimal.Context())
    return context


def _own_variables(context: contextvars.Context) -> dict[contextvars.ContextVar[Any], Any]:
    """The context variables ``context`` holds that differ from the caller's: what the cells
    set (their decimal context), carried from one cell to the next."""
    caller = contextvars.copy_context()
    return {var: value for var, value in context.items() if caller.get(var, _UNSET) is not value}


def _next_context(carried: dict[contextvars.ContextVar[Any], Any]) -> contextvars.Context:
    """A cell's context: the caller's variables as they are now (so a tool the cell calls sees
    what its caller set, e.g. the agent's step), plus what the earlier cells set."""
    context = contextvars.copy_context()
    for var, value in carried.items():
        context.run(var.set, value)
    return context


_UNSET = object()


def _plain_compile(tree: ast.AST, filename: str, mode: str) -> Any:
    return compile(tree, filename, mode)


def _expose(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """Hand a tool to the code as a bare function, so the code cannot reach the tool object."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = getattr(fn, "description", None) or getattr(fn, "__doc__", None)
    return call


# --- the worker program -------------------------------------------------------------------------

_TIMER_SIGNALS = {signal.SIGALRM, signal.SIGINT}
_FSIZE_LIMIT = 64 * 2**20  # largest file the code may write (it has no `open` when restricted)
_NOFILE_LIMIT = 1024  # open descriptors: ordinary code needs few; each one is kernel memory
# Address space for shared libraries and allocator reservations on top of the code's memory_mb:
# importing numpy maps ~80 MB and its first matrix product reserves ~40 MB more, mostly untouched.
_LIBRARY_ALLOWANCE = 128 * 2**20
_limits_applied = False
_statm: int | None = None  # a descriptor of /proc/self/statm, kept where /proc is hidden


class _Channel:
    """The cell process's end of the protocol: its socket ``fd`` to the supervisor.

    Tool calls are made one at a time (a lock), so threads of the code that call tools at once
    wait for each other instead of reading each other's results.
    """

    def __init__(self, fd: int) -> None:
        self._in = os.fdopen(fd, "rb", closefd=False)
        self._out = fd
        self._last_call = 0
        self._pid = os.getpid()
        self._calling = threading.Lock()

    def _owner_only(self) -> None:
        """A process forked by the code (possible unrestricted, in a container) must never
        speak the protocol: it would answer for the worker. It just ends here."""
        if os.getpid() != self._pid:
            os._exit(0)

    def recv(self) -> dict[str, Any] | None:
        """The next message from the supervisor, or ``None`` when it has gone."""
        self._owner_only()
        line = self._in.readline()
        return json.loads(line) if line else None

    def send(self, message: dict[str, Any]) -> None:
        self.write(_encode(message))

    def write(self, data: bytes) -> None:
        self._owner_only()
        # Hold the timeout signal back so a line is never left half-written.
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _TIMER_SIGNALS)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._out, view) :]
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def call_tool(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run a tool on the host and return its result, or raise its error here."""
        self._last_call += 1
        call_id = self._last_call
        try:
            data = _encode(
                {"op": "tool_call", "id": call_id, "name": name, "args": args, "kwargs": kwargs}
            )
        except (TypeError, ValueError, RecursionError) as exc:
            raise TypeError(f"arguments of {name}() cannot be sent to the tool: {exc}") from None
        if len(data) > 4 * MAX_VALUE:
            raise ValueError(f"arguments of {name}() are too large to send ({len(data)} bytes)")
        if too_many_containers(data):
            raise ValueError(
                f"arguments of {name}() are too large to send"
                f" (more than {MAX_CONTAINERS} lists and dicts)"
            )
        with self._calling:
            self.write(data)
            while True:
                reply = self.recv()
                if reply is None:
                    os._exit(0)  # the host has gone; nobody is left to answer
                if reply.get("op") == "tool_result" and reply.get("id") == call_id:
                    break
        if reply.get("ok"):
            return reply.get("value")
        raise _tool_error(reply.get("type"), reply.get("error"))


def too_many_containers(line: bytes) -> bool:
    """Whether a JSON line holds more than ``MAX_CONTAINERS`` lists and dicts (brackets in its
    strings not counted); a count of bytes, then a scan only for lines that may."""
    if line.count(b"[") + line.count(b"{") <= MAX_CONTAINERS:
        return False
    bare = _JSON_STRING.sub(b"", line)
    return bare.count(b"[") + bare.count(b"{") > MAX_CONTAINERS


def _encode(message: dict[str, Any]) -> bytes:
    text = json.dumps(message, ensure_ascii=False, default=repr, separators=(",", ":"))
    return text.encode("utf-8", "surrogatepass") + b"\n"


def _short_repr(value: Any, limit: int = 10_000) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__} object>"
    if len(text) > limit:
        text = f"{text[:limit]}... [repr shortened from {len(text)} characters]"
    return text


def _tool_error(type_name: Any, message: Any) -> Exception:
    """An exception carrying a host tool's error, of the same type name as on the host."""
    name = type_name if isinstance(type_name, str) and type_name.isidentifier() else "ToolError"
    base = getattr(builtins, name, None)
    if not (isinstance(base, type) and issubclass(base, Exception)):
        base = RuntimeError
    text = str(message)
    cls = type(name, (base,), {"__str__": lambda self: text})
    try:
        return cls(text)
    except Exception:  # builtin exceptions with mandatory arguments (UnicodeDecodeError)
        return RuntimeError(f"{name}: {text}")


def _tool_stub(channel: _Channel, name: str, doc: str) -> Callable[..., Any]:
    def stub(*args: Any, **kwargs: Any) -> Any:
        return channel.call_tool(name, args, kwargs)

    stub.__name__ = stub.__qualname__ = name
    stub.__doc__ = doc
    return stub


def _address_space() -> int | None:
    """This process's current virtual memory size in bytes (Linux), the base for RLIMIT_AS."""
    try:
        if _statm is not None:  # /proc is hidden: read through the descriptor kept for this
            text = os.pread(_statm, 200, 0).decode()
        else:
            with open("/proc/self/statm") as f:
                text = f.read()
        return int(text.split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


#: The host's device nodes that the boundary (``bwrap --dev``) binds into its ``/dev``.
_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty")


#: Limits of the cell's own IPC namespace, set to nothing before ``/proc`` goes: the filter
#: refuses SysV and POSIX IPC objects already (kernel memory no rlimit counts), and a call
#: that slipped past it would find no room to make one (best effort: older kernels refuse
#: some of these writes from a user namespace).
_EMPTY_IPC = (
    ("/proc/sys/kernel/sem", "0 0 0 0"),
    ("/proc/sys/kernel/shmmni", "0"),
    ("/proc/sys/kernel/shmall", "0"),
    ("/proc/sys/kernel/msgmni", "0"),
    ("/proc/sys/fs/mqueue/queues_max", "0"),
)


def _private_files() -> None:
    """The cell process's own files under an OS boundary, in its own mount namespace: a fresh
    tmpfs as its working directory (``$TMPDIR``, normally ``/tmp``) and ``/dev/shm``, each
    sized, read-only device nodes, and an empty, read-only ``/proc``, which would otherwise
    list every process under the same boundary (other sandboxes' included). Its memory size
    stays readable through a descriptor opened before ``/proc`` went."""
    from sandboxes import _linux

    global _statm
    workdir = os.environ.get("TMPDIR") or "/tmp"
    _statm = os.open("/proc/self/statm", os.O_RDONLY)
    for path, size, inodes in ((workdir, "64m", 16384), ("/dev/shm", "16m", 1024)):
        if not _linux.mount_tmpfs(path, f"size={size},nr_inodes={inodes},mode=1777"):
            raise OSError(f"cannot mount a private {path}")
    for node in _DEVICES:  # binds of the host's nodes: a chmod of one would reach the host's
        if os.path.ismount(node) and not _linux.remount_read_only(node):
            raise OSError(f"cannot make {node} read-only")
    for path, value in _EMPTY_IPC:  # the cell's own IPC namespace: nothing to allocate in it
        with contextlib.suppress(OSError), open(path, "w") as sysctl:
            sysctl.write(value)
    if not _linux.mount_tmpfs("/proc", "size=4k,mode=555", read_only=True):
        raise OSError("cannot hide /proc")
    # bwrap's one devpts serves every sandbox of a fork server: a pty made in one could be
    # opened by a sibling (same uid), and its ptys come from the machine's pool of ~3000
    # (`kernel.pty.max`), which one sandbox could take from every container on the host.
    if os.path.ismount("/dev/pts") and not _linux.mount_tmpfs(
        "/dev/pts", "size=4k,mode=555", read_only=True
    ):
        raise OSError("cannot hide /dev/pts")
    os.chdir(workdir)


def _apply_limits(memory_mb: int | None) -> None:
    """No core dumps, small files, and an address space of today's size plus ``memory_mb``."""
    global _limits_applied
    if _limits_applied:
        return
    _limits_applied = True
    try:
        import resource
    except ImportError:  # not POSIX: nothing to apply
        return

    def lower(kind: int, limit: int) -> None:
        soft, hard = resource.getrlimit(kind)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(kind, (limit, limit))

    lower(resource.RLIMIT_CORE, 0)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead
    lower(resource.RLIMIT_FSIZE, _FSIZE_LIMIT)
    lower(resource.RLIMIT_NOFILE, _NOFILE_LIMIT)
    base = _address_space()
    if memory_mb and base is not None:
        lower(resource.RLIMIT_AS, base + _LIBRARY_ALLOWANCE + int(memory_mb) * 2**20)


def _start(message: dict[str, Any], channel: _Channel, *, limits: bool = True) -> Runner:
    """A runner with a fresh namespace, once the caller has dropped the last one.

    The last namespace is collected here (its memory goes now, not in some later cell; what it
    left suspended is closed outside any cell, so its cleanup code does not run); then what
    survives (modules, caches) is frozen out of the collector's sight, so that the next
    collection walks only what the cells made since, not every module's objects.
    """
    for path in reversed(message.get("sys_path") or []):
        if path not in sys.path:
            sys.path.insert(0, path)
    workdir = message.get("workdir")
    if workdir and os.getcwd() != workdir:  # the host's directory for this sandbox
        os.chdir(workdir)
        os.environ["HOME"] = os.environ["TMPDIR"] = workdir
    policy = None
    if message.get("restricted"):
        from sandboxes.policy import RestrictedPolicy
    gc.collect()
    gc.freeze()
    if message.get("restricted"):
        policy = RestrictedPolicy(message.get("allowed_imports") or ())
    if limits:
        _apply_limits(message.get("memory_mb"))
    runner = Runner(
        policy,
        max_output=int(message.get("max_output") or 20_000),
        interrupt="signal",
        redirect_sys_stdout=True,
        plain_values=True,
    )
    tools = message.get("tools") or {}
    runner.start({name: _tool_stub(channel, name, doc) for name, doc in tools.items()})
    return runner


def _send_done(channel: _Channel, result: dict[str, Any], run_id: Any) -> None:
    """Send a run's result; values that are not JSON, or too large, go as a short ``repr``."""
    message = {"op": "done", "id": run_id, **result}
    try:
        data = _encode(message)
        fits = len(data) <= MAX_VALUE + 4 * len(result["stdout"]) + 1000
        if fits and not too_many_containers(data):
            channel.write(data)
            return
    except (TypeError, ValueError, RecursionError):
        pass
    for key in ("value", "final_answer"):
        try:
            value = _encode({"v": result[key]})
            if len(value) <= MAX_VALUE and not too_many_containers(value):
                continue
        except (TypeError, ValueError, RecursionError):
            pass
        message[key] = _short_repr(result[key])
    channel.send(message)


def _exit_when_orphaned(interval: float = 1.0) -> None:
    """End this process once its parent is gone, where the kernel cannot do it
    (``PR_SET_PDEATHSIG`` is Linux only): a supervisor killed outright never closes the socket
    of a child busy in code without a timeout, which would otherwise run on forever."""
    parent = os.getppid()

    def watch() -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, _TIMER_SIGNALS)  # they must break the code's waits
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(0)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


def serve_cells(fd: int, *, warm_up: bool = False) -> None:
    """The cell process: serve the protocol to the supervisor on socket ``fd`` until it goes.
    ``warm_up``: first run a fixed cell in a throwaway namespace (``_warm_up``)."""
    if not sys.platform.startswith("linux"):
        _exit_when_orphaned()
    if warm_up:
        _warm_up()
    channel = _Channel(fd)
    runner: Runner | None = None
    init = os.getpid() == 1  # init of its own pid namespace: nothing outlives a run
    # docker: the supervisor, as the container's init, kills what a run left; the cell, their
    # parent, takes their pids back before the next run
    reaps = os.getppid() == 1
    while True:
        message = channel.recv()
        if message is None:
            os._exit(0)
        op = message.get("op")
        cleared = False
        try:
            if op == "start":
                runner = None
                runner = _start(message, channel)
                channel.send({"op": "ready"})
            elif op == "run":
                if runner is None:
                    runner = _start({}, channel)
                if reaps:
                    _reap_dead_children()
                result = runner.run(message["code"], message.get("timeout"))
                if init:
                    _kill_the_rest()
                    cleared = True  # nothing of the code's runs after its result is made
                _send_done(channel, result, message.get("id"))
        except Exception as exc:  # the worker's own trouble (MemoryError, a bad start): report it
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
            if op == "run":
                done = {"op": "done", "id": message.get("id"), "stdout": "", "error": error}
                channel.send({**done, "duration_s": 0.0})
            else:
                channel.send({"op": "error", "error": error})
        # any other op (a late "tool_result" for an interrupted call) is dropped
        if init and not cleared:
            _kill_the_rest()


def _warm_up() -> None:
    """Start a throwaway namespace, run one fixed cell in it and make its answer, then drop it.

    A cell process forked from the fork server shares its pages until it writes them; the first
    start, compile, run and answer of a fresh fork spend milliseconds copying pages. A spare
    waiting for its sandbox pays that here instead, before anything of a sandbox reaches it
    (limits are not applied: they are the sandbox's). The sandbox gets a new policy and
    namespace at its own ``start``, as always.
    """
    sink = _Sink()
    runner = _start({"restricted": True, "op": "start"}, sink, limits=False)  # type: ignore[arg-type]
    result = runner.run("values = [n * 2 for n in range(3)]\nprint(values)\nvalues[0] + 1", 30)
    _send_done(sink, result, 1)  # type: ignore[arg-type]
    json.loads(b'{"op":"run","id":1,"code":"1 + 1","timeout":30.0}')
    del runner, result
    gc.collect()


class _Sink:
    """A channel that keeps nothing, for ``_warm_up``."""

    def write(self, data: bytes) -> None:
        pass

    def send(self, message: dict[str, Any]) -> None:
        _encode(message)


def _reap_dead_children() -> None:
    """Reap this process's children that have ended. Unreaped, each process a run left (which
    its supervisor then killed) would hold one of the container's few pids for good."""
    from sandboxes import _linux

    for _ in _linux.reap_ended():
        pass


def _kill_the_rest() -> None:
    """As init of a pid namespace: SIGKILL every other process in it (``kill(-1)`` reaches
    them all, however they detached) and reap them, until none is left."""
    for _ in range(100):
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:  # nobody left to signal
            return
        except OSError:
            return
        with contextlib.suppress(ChildProcessError):
            while True:
                os.waitpid(-1, 0)


def main(host_in: int = 0, host_out: int = 1, *, private: bool = False) -> None:
    """The worker program on ``host_in``/``host_out`` (stdin and stdout): a supervisor, with the
    cells in its child. ``private``: the child gets namespaces of its own for its files, IPC,
    host name and network too (``_private_files``), as it does under the ``local`` backend's
    OS boundary (``OSError`` when the kernel refuses them)."""
    from sandboxes import _linux
    from sandboxes.supervisor import Supervisor

    if not private:
        Supervisor(host_in, host_out, serve_cells).serve()
    Supervisor(
        host_in,
        host_out,
        serve_cells,
        namespaces=_linux.PRIVATE,
        prepare=_private_files,
        seccomp="local",
    ).serve()


if __name__ == "__main__":
    main()
