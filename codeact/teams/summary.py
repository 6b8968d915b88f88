"""What a finished conversation concluded, for its caller (and for the next chat's carryover).

``summary="last"``: the last agent message, with the words that ended the chat (its
``TextMention`` s, e.g. "TERMINATE") taken out; when nothing else is left, the message before.
``summary="reflection"``: a model reads the conversation and writes the summary, asked with
``summary_prompt``. A function ``(messages) -> str`` may be given instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from codeact.models import Model
from codeact.teams.termination import Termination, mentions

SUMMARY_PROMPT = (
    "Summarise the conversation above for someone who did not read it: what it concluded or "
    "produced, and anything left open. Reply with the summary only."
)

Summary = str | Callable[[list[dict[str, str]]], str]


def check_summary(summary: Summary, model: Model | None) -> None:
    """Fail at construction, not at the end of a long conversation."""
    if callable(summary):
        return
    if summary not in ("last", "reflection"):
        raise ValueError(
            f'unknown summary {summary!r}; use "last", "reflection" or a function (messages) -> str'
        )
    if summary == "reflection" and model is None:
        raise ValueError('summary="reflection" needs summary_model= (the model that summarises)')


def transcript(messages: list[dict[str, str]]) -> str:
    """The conversation as text: one ``[name]: content`` paragraph per message."""
    return "\n\n".join(f"[{m['name']}]: {m['content']}" for m in messages)


def last_message(messages: list[dict[str, str]], turns: int, until: Termination | None) -> str:
    """The last agent message without the words that ended the chat."""
    words = [m for m in mentions(until)]
    for message in reversed(messages[len(messages) - turns :] if turns else []):
        text = message["content"]
        for mention in words:
            text = _strip_word(text, mention.text, mention.case_sensitive)
        if text.strip():
            return text.strip()
    return ""


def reflection_request(messages: list[dict[str, str]], prompt: str) -> list[dict[str, Any]]:
    """What the summarising model is sent."""
    return [{"role": "user", "content": f"The conversation:\n\n{transcript(messages)}\n\n{prompt}"}]


def _strip_word(text: str, word: str, case_sensitive: bool) -> str:
    start = r"\b" if word[:1].isalnum() else ""
    end = r"\b" if word[-1:].isalnum() else ""
    pattern = rf"\s*{start}{re.escape(word)}{end}[\s.!:,;]*"
    flags = 0 if case_sensitive else re.IGNORECASE
    return re.sub(pattern, " ", text, flags=flags)
