"""``codeact mcp serve``: codeact's sandbox, and agents, as tools of an MCP server.

Any MCP client (an IDE, another framework) gets a ``run_python`` tool whose code runs in a
persistent codeact sandbox, and optionally agents as tools taking one ``task``. Over stdio a
server process has one client, so the sandbox is that client's. Over HTTP several clients
share the server; since the 2026 protocol has no sessions, each sandbox has a handle: the result
of ``run_python`` carries it as ``session``, and passing it back reaches the same variables
(a 2025 client's ``Mcp-Session-Id`` is used when it sends no handle). Handles are random, so no
client reaches another's sandbox; the least recently used sandbox is closed past
``--max-sessions``.
"""

# No ``from __future__ import annotations``: the MCP SDK reads the tools' annotations (Context
# among them, imported where the server is built) as objects.
import asyncio
import hmac
import importlib
import os
import secrets
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from codeact import prompts
from codeact.agents import Agent
from codeact.memory import _jsonable
from codeact.tools import Tool
from sandboxes import Sandbox, make_sandbox

DEFAULT_SESSION = "default"
RUN_PYTHON_DESCRIPTION = (
    "Run Python code in a persistent, sandboxed session and see what it printed, the value of "
    "its last line, or its error. Variables, functions and imports stay defined between calls "
    "of one session. Imports allowed: {imports}."
)


class Sessions:
    """Sandboxes by session handle, started on first use, the least recently used closed first
    when there are more than ``limit``."""

    def __init__(self, make: Callable[[], Sandbox], limit: int) -> None:
        self._make, self.limit = make, limit
        self._open: OrderedDict[str, tuple[Sandbox, threading.Lock]] = OrderedDict()
        self._lock = threading.Lock()

    def new_handle(self) -> str:
        return secrets.token_urlsafe(16)

    def get(self, handle: str) -> tuple[Sandbox, threading.Lock]:
        with self._lock:
            if handle in self._open:
                self._open.move_to_end(handle)
                return self._open[handle]
            sandbox = self._make()
            self._open[handle] = entry = (sandbox, threading.Lock())
            evicted = self._open.popitem(last=False)[1][0] if len(self._open) > self.limit else None
        if evicted is not None:
            evicted.close()
        return entry

    def __contains__(self, handle: str) -> bool:
        return handle in self._open

    def close(self) -> None:
        with self._lock:
            entries, self._open = list(self._open.values()), OrderedDict()
        for sandbox, _ in entries:
            sandbox.close()


def build_server(
    *,
    sandbox: str = "local",
    tools: Sequence[Tool] = (),
    allowed_imports: Sequence[str] = (),
    timeout: float = 30.0,
    agents: Sequence[Agent | Callable[[], Agent]] = (),
    max_sessions: int = 8,
    shared_default: bool = True,
) -> tuple[Any, Sessions]:
    """The MCP server and its sandboxes (the caller closes them).

    ``shared_default``: calls without a handle use one ``"default"`` sandbox (stdio, where the
    process has a single client); otherwise each such call gets a sandbox of its own.
    """
    from mcp.server.mcpserver import Context, MCPServer
    from mcp_types import CallToolResult, TextContent

    host_tools = {t.name: t for t in tools}

    def new_sandbox() -> Sandbox:
        box = make_sandbox(sandbox, timeout=timeout, allowed_imports=list(allowed_imports))
        box.start(host_tools)
        return box

    sessions = Sessions(new_sandbox, max_sessions)
    probe = make_sandbox(sandbox, timeout=timeout, allowed_imports=list(allowed_imports))
    importable = getattr(probe, "importable", None)
    probe.close()
    imports = "any installed module" if importable is None else ", ".join(sorted(importable))
    server = MCPServer(
        "codeact",
        instructions="Run Python in codeact's hardened sandbox with run_python.",
        log_level="WARNING",
    )

    def result(text: str, data: dict[str, Any], error: bool) -> Any:
        content = [TextContent(type="text", text=text)]
        return CallToolResult(content=content, structured_content=data, is_error=error)

    async def run_python(code: str, ctx: Context, session: str = "") -> CallToolResult:
        """Run Python code in a persistent sandbox session.

        Args:
            code: The Python code; the value of its last line is shown, as in a REPL.
            session: The session handle from an earlier result, to reuse its variables.
        """
        if session and session not in sessions:
            text = f"unknown session {session[:40]!r}: it was closed or never existed; omit it"
            return result(text, {"error": text}, True)
        transport_id = (ctx.headers or {}).get("mcp-session-id")
        handle = session or (
            f"mcp-{transport_id}"
            if transport_id
            else DEFAULT_SESSION
            if shared_default
            else sessions.new_handle()
        )
        box, lock = await asyncio.to_thread(sessions.get, handle)

        def run() -> Any:
            with lock:
                return box.run(code)

        ex = await asyncio.to_thread(run)
        final = (ex.final_answer,) if ex.is_final else ()
        text = prompts.code_observation(ex.stdout, ex.value, ex.error, *final)
        if not shared_default and not session and not transport_id:
            text += f"\n(session {handle!r}: pass it back as `session` to keep these variables)"
        data = {"stdout": ex.stdout, "value": ex.value, "error": ex.error, "session": handle}
        return result(text, data, ex.error is not None)

    server.add_tool(run_python, description=RUN_PYTHON_DESCRIPTION.format(imports=imports))
    for spec in agents:
        _add_agent(server, spec, result)
    return server, sessions


