"""Model Context Protocol: tools from MCP servers (``MCPClient``), and codeact as an MCP server
(``codeact mcp serve``, in ``codeact.mcp.serve``).

Needs the ``mcp`` extra (``pip install 'codeact[mcp]'``); ``import codeact`` never loads it,
and this package loads the SDK only when ``MCPClient`` is first used.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MCPClient", "MCPTool"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from codeact.mcp import client

        return getattr(client, name)
    raise AttributeError(f"module 'codeact.mcp' has no attribute {name!r}")
