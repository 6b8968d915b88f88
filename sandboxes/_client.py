"""The host side of the worker protocol (``sandboxes.worker``), shared by ``local`` and ``docker``.

A backend supplies ``spawn()``, which starts a worker and returns a ``Transport`` to it (e.g.
``sandboxes.local.PipeTransport``); ``WorkerClient`` does the rest: handshake, runs, tool calls,
timeouts, and restarts. The worker is untrusted: every message is size-capped, parsed as JSON only
and validated; anything else counts as a dead worker, which is killed and replaced so that the
next ``run`` works.
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from sandboxes.base import DEFAULT_MAX_OUTPUT, Execution, SandboxError

#: Longest line a worker may send; longer is a protocol violation (the worker keeps values < 1 MB).
MAX_LINE = 8 * 2**20
_MAX_ERROR = 20_000


class ProtocolError(Exception):
    """The worker broke the protocol (oversized line, bad JSON, unexpected message)."""


class Transport(Protocol):
    """A byte channel to one worker process.

    It may also offer ``exit_reason() -> str`` (how the worker ended, the tail of its stderr),
    which the client puts in its error messages after a crash.
    """

    def send(self, line: bytes) -> None:
        """Write one JSON message plus ``b"\\n"``; raises ``OSError`` when the worker is gone."""
        ...

    def readline(self, timeout: float | None) -> bytes | None:
        """The next line; ``None`` on timeout, ``b""`` on EOF; ``ProtocolError`` if over the cap."""
        ...

    def kill(self) -> None:
        """Hard-stop the worker and release its resources; safe to call twice."""
        ...


class _Lost(Exception):
    """The worker is gone or unusable; the message says why, for the code's ``Execution``."""