def _add_agent(server: Any, spec: Agent | Callable[[], Agent], result: Callable[..., Any]) -> None:
    """An agent as a tool taking ``task``: an ``Agent`` is reused (one run at a time), a
    factory makes a fresh agent for each call."""
    sample = spec if isinstance(spec, Agent) else spec()
    name, description = sample.name, sample.description
    if not isinstance(spec, Agent):
        sample.close()
    lock = threading.Lock()

    def solve(task: str) -> Any:
        if isinstance(spec, Agent):
            with lock:
                return spec.run(task)
        with spec() as agent:
            return agent.run(task)

    async def delegate(task: str) -> Any:
        """Give a task to the agent and get its final answer.

        Args:
            task: The task, with everything the agent needs to know to do it.
        """
        run = await asyncio.to_thread(solve, task)
        if run.state != "success":
            text = f"the agent did not finish ({run.state}): {run.error}"
            return result(text, {"error": text, "state": run.state}, True)
        answer = run.output if isinstance(run.output, str) else repr(run.output)
        data = {"answer": _jsonable(run.output), "steps": len(run.steps), "state": run.state}
        return result(answer, data, False)

    server.add_tool(delegate, name=name, description=description)


def _bearer_guard(app: Any, token: str) -> Any:
    """Refuse HTTP requests without ``Authorization: Bearer <token>`` (the lifespan passes)."""
    expected = f"Bearer {token}".encode()

    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            sent = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(sent, expected):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [(b"content-type", b"text/plain")],
                    }
                )
                await send({"type": "http.response.body", "body": b"missing or wrong token\n"})
                return
        await app(scope, receive, send)

    return guarded


def _agent_spec(spec: str) -> Agent | Callable[[], Agent]:
    from codeact.cli import UsageError

    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise UsageError(f"--agent takes MODULE:NAME, got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"--agent {spec}: cannot load it ({exc})") from None
    if isinstance(obj, Agent) or callable(obj):
        return obj
    raise UsageError(f"--agent {spec}: neither an Agent nor a function that makes one")


def main(argv: list[str]) -> int:
    """``codeact mcp serve ...``; returns the exit status (2, with one line, for mistakes)."""
    from codeact.cli import UsageError

    try:
        return _main(argv)
    except UsageError as exc:  # caught here too: under `python -m codeact.cli` the CLI's
        print(f"codeact mcp: error: {exc}", file=sys.stderr)  # own class is __main__'s
        return 2


def _main(argv: list[str]) -> int:
    from codeact.cli import UsageError, _load_tool, _Parser, _split

    parser = _Parser(prog="codeact mcp", description="codeact and MCP")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    serve = sub.add_parser("serve", help="serve a run_python tool (and agents) over MCP")
    serve.add_argument("--sandbox", default="local", help="inline | local | docker (default local)")
    serve.add_argument("--http", action="store_true", help="streamable HTTP instead of stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    serve.add_argument(
        "--token",
        default=os.environ.get("CODEACT_MCP_TOKEN"),
        help="HTTP: require 'Authorization: Bearer TOKEN' (default $CODEACT_MCP_TOKEN)",
    )
    serve.add_argument(
        "--tools", action="append", default=[], metavar="MODULE:FUNCTION[,...]", help="host tools"
    )
    serve.add_argument(
        "--allow", action="append", default=[], metavar="MODULE[,...]", help="extra imports"
    )
    serve.add_argument("--timeout", type=float, default=30.0, help="seconds per run (default 30)")
    serve.add_argument(
        "--agent",
        action="append",
        default=[],
        metavar="MODULE:NAME",
        help="an Agent, or a function making one, to serve as a tool (repeatable)",
    )
    serve.add_argument("--max-sessions", type=int, default=8)
    args = parser.parse_args(argv)
    try:
        import mcp  # noqa: F401
    except ImportError:
        raise UsageError("codeact mcp needs the MCP SDK: pip install 'codeact[mcp]'") from None
    tools = [_load_tool(spec) for spec in _split(args.tools)]
    agents = [_agent_spec(spec) for spec in args.agent]
    try:
        server, sessions = build_server(
            sandbox=args.sandbox,
            tools=tools,
            allowed_imports=_split(args.allow),
            timeout=args.timeout,
            agents=agents,
            max_sessions=args.max_sessions,
            shared_default=not args.http,
        )
    except (ValueError, TypeError) as exc:  # an unknown sandbox, an agent that will not build
        raise UsageError(str(exc)) from None
    try:
        if args.http:
            _serve_http(server, args.host, args.port, args.token)
        else:
            server.run("stdio")
    except KeyboardInterrupt:
        pass
    finally:
        sessions.close()
    return 0


def _serve_http(server: Any, host: str, port: int, token: str | None) -> None:
    import uvicorn

    app = server.streamable_http_app(host=host)
    if token:
        app = _bearer_guard(app, token)
    elif host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: serving code execution on {host} with no --token: anyone who can reach "
            "the port can run code in the sandbox",
            file=sys.stderr,
        )
    print(f"codeact MCP server on http://{host}:{port}/mcp", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
