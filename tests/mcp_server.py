"""A small MCP server for the tests, written with the SDK's server API.

``python tests/mcp_server.py`` speaks MCP over stdio; ``--http PORT`` over streamable HTTP on
127.0.0.1. ``--name`` changes the server's name (tools stay the same, so two of them clash).
"""

from __future__ import annotations

import argparse
import os
import time

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel

parser = argparse.ArgumentParser()
parser.add_argument("--http", type=int)
parser.add_argument("--name", default="test-server")
args = parser.parse_args()
server = MCPServer(args.name, log_level="WARNING")


class Weather(BaseModel):
    city: str
    temp_c: float


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def weather(city: str) -> Weather:
    """The weather in a city, as structured data."""
    return Weather(city=city, temp_c=21.5 if city == "Rome" else 14.0)


@server.tool(name="shout-text", structured_output=False)
def shout(text: str) -> str:
    """Shout a text back (a name that is not a Python identifier, a text-only result)."""
    return text.upper() + "!"


@server.tool()
def refuse(reason: str) -> str:
    """Always fails with the given reason."""
    raise ToolError(f"refused: {reason}")


@server.tool()
def pid() -> int:
    """The server's process id."""
    return os.getpid()


@server.tool()
def env(name: str) -> str:
    """The value of an environment variable of the server process ('' when unset)."""
    return os.environ.get(name, "")


@server.tool()
async def authorization(ctx: Context) -> str:
    """The Authorization header the client sent ('' over stdio)."""
    return (ctx.headers or {}).get("authorization", "")


@server.tool()
def sleep(seconds: float) -> str:
    """Sleep, then answer."""
    time.sleep(seconds)
    return "awake"


@server.tool()
def die() -> str:
    """End the server process at once, mid-call."""
    os._exit(3)


if __name__ == "__main__":
    if args.http:
        server.run("streamable-http", host="127.0.0.1", port=args.http)
    else:
        server.run()
