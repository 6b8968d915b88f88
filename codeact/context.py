"""The conversation the model sees, kept within a budget, and friendly to prompt caches.

A ``Conversation`` is a list of entries (the system prompt, tasks, steps, notes, summaries),
each holding the chat messages it renders to. Between compactions it only grows at its end,
so the request of each step starts with the exact request of the step before, and providers'
prompt caches hit. When it passes its budget (estimated at about four characters a token), a
``Compactor`` shortens it in two stages, leaving the system prompt, the tasks and the most
recent steps verbatim:

1. the observations of older steps are elided to a short note (their head is kept);
2. if the older steps, so shortened, still take more than a quarter of the budget, they are
   summarised by the model in one call and replaced by the summary.

Each compaction changes the middle of the conversation once; then it grows at its end again
until the next. Steps that are recent stay whole even when they alone pass the budget.

``with_cache_markers`` adds Anthropic-style ``cache_control`` markers to a request (on the
system prompt and the newest message), for the providers whose caches need them.
"""

from __future__ import annotations

import copy
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from codeact.models import _estimate_tokens

#: Kinds of entry; only steps, plans and summaries are ever compacted.
COMPACTABLE = ("step", "plan", "summary")
_KEPT_CHARS = 300  # of an elided observation, so the model still sees how it began

SUMMARY_REQUEST = """\
You are summarising the earlier part of an agent's work on a task, so that it can continue \
without the full transcript. Write a concise summary: what was tried, what worked and what did \
not, every fact, number, name and variable learned or defined that may matter later, and what \
remained to do. Plain text, no preamble.

Transcript:
{transcript}"""

SUMMARY_HEADER = "Summary of the earlier steps (compacted to save context):\n"


@dataclass
class Entry:
    """Messages kept or compacted together: a step's reply and observation, a task, a note."""

    kind: str  # "system" | "task" | "step" | "plan" | "note" | "summary"
    messages: list[dict[str, Any]]
    step: int | None = None
    elided: bool = False


