"""MCP servers' tools as codeact tools, against real MCP server processes over stdio and HTTP."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from codeact import CodeAgent, ScriptedModel, ToolCallingAgent, ToolError
from codeact.mcp import MCPClient

SERVER = str(Path(__file__).with_name("mcp_server.py"))
STDIO = [sys.executable, SERVER]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_http_server(*extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, SERVER, "--http", str(port), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"http://127.0.0.1:{port}/mcp"
        except OSError:
            assert proc.poll() is None, "the MCP test server exited at start-up"
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("the MCP test server did not listen within 30 s")


@pytest.fixture(scope="module")
def http_url():
    proc, url = start_http_server()
    yield url
    proc.kill()
    proc.wait()


def by_name(client: MCPClient) -> dict:
    return {t.name: t for t in client.tools}


def code(body: str) -> str:
    return f"Working on it.\n```python\n{body}\n```"


def test_stdio_tools_carry_the_servers_names_descriptions_and_schemas():
    with MCPClient.stdio(STDIO) as client:
        tools = by_name(client)
    assert {"add", "weather", "shout_text", "refuse", "pid", "die"} <= set(tools)
    add = tools["add"]
    assert add.description == "Add two integers."
    assert add.parameters["properties"] == {"a": {"type": "integer"}, "b": {"type": "integer"}}
    assert add.parameters["required"] == ["a", "b"]
    assert add.to_schema()["function"]["name"] == "add"
    assert add.describe().startswith("def add(a: int, b: int) -> int:")
    assert tools["shout_text"].remote_name == "shout-text"


def test_structured_and_text_results_come_back_as_values():
    with MCPClient.stdio(STDIO) as client:
        tools = by_name(client)
        assert tools["add"](2, b=3) == 5
        assert tools["weather"](city="Rome") == {"city": "Rome", "temp_c": 21.5}
        assert tools["shout_text"]("hi") == "HI!"


def test_bad_arguments_are_a_tool_error_with_the_usage():
    with MCPClient.stdio(STDIO) as client:
        add = by_name(client)["add"]
        with pytest.raises(ToolError, match=r"a: 'x' is not of type 'integer'.*add\(a: int"):
            add("x", 1)
        with pytest.raises(ToolError, match="'b' is a required property"):
            add(1)


def test_a_code_agent_in_the_local_sandbox_calls_mcp_tools_through_the_proxy():
    model = ScriptedModel(
        [
            code('x = add(2, 3)\nw = weather("Rome")\nprint(x, w["temp_c"], shout_text("ok"))'),
            code("final_answer(x * 10)"),
        ]
    )
    with (
        MCPClient.stdio(STDIO) as client,
        CodeAgent(model, tools=client.tools, sandbox="local") as agent,
    ):
        result = agent.run("Add 2 and 3, and get Rome's weather.")
    assert result.state == "success", result.error
    assert result.steps[0].error is None
    assert "5 21.5 OK!" in result.steps[0].observation
    assert result.output == 50
    assert "def weather(city: str) -> dict:" in model.requests[0][0]["content"]
    uses = result.steps[0].tool_uses  # recorded like any host tool's calls
    assert [(u.name, u.arguments, u.result) for u in uses[:2]] == [
        ("add", {"a": 2, "b": 3}, 5),
        ("weather", {"city": "Rome"}, {"city": "Rome", "temp_c": 21.5}),
    ]


def test_an_mcp_error_is_an_observation_for_both_agent_kinds():
    code_model = ScriptedModel([code('refuse("no reason")'), code("final_answer('done')")])
    tool_model = ScriptedModel(
        [
            {"content": None, "tool_calls": [{"name": "refuse", "arguments": {"reason": "x"}}]},
            {"content": None, "tool_calls": [{"name": "final_answer", "arguments": {"answer": 1}}]},
        ]
    )
    with MCPClient.stdio(STDIO) as client:
        with CodeAgent(code_model, tools=client.tools, sandbox="local") as agent:
            coded = agent.run("try")
        called = ToolCallingAgent(tool_model, tools=client.tools).run("try")
    assert coded.state == "success" and "refused: no reason" in coded.steps[0].observation
    assert coded.steps[0].error is not None
    assert called.state == "success"
    assert called.steps[0].observation == "refuse: Error: Error executing tool refuse: refused: x"


def test_a_tool_calling_agent_uses_mcp_tools_in_parallel():
    calls = [
        {"name": "add", "arguments": {"a": 1, "b": 2}},
        {"name": "weather", "arguments": {"city": "Oslo"}},
    ]
    model = ScriptedModel(
        [
            {"content": None, "tool_calls": calls},
            {"content": None, "tool_calls": [{"name": "final_answer", "arguments": {"answer": 3}}]},
        ]
    )
    with MCPClient.stdio(STDIO) as client:
        result = ToolCallingAgent(model, tools=client.tools).run("add and look")
    assert result.state == "success"
    assert result.steps[0].tool_results == ["3", '{"city": "Oslo", "temp_c": 14.0}']


def test_clashing_names_across_servers_are_an_error_unless_prefixed(http_url):
    with (
        MCPClient.stdio(STDIO) as local,
        MCPClient.http(http_url) as remote,
        pytest.raises(ValueError, match="two tools are named 'add'"),
    ):
        CodeAgent(ScriptedModel([]), tools=[*local.tools, *remote.tools], sandbox="inline")
    model = ScriptedModel([code("final_answer([local_add(1, 2), web_add(3, 4)])")])
    with (
        MCPClient.stdio(STDIO, prefix="local") as local,
        MCPClient.http(http_url, prefix="web") as remote,
        CodeAgent(model, tools=[*local.tools, *remote.tools], sandbox="local") as agent,
    ):
        result = agent.run("add on both servers")
    assert result.output == [3, 7]


def test_leaving_the_context_ends_the_server_process():
    with MCPClient.stdio(STDIO) as client:
        pid = by_name(client)["pid"]()
        os.kill(pid, 0)  # alive now
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"the MCP server process {pid} outlived its client")


def test_a_server_that_dies_mid_run_is_an_observation_not_a_hang():
    model = ScriptedModel(
        [code("die()"), code("print(add(1, 2))"), code("final_answer('gave up')")]
    )
    outcome = {}

    def run() -> None:
        with (
            MCPClient.stdio(STDIO) as client,
            CodeAgent(model, tools=client.tools, sandbox="local") as agent,
        ):
            outcome["result"] = agent.run("use the server")

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "the run hung on a dead MCP server"
    result = outcome["result"]
    assert result.state == "success"
    for step in result.steps[:2]:
        assert "is no longer connected" in step.observation, step.observation


def test_http_sends_the_headers_and_a_killed_server_is_a_clear_error():
    proc, url = start_http_server()
    try:
        with MCPClient.http(url, headers={"Authorization": "Bearer s3cret"}) as client:
            tools = by_name(client)
            assert tools["authorization"]() == "Bearer s3cret"
            assert tools["add"](20, 22) == 42
            proc.kill()
            proc.wait()
            started = time.monotonic()
            with pytest.raises(ToolError, match=f"MCP server {url}"):
                tools["add"](1, 2)
            assert time.monotonic() - started < 30
    finally:
        proc.kill()


def test_a_slow_tool_times_out_as_a_tool_error():
    with MCPClient.stdio(STDIO, timeout=1) as client:
        started = time.monotonic()
        with pytest.raises(ToolError, match="did not answer within 1 s"):
            by_name(client)["sleep"](20)
        assert time.monotonic() - started < 10


def test_stdio_servers_get_only_the_env_they_are_given(monkeypatch):
    monkeypatch.setenv("CODEACT_TEST_HOST_SECRET", "host-only")
    with MCPClient.stdio(STDIO, env={"SERVER_TOKEN": "t0k"}) as client:
        env = by_name(client)["env"]
        assert env("SERVER_TOKEN") == "t0k"
        assert env("CODEACT_TEST_HOST_SECRET") == ""


def test_servers_that_cannot_start_fail_at_once_with_one_line():
    with pytest.raises(ConnectionError, match="No such file or directory"):
        MCPClient.stdio(["/nonexistent/mcp-server"]).__enter__()
    with pytest.raises(ConnectionError, match="could not connect.*Connection closed"):
        MCPClient.stdio([sys.executable, "-c", "pass"]).__enter__()
    with pytest.raises(ConnectionError, match="could not connect to the MCP server"):
        MCPClient.http(f"http://127.0.0.1:{free_port()}/mcp").__enter__()
    with pytest.raises(ValueError, match="list of strings"):
        MCPClient.stdio("python server.py")  # type: ignore[arg-type]


def test_tools_answer_calls_from_many_threads_at_once():
    with MCPClient.stdio(STDIO) as client:
        add = by_name(client)["add"]
        with ThreadPoolExecutor(8) as pool:
            sums = list(pool.map(lambda i: add(i, i), range(32)))
    assert sums == [2 * i for i in range(32)]


async def test_works_from_async_code():
    model = ScriptedModel([code("final_answer(add(40, 2))")])
    async with MCPClient.stdio(STDIO) as client:
        assert by_name(client)["add"](1, 1) == 2  # a direct call inside a coroutine
        with CodeAgent(model, tools=client.tools, sandbox="local") as agent:
            result = await agent.arun("add")
    assert result.output == 42


def test_a_closed_client_says_so():
    with MCPClient.stdio(STDIO) as client:
        add = by_name(client)["add"]
    with pytest.raises(ToolError, match="no longer connected"):
        add(1, 2)
    assert asyncio.iscoroutinefunction(client.__aenter__)
