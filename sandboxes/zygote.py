"""The ``local`` backend's fork server: one process per host, inside the OS boundary, that
forks a worker for each sandbox.

A new worker starts in a fork, not in a fresh interpreter: the zygote has imported the worker,
the policy and RestrictedPython once (and frozen them out of the garbage collector's sight), so
a child is ready in about a millisecond instead of tens. Its host (``sandboxes.forkserver``)
sends it a request per worker, with the worker's end of a new channel and a stderr pipe; the
zygote forks, and the child becomes that worker's supervisor (``sandboxes.supervisor``) on that
channel. Why that is as safe as a fresh process for every sandbox:

- **The zygote never runs code.** It reads only its host's fixed-size requests (the host
  is trusted) and forks. No sandbox's messages ever pass through it: its child speaks to the
  host directly, so nothing of a sandbox is in the memory a later sibling is forked from.
- **A child inherits nothing of an earlier sandbox.** The only descriptors a request brings are
  that worker's own, closed in the zygote right after its fork; the zygote then holds no
  others but those of spares not yet forked, which no sandbox has had. The child closes every
  descriptor but its own two.
- **Siblings cannot reach each other.** Under the boundary each child gives its cell process
  user, pid, mount, IPC, UTS and network namespaces of its own, with its own ``/tmp`` and
  ``/dev/shm``, no ``/proc`` and no capabilities (``sandboxes.worker.main``): a sibling's
  processes have no pid it could signal or trace, its files are in a mount namespace it cannot
  enter, its sockets in a network namespace it cannot reach. Supervisors and the zygote are
  non-dumpable and live in an ancestor user namespace, where a cell process has no
  capabilities.
- **Limits are the child's.** Memory, file size and core limits are applied in the cell
  process at its first ``start``, from that sandbox's options.

What forks do share, by their nature: the interpreter's string-hash secret and the address
layout (``hash("x")`` and ``id(len)`` are the same in every sandbox of one zygote), so code may
tell it shares a host process with others, and could make dict keys that collide in a sibling
it sends data to. Random numbers are not shared: ``random`` reseeds after a fork, and
``os.urandom``, ``secrets`` and the host's nonces come from the kernel.

Control channel (a stream socket, fd ``control``): requests are ``REQUEST_SIZE`` bytes, for a
worker a sandbox waits for or a spare (forked a little later, and warmed up while it waits), each
with two descriptors (the channel, the stderr pipe); the zygote answers with JSON lines: ``{"op":
"ready"}`` once, ``{"op": "spawned", "id": request's id, "pid": n}`` per request, and ``{"op":
"exited", "pid": n, "status": wait status}`` when a worker ends. Pids are those of the zygote's
namespace.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import os
import select
import signal
import socket
import sys
import time

#: A request: its kind, then an id of the host's choosing the answer repeats: b"spawn:%09d\n"
#: (a worker a sandbox waits for: forked at once) or b"spare:%09d\n" (a worker for later:
#: forked SPARE_DELAY after it was asked for).
REQUEST_SIZE = 16
#: Seconds a spare waits to be forked: its fork and warm-up would otherwise compete for the CPU
#: with the sandbox that just took the last spare, while that one starts.
SPARE_DELAY = 0.05


def serve(control: int, private: bool) -> None:
    """Fork a worker per request on ``control`` until the host goes; never returns.
    ``private``: the workers' cells get namespaces and files of their own (under the boundary)."""
    import resource  # noqa: F401  (imported once here, so every child has them)

    import sandboxes._seccomp  # noqa: F401
    import sandboxes.policy  # noqa: F401
    import sandboxes.worker  # noqa: F401
    from sandboxes import _linux

    _linux.set_dumpable(False)
    if private and not _can_isolate():
        _send(control, {"op": "error", "error": "the kernel refused a cell namespaces of its own"})
        os._exit(78)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    sock = socket.socket(fileno=control)
    gc.collect()
    gc.freeze()  # what is here now is never collected: children fork with cheap collections
    _send(control, {"op": "ready"})
    _quiet_stderr()
    poll = select.poll()
    poll.register(control, select.POLLIN)
    poll.register(wake_r, select.POLLIN)
    spares: list[tuple[float, int, list[int]]] = []  # requested spares: when due, id, fds
    while True:
        now = time.monotonic()
        while spares and spares[0][0] <= now:
            _, ident, fds = spares.pop(0)
            _fork(control, ident, fds, private=private, warm_up=True)
        events = _poll(poll, spares[0][0] - now if spares else None)
        for fd, _ in events:
            if fd == wake_r:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 4096)
                _reap(control)
                continue
            try:
                data, fds, _flags, _ = socket.recv_fds(sock, REQUEST_SIZE, 2)
            except OSError:
                data, fds = b"", []
            if not data:
                os._exit(0)  # the host has gone
            kind, _, ident = data.rstrip(b"\n").partition(b":")
            if len(data) != REQUEST_SIZE or not ident.isdigit() or len(fds) != 2:
                for extra in fds:
                    os.close(extra)
            elif kind == b"spare":
                spares.append((time.monotonic() + SPARE_DELAY, int(ident), fds))
            else:
                _fork(control, int(ident), fds, private=private, warm_up=False)


