"""A small MCP server (the SDK's server API) with a made-up forecast: examples/mcp_tools.py
starts it over stdio. Any MCP server works the same way: ``npx``, ``uvx`` or your own."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel

server = MCPServer("forecast", log_level="WARNING")
HIGHS = {"oslo": [17.0, 18.5, 16.0], "rome": [29.0, 31.5, 30.0], "lima": [19.0, 19.5, 20.0]}


class Forecast(BaseModel):
    city: str
    highs_c: list[float]


@server.tool()
def forecast(city: str, days: int = 3) -> Forecast:
    """Daily high temperatures (°C) for the next days in a city."""
    if city.lower() not in HIGHS:
        raise ValueError(f"no forecast for {city!r}; known: {', '.join(HIGHS)}")
    return Forecast(city=city, highs_c=HIGHS[city.lower()][:days])


@server.tool()
def to_fahrenheit(celsius: float) -> float:
    """Convert °C to °F."""
    return round(celsius * 9 / 5 + 32, 1)


if __name__ == "__main__":
    server.run()
