"""Input tokens per step of a long run, with and without a context budget (compaction).

    python bench/bench_context.py

A CodeAgent runs 50 scripted steps in the inline sandbox, each printing 5 kB; the model is a
ScriptedModel, which counts the input tokens of each request as a provider would bill them
(about four characters a token). Without a budget every request carries the whole history, so
the input per step grows with the step number and the run's total grows with its square. With
``max_context_tokens`` the older observations are elided and, past half the budget after
eliding, the older steps are summarised in one model call, so the input per step stays flat.
Printed: the input tokens of every fifth step in both runs, the totals and their ratio, and the
number of compactions (each one breaks the providers' prompt cache once; between them the
request only grows at its end, so the cache hits).
"""

from __future__ import annotations

from codeact import CodeAgent, ScriptedModel

STEPS = 50
OBSERVATION_CHARS = 5_000
BUDGET_TOKENS = 8_000
SUMMARY = "Summary: each earlier step printed a 5,000-character line of its step number."


REPLIES = [
    *(
        f"Step {i}.\n```python\nprint('{i:02}' * {OBSERVATION_CHARS // 2})\n```"
        for i in range(STEPS)
    ),
    "```python\nfinal_answer('done')\n```",
]


class SummarisingModel(ScriptedModel):
    """Replays the steps, and answers a compaction's summary request (told by its text)."""

    def __init__(self) -> None:
        super().__init__(REPLIES)
        self.summaries = 0

    def generate(self, messages, *, tools=None, stop=None, timeout=None):
        if "You are summarising the earlier part" in str(messages[-1].get("content")):
            self.summaries += 1
            return ScriptedModel([SUMMARY]).generate(messages)
        return super().generate(messages, tools=tools, stop=stop)


def run(budget: int | None) -> tuple[list[int], int, int, int]:
    """Input tokens of each step, of the whole run, the compactions, the summaries."""
    model = SummarisingModel()
    agent = CodeAgent(model, sandbox="inline", max_steps=STEPS + 1, max_context_tokens=budget)
    result = agent.run("Print the numbers, one step each, then finish.")
    assert result.state == "success", result.error
    per_step = [s.token_usage.input_tokens for s in result.steps]
    compactions = sum(1 for s in result.steps if s.compaction)
    return per_step, result.token_usage.input_tokens, compactions, model.summaries


def main() -> None:
    growing, growing_total, _, _ = run(None)
    flat, flat_total, compactions, summaries = run(BUDGET_TOKENS)
    print(f"{STEPS} steps, {OBSERVATION_CHARS:,}-character observations; input tokens per step")
    print(f"{'step':>5} {'no budget':>11} {f'budget {BUDGET_TOKENS:,}':>14}")
    for i in range(0, STEPS, 5):
        print(f"{i + 1:>5} {growing[i]:>11,} {flat[i]:>14,}")
    print(f"{STEPS:>5} {growing[-2]:>11,} {flat[-2]:>14,}")
    print(f"total {growing_total:>11,} {flat_total:>14,}  (the budgeted total includes summaries)")
    print(f"ratio: {growing_total / flat_total:.1f}x fewer input tokens with the budget")
    print(f"largest request: {max(growing):,} vs {max(flat):,} tokens")
    print(f"compactions: {compactions} (of which summaries, one model call each: {summaries})")


if __name__ == "__main__":
    main()