def _fork(control: int, ident: int, fds: list[int], *, private: bool, warm_up: bool) -> None:
    """Fork the worker for one request and report it; the request's descriptors are the
    child's alone afterwards."""
    pid = os.fork()
    if pid == 0:
        _become_worker(*fds, private=private, warm_up=warm_up)
    for fd in fds:
        os.close(fd)
    _send(control, {"op": "spawned", "id": ident, "pid": pid})


def _can_isolate() -> bool:
    """Whether a child here gets the namespaces a cell process needs (in a throwaway fork)."""
    from sandboxes import _linux

    pid = os.fork()
    if pid == 0:
        wanted = _linux.CLONE_NEWUSER | _linux.CLONE_NEWPID | _linux.PRIVATE
        os._exit(0 if _linux.unshare(wanted) else 1)
    return os.waitpid(pid, 0)[1] == 0


def _become_worker(channel: int, stderr: int, *, private: bool, warm_up: bool) -> None:
    """In the child: only this worker's descriptors, default signals, then the supervisor."""
    from sandboxes import _linux, worker
    from sandboxes.supervisor import Supervisor

    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.dup2(stderr, 2)
        os.dup2(channel, 3)
        os.closerange(4, _max_fd())
        cell = functools.partial(worker.serve_cells, warm_up=warm_up)
        guards = {"seccomp": "local", "single_runs": True}
        if private:
            files = worker._private_files
            Supervisor(3, 3, cell, namespaces=_linux.PRIVATE, prepare=files, **guards).serve()
        Supervisor(3, 3, cell, **guards).serve()
    except BaseException as exc:  # before the supervisor serves: tell the host why
        with contextlib.suppress(OSError):
            os.write(2, f"codeact worker: {type(exc).__name__}: {exc}\n".encode())
    finally:
        os._exit(70)


def _reap(control: int) -> None:
    from sandboxes import _linux

    for pid, status in _linux.reap_ended():
        _send(control, {"op": "exited", "pid": pid, "status": status})


def _poll(poll: select.poll, timeout: float | None) -> list[tuple[int, int]]:
    while True:
        try:
            return poll.poll(None if timeout is None else timeout * 1000)
        except InterruptedError:
            continue


def _send(control: int, message: dict[str, object]) -> None:
    data = json.dumps(message).encode() + b"\n"
    try:
        while data:
            data = data[os.write(control, data) :]
    except OSError:
        os._exit(0)  # the host has gone


def _quiet_stderr() -> None:
    """After start-up nothing of the zygote's is news to the host: stderr goes to /dev/null,
    so that the pipe can never fill and stall it."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115


def _max_fd() -> int:
    try:
        return max(os.sysconf("SC_OPEN_MAX"), 256)
    except (ValueError, OSError):
        return 65536
