"""The OS boundary under ``local`` (``sandboxes.boundary``), with the policy switched off.

The ``escaped`` sandbox runs a real bwrap'd worker whose restricted policy is turned off (a
test-only switch: the client's private options), so each test is what code that escaped the
policy could do: every attempt must fail at the OS layer. Tests that need bubblewrap are marked
``bwrap`` (they fail instead of skipping under CI); the fallback without it is tested anywhere.
"""

from __future__ import annotations

import http.server
import os
import secrets
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from processes import alive, with_marker

from sandboxes import boundary
from sandboxes.local import LocalSandbox

bwrap = pytest.mark.bwrap
SECRET = "codeact-secret-" + secrets.token_hex(8)


def _unrestricted(**options: Any) -> LocalSandbox:
    sandbox = LocalSandbox(**options)
    assert sandbox.boundary == "bwrap"
    sandbox._client.options["restricted"] = False
    return sandbox


@pytest.fixture(scope="module")
def escaped() -> Iterator[LocalSandbox]:
    """Policy off inside the boundary; the host has a secret in its environment."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CODEACT_TEST_SECRET", SECRET)
        with _unrestricted(timeout=10) as sandbox:
            sandbox.start()
            yield sandbox


@pytest.fixture(scope="module")
def host_server() -> Iterator[int]:
    """An HTTP server on the host's 127.0.0.1; its port."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"host-only page")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def _outcome(sandbox: LocalSandbox, attempt: str) -> str:
    """Run ``attempt`` (one expression) in the sandbox: ``"worked"``, or the ``errno`` name of
    the ``OSError`` it raised (``"ENOENT"``, ``"EROFS"``...)."""
    code = f"import errno\ntry:\n    result = {attempt}\n    result = 'worked'\n"
    code += "except OSError as exc:\n    result = errno.errorcode.get(exc.errno, repr(exc))\n"
    ex = sandbox.run(code + "result")
    assert ex.error is None, ex.error
    return ex.value


@bwrap
def test_there_is_no_shell(escaped: LocalSandbox) -> None:
    assert escaped.run("import os\nos.system('true')").value == 127 << 8  # sh: not found
    for shell in ("/bin/sh", "/usr/bin/sh", "/bin/bash"):
        assert _outcome(escaped, f"__import__('os').stat({shell!r})") == "ENOENT"


@bwrap
def test_host_files_are_absent(escaped: LocalSandbox, tmp_path: Path) -> None:
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET)
    home = Path.home()
    home_files = [str(p) for p in home.iterdir() if p.is_file()] if home.is_dir() else []
    for path in ["/etc/hostname", "/etc/passwd", str(secret_file), *home_files]:
        assert _outcome(escaped, f"open({path!r}).read()") == "ENOENT", path
    listing = escaped.run("import os\nsorted(os.listdir('/'))").value
    assert "etc" not in listing and "home" not in listing and "bin" not in listing


@bwrap
def test_the_hosts_environment_is_absent(escaped: LocalSandbox) -> None:
    assert os.environ["CODEACT_TEST_SECRET"] == SECRET  # the host has it while the test runs
    ex = escaped.run("import os\ndict(os.environ)")
    assert SECRET not in str(ex.value) and "CODEACT_TEST_SECRET" not in str(ex.value)
    assert ex.value["HOME"] == boundary.workdir()


@bwrap
def test_host_processes_environ_and_memory_are_out_of_reach(escaped: LocalSandbox) -> None:
    host = os.getpid()
    for what in ("environ", "mem", "maps", "cmdline"):
        assert _outcome(escaped, f"open('/proc/{host}/{what}', 'rb').read(1)") == "ENOENT"
    assert escaped.run("import os\nos.listdir('/proc')").value == []


@bwrap
def test_host_processes_cannot_be_signalled(escaped: LocalSandbox) -> None:
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        for pid in (bystander.pid, os.getpid()):  # signal 9 to a bystander, 0 to the host
            signal = 9 if pid == bystander.pid else 0
            attempt = f"__import__('os').kill({pid}, {signal})"
            assert _outcome(escaped, attempt) == "ESRCH"
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


@bwrap
def test_the_hosts_loopback_is_unreachable(escaped: LocalSandbox, host_server: int) -> None:
    import urllib.request

    url = f"http://127.0.0.1:{host_server}/"
    assert urllib.request.urlopen(url, timeout=5).read() == b"host-only page"
    for host in ("127.0.0.1", "1.1.1.1"):  # the sandbox's own loopback is not even up
        attempt = f"__import__('socket').create_connection(({host!r}, {host_server}), timeout=3)"
        assert _outcome(escaped, attempt) == "ENETUNREACH"


