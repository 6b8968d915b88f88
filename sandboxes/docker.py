"""The ``docker`` backend: the worker runs in a hardened, throwaway container.

The container has no network, a read-only root with a small ``noexec`` tmpfs at ``/tmp``, no
capabilities, ``no-new-privileges``, a non-root numeric user of its own (a random uid, so no two
containers share per-user kernel quotas), memory/CPU/pids limits and no host mounts. The worker
program (``sandboxes/worker.py``) is sent over stdin to a tiny ``python3 -c`` bootstrap, so any
image with ``python3`` works without a build. Host and worker talk over the container's attached
stdio, so tool calls come back to the host without any network.

Containers are removed on ``close()`` and at interpreter exit. When the host process dies
instead, the attach stream closes, the worker sees EOF and exits, and the stopped container is
removed by the next ``start()`` on the same machine, which reaps containers whose owner is gone.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import select
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sandboxes._client import MAX_LINE, ProtocolError, WorkerClient, log
from sandboxes.base import DEFAULT_MAX_OUTPUT, DEFAULT_TIMEOUT, Execution, Sandbox, SandboxError

DEFAULT_IMAGE = "python:3.12-slim"
LABEL = "codeact.sandbox"
#: Each container runs as a uid of its own, picked at random from this range (numbers, so any
#: image works without /etc/passwd; none is a user of the host or the image). Without a user
#: namespace a container's uid is a host uid, and the kernel's per-user quotas (inotify
#: instances and watches, processes, message queues) are shared by every process of that uid:
#: with one uid for all, one sandbox could use up every other's.
UID_RANGE = (1 << 20, 1 << 30)

_API_TIMEOUT = 30.0  # seconds for one Docker API call (a pull may stall at most this long)
_SEND_TIMEOUT = 30.0  # a worker that does not read its stdin for this long is stuck
_STDERR_KEPT = 8192  # bytes of the worker's stderr kept for diagnostics
# Numeric libraries start no thread pools of their own: a thread still running after a cell is
# taken for one the code left behind, and the worker is replaced (see sandboxes.supervisor).
_ONE_THREAD = {
    name: "1"
    for name in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
    )
}
_TMPFS = "rw,noexec,nosuid,nodev,size=64m,mode=1777"
_NO_PTYS = "ro,noexec,nosuid,nodev,size=4k,mode=555"
# Of the container's memory, kept out of the worker's own address-space limit: the interpreter,
# /tmp, and the allowance the worker adds on top of its limit for libraries' reservations.
_MEMORY_HEADROOM_MB = 64 + 128

# Runs in the container as `python3 -c`, as its pid 1. Reads the worker's modules from stdin (a
# 10-digit length, then a JSON object {module name: source}; unbuffered, so nothing after it is
# consumed here), registers them under a `sandboxes` package of their own, and makes this process
# the supervisor on the same stdin/stdout (see sandboxes.supervisor): the cells run in its child,
# which holds none of the attach stream's descriptors. As the container's init it reaps orphans and
# kills whatever a cell left running before it forwards the cell's result. As an init it gets no
# signal the code sends unless it handles it: SIGINT, which Python handles, is ignored.
_BOOTSTRAP = """\
import json, os, sys, types
def take(n):
    data = b""
    while len(data) < n:
        chunk = os.read(0, n - len(data))
        if not chunk:
            raise SystemExit("codeact: no worker source on stdin")
        data += chunk
    return data
package = types.ModuleType("sandboxes")
package.__path__ = []
sys.modules["sandboxes"] = package
for name, source in json.loads(take(int(take(10)))).items():
    module = types.ModuleType(name)
    sys.modules[name] = module
    setattr(package, name.rpartition(".")[2], module)
    exec(compile(source, name.replace(".", "/") + ".py", "exec"), module.__dict__)
