"""``codeact mcp serve``, driven by the MCP SDK's own client over stdio and HTTP."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import mcp
import pytest
from test_mcp_client import free_port

ROOT = Path(__file__).resolve().parent.parent
SERVE = [sys.executable, "-m", "codeact.cli", "mcp", "serve"]
ENV = {"PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}"}


def stdio(*args: str) -> mcp.Client:
    params = mcp.StdioServerParameters(
        command=SERVE[0], args=[*SERVE[1:], *args], cwd=str(ROOT), env=ENV
    )
    return mcp.Client(params)


def text(result) -> str:
    return result.content[0].text


@pytest.fixture(scope="module")
def http_serve():
    port, token = free_port(), "t0ken"
    proc = subprocess.Popen(
        [*SERVE, "--http", "--port", str(port), "--token", token],
        cwd=ROOT,
        env={**os.environ, **ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline().decode()  # printed once the server is configured
    assert "codeact MCP server on" in line, line
    url = f"http://127.0.0.1:{port}/mcp"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx2.get(url, timeout=1)
            break
        except httpx2.HTTPError:
            assert time.monotonic() < deadline, "codeact mcp serve --http did not listen"
            time.sleep(0.1)
    yield url, token
    proc.terminate()
    proc.wait(10)


def http(url: str, token: str | None, **options) -> mcp.Client:
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    client = httpx2.AsyncClient(headers=headers, timeout=30)
    return mcp.Client(streamable_http_client(url, http_client=client), **options)


async def test_stdio_serves_run_python_with_a_persistent_local_sandbox():
    async with stdio("--sandbox", "local") as client:
        listing = await client.list_tools()
        (run_python,) = [t for t in listing.tools if t.name == "run_python"]
        assert run_python.input_schema["required"] == ["code"]
        assert run_python.input_schema["properties"]["code"]["type"] == "string"
        first = await client.call_tool("run_python", {"code": "x = 21\nprint('set')"})
        assert not first.is_error and "Output:\nset" in text(first)
        second = await client.call_tool("run_python", {"code": "x * 2"})
        assert second.structured_content["value"] == 42
        assert "Value: 42" in text(second)


async def test_code_errors_and_the_sandbox_policy_come_back_as_error_results():
    async with stdio() as client:
        failed = await client.call_tool("run_python", {"code": "1 / 0"})
        assert failed.is_error and "ZeroDivisionError" in text(failed)
        denied = await client.call_tool("run_python", {"code": "import os\nos.listdir('/')"})
        assert denied.is_error and "os" in denied.structured_content["error"]
        after = await client.call_tool("run_python", {"code": "print('still here')"})
        assert not after.is_error and "still here" in text(after)


async def test_agents_and_host_tools_are_served_too():
    args = ["--sandbox", "inline", "--agent", "mcp_agents:make_adder"]
    async with stdio(*args, "--tools", "mcp_agents:secret_number") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert names == {"run_python", "adder"}
        for _ in range(2):  # a factory makes a fresh agent (and scripted model) each call
            answer = await client.call_tool("adder", {"task": "What is 19 + 23?"})
            assert not answer.is_error and text(answer) == "42"
            assert answer.structured_content["answer"] == 42
        host = await client.call_tool("run_python", {"code": "secret_number() * 6"})
        assert host.structured_content["value"] == 42


async def test_http_sessions_are_handles_that_keep_their_variables(http_serve):
    url, token = http_serve
    async with http(url, token) as client:
        first = await client.call_tool("run_python", {"code": "y = 5"})
        handle = first.structured_content["session"]
        assert handle in text(first)
        again = await client.call_tool("run_python", {"code": "y + 1", "session": handle})
        assert again.structured_content["value"] == 6
        fresh = await client.call_tool("run_python", {"code": "y"})
        assert fresh.is_error and "NameError" in text(fresh)
        assert fresh.structured_content["session"] != handle
        bad = await client.call_tool("run_python", {"code": "1", "session": "guessed"})
        assert bad.is_error and "unknown session" in text(bad)


async def test_http_with_a_2025_client_keeps_one_sandbox_per_mcp_session(http_serve):
    url, token = http_serve
    async with http(url, token, mode="legacy") as client:
        assert client.protocol_version < "2026"
        await client.call_tool("run_python", {"code": "z = 'kept'"})
        kept = await client.call_tool("run_python", {"code": "z"})
        assert kept.structured_content["value"] == "kept"


async def test_http_refuses_clients_without_the_token(http_serve):
    url, _ = http_serve
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        refused = httpx2.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "x"}, headers=headers)
        assert refused.status_code == 401
    with pytest.raises(Exception, match="error"):
        async with http(url, "wrong") as client:
            await client.call_tool("run_python", {"code": "1"})


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codeact.cli", "mcp", *args],
        cwd=ROOT,
        env={**os.environ, **ENV},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "the following arguments are required: command"),
        (("serve", "--sandbox", "nope"), "unknown sandbox"),
        (("serve", "--agent", "no_such_module:agent"), "--agent no_such_module:agent: cannot"),
        (("serve", "--agent", "mcp_agents"), "--agent takes MODULE:NAME"),
        (("serve", "--tools", "mcp_agents:nothing"), "mcp_agents has no 'nothing'"),
        (("serve", "--port", "x"), "invalid int value"),
    ],
)
def test_command_line_mistakes_exit_2_with_one_line(args, message):
    done = run_cli(*args)
    assert done.returncode == 2, done
    assert message.lower() in done.stderr.lower()
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_stdio_server_exits_when_its_client_goes():
    async def use_and_leave() -> None:
        async with stdio() as client:
            await client.call_tool("run_python", {"code": "1"})

    asyncio.run(use_and_leave())  # the SDK's client closes stdin and waits for the process
