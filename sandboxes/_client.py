"""The host side of the worker protocol (``sandboxes.worker``), shared by ``local`` and ``docker``.

A backend supplies ``spawn()``, which starts a worker and returns a ``Transport`` to it (e.g.
``sandboxes.local.PipeTransport``); ``WorkerClient`` does the rest: handshake, runs, tool calls,
timeouts, and restarts. The worker is untrusted: every message is size-capped, parsed as JSON only
and validated, and must carry the nonce of the request it answers (a fresh, unguessable one per
request, which only the worker's supervisor sees); anything else counts as a dead worker, which is
killed and replaced so that the next ``run`` works.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from sandboxes._ahead import DELAY, Ahead, later
from sandboxes.base import DEFAULT_MAX_OUTPUT, Execution, SandboxError
from sandboxes.worker import MAX_CONTAINERS, restore_tuples, too_many_containers

#: Longest line a worker may send; longer is a protocol violation (the worker keeps values < 1 MB).
MAX_LINE = 8 * 2**20
#: Deepest nesting of lists and dicts taken from a worker; deeper parts become ``TOO_DEEP``.
MAX_DEPTH = 100
TOO_DEEP = f"[nested deeper than {MAX_DEPTH} levels: not shown]"
_MAX_ERROR = 22_000  # the worker's MAX_ERROR plus the line of code it names
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
log = logging.getLogger("sandboxes")


class ProtocolError(Exception):
    """The worker broke the protocol (oversized line, bad JSON, unexpected message)."""


class Transport(Protocol):
    """A byte channel to one worker process.

    It may also offer ``exit_reason() -> str`` (how the worker ended, the tail of its stderr),
    which the client puts in its error messages after a crash, and ``start_options``, a dict
    added to the options of every ``start`` sent to this worker.
    """

    def send(self, line: bytes, timeout: float | None = None) -> None:
        """Write one JSON message plus ``b"\\n"``; ``OSError`` when the worker is gone, or
        doesn't read it within ``timeout`` seconds (``None``: the transport's own limit)."""
        ...

    def readline(self, timeout: float | None) -> bytes | None:
        """The next line; ``None`` on timeout, ``b""`` on EOF; ``ProtocolError`` if over the cap."""
        ...

    def kill(self) -> None:
        """Hard-stop the worker and release its resources; safe to call twice."""
        ...

    def abort(self) -> None:
        """Hard-stop the worker from any thread, leaving the channel open: a reader in another
        thread sees EOF (closing it under that reader could hand it a reused descriptor)."""
        ...


class _Lost(Exception):
    """The worker is gone or unusable; the message says why, for the code's ``Execution``."""


