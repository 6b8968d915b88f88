"""Lines to and from a worker over two descriptors, without threads or signals.

The part of a ``Transport`` (``sandboxes._client``) that every local transport shares: writes
are bounded by a deadline, reads wait with ``poll`` and hand out complete lines, and a line over
``max_line`` is a ``ProtocolError``, so any thread may use it and a worker cannot stall or bloat
the host.
"""

from __future__ import annotations

import os
import select
import time

from sandboxes._client import MAX_LINE, ProtocolError

#: Bytes per read: under malloc's mmap threshold (a larger buffer costs an mmap per read).
_READ_SIZE = 65536


class FdChannel:
    """Line I/O on ``to_worker`` and ``from_worker`` (both set non-blocking; may be one socket)."""

    def __init__(
        self,
        to_worker: int,
        from_worker: int,
        *,
        max_line: int = MAX_LINE,
        write_timeout: float = 10.0,
    ) -> None:
        self._in, self._out = to_worker, from_worker
        self.max_line = max_line
        self.write_timeout = write_timeout
        os.set_blocking(to_worker, False)
        os.set_blocking(from_worker, False)
        self._buf = bytearray()
        self._scanned = 0
        self._readable = select.poll()
        self._readable.register(from_worker, select.POLLIN)
        self._writable = select.poll()
        self._writable.register(to_worker, select.POLLOUT)

    def send(self, line: bytes, timeout: float | None = None) -> None:
        view = memoryview(line)
        deadline = time.monotonic() + (self.write_timeout if timeout is None else timeout)
        while view:
            try:
                view = view[os.write(self._in, view) :]
                continue
            except BlockingIOError:
                pass
            left = deadline - time.monotonic()
            if left <= 0 or not self._writable.poll(left * 1000):
                raise BrokenPipeError("the worker stopped reading its input")

    def readline(self, timeout: float | None) -> bytes | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            end = self._buf.find(b"\n", self._scanned)
            if end >= 0:
                line = bytes(self._buf[: end + 1])
                del self._buf[: end + 1]
                self._scanned = 0
                return line
            self._scanned = len(self._buf)
            if len(self._buf) > self.max_line:
                raise ProtocolError(f"the worker sent a line longer than {self.max_line} bytes")
            wait = None if deadline is None else max(0.0, deadline - time.monotonic()) * 1000
            if not self._readable.poll(wait):
                return None
            try:
                chunk = os.read(self._out, _READ_SIZE)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return b""
            self._buf += chunk

    def _forget_buffer(self) -> None:
        self._buf = bytearray()
        self._scanned = 0

    def _forget_fds(self) -> None:
        """Once the descriptors are closed: a late send or read fails (``EBADF``) instead of
        reaching whatever reuses their numbers."""
        self._in = self._out = -1
        self._forget_buffer()
