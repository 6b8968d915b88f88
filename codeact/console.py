"""A live console view of a run: pass ``print_step`` as a step callback."""

from __future__ import annotations

from codeact.memory import Step


def print_step(step: Step) -> None:
    """A live console view of one step: thought, action, observation, time and tokens."""
    from rich.console import Console
    from rich.panel import Panel
    from rich.syntax import Syntax

    console = Console(stderr=True)
    title = (
        f"step {step.index} · {step.duration_s:.2f} s · "
        f"{step.token_usage.input_tokens} in / {step.token_usage.output_tokens} out tokens"
    )
    if step.cost_usd is not None:
        title += f" · ${step.cost_usd:.4f}"
    console.rule(title)
    if step.model_output:
        console.print(step.model_output.split("```")[0].strip() or "", style="dim")
    if step.action:
        console.print(Syntax(step.action, "json" if step.tool_calls else "python"))
    style = "red" if step.error else "green"
    console.print(Panel(step.observation, title="observation", border_style=style))