class WorkerClient:
    """Drives one worker over a ``Transport``: start-up, runs, host-side tools, recovery.

    ``options`` go into the worker's ``start`` message. The worker interrupts code itself at
    ``timeout``; if no result arrives by ``timeout + grace`` the worker is killed and respawned.
    One run at a time (a lock); usable from any thread and from async code (no signals).
    ``close()`` from another thread ends a run in progress. ``fresh_start``: a ``start`` after
    the worker has run code spawns a new worker, so that nothing code left in the old one's
    process (a patched runner, a thread) reaches the new session; once that has happened,
    the next session's worker is started ahead (``sandboxes._ahead``).
    """

    def __init__(
        self,
        spawn: Callable[[], Transport],
        *,
        timeout: float | None,
        grace: float = 2.0,
        options: dict[str, Any],
        start_timeout: float = 60.0,
        fresh_start: bool = False,
    ) -> None:
        self._spawn = spawn
        self._fresh_start = fresh_start
        self._ran = False  # whether the live worker has run code since it was spawned
        self.timeout = timeout
        self.grace = grace
        self.options = dict(options)
        self.start_timeout = start_timeout
        self._tools: dict[str, Callable[..., Any]] = {}
        self._live: list[Transport] = []  # the current worker, shared with the finalizer
        self._lock = threading.Lock()
        self._owner: int | None = None  # the thread holding the lock
        self._closing = False  # close() is ending a run in another thread
        self._runs = 0
        self._max_stdout = int(self.options.get("max_output") or DEFAULT_MAX_OUTPUT) + 1_000
        # the next session's worker, once a session has been renewed (see sandboxes._ahead)
        self._ahead = Ahead()
        weakref.finalize(self, _kill_all, self._live, self._ahead.held)

    @property
    def transport(self) -> Transport | None:
        """The live worker's transport, if one is running."""
        return self._live[0] if self._live else None

    def start(self, tools: Mapping[str, Callable[..., Any]] | None = None) -> None:
        """Fresh namespace with ``tools``; reuses a healthy worker, else spawns one."""
        with self._exclusive():
            self._tools = dict(tools or {})
            if self._live and self._fresh_start and self._ran:
                self._renew()
                return
            if self._live:
                try:
                    self._handshake(self._live[0])
                    return
                except (OSError, ProtocolError, SandboxError):
                    self._discard()
            self._spawn_worker()

    def run(self, code: str) -> Execution:
        """Run ``code`` in the worker; the worker's failures become the ``Execution``'s error."""
        with self._exclusive():
            t0 = time.perf_counter()
            if not self._live:
                self._spawn_worker()
            transport = self._live[0]
            self._ran = True
            self._runs += 1
            nonce = _nonce()
            message = {
                "op": "run",
                "nonce": nonce,
                "id": self._runs,
                "code": code,
                "timeout": self.timeout,
            }
            try:
                transport.send(_encode(message))
            except OSError:  # it died between runs: the code never reached it
                reason = self._discard()
                self._spawn_worker()
                error = (
                    f"SandboxRestarted: the sandbox worker had stopped ({reason}) and was "
                    "restarted, so all variables were lost; the code was not run, run it again"
                )
                return Execution(error=error, duration_s=time.perf_counter() - t0)
            try:
                return self._serve(transport, t0, nonce)
            except _Lost as lost:
                reason = self._discard()
                if self._closing:
                    error = "SandboxClosed: the sandbox was closed while the code ran"
                else:
                    self._spawn_worker()
                    error = str(lost).replace("{reason}", reason)
                    log.warning("sandbox worker restarted: %s", error.partition(":")[0])
                return Execution(error=error, duration_s=time.perf_counter() - t0)
            except BaseException:  # e.g. KeyboardInterrupt in a host tool: the run is abandoned
                self._discard()
                raise

    def close(self) -> None:
        """Kill the worker (ending a run in another thread); a later ``start`` or ``run`` spawns
        a new one."""
        self._check_reentry()
        if not self._lock.acquire(blocking=False):
            self._closing = True
            transport = self.transport
            if transport is not None:
                transport.abort()
            self._lock.acquire()
        try:
            self._ahead.cancel()
            self._discard()
            self._tools = {}
        finally:
            self._closing = False
            self._lock.release()

    # --- internals ------------------------------------------------------------------------

    def _check_reentry(self) -> None:
        if self._owner == threading.get_ident():
            raise SandboxError(
                "a tool of this sandbox used the sandbox itself (run, start or close), which "
                "would wait for itself forever; give the tool a sandbox of its own"
            )

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Hold the lock, refusing a tool's call back into its own sandbox (a deadlock)."""
        self._check_reentry()
        with self._lock:
            self._owner = threading.get_ident()
            try:
                yield
            finally:
                self._owner = None

    def _renew(self) -> None:
        """Retire the worker that ran code, for one that has run none: the worker started
        ahead if it is made and alive (with these tools it needs no message at all), else a
        new one; then start the next session's ahead."""
        transport = self._live.pop()
        getattr(transport, "retire", transport.kill)()
        spec = self._spec()
        taken = self._ahead.take(spec, self.start_timeout)
        if taken is not None and getattr(taken[0], "waiting", lambda: True)():
            self._live.append(taken[0])
            self._ran = False
            try:
                if not taken[1]:
                    self._handshake(taken[0])
            except (OSError, ProtocolError, SandboxError):
                self._discard()
                self._spawn_worker()
        else:
            if taken is not None:  # it died waiting
                taken[0].kill()
            self._spawn_worker()
        self._ahead.prepare(spec, self._start_ahead)

    def _spawn_worker(self) -> None:
        self._ran = False
        self._live.append(self._spawn())
        try:
            self._handshake(self._live[0])
        except (OSError, ProtocolError) as exc:
            reason = self._discard()
            raise SandboxError(f"the sandbox worker failed to start: {exc} ({reason})") from None
        except BaseException:
            self._discard()
            raise
        if (pin := getattr(self._live[0], "pin", None)) is not None:
            later(pin, DELAY)  # what killing or retiring it needs, found off this thread

    def _spec(self) -> dict[str, str]:
        """What a worker's ``start`` tells it of the tools: their names and descriptions."""
        return {name: _describe_tool(fn) for name, fn in self._tools.items()}

    def _start_ahead(self, tools: dict[str, str]) -> Transport:
        """A new worker, started with ``tools``, for the next session (on ``Ahead``'s thread)."""
        transport = self._spawn()
        try:
            self._handshake(transport, tools)
            getattr(transport, "pin", list)()  # what retiring it will need, found now
        except BaseException:
            transport.kill()
            raise
        return transport

    def _handshake(self, transport: Transport, tools: dict[str, str] | None = None) -> None:
        tools = self._spec() if tools is None else tools
        nonce = _nonce()
        options = {**self.options, **getattr(transport, "start_options", {})}
        options.pop("op", None)
        options.pop("nonce", None)
        # op and nonce first: the worker's supervisor strips the nonce without parsing
        transport.send(_encode({"op": "start", "nonce": nonce, **options, "tools": tools}))
        line = transport.readline(self.start_timeout)
        if line is None:
            raise SandboxError(
                f"the sandbox worker did not start within {self.start_timeout:g} s; "
                "check that the machine is not overloaded"
            )
        message = _decode(line) if line.endswith(b"\n") else None
        if message is not None and message.get("nonce") != nonce:
            raise ProtocolError("an answer without the request's nonce")
        if message is None or message.get("op") == "error":
            detail = message.get("error") if message else _exit_reason(transport)
            raise SandboxError(f"the sandbox worker failed to start: {str(detail)[:_MAX_ERROR]}")
        if message.get("op") != "ready":
            raise ProtocolError(f"expected 'ready', got {str(message.get('op'))[:50]!r}")

    def _serve(self, transport: Transport, t0: float, nonce: str) -> Execution:
        """Answer tool calls until the worker reports ``done``; raise ``_Lost`` if it can't.

        Past the deadline only a ``done`` already on its way is taken, so a worker that keeps
        sending can't hold the host beyond it.
        """
        deadline = None if self.timeout is None else t0 + self.timeout + self.grace
        while True:
            left = None if deadline is None else max(0.0, deadline - time.perf_counter())
            try:
                line = transport.readline(left)
                if line is None:
                    raise self._timed_out()
                if not line.endswith(b"\n"):
                    raise _Lost(
                        "SandboxCrashed: the sandbox worker died while running the code "
                        "({reason}); it was restarted, so all variables were lost"
                    )
                message = _decode(line)
                op = message.get("op")
                if message.get("nonce") != nonce:
                    raise ProtocolError("a message without the run's nonce")
                if op == "done":
                    if message.get("id") != self._runs:
                        raise ProtocolError("a result for another run")
                    execution = self._execution(message, t0)
                    left = message.get("threads_left")
                    if isinstance(left, int) and left > 0:
                        self._replace_after(execution, left)
                    return execution
                if op != "tool_call":
                    raise ProtocolError(f"unexpected message {str(op)[:50]!r}")
                if deadline is not None and time.perf_counter() >= deadline:
                    raise self._timed_out()
                self._call_tool(transport, message, deadline)
            except ProtocolError as exc:
                raise _Lost(
                    f"SandboxError: the sandbox worker broke the protocol ({exc}) and was "
                    "restarted, so all variables were lost"
                ) from None
            except OSError:
                raise _Lost(
                    "SandboxCrashed: the sandbox worker died while running the code "
                    "({reason}); it was restarted, so all variables were lost"
                ) from None

    def _replace_after(self, execution: Execution, threads: int) -> None:
        """The code left threads running in the worker (the supervisor counted them): they could
        answer for a later run, so the worker is replaced and the code is told."""
        self._discard()
        self._spawn_worker()
        note = (
            f"SandboxRestarted: the code left {threads} thread{'s' * (threads > 1)} running after "
            "it finished; the sandbox was restarted to end them, so all variables were lost "
            "(join the threads you start)"
        )
        execution.error = note if execution.error is None else f"{execution.error}\n{note}"

    def _timed_out(self) -> _Lost:
        assert self.timeout is not None
        return _Lost(
            f"TimeoutError: the code was stopped after {self.timeout + self.grace:g} s"
            f" (it did not yield to the interrupt at {self.timeout:g} s); the sandbox"
            " was restarted, so all variables were lost"
        )

    def _call_tool(
        self, transport: Transport, message: dict[str, Any], deadline: float | None
    ) -> None:
        call_id, name = message.get("id"), message.get("name")
        args, kwargs = message.get("args"), message.get("kwargs")
        if not (
            isinstance(call_id, int)
            and isinstance(name, str)
            and isinstance(args, list)
            and isinstance(kwargs, dict)
        ):
            raise ProtocolError("malformed tool_call")
        reply: dict[str, Any] = {"op": "tool_result", "id": call_id, "ok": False}
        fn = self._tools.get(name)
        if fn is None:
            reply.update(type="NameError", error=f"there is no tool named {name[:100]!r}")
        else:
            try:
                reply.update(ok=True, value=fn(*args, **kwargs))
            except Exception as exc:
                reply.update(ok=False, type=type(exc).__name__, error=_safe_str(exc))
        try:
            line = _encode(reply)
        except Exception:  # e.g. non-string keys, cycles, a __repr__ that raises
            line = _encode({**reply, "value": _safe_str(reply.get("value"), repr)})
        # The honest worker is waiting for this; one that doesn't read gets the run's time left.
        left = None if deadline is None else max(deadline - time.perf_counter(), 0.1)
        try:
            transport.send(line, left)
        except OSError:
            raise _Lost(
                f"SandboxError: the code made tool calls without taking their results (that of "
                f"{name[:100]} was not read in the run's time); the sandbox worker was restarted "
                "({reason}), so all variables were lost"
            ) from None

    def _execution(self, message: dict[str, Any], t0: float) -> Execution:
        stdout, error = message.get("stdout"), message.get("error")
        if not isinstance(stdout, str) or not isinstance(error, (str, type(None))):
            raise ProtocolError("malformed done")
        return Execution(
            stdout=stdout[: self._max_stdout],
            value=restore_tuples(message.get("value")),
            error=None if error is None else error[:_MAX_ERROR],
            is_final=message.get("is_final") is True,
            final_answer=restore_tuples(message.get("final_answer")),
            duration_s=time.perf_counter() - t0,
        )

    def _discard(self) -> str:
        """Kill the live worker (if any); returns how it ended, for error messages."""
        if not self._live:
            return "no worker"
        transport = self._live.pop()
        transport.kill()
        return _exit_reason(transport)