class WorkerClient:
    """Drives one worker over a ``Transport``: start-up, runs, host-side tools, recovery.

    ``options`` go into the worker's ``start`` message. The worker interrupts code itself at
    ``timeout``; if no result arrives by ``timeout + grace`` the worker is killed and respawned.
    One run at a time (a lock); usable from any thread and from async code (no signals).
    """

    def __init__(
        self,
        spawn: Callable[[], Transport],
        *,
        timeout: float | None,
        grace: float = 2.0,
        options: dict[str, Any],
        start_timeout: float = 60.0,
    ) -> None:
        self._spawn = spawn
        self.timeout = timeout
        self.grace = grace
        self.options = dict(options)
        self.start_timeout = start_timeout
        self._tools: dict[str, Callable[..., Any]] = {}
        self._live: list[Transport] = []  # the current worker, shared with the finalizer
        self._lock = threading.Lock()
        self._max_stdout = int(self.options.get("max_output") or DEFAULT_MAX_OUTPUT) + 1_000
        weakref.finalize(self, _kill_all, self._live)

    @property
    def transport(self) -> Transport | None:
        """The live worker's transport, if one is running."""
        return self._live[0] if self._live else None

    def start(self, tools: Mapping[str, Callable[..., Any]] | None = None) -> None:
        """Fresh namespace with ``tools``; reuses a healthy worker, else spawns one."""
        with self._lock:
            self._tools = dict(tools or {})
            if self._live:
                try:
                    self._handshake(self._live[0])
                    return
                except (OSError, ProtocolError, SandboxError):
                    self._discard()
            self._spawn_worker()

    def run(self, code: str) -> Execution:
        """Run ``code`` in the worker; the worker's failures become the ``Execution``'s error."""
        with self._lock:
            t0 = time.perf_counter()
            if not self._live:
                self._spawn_worker()
            transport = self._live[0]
            try:
                transport.send(_encode({"op": "run", "code": code, "timeout": self.timeout}))
            except OSError:  # it died between runs: the code never reached it
                reason = self._discard()
                self._spawn_worker()
                error = (
                    f"SandboxRestarted: the sandbox worker had stopped ({reason}) and was "
                    "restarted, so all variables were lost; the code was not run, run it again"
                )
                return Execution(error=error, duration_s=time.perf_counter() - t0)
            try:
                return self._serve(transport, t0)
            except _Lost as lost:
                reason = self._discard()
                self._spawn_worker()
                error = str(lost).replace("{reason}", reason)
                return Execution(error=error, duration_s=time.perf_counter() - t0)
            except BaseException:  # e.g. KeyboardInterrupt in a host tool: the run is abandoned
                self._discard()
                raise

    def close(self) -> None:
        """Kill the worker; a later ``start`` or ``run`` spawns a new one."""
        with self._lock:
            self._discard()
            self._tools = {}

    # --- internals ------------------------------------------------------------------------

    def _spawn_worker(self) -> None:
        self._live.append(self._spawn())
        try:
            self._handshake(self._live[0])
        except (OSError, ProtocolError) as exc:
            reason = self._discard()
            raise SandboxError(f"the sandbox worker failed to start: {exc} ({reason})") from None
        except BaseException:
            self._discard()
            raise

    def _handshake(self, transport: Transport) -> None:
        tools = {name: _describe_tool(fn) for name, fn in self._tools.items()}
        transport.send(_encode({**self.options, "op": "start", "tools": tools}))
        line = transport.readline(self.start_timeout)
        if line is None:
            raise SandboxError(
                f"the sandbox worker did not start within {self.start_timeout:g} s; "
                "check that the machine is not overloaded"
            )
        message = _decode(line) if line.endswith(b"\n") else None
        if message is None or message.get("op") == "error":
            detail = message.get("error") if message else _exit_reason(transport)
            raise SandboxError(f"the sandbox worker failed to start: {detail}")
        if message.get("op") != "ready":
            raise ProtocolError(f"expected 'ready', got {str(message.get('op'))[:50]!r}")

    def _serve(self, transport: Transport, t0: float) -> Execution:
        """Answer tool calls until the worker reports ``done``; raise ``_Lost`` if it can't."""
        deadline = None if self.timeout is None else t0 + self.timeout + self.grace
        while True:
            left = None if deadline is None else max(0.0, deadline - time.perf_counter())
            try:
                line = transport.readline(left)
                if line is None:
                    assert self.timeout is not None
                    raise _Lost(
                        f"TimeoutError: the code was stopped after {self.timeout + self.grace:g} s"
                        f" (it did not yield to the interrupt at {self.timeout:g} s); the sandbox"
                        " was restarted, so all variables were lost"
                    )
                if not line.endswith(b"\n"):
                    raise _Lost(
                        "SandboxCrashed: the sandbox worker died while running the code "
                        "({reason}); it was restarted, so all variables were lost"
                    )
                message = _decode(line)
                op = message.get("op")
                if op == "done":
                    return self._execution(message, t0)
                if op != "tool_call":
                    raise ProtocolError(f"unexpected message {str(op)[:50]!r}")
                self._call_tool(transport, message)
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

    def _call_tool(self, transport: Transport, message: dict[str, Any]) -> None:
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
                reply.update(type=type(exc).__name__, error=str(exc))
        try:
            line = _encode(reply)
        except (TypeError, ValueError, RecursionError):  # e.g. non-string keys, cycles
            line = _encode({**reply, "value": repr(reply.get("value"))})
        transport.send(line)

    def _execution(self, message: dict[str, Any], t0: float) -> Execution:
        stdout, error = message.get("stdout"), message.get("error")
        if not isinstance(stdout, str) or not isinstance(error, (str, type(None))):
            raise ProtocolError("malformed done")
        return Execution(
            stdout=stdout[: self._max_stdout],
            value=message.get("value"),
            error=None if error is None else error[:_MAX_ERROR],
            is_final=message.get("is_final") is True,
            final_answer=message.get("final_answer"),
            duration_s=time.perf_counter() - t0,
        )

    def _discard(self) -> str:
        """Kill the live worker (if any); returns how it ended, for error messages."""
        if not self._live:
            return "no worker"
        transport = self._live.pop()
        transport.kill()
        return _exit_reason(transport)


def _encode(message: dict[str, Any]) -> bytes:
    text = json.dumps(message, ensure_ascii=False, default=repr, separators=(",", ":"))
    return text.encode("utf-8", "surrogatepass") + b"\n"


def _decode(line: bytes) -> dict[str, Any]:
    """Parse one message from the worker: JSON only, an object with a string ``op``."""
    try:
        message = json.loads(line)
    except (ValueError, RecursionError) as exc:  # bad JSON, nesting bombs, huge integers
        raise ProtocolError(f"invalid JSON: {str(exc)[:100]}") from None
    if not isinstance(message, dict) or not isinstance(message.get("op"), str):
        raise ProtocolError("a message is not an object with an 'op'")
    return message


def _describe_tool(fn: Callable[..., Any]) -> str:
    doc = getattr(fn, "description", None) or getattr(fn, "__doc__", None)
    return doc if isinstance(doc, str) else ""


def _exit_reason(transport: Transport) -> str:
    describe = getattr(transport, "exit_reason", None)
    return describe() if callable(describe) else "the worker process ended"


def _kill_all(live: list[Transport]) -> None:
    while live:
        live.pop().kill()
