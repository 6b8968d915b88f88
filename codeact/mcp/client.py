"""Tools from MCP servers, as codeact ``Tool``s both agent kinds can use.

The MCP SDK is async; agents and sandboxes call tools synchronously, from any thread. So each
``MCPClient`` owns a private event loop in a background thread: the connection lives there for
the client's whole life, and a tool call from any thread (a sync ``run``, ``arun``'s worker
thread, the thread answering a sandbox's tool calls) is sent to that loop and waited for. A
call never waits forever: it ends with the call's ``timeout``, or as soon as the connection is
gone, as a ``ToolError`` the model sees as an observation.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import keyword
import re
import threading
from collections.abc import Mapping, Sequence
from inspect import Parameter, Signature
from typing import Any

try:
    import httpx2  # the MCP SDK's HTTP client
    import mcp
    from mcp.client.streamable_http import streamable_http_client
    from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        f"codeact.mcp needs the MCP SDK ({exc}); install it with: pip install 'codeact[mcp]'"
    ) from None

from codeact.tools import Tool, ToolError, _strip_titles

#: JSON-schema types as the Python names the model sees in a tool's signature.
_PY_TYPES = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "array": "list",
    "object": "dict",
    "null": "None",
}
_GRACE_S = 5.0  # beyond the call's own timeout, before the caller stops waiting regardless


class MCPClient:
    """A connection to one MCP server; inside ``with``, ``.tools`` are its tools as ``Tool``s.

    ::

        with MCPClient.stdio(["python", "server.py"]) as files, MCPClient.http(url) as web:
            agent = CodeAgent(model, tools=[*files.tools, *web.tools])

    ``prefix`` names the tools ``<prefix>_<name>`` (for servers whose tool names clash);
    ``timeout`` bounds each tool call, ``connect_timeout`` the start-up. Leaving the ``with``
    closes the session and ends a stdio server's process.
    """

    def __init__(
        self,
        server: Any,
        *,
        label: str,
        prefix: str | None = None,
        timeout: float = 120.0,
        connect_timeout: float = 30.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if prefix is not None and not prefix.isidentifier():
            raise ValueError(f"prefix {prefix!r} is not a valid Python name")
        self.label, self.prefix = label, prefix
        self.timeout, self.connect_timeout = timeout, connect_timeout
        self.tools: list[Tool] = []
        self._server, self._headers = server, dict(headers or {})
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._session: Any = None
        self._stop: asyncio.Event | None = None
        self._serving: concurrent.futures.Future[None] | None = None
        self._gone: str | None = None  # why the connection ended, once it has

    @classmethod
    def stdio(
        cls,
        command: Sequence[str],
        env: Mapping[str, str] | None = None,
        *,
        cwd: str | None = None,
        **options: Any,
    ) -> MCPClient:
        """A server started as ``command`` that speaks MCP on its stdin/stdout.

        The process gets a minimal environment (``PATH``, ``HOME``...) plus ``env``: pass the
        server's credentials here; they stay in that process, never in a sandbox.
        """
        if isinstance(command, str) or not command:
            raise ValueError('command is a list of strings, e.g. ["python", "server.py"]')
        params = mcp.StdioServerParameters(
            command=command[0], args=list(command[1:]), env=dict(env or {}), cwd=cwd
        )
        return cls(params, label=" ".join(command), **options)

    @classmethod
    def http(cls, url: str, headers: Mapping[str, str] | None = None, **options: Any) -> MCPClient:
        """A server at ``url`` over streamable HTTP; ``headers`` (e.g. ``Authorization``) go
        with every request."""
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"an MCP server URL starts with http:// or https://, got {url!r}")
        return cls(url, label=url, headers=headers, **options)

    # --- the connection's life ------------------------------------------------------------

    def __enter__(self) -> MCPClient:
        if self._loop is not None:
            raise RuntimeError(f"the MCP client for {self.label} is already open")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"mcp {self.label}"[:60], daemon=True
        )
        self._thread.start()
        ready: concurrent.futures.Future[list[Any]] = concurrent.futures.Future()
        self._serving = asyncio.run_coroutine_threadsafe(self._serve(ready), self._loop)
        try:
            listing = ready.result(self.connect_timeout)
        except concurrent.futures.TimeoutError:
            self.close()
            raise ConnectionError(
                f"the MCP server {self.label} did not answer within {self.connect_timeout:g} s"
            ) from None
        except Exception as exc:
            self.close()
            raise ConnectionError(
                f"could not connect to the MCP server {self.label}: {_describe(exc)}"
            ) from None
        self.tools = self._tools(listing)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> MCPClient:
        return await asyncio.to_thread(self.__enter__)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        """End the session (and a stdio server's process); safe to call twice."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        if self._stop is not None:
            loop.call_soon_threadsafe(self._stop.set)
        if self._serving is not None:
            try:
                self._serving.result(self.connect_timeout)
            except Exception:  # the session was already broken; closing it is all we want
                self._serving.cancel()
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(self.connect_timeout)
        if not loop.is_running():
            loop.close()
        self._gone = self._gone or "the client was closed"

    async def _serve(self, ready: concurrent.futures.Future[list[Any]]) -> None:
        """Hold the connection open (entered and left in this one task, as anyio requires)."""
        self._stop = asyncio.Event()
        try:
            async with mcp.Client(self._transport(), raise_exceptions=False) as session:
                listing: list[Any] = []
                cursor = None
                while True:
                    page = await session.list_tools(cursor=cursor)
                    listing += page.tools
                    cursor = page.next_cursor
                    if not cursor:
                        break
                self._session = session
                ready.set_result(listing)
                await self._stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else RuntimeError(exc))
            self._gone = self._gone or _describe(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            self._session = None

    def _transport(self) -> Any:
        if isinstance(self._server, str):
            # The SDK's own defaults: 30 s to connect, reads held open for server streams.
            http = httpx2.AsyncClient(headers=self._headers, timeout=httpx2.Timeout(30, read=300))
            return streamable_http_client(self._server, http_client=http)
        return self._server

    # --- calls ----------------------------------------------------------------------------

    def call(self, name: str, arguments: dict[str, Any], output_schema: Any = None) -> Any:
        """Call the server's tool ``name``; returns its result as a value, raises ``ToolError``.

        ``output_schema`` is the tool's, which says whether a value is wrapped in ``result``.
        """
        loop = self._loop
        if loop is None or self._session is None:
            raise ToolError(self._gone_message())
        if threading.current_thread() is self._thread:
            raise ToolError("an MCP tool cannot be called from its own client's event loop")
        future = asyncio.run_coroutine_threadsafe(self._call(name, arguments, output_schema), loop)
        try:
            return future.result(self.timeout + _GRACE_S)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise ToolError(
                f"the MCP tool {name!r} of {self.label} did not answer within {self.timeout:g} s"
            ) from None

    async def _call(self, name: str, arguments: dict[str, Any], output_schema: Any) -> Any:
        session = self._session
        if session is None:
            raise ToolError(self._gone_message())
        try:
            result = await session.call_tool(name, arguments, read_timeout_seconds=self.timeout)
        except mcp.MCPError as exc:
            if exc.code == CONNECTION_CLOSED:  # the transport ended: no later call can work
                self._gone = str(exc)
                raise ToolError(self._gone_message()) from None
            if exc.code == REQUEST_TIMEOUT:
                raise ToolError(
                    f"the MCP tool {name!r} of {self.label} did not answer within "
                    f"{self.timeout:g} s"
                ) from None
            raise ToolError(f"the MCP server {self.label} refused the call: {exc}") from None
        except Exception as exc:  # transport failures: a dead HTTP server, a broken pipe
            raise ToolError(f"the MCP server {self.label} failed: {_describe(exc)}") from None
        return _result_value(result, output_schema)

    def _gone_message(self) -> str:
        why = f" ({self._gone})" if self._gone else ""
        return f"the MCP server {self.label} is no longer connected{why}; its tools cannot be used"

    def _tools(self, listing: list[Any]) -> list[Tool]:
        tools: list[Tool] = []
        by_name: dict[str, str] = {}
        for spec in listing:
            name = _python_name(spec.name, self.prefix)
            if name in by_name:
                raise ValueError(
                    f"the MCP server {self.label} has tools {by_name[name]!r} and {spec.name!r}, "
                    f"both named {name!r} in Python"
                )
            by_name[name] = spec.name
            tools.append(MCPTool(self, spec, name))
        return tools

    def __repr__(self) -> str:
        return f"MCPClient({self.label!r}, tools={[t.name for t in self.tools]})"


class MCPTool(Tool):
    """One tool of an MCP server: its name, description and input schema come from the server;
    calling it validates the arguments against that schema and calls the server."""

    def __init__(self, client: MCPClient, spec: Any, name: str) -> None:
        self.client, self.remote_name = client, spec.name
        self.name = name
        self.description = (spec.description or spec.title or f"The MCP tool {spec.name}.").strip()
        schema = _strip_titles(dict(spec.input_schema or {}))
        schema.setdefault("type", "object")
        schema.setdefault("properties", {})
        schema.setdefault("required", [])
        self._parameters = schema
        self._params: list[Any] = []  # Tool's Python parameters: an MCP tool has a schema instead
        self.output_schema = spec.output_schema
        if _wraps_result(spec.output_schema):
            self.output_type = _type_name(spec.output_schema["properties"]["result"])
        else:
            self.output_type = "Any" if spec.output_schema is None else "dict"
        properties: dict[str, Any] = schema["properties"]
        required = [p for p in properties if p in schema["required"]]
        self._order = required + [p for p in properties if p not in required]
        self.signature = _signature(self._order, properties, required)

    def validate(
        self, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Bind positional arguments in the signature's order and check them against the
        input schema; a bad call is a ``ToolError`` that shows the usage."""
        kwargs = dict(kwargs or {})
        if len(args) > len(self._order):
            raise ToolError(f"{self.name}() takes {len(self._order)} arguments. {self._usage()}")
        for pname, value in zip(self._order, args, strict=False):
            if pname in kwargs:
                raise ToolError(f"{self.name}() got {pname!r} twice. {self._usage()}")
            kwargs[pname] = value
        import jsonschema  # an MCP SDK dependency; imported on first call

        try:
            jsonschema.validate(kwargs, self._parameters)
        except jsonschema.ValidationError as exc:
            where = ".".join(str(p) for p in exc.absolute_path)
            raise ToolError(
                f"{self.name}() got invalid arguments: {where + ': ' if where else ''}"
                f"{exc.message}. {self._usage()}"
            ) from None
        except jsonschema.SchemaError:  # the server's schema is broken: let the server judge
            pass
        return kwargs

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.client.call(self.remote_name, self.validate(args, kwargs), self.output_schema)

    def call_with(self, arguments: dict[str, Any]) -> Any:
        """Call with the arguments as one JSON object, as tool-calling models send them."""
        return self.client.call(self.remote_name, self.validate((), arguments), self.output_schema)

    def _usage(self) -> str:
        return f"Usage: {self.usage()}"

    def usage(self) -> str:
        properties, required = self._parameters["properties"], self._parameters["required"]
        params = []
        for pname in self._order:
            text = f"{pname}: {_type_name(properties[pname])}"
            if pname not in required:
                text += f" = {properties[pname].get('default')!r}"
            params.append(text)
        return f"{self.name}({', '.join(params)}) -> {self.output_type}"

    def describe(self) -> str:
        lines = [f"def {self.usage()}:", f'    """{self.description}']
        properties = self._parameters["properties"]
        if properties:
            lines += ["", "    Args:"]
            for pname in self._order:
                doc = properties[pname].get("description") or _type_name(properties[pname])
                lines.append(f"        {pname}: {' '.join(str(doc).split())}")
        lines.append('    """')
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"MCPTool({self.usage()}, server={self.client.label!r})"


def _signature(order: list[str], properties: dict[str, Any], required: list[str]) -> Signature:
    """A Python signature for the schema, so a call's arguments bind by name for the records
    (properties whose names are not identifiers can only be passed as keywords)."""
    params = [
        Parameter(
            p,
            Parameter.POSITIONAL_OR_KEYWORD,
            default=Parameter.empty if p in required else properties[p].get("default"),
        )
        for p in order
        if p.isidentifier() and not keyword.iskeyword(p)
    ]
    if len(params) < len(order):
        params.append(Parameter("other", Parameter.VAR_KEYWORD))
    return Signature(params)


def _python_name(name: str, prefix: str | None) -> str:
    """The tool's name as the model calls it: a Python identifier, prefixed when asked."""
    text = re.sub(r"\W", "_", name)
    if prefix:
        text = f"{prefix}_{text}"
    if not text.isidentifier() or keyword.iskeyword(text):
        text = f"tool_{text}"
    return text


def _type_name(schema: Any) -> str:
    kind = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(kind, list):
        return " | ".join(_PY_TYPES.get(k, "Any") for k in kind)
    if isinstance(schema, dict) and "enum" in schema:
        return f"Literal[{', '.join(repr(v) for v in schema['enum'])}]"
    return _PY_TYPES.get(kind, "Any") if isinstance(kind, str) else "Any"


def _wraps_result(output_schema: Any) -> bool:
    """Servers put a non-object return value under ``"result"`` in the structured content."""
    if not isinstance(output_schema, dict):
        return False
    return set(output_schema.get("properties") or {}) == {"result"}


def _result_value(result: Any, output_schema: Any) -> Any:
    """A tool result as a value the code can use: structured content as data, a text result
    as its string, several blocks as a list; an error result raises ``ToolError``."""
    blocks = [_block_value(block) for block in result.content or []]
    if result.is_error:
        text = "\n".join(b if isinstance(b, str) else str(b) for b in blocks)
        raise ToolError(text or "the MCP tool reported an error")
    structured = result.structured_content
    if structured is not None:
        if _wraps_result(output_schema) and isinstance(structured, dict) and "result" in structured:
            return structured["result"]
        return structured
    if not blocks:
        return None
    return blocks[0] if len(blocks) == 1 else blocks


def _block_value(block: Any) -> Any:
    if getattr(block, "type", None) == "text":
        return block.text
    return block.model_dump(mode="json", exclude_none=True)  # image, audio, resource: as data


def _describe(exc: BaseException) -> str:
    """One line for an error that may be an exception group from anyio's task groups."""
    while getattr(exc, "exceptions", None):  # an exception group
        exc = exc.exceptions[0]  # type: ignore[attr-defined]
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text