def _nonce() -> str:
    """An unguessable token for one request (128 bits from the OS's random source)."""
    return os.urandom(16).hex()


def _encode(message: dict[str, Any]) -> bytes:
    text = json.dumps(message, ensure_ascii=False, default=repr, separators=(",", ":"))
    return text.encode("utf-8", "surrogatepass") + b"\n"


def _decode(line: bytes) -> dict[str, Any]:
    """Parse one message from the worker: JSON only, an object with a string ``op``.

    What it holds is made harmless for whatever the host does with it later: invalid UTF-8
    and lone surrogates (which fail to print or save) become U+FFFD, and lists or dicts nested
    deeper than ``MAX_DEPTH`` (which exhaust the recursion limit of ``repr``, ``json.dump`` or
    ``dataclasses.asdict``) become ``TOO_DEEP``. The checks cost a scan unless a line needs them.
    """
    if too_many_containers(line):  # the worker sends none: it speaks for an escaped cell
        raise ProtocolError(f"a message with more than {MAX_CONTAINERS} lists and dicts")
    try:
        message = json.loads(line.decode("utf-8", "replace"))
    except (ValueError, RecursionError) as exc:  # bad JSON, nesting bombs, huge integers
        raise ProtocolError(f"invalid JSON: {str(exc)[:100]}") from None
    if not isinstance(message, dict) or not isinstance(message.get("op"), str):
        raise ProtocolError("a message is not an object with an 'op'")
    containers = line.count(b"[") + line.count(b"{")
    if containers > MAX_DEPTH or (b"\\u" in line and _SURROGATE_ESCAPE.search(line)):
        message = _harmless(message, MAX_DEPTH + 1)  # + 1: the message itself
    return message


def _harmless(value: Any, depth: int) -> Any:
    """``value`` with lone surrogates replaced and nesting cut at ``depth`` levels."""
    if isinstance(value, str):
        return _valid_text(value)
    if isinstance(value, (list, dict)) and depth <= 0:
        return TOO_DEEP
    if isinstance(value, list):
        return [_harmless(item, depth - 1) for item in value]
    if isinstance(value, dict):
        return {_valid_text(k): _harmless(v, depth - 1) for k, v in value.items()}
    return value


def _valid_text(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text)


def _safe_str(value: Any, convert: Callable[[Any], str] = str) -> str:
    """``str`` (or ``repr``) of a host object that may refuse; never raises."""
    try:
        return convert(value)
    except Exception:
        return f"<{type(value).__name__} object>"


def _describe_tool(fn: Callable[..., Any]) -> str:
    doc = getattr(fn, "description", None) or getattr(fn, "__doc__", None)
    return doc if isinstance(doc, str) else ""


def _exit_reason(transport: Transport) -> str:
    describe = getattr(transport, "exit_reason", None)
    return describe() if callable(describe) else "the worker process ended"


def _kill_all(*held: list[Transport]) -> None:
    for live in held:
        while live:
            live.pop().kill()