@bwrap
def test_writes_outside_the_private_tmpfs_fail(escaped: LocalSandbox) -> None:
    name = "codeact-" + secrets.token_hex(6)
    prefix = os.path.realpath(sys.base_prefix)
    for directory in ("/", "/usr/lib", prefix, str(Path(__file__).parents[1] / "sandboxes")):
        path = os.path.join(directory, name)
        assert _outcome(escaped, f"open({path!r}, 'w')") in ("EROFS", "EACCES"), path
        assert not os.path.exists(path)
    workdir = boundary.workdir()  # /tmp, unless this installation itself lives under /tmp
    ex = escaped.run(f"open('{workdir}/{name}', 'w').write('x')\nimport os\nos.getcwd()")
    assert ex.value == workdir
    assert not os.path.exists(f"{workdir}/{name}")  # the host's is another directory


@bwrap
def test_the_code_has_no_privileges(escaped: LocalSandbox) -> None:
    ex = escaped.run(
        textwrap.dedent(
            """
            import ctypes, os
            libc = ctypes.CDLL(None)
            header = (ctypes.c_uint32 * 2)(0x20080522, 0)
            data = (ctypes.c_uint32 * 6)()
            libc.capget(header, data)
            os.getuid(), os.getgid(), list(data), libc.prctl(39, 0, 0, 0, 0)
            """
        )
    )
    uid, gid, capabilities, no_new_privs = ex.value
    assert (uid, gid) == (65534, 65534)
    assert capabilities == [0] * 6
    assert no_new_privs == 1
    assert _outcome(escaped, "__import__('os').setuid(0)") in ("EPERM", "EINVAL")  # no root


@bwrap
def test_a_setsid_daemon_dies_with_close() -> None:
    marker = "codeact-daemon-" + secrets.token_hex(8)
    code = textwrap.dedent(
        f"""
        import subprocess, sys, time
        script = "import os, signal, time\\n"
        script += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
        script += "if os.fork():\\n    os._exit(0)\\n"  # a double fork: an orphan, reparented
        script += "os.setsid()\\ntime.sleep(600)"
        subprocess.run([sys.executable, "-c", script, "{marker}"])
        time.sleep(0.3)
        """
    )
    sandbox = _unrestricted(timeout=10)
    assert sandbox.run(code).error is None
    (daemon,) = with_marker(marker)
    assert sandbox.run("1 + 1").value == 2 and alive(daemon)
    sandbox.close()
    assert not alive(daemon), "the daemon survived close()"


# --- without the boundary -----------------------------------------------------------------------

_TWO_SANDBOXES = """
import warnings
warnings.simplefilter("always")
from sandboxes import boundary
from sandboxes.local import LocalSandbox
with warnings.catch_warnings(record=True) as caught:
    first, second = LocalSandbox(), LocalSandbox()
print(first.boundary, second.boundary, first.run("1 + 1").value)
for warning in caught:
    print(type(warning.message).__name__, warning.message)
first.close()
second.close()
"""


def _host(env: dict[str, str], code: str = _TWO_SANDBOXES) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        cwd=Path(__file__).parents[1],
    )


def test_without_bubblewrap_local_works_and_says_so_once() -> None:
    out = _host({"CODEACT_BWRAP": "", "CODEACT_REQUIRE_BWRAP": ""})
    lines = out.stdout.splitlines()
    assert lines[0] == "None None 2", out.stderr
    assert len(lines) == 2 and lines[1].startswith("BoundaryWarning the local sandbox runs")
    assert "bubblewrap is not installed" in lines[1]


def test_a_bubblewrap_that_does_not_work_is_no_boundary() -> None:
    out = _host({"CODEACT_BWRAP": "/bin/false", "CODEACT_REQUIRE_BWRAP": ""})
    lines = out.stdout.splitlines()
    assert lines[0] == "None None 2", out.stderr
    assert "/bin/false does not work here" in lines[1]


def test_a_required_boundary_that_is_missing_is_an_error() -> None:
    out = _host({"CODEACT_BWRAP": "", "CODEACT_REQUIRE_BWRAP": "1"})
    assert out.returncode != 0
    assert "SandboxError: CODEACT_REQUIRE_BWRAP=1 but the local sandbox runs without" in out.stderr


@pytest.mark.parametrize(
    ("env", "outcome", "exit_code"),
    [
        ({}, "1 skipped", 0),
        ({"CI": "true"}, "1 error", 1),
        ({"CODEACT_REQUIRE_BWRAP": "1"}, "1 error", 1),
    ],
)
def test_bwrap_tests_skip_without_it_unless_required(
    tmp_path: Path, env: dict[str, str], outcome: str, exit_code: int
) -> None:
    here = Path(__file__).parent
    (tmp_path / "conftest.py").write_text((here / "conftest.py").read_text())
    (tmp_path / "test_needs_bwrap.py").write_text(
        "import pytest\n\n@pytest.mark.bwrap\ndef test_boundary():\n    pass\n"
    )
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "CODEACT_REQUIRE_BWRAP")}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**base, "CODEACT_BWRAP": "", **env},
        cwd=tmp_path,
    )
    assert out.returncode == exit_code
    assert outcome in out.stdout
    assert "bubblewrap is not installed" in out.stdout