from sandboxes.supervisor import Supervisor
from sandboxes.worker import serve_cells
import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)  # the code's os.kill(1, SIGINT); the cell sets its own
Supervisor(0, 1, serve_cells, dumpable_cell=True, seccomp="container").serve()
"""
#: The modules the container's worker is made of, in the order they are loaded.
_WORKER_MODULES = ("_linux", "_seccomp", "supervisor", "worker")


class DockerSandbox(Sandbox):
    """Runs code in a fresh hardened container per sandbox; tools run on the host.

    ``image`` defaults to ``$CODEACT_DOCKER_IMAGE``, then ``python:3.12-slim``; it needs only
    ``python3`` (3.8 or newer). Inside the container the code runs as plain Python: the
    container, not a restricted interpreter, is the boundary.
    """

    def __init__(
        self,
        *,
        image: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        memory_mb: int = 512,
        cpus: float = 1.0,
        pids_limit: int = 64,
        allowed_imports: Iterable[str] = (),
        max_output: int = DEFAULT_MAX_OUTPUT,
    ) -> None:
        self.image = image or os.environ.get("CODEACT_DOCKER_IMAGE") or DEFAULT_IMAGE
        self._timeout = timeout
        self.memory_mb = memory_mb
        self.cpus = cpus
        self.pids_limit = pids_limit
        self.allowed_imports = list(allowed_imports)  # unrestricted inside; kept for the API
        #: ``None``: the code may import anything installed in the image (see ``LocalSandbox``).
        self.importable: frozenset[str] | None = None
        self.max_output = max_output
        self._docker: Any = None
        self._client: WorkerClient | None = None

    @property
    def timeout(self) -> float | None:
        """Seconds a run may take before it is interrupted (may be changed between runs)."""
        return self._timeout

    @timeout.setter
    def timeout(self, seconds: float | None) -> None:
        self._timeout = seconds
        if self._client is not None:
            self._client.timeout = seconds

    @property
    def container_id(self) -> str | None:
        """The id of the current container (a restarted worker gets a new one)."""
        return getattr(self._client and self._client.transport, "container_id", None)

    def start(self, tools: Mapping[str, Callable[..., Any]] | None = None) -> None:
        if self._client is None:
            if self._docker is None:
                self._docker = connect()
            reap_orphans(self._docker)
            ensure_image(self._docker, self.image)
            self._client = WorkerClient(self._spawn, timeout=self.timeout, options=self._options())
        self._client.start(tools or {})

    def run(self, code: str) -> Execution:
        if self._client is None:
            self.start()
        assert self._client is not None
        return self._client.run(code)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()
        docker_client, self._docker = self._docker, None
        if docker_client is not None:
            docker_client.close()

    def _options(self) -> dict[str, Any]:
        # The worker's own address-space limit sits below the container's, so that the code
        # usually gets a MemoryError (state kept) before the kernel's OOM killer ends the worker.
        code_mb = max(self.memory_mb - _MEMORY_HEADROOM_MB, self.memory_mb // 4)
        return {"restricted": False, "max_output": self.max_output, "memory_mb": code_mb}

    def _spawn(self) -> ContainerTransport:
        try:
            return launch(
                self._docker.api,
                self.image,
                memory_mb=self.memory_mb,
                cpus=self.cpus,
                pids_limit=self.pids_limit,
            )
        except Exception as exc:  # the engine's trouble (stopped, out of disk), not the code's
            raise SandboxError(
                f"cannot start a sandbox container from {self.image}: {exc}; check that the "
                "Docker engine is running (docker info)"
            ) from None


# --- the engine ----------------------------------------------------------------------------


def connect() -> Any:
    """A Docker client for ``$DOCKER_HOST`` (or the default socket) that has answered once."""
    try:
        import docker
    except ImportError:
        raise SandboxError(
            "the docker sandbox needs the Docker SDK: pip install 'codeact[docker]'"
        ) from None
    where = os.environ.get("DOCKER_HOST") or "the default socket"
    try:
        return docker.from_env(timeout=_API_TIMEOUT)  # asks the engine for its API version
    except docker.errors.DockerException as exc:
        raise SandboxError(
            f"Docker engine not reachable at {where}: start the Docker daemon or set "
            f"DOCKER_HOST ({exc})"
        ) from None


def ensure_image(docker_client: Any, image: str) -> None:
    """Make sure ``image`` is present, trying one pull; else say how to get one."""
    import docker

    api = docker_client.api
    try:
        api.inspect_image(image)
        return
    except docker.errors.ImageNotFound:
        pass
    repository, tag = docker.utils.parse_repository_tag(image)
    try:
        for event in api.pull(repository, tag or "latest", stream=True, decode=True):
            if "error" in event:
                raise docker.errors.APIError(event["error"])
        api.inspect_image(image)
    except Exception as exc:  # any failure to pull means the same to the user
        raise SandboxError(
            f"Docker image {image!r} is not present and could not be pulled ({exc}); "
            f"build or pull {image}, or set CODEACT_DOCKER_IMAGE to an image with python3 "
            "(.ci/docker-setup.sh builds one without a registry)"
        ) from None


# --- containers ----------------------------------------------------------------------------

#: Containers this process started and has not removed yet: id -> Docker API client.
_live: dict[str, Any] = {}
_live_lock = threading.Lock()
_OWNER_PID = os.getpid()


def launch(
    api: Any, image: str, *, memory_mb: int, cpus: float, pids_limit: int
) -> ContainerTransport:
    """Create and start a hardened worker container and return a transport to its stdio."""
    from docker.types import LogConfig, Ulimit

    uid = secrets.SystemRandom().randrange(*UID_RANGE)
    host_config = api.create_host_config(
        network_mode="none",
        read_only=True,
        # no ptys: each container's devpts draws on the machine's one pool (kernel.pty.max)
        tmpfs={"/tmp": _TMPFS, "/dev/pts": _NO_PTYS},
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        mem_limit=f"{memory_mb}m",
        memswap_limit=f"{memory_mb}m",
        nano_cpus=int(cpus * 1e9),
        pids_limit=pids_limit,
        ulimits=[Ulimit(name="nofile", soft=1024, hard=1024)],
        # No docker-init: the supervisor is pid 1, so that no process the code can reach (an
        # init of the same uid, open to /proc/1/fd) holds the attach stream.
        init=False,
        log_config=LogConfig(type=LogConfig.types.NONE),  # output never lands on the host disk
    )
    container_id = api.create_container(
        image,
        entrypoint=["python3", "-u", "-B", "-c", _BOOTSTRAP],
        command=[],
        user=f"{uid}:{uid}",
        working_dir="/tmp",
        environment={"HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1", **_ONE_THREAD},
        stdin_open=True,  # with detach=False this also sets StdinOnce: EOF when we detach
        detach=False,
        network_disabled=True,
        labels=owner_labels(),
        name=f"codeact-{os.getpid()}-{secrets.token_hex(4)}",
        host_config=host_config,
    )["Id"]
    with _live_lock:
        _live[container_id] = api
    try:
        # Attach before start, so no output can be missed.
        sock = api.attach_socket(
            container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        )
        api.start(container_id)
        transport = ContainerTransport(api, container_id, sock, memory_mb=memory_mb)
        source = _worker_source()
        transport.send(b"%010d%s" % (len(source), source))
    except BaseException:
        _remove(api, container_id)
        raise
    return transport


def reap_orphans(docker_client: Any) -> list[str]:
    """Remove containers of ours on this machine whose owner process is gone; returns their ids."""
    filters = {"label": [f"{LABEL}=1", f"{LABEL}.host={socket.gethostname()}"]}
    reaped = []
    for info in docker_client.api.containers(all=True, filters=filters):
        labels = info.get("Labels") or {}
        if labels.get(f"{LABEL}.pid_ns", _PID_NS) != _PID_NS:
            continue  # its owner's pid means nothing here (another container on this engine)
        try:
            pid = int(labels.get(f"{LABEL}.pid", ""))
        except ValueError:
            continue
        if not _alive(pid, labels.get(f"{LABEL}.pid_start", "")):
            try:
                _remove(docker_client.api, info["Id"])
            except Exception as exc:  # another's leftover must not fail this sandbox's start
                log.warning("could not remove orphaned container %s: %s", info["Id"][:12], exc)
                continue
            reaped.append(info["Id"])
    return reaped


def owner_labels(pid: int | None = None) -> dict[str, str]:
    """The labels that mark a container as ours and name its owner process (default: this one).

    ``reap_orphans`` removes containers whose owner on this host is gone; ``pid_start`` tells a
    reused pid apart, ``pid_ns`` a process in another pid namespace that shares the engine and
    the host name (a container with host networking). ``docker ps -f label=codeact.sandbox=1``
    lists them all.
    """
    pid = os.getpid() if pid is None else pid
    return {
        LABEL: "1",
        f"{LABEL}.host": socket.gethostname(),
        f"{LABEL}.pid": str(pid),
        f"{LABEL}.pid_start": _start_time(pid),
        f"{LABEL}.pid_ns": _PID_NS,
        f"{LABEL}.created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")  # e.g. "pid:[4026531836]"
    except OSError:
        return ""


_PID_NS = _pid_namespace()


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (tells a reused pid apart), or ""."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rpartition(")")[2].split()[19]  # field 22; the name before ")" may hold spaces


def _alive(pid: int, start_time: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    return not start_time or _start_time(pid) in ("", start_time)


def _remove(api: Any, container_id: str) -> None:
    """Kill and remove a container; one that is already gone or going is fine."""
    import docker

    with _live_lock:
        _live.pop(container_id, None)
    for attempt in range(3):
        try:
            api.remove_container(container_id, force=True)
            return
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as exc:
            if exc.status_code == 409:  # someone else is removing it right now
                return
            # The engine answers 500 "could not kill ... is not running" when the container
            # exits while it kills it; a moment later the removal goes through.
            if attempt == 2:
                raise
            time.sleep(0.2)


@atexit.register
def _remove_all() -> None:
    if os.getpid() != _OWNER_PID:  # a forked child must not remove its parent's containers
        return
    for container_id, api in list(_live.items()):
        with contextlib.suppress(Exception):
            _remove(api, container_id)


_source: bytes | None = None


def _worker_source() -> bytes:
    """The worker's modules as the bootstrap reads them: JSON of {module name: source}."""
    global _source
    if _source is None:
        here = Path(__file__).parent
        modules = {f"sandboxes.{n}": (here / f"{n}.py").read_text() for n in _WORKER_MODULES}
        _source = json.dumps(modules).encode()
    return _source


