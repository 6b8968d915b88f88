"""Shared fixtures and markers.

``@pytest.mark.docker`` tests need a reachable Docker engine and the image named by
``$CODEACT_DOCKER_IMAGE`` (``.ci/docker-setup.sh`` provides both). Without them they skip, except
under ``CODEACT_REQUIRE_DOCKER=1`` (CI), where they fail and say why.

``@pytest.mark.bwrap`` tests need the ``local`` backend's OS boundary (bubblewrap that can make
user namespaces here). Without it they skip, except under ``CI=true`` or
``CODEACT_REQUIRE_BWRAP=1``, where they fail and say why.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest


@functools.cache
def docker_unavailable() -> str | None:
    """Why docker tests cannot run here, or ``None`` when they can."""
    try:
        import docker
    except ImportError:
        return "the Docker SDK is not installed (pip install 'codeact[docker]')"
    try:
        client = docker.from_env(timeout=10)
    except docker.errors.DockerException as exc:
        return f"no Docker engine reachable ({exc})"
    image = os.environ.get("CODEACT_DOCKER_IMAGE") or "python:3.12-slim"
    try:
        client.images.get(image)
    except docker.errors.DockerException:
        return f"image {image} not present (run .ci/docker-setup.sh and source its exports)"
    finally:
        client.close()
    return None


@functools.cache
def bwrap_unavailable() -> str | None:
    """Why the OS boundary cannot be used here, or ``None`` when it can."""
    from sandboxes import boundary

    bwrap = boundary.executable()
    if bwrap is None:
        return "bubblewrap is not installed (apt-get install bubblewrap)"
    if not boundary.works(bwrap):
        return f"{bwrap} cannot make the sandbox's namespaces here (user namespaces disabled?)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("bwrap") is not None:
        reason = bwrap_unavailable()
        if reason is not None and (
            os.environ.get("CI") == "true" or os.environ.get("CODEACT_REQUIRE_BWRAP") == "1"
        ):
            pytest.fail(f"CI=true or CODEACT_REQUIRE_BWRAP=1 but {reason}", pytrace=False)
        if reason is not None:
            pytest.skip(reason)
    if item.get_closest_marker("docker") is None:
        return
    reason = docker_unavailable()
    if reason is None:
        return
    if os.environ.get("CODEACT_REQUIRE_DOCKER") == "1":
        pytest.fail(f"CODEACT_REQUIRE_DOCKER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def host_server() -> Iterator[int]:
    """An HTTP server on the host's 127.0.0.1 (which a sandbox must not reach); its port."""

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
