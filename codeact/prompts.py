"""What the model is told: system prompts, observations, and how code is found in a reply."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from codeact.tools import Tool

CODE_SYSTEM = """\
You solve tasks by writing Python code, step by step. Each turn, think briefly, then write one \
code block:

```python
# your code
```

The code runs in a persistent Python session: variables, functions and imports stay defined for \
the next turn. You then see what it printed, the value of its last line, or its error. Print what \
you need to see; don't guess results. When you have the answer, call `final_answer(answer)` in \
your code. Imports allowed: {imports}.
{tools}{instructions}"""

CODE_TOOL_SYSTEM = """\
You solve tasks by writing Python code, step by step. Each turn, think briefly, then call the \
`python` tool with your code as its `code` argument.

The code runs in a persistent Python session: variables, functions and imports stay defined for \
the next turn. You then see what it printed, the value of its last line, or its error. Print what \
you need to see; don't guess results. When you have the answer, call `final_answer(answer)` in \
your code. Imports allowed: {imports}.
{tools}{instructions}"""

#: The one native tool of a ``CodeAgent`` with ``code_action="tool"``.
PYTHON_TOOL = {
    "type": "function",
    "function": {
        "name": "python",
        "description": "Run Python code in your persistent session and see its output.",
        "parameters": {
            "type": "object",
            "properties": {"code": {"type": "string", "description": "The Python code to run."}},
            "required": ["code"],
        },
    },
}

NO_PYTHON_CALL = (
    "Your reply called no tool, so nothing ran. Call the `python` tool with your code as its "
    "`code` argument, and call final_answer(answer) in that code when you are done."
)

TOOLS_HEADER = (
    "\nThese functions are already defined; call them directly:\n\n```python\n{stubs}\n```\n"
)

TOOL_CALLING_SYSTEM = """\
You solve tasks step by step by calling the tools you are given. You see each tool's result \
before your next step. When you have the answer, call `final_answer` with argument `answer`.
{instructions}"""

NO_CODE = (
    "Your reply had no code block, so nothing ran. Write your code in a fenced block:\n"
    "```python\n# your code here\n```\n"
    "and call final_answer(answer) in code when you are done."
)

NO_TOOL_CALL = (
    "Your reply called no tool. Call one of the tools; when you have the answer, call "
    "final_answer with argument `answer`."
)

OUT_OF_STEPS = (
    "You have run out of steps. Reply now with your best final answer to the task, as plain text, "
    "without code."
)

#: What the model is told when a cap other than ``max_steps`` ends the run.
OUT_OF_BUDGET = {
    "max_steps": OUT_OF_STEPS,
    "max_tokens": "You have used up your token budget.",
    "max_time": "You have run out of time.",
    "max_cost": "You have used up your cost budget.",
}
BEST_ANSWER = " Reply now with your best final answer to the task, as plain text, without code."
BEST_TYPED_ANSWER = (
    " Reply now with your best final answer to the task as JSON only, without code. {shape}"
)

MAX_VALUE_CHARS = 4_000
_NOT_FINAL = object()

_THINK = re.compile(r"<think(?:ing)?>.*?(?:</think(?:ing)?>|$)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(
    r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)(?:\n[ \t]*```|\Z)", re.DOTALL | re.IGNORECASE
)
_CODE_TAG = re.compile(r"<code>(.*?)(?:</code>|\Z)", re.DOTALL | re.IGNORECASE)


def code_system_prompt(
    tools: Iterable[Tool],
    imports: Iterable[str] | None,
    instructions: str | None,
    *,
    code_action: str = "text",
    answer_shape: str = "",
) -> str:
    """``imports``: the modules the code may import; ``None`` when any installed module works.
    ``code_action``: ``"text"`` (code in a fenced block) or ``"tool"`` (the ``python`` tool).
    ``answer_shape``: what the final answer must be, if the agent has an ``output_type``."""
    stubs = "\n\n".join(t.describe() for t in tools)
    listed = "any module installed" if imports is None else ", ".join(sorted(imports)) or "none"
    template = CODE_TOOL_SYSTEM if code_action == "tool" else CODE_SYSTEM
    return template.format(
        imports=listed,
        tools=TOOLS_HEADER.format(stubs=stubs) if stubs else "",
        instructions=_extra(answer_shape, instructions),
    )


def tool_calling_system_prompt(instructions: str | None, answer_shape: str = "") -> str:
    return TOOL_CALLING_SYSTEM.format(instructions=_extra(answer_shape, instructions))


def _extra(answer_shape: str, instructions: str | None) -> str:
    parts = [p.strip() for p in (answer_shape, instructions) if p and p.strip()]
    return "".join(f"\n{p}\n" for p in parts)


def best_answer_request(state: str, answer_shape: str = "") -> str:
    """What the model is asked when the cap named by ``state`` has ended the run."""
    if state == "max_steps" and not answer_shape:
        return OUT_OF_STEPS
    reason = "You have run out of steps." if state == "max_steps" else OUT_OF_BUDGET[state]
    if answer_shape:
        return reason + BEST_TYPED_ANSWER.format(shape=answer_shape)
    return reason + BEST_ANSWER


def strip_thinking(text: str) -> str:
    """Drop ``<think>`` reasoning that some models put before their answer."""
    return _THINK.sub("", text)


def extract_code(text: str | None) -> str | None:
    """The code of a model reply: fenced ```python / ```py / bare blocks or ``<code>`` tags.

    Several blocks run in order, joined. Reasoning in ``<think>`` tags is ignored, and so is
    prose around the blocks ("Thought: ..."). An unclosed last block (the model hit a stop
    sequence or its token limit) counts up to the end of the reply. ``None`` when there is none.
    """
    if not text:
        return None
    text = strip_thinking(text)
    blocks = [b for b in _FENCE.findall(text) if b.strip()]
    if not blocks:
        blocks = [b for b in _CODE_TAG.findall(text) if b.strip()]
    if not blocks:
        return None
    return "\n\n".join(_dedent(b) for b in blocks)


def _dedent(block: str) -> str:
    import textwrap

    return textwrap.dedent(block).strip("\n")


def code_observation(stdout: str, value: Any, error: str | None, final: Any = _NOT_FINAL) -> str:
    """What the model sees after its code ran."""
    parts = []
    if stdout:
        parts.append(f"Output:\n{stdout.rstrip()}")
    if value is not None:
        text = repr(value)
        if len(text) > MAX_VALUE_CHARS:
            text = text[:MAX_VALUE_CHARS] + f"... [{len(text) - MAX_VALUE_CHARS} more characters]"
        parts.append(f"Value: {text}")
    if error:
        parts.append(f"Error: {error}\nFix the problem and try again.")
    if final is not _NOT_FINAL:
        parts.append(f"Final answer: {final!r}")
    if not parts:
        parts.append("The code ran without output. Print the values you need to see.")
    return "\n".join(parts)