# --- the transport -------------------------------------------------------------------------


class ContainerTransport:
    """Lines to and from the worker over a container's attached, multiplexed stdio.

    Without a TTY Docker frames the output stream: an 8-byte header (stream id, 3 zero bytes,
    big-endian payload size) before each payload. Stdout carries the protocol; the tail of
    stderr is kept for diagnostics.
    """

    def __init__(self, api: Any, container_id: str, sock: Any, *, memory_mb: int) -> None:
        self.api = api
        self.container_id = container_id
        self.memory_mb = memory_mb
        self._io = sock  # the SDK's socket-like object; it holds a reference to the real socket
        self._sock: socket.socket = getattr(sock, "_sock", sock)
        self._sock.settimeout(_SEND_TIMEOUT)
        self._poll = select.poll()  # not select(): it fails for fds above 1023
        self._poll.register(self._sock, select.POLLIN)
        self._raw = bytearray()  # received, not yet demultiplexed
        self._out = bytearray()  # demultiplexed stdout, not yet returned as lines
        self._scanned = 0  # bytes of _out known to hold no newline
        self._err = bytearray()
        self._eof = False
        self._ended: str | None = None  # how the container ended, once it was killed

    def send(self, line: bytes, timeout: float | None = None) -> None:
        """Write to the worker's stdin; ``OSError`` when the container is gone or stuck."""
        if timeout is None:
            self._sock.sendall(line)
            return
        self._sock.settimeout(timeout)
        try:
            self._sock.sendall(line)
        finally:
            self._sock.settimeout(_SEND_TIMEOUT)

    def abort(self) -> None:
        """Kill the container from any thread; the stream stays open and ends for its reader."""
        with contextlib.suppress(Exception):  # gone already, or the engine is unreachable
            self.api.kill(self.container_id)

    def readline(self, timeout: float | None) -> bytes | None:
        """The next stdout line; ``None`` when ``timeout`` passes first, ``b""`` at EOF."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            end = self._out.find(b"\n", self._scanned)
            if end >= 0:
                line = bytes(self._out[: end + 1])
                del self._out[: end + 1]
                self._scanned = 0
                return line
            self._scanned = len(self._out)
            if self._scanned > MAX_LINE or len(self._raw) > MAX_LINE:
                raise ProtocolError(f"the worker sent a line longer than {MAX_LINE} bytes")
            if self._eof:
                line = bytes(self._out)
                self._out.clear()
                self._scanned = 0
                return line
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self._wait_readable(remaining):
                return None
            self._receive()

    def kill(self) -> None:
        """Note how the container ended, close the stream, then remove the container; idempotent
        and never raises (a container the engine would not remove is retried at exit).

        The stream goes first: the engine does not finish removing a container while its output
        waits, unread, in an attach stream (after a line over the cap, say), and the call would
        block for the API's whole timeout.
        """
        if self._ended is not None:
            return
        self._ended = self._state()
        self._eof = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            self._io.close()
        self._sock.close()
        try:
            _remove(self.api, self.container_id)
        except Exception as exc:  # the engine's trouble; the code's run must still end
            with _live_lock:
                _live[self.container_id] = self.api
            log.warning("could not remove sandbox container %s: %s", self.container_id[:12], exc)

    def exit_reason(self) -> str:
        """How the container ended and the tail of the worker's stderr, for error messages."""
        reason = self._ended or self._state()
        tail = self._err.decode("utf-8", "replace").strip()
        return f"{reason}; its last output: {tail[-500:]}" if tail else reason

    def _state(self) -> str:
        if self._eof:  # it ended by itself: give the engine a moment to record how
            with contextlib.suppress(Exception):
                self.api.wait(self.container_id, timeout=1)
        try:
            state = self.api.inspect_container(self.container_id)["State"]
        except Exception:  # gone already, or the engine is unreachable: nothing to tell
            return "the container is gone"
        code = state.get("ExitCode")
        if state.get("OOMKilled"):
            return f"out of memory: the container hit its {self.memory_mb} MB limit"
        if state.get("Running"):
            return "stopped by the host"
        if isinstance(code, int) and code > 128:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(code - 128).name}"
        return f"the container exited with code {code}"

    def _wait_readable(self, timeout: float | None) -> bool:
        pending = getattr(self._sock, "pending", None)  # TLS may hold decrypted bytes already
        if pending is not None and pending():
            return True
        try:
            return bool(self._poll.poll(None if timeout is None else timeout * 1000))
        except (OSError, ValueError):  # closed under us
            self._eof = True
            return True

    def _receive(self) -> None:
        try:
            chunk = self._sock.recv(65536)  # a larger buffer costs an mmap per call
        except (TimeoutError, BlockingIOError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._eof = True
            return
        self._raw += chunk
        while len(self._raw) >= 8:
            stream, size = struct.unpack_from(">BxxxL", self._raw)
            if len(self._raw) < 8 + size:
                break
            payload = self._raw[8 : 8 + size]
            del self._raw[: 8 + size]
            if stream == 2:
                self._err += payload
                del self._err[:-_STDERR_KEPT]
            else:
                self._out += payload
