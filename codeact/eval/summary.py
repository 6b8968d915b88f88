"""Summaries of results rows: per agent kind, paired code-vs-tool on the same tasks, by domain.

One table model (title, header, body) rendered two ways: markdown (``--md``, for issues and
papers) and rich (a terminal). The paired comparison only counts tasks both kinds ran, and says
how surprising the split of wins would be by chance (an exact McNemar test on the discordant
tasks), so a small suite's noise is not read as a result.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass
class Table:
    title: str
    header: list[str]
    body: list[list[str]]
    note: str = ""


def latest(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (task, agent): the last one (a rerun replaces an earlier attempt)."""
    by_key: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        by_key[row["task"], row["agent"]] = row
    return list(by_key.values())


def agent_stats(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per agent kind: tasks, solved, and means of steps, calls, tokens, time; summed cost."""
    stats: dict[str, dict[str, Any]] = {}
    for agent, group in _group(latest(rows), "agent").items():
        costs = [r["cost_usd"] for r in group if r.get("cost_usd") is not None]
        stats[agent] = {
            "tasks": len(group),
            "solved": sum(1 for r in group if r["success"]),
            "steps": _mean(r["steps"] for r in group),
            "model_calls": _mean(r.get("model_calls", 0) for r in group),
            "tool_calls": _mean(r.get("tool_calls", 0) for r in group),
            "input_tokens": _mean(r["input_tokens"] for r in group),
            "output_tokens": _mean(r["output_tokens"] for r in group),
            "cost_usd": sum(costs) if costs else None,
            "duration_s": _mean(r["duration_s"] for r in group),
        }
    return stats


def paired(rows: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """Code against tool on the tasks both ran; ``None`` when no task ran with both."""
    by_task: dict[str, dict[str, dict[str, Any]]] = {}
    for row in latest(rows):
        by_task.setdefault(row["task"], {})[row["agent"]] = row
    pairs = [(k["code"], k["tool"]) for k in by_task.values() if "code" in k and "tool" in k]
    if not pairs:
        return None
    code_only = sum(1 for c, t in pairs if c["success"] and not t["success"])
    tool_only = sum(1 for c, t in pairs if t["success"] and not c["success"])
    both = [(c, t) for c, t in pairs if c["success"] and t["success"]]

    def mean_of(key: str, side: int) -> float | None:
        return _mean(pair[side][key] for pair in both) if both else None

    def tokens(side: int) -> float | None:
        values = (p[side]["input_tokens"] + p[side]["output_tokens"] for p in both)
        return _mean(values) if both else None

    return {
        "tasks": len(pairs),
        "code_solved": sum(1 for c, _ in pairs if c["success"]),
        "tool_solved": sum(1 for _, t in pairs if t["success"]),
        "code_only": code_only,
        "tool_only": tool_only,
        "both": len(both),
        "p_value": mcnemar_exact(code_only, tool_only),
        "steps": (mean_of("steps", 0), mean_of("steps", 1)),
        "model_calls": (mean_of("model_calls", 0), mean_of("model_calls", 1)),
        "tokens": (tokens(0), tokens(1)),
        "duration_s": (mean_of("duration_s", 0), mean_of("duration_s", 1)),
    }


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` and ``c`` discordant pairs."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail)


def tables(rows: Iterable[dict[str, Any]]) -> list[Table]:
    """The summary as tables: per agent kind, paired comparison, by domain, by task kind."""
    rows = latest(rows)
    out = [_agent_table(rows)]
    comparison = paired(rows)
    if comparison is not None:
        out.append(_paired_table(comparison))
    for key, column, title in (
        ("domain", "domain", "Success by domain"),
        ("tags", "kind", "Success by kind of task"),
    ):
        table = _group_table(rows, key, column, title)
        if table.body:
            out.append(table)
    return out


def markdown(rows: Iterable[dict[str, Any]]) -> str:
    """The summary as markdown tables."""
    parts = []
    for table in tables(rows):
        lines = [f"### {table.title}", "", "| " + " | ".join(table.header) + " |"]
        lines.append("|" + "|".join("---" for _ in table.header) + "|")
        lines += ["| " + " | ".join(cells) + " |" for cells in table.body]
        if table.note:
            lines += ["", table.note]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def rich_tables(rows: Iterable[dict[str, Any]]) -> list[Any]:
    """The summary as ``rich`` renderables, for a terminal."""
    from rich.table import Table as RichTable

    out = []
    for table in tables(rows):
        rich = RichTable(title=table.title, caption=table.note or None, title_justify="left")
        for i, name in enumerate(table.header):
            rich.add_column(name, justify="left" if i == 0 else "right")
        for cells in table.body:
            rich.add_row(*cells)
        out.append(rich)
    return out


def _agent_table(rows: list[dict[str, Any]]) -> Table:
    header = ["agent", "solved", "steps", "model calls", "tool calls", "tokens in", "tokens out"]
    header += ["cost", "time (s)"]
    body = []
    for agent, s in sorted(agent_stats(rows).items()):
        body.append(
            [
                agent,
                _rate(s["solved"], s["tasks"]),
                _num(s["steps"]),
                _num(s["model_calls"]),
                _num(s["tool_calls"]),
                _num(s["input_tokens"], 0),
                _num(s["output_tokens"], 0),
                "—" if s["cost_usd"] is None else f"${s['cost_usd']:.4f}",
                _num(s["duration_s"], 2),
            ]
        )
    return Table("Per agent kind (means per task)", header, body)


def _paired_table(p: dict[str, Any]) -> Table:
    n, both = p["tasks"], p["both"]
    body = [
        ["solved", _rate(p["code_solved"], n), _rate(p["tool_solved"], n)],
        ["solved only by this kind", str(p["code_only"]), str(p["tool_only"])],
    ]
    for key, label in (
        ("steps", "steps"),
        ("model_calls", "model calls"),
        ("tokens", "tokens (in + out)"),
        ("duration_s", "time (s)"),
    ):
        code, tool = p[key]
        digits = 0 if key == "tokens" else 2 if key == "duration_s" else 1
        body.append([f"{label}, on the {both} both solved", _num(code, digits), _num(tool, digits)])
    note = (
        f"Exact McNemar test on the {p['code_only'] + p['tool_only']} tasks only one kind "
        f"solved: p = {p['p_value']:.3g}."
    )
    code_steps, tool_steps = p["steps"]
    if code_steps is not None and tool_steps:
        note += f" Code took {_change(code_steps, tool_steps)} steps than tool calling."
    return Table(f"Code vs tool calling, paired on {n} tasks", ["", "code", "tool"], body, note)


def _group_table(rows: list[dict[str, Any]], key: str, column: str, title: str) -> Table:
    agents = sorted({r["agent"] for r in rows})
    groups: dict[str, dict[str, list[bool]]] = {}
    for row in rows:
        values = row.get(key) or []
        for value in [values] if isinstance(values, str) else values:
            groups.setdefault(value, {}).setdefault(row["agent"], []).append(bool(row["success"]))
    body = [
        [name] + [_rate(sum(g.get(a, [])), len(g.get(a, []))) for a in agents]
        for name, g in sorted(groups.items())
    ]
    return Table(title, [column, *agents], body)


def _group(rows: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    return groups


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def _rate(solved: int, total: int) -> str:
    return f"{solved}/{total} ({100 * solved / total:.0f}%)" if total else "—"


def _num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _change(code: float, tool: float) -> str:
    change = 100 * (tool - code) / tool
    return f"{change:.0f}% fewer" if change >= 0 else f"{-change:.0f}% more"