@dataclass
class Conversation:
    """The chat messages of a run (and of earlier runs it continues), as entries."""

    entries: list[Entry] = field(default_factory=list)

    @classmethod
    def start(cls, system_prompt: str) -> Conversation:
        return cls([Entry("system", [{"role": "system", "content": system_prompt}])])

    def add(self, kind: str, messages: list[dict[str, Any]], step: int | None = None) -> None:
        self.entries.append(Entry(kind, messages, step))

    def messages(self) -> list[dict[str, Any]]:
        """The messages to send, oldest first."""
        return [message for entry in self.entries for message in entry.messages]

    def tokens(self) -> int:
        return _estimate_tokens(self.messages())

    def set_system_prompt(self, text: str) -> None:
        """Keep the conversation but under a new system prompt (an agent's changed tools)."""
        if self.entries and self.entries[0].kind == "system":
            self.entries[0] = Entry("system", [{"role": "system", "content": text}])
        else:
            self.entries.insert(0, Entry("system", [{"role": "system", "content": text}]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "entries": [
                {"kind": e.kind, "messages": e.messages, "step": e.step, "elided": e.elided}
                for e in self.entries
            ]
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conversation:
        return cls(
            [
                Entry(e["kind"], list(e["messages"]), e.get("step"), bool(e.get("elided")))
                for e in data.get("entries", [])
            ]
        )


#: ``Compactor.compact`` yields the messages of its summary request, gets the summary text sent
#: back, and returns a note of what it did (``None`` when nothing needed doing).
Compaction = Generator[list[dict[str, Any]], str, "str | None"]


class Compactor:
    """Keeps a conversation under ``limit`` tokens; ``keep_recent`` steps always stay whole."""

    def __init__(self, limit: int | None, keep_recent: int = 3) -> None:
        if limit is not None and limit <= 0:
            raise ValueError(f"max_context_tokens must be positive, got {limit}")
        self.limit = limit
        self.keep_recent = keep_recent

    def compact(self, conversation: Conversation, summarize: bool = True) -> Compaction:
        """Compact ``conversation`` in place if it is over the limit.

        A generator, so that the caller makes the model call its own way: it yields the
        summary request (at most once) and takes the summary text back.
        """
        if self.limit is None or conversation.tokens() <= self.limit:
            return None
        old = self._old_entries(conversation)
        elided = [e for e in old if e.kind != "summary" and not e.elided]
        for entry in elided:
            _elide(entry)
        done = f"elided the observations of {len(elided)} older steps" if elided else None
        summarised = [e for e in old if e.kind in COMPACTABLE]
        old_tokens = _estimate_tokens([m for e in summarised for m in e.messages])
        fresh = any(e.kind != "summary" for e in summarised)  # else nothing new to summarise
        if summarize and fresh and old_tokens > self.limit // 4:
            text = yield summary_request(summarised)
            _replace_with_summary(conversation, summarised, text)
            done = f"summarised {len(summarised)} older entries"
        return done

    def _old_entries(self, conversation: Conversation) -> list[Entry]:
        """The compactable entries before the last ``keep_recent`` steps."""
        steps = [i for i, e in enumerate(conversation.entries) if e.kind in ("step", "plan")]
        if len(steps) <= self.keep_recent:
            return []
        cut = steps[-self.keep_recent] if self.keep_recent else len(conversation.entries)
        return [e for e in conversation.entries[:cut] if e.kind in COMPACTABLE]


def summary_request(entries: list[Entry]) -> list[dict[str, Any]]:
    """The one request that asks the model to summarise ``entries``."""
    lines = []
    for entry in entries:
        for message in entry.messages:
            lines.append(f"[{message.get('role')}] {_text_of(message)}")
    return [{"role": "user", "content": SUMMARY_REQUEST.format(transcript="\n\n".join(lines))}]


def _replace_with_summary(conversation: Conversation, old: list[Entry], text: str) -> None:
    first = conversation.entries.index(old[0])
    gone = {id(e) for e in old}
    kept = [e for e in conversation.entries if id(e) not in gone]
    summary = Entry("summary", [{"role": "user", "content": SUMMARY_HEADER + text.strip()}])
    kept.insert(first, summary)
    conversation.entries = kept


def _elide(entry: Entry) -> None:
    """Shorten what the model was shown in ``entry`` (replies, which hold the code, stay)."""
    entry.messages = [
        message if message.get("role") == "assistant" else _elided(message)
        for message in entry.messages
    ]
    entry.elided = True


def _elided(message: dict[str, Any]) -> dict[str, Any]:
    text = _text_of(message)
    if len(text) <= _KEPT_CHARS and not isinstance(message.get("content"), list):
        return message
    note = f"{text[:_KEPT_CHARS]}\n[... shortened to save context: it was {len(text):,} characters"
    images = _image_count(message)
    note += f" and {images} image{'s' * (images != 1)}]" if images else "]"
    return {**message, "content": note}


def _text_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    text = "" if content is None else str(content)
    for call in message.get("tool_calls") or []:
        function = call.get("function", {})
        text += f"\n{function.get('name')}({function.get('arguments')})"
    return text


def _image_count(message: dict[str, Any]) -> int:
    content = message.get("content")
    if not isinstance(content, list):
        return 0
    return sum(1 for p in content if isinstance(p, dict) and p.get("type") == "image_url")


# --- prompt caching ---------------------------------------------------------------------------

_MARK = {"type": "ephemeral"}


def with_cache_markers(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy of ``messages`` with ``cache_control`` on the system prompt and the newest message.

    The marker on the newest message makes the provider cache the whole request; the next
    step's request starts with it, so it reads that cache and pays full price only for what
    is new. (Anthropic allows four markers; this uses two.)
    """
    marked = copy.copy(messages)
    targets = {len(marked) - 1}
    if marked and marked[0].get("role") == "system":
        targets.add(0)
    for index in targets:
        if index >= 0:
            marked[index] = _marked(marked[index])
    return marked


def _marked(message: dict[str, Any]) -> dict[str, Any]:
    if message.get("role") == "tool":  # LiteLLM puts a tool result's marker on the message
        return {**message, "cache_control": _MARK}
    content = message.get("content")
    if isinstance(content, str):
        if not content:
            return message
        return {**message, "content": [{"type": "text", "text": content, "cache_control": _MARK}]}
    if isinstance(content, list) and content:
        parts = [dict(p) if isinstance(p, dict) else p for p in content]
        if isinstance(parts[-1], dict):
            parts[-1]["cache_control"] = _MARK
        return {**message, "content": parts}
    return message
