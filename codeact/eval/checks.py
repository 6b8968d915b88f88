"""Checkers of final answers: ``check(answer, state) -> bool``, with ``expected`` for reports.

Models answer in many shapes (``1450``, ``"1,450.00 EUR"``, ``"Yes."``), so the checkers accept
the usual spellings of the right answer, and nothing that is ambiguous: a text with two numbers
in it is not a number. ``state`` is the run's own state (see ``Task.setup``); ``and_state`` adds
a condition on it, for tasks whose point is to change something (book, move, delete).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-+]?\.\d+")
_CLOCK = re.compile(r"\b([01]?\d|2[0-3])[:.h]([0-5]\d)\b")
_SPLIT = re.compile(r"\s*(?:,|;|\n|\band\b)\s*")


class Check:
    """Base of the checkers: subclasses implement ``accepts(answer)`` and have ``expected``."""

    #: Whether the check also looks at the run's state (see ``and_state``).
    checks_state = False

    def __call__(self, answer: Any, state: Any = None) -> bool:
        return self.accepts(answer)

    def accepts(self, answer: Any) -> bool:
        raise NotImplementedError

    def and_state(self, holds: Callable[[Any], bool], what: str = "") -> Check:
        """This check, and ``holds(state)`` for the run's state (e.g. the file was moved)."""
        return _AndState(self, holds, what)


@dataclass(frozen=True)
class _AndState(Check):
    checks_state = True
    answer: Check
    holds: Callable[[Any], bool]
    what: str = ""

    @property
    def expected(self) -> Any:  # type: ignore[override]
        return self.answer.expected

    def __call__(self, answer: Any, state: Any = None) -> bool:
        return self.answer(answer, state) and bool(self.holds(state))


@dataclass(frozen=True)
class _Number(Check):
    expected: float
    tolerance: float

    def accepts(self, answer: Any) -> bool:
        value = as_number(answer)
        return value is not None and abs(value - self.expected) <= self.tolerance


@dataclass(frozen=True)
class _Text(Check):
    expected: str
    also: tuple[str, ...] = ()

    def accepts(self, answer: Any) -> bool:
        if not isinstance(answer, (str, int, float)) or isinstance(answer, bool):
            return False
        said = normalize(str(answer))
        return any(said == normalize(option) for option in (self.expected, *self.also))


@dataclass(frozen=True)
class _Items(Check):
    expected: tuple[str, ...]
    ordered: bool

    def accepts(self, answer: Any) -> bool:
        said = as_items(answer)
        if said is None:
            return False
        want = [normalize(x) for x in self.expected]
        return said == want if self.ordered else sorted(said) == sorted(want)


@dataclass(frozen=True)
class _YesNo(Check):
    expected: bool

    def accepts(self, answer: Any) -> bool:
        if isinstance(answer, bool):
            return answer is self.expected
        if not isinstance(answer, str):
            return False
        words = normalize(answer).split()
        first = words[0].strip(",.!") if words else ""
        return {"yes": True, "true": True, "no": False, "false": False}.get(first) is self.expected


@dataclass(frozen=True)
class _Clock(Check):
    expected: str

    def accepts(self, answer: Any) -> bool:
        if not isinstance(answer, str):
            return False
        times = {(int(h), int(m)) for h, m in _CLOCK.findall(answer)}
        hour, minute = self.expected.split(":")
        return times == {(int(hour), int(minute))}


def number(expected: float, tolerance: float = 0.01) -> Check:
    """A number within ``tolerance``; numeric text such as ``"$1,450.00"`` counts."""
    return _Number(expected, tolerance)


def text(expected: str, *also: str) -> Check:
    """This text (or one of ``also``), ignoring case, spacing, quotes and a final full stop."""
    return _Text(expected, also)


def items(expected: Iterable[str], *, ordered: bool = False) -> Check:
    """These strings, as a list or a comma-separated text; in order only if ``ordered``."""
    return _Items(tuple(expected), ordered)


def yes_no(expected: bool) -> Check:
    """``True``/``False``, or a text starting with yes/no/true/false."""
    return _YesNo(expected)


def clock(expected: str) -> Check:
    """A time of day ``"HH:MM"``; ``"9:30"``, ``"09:30"`` and ``"at 09:30."`` all count."""
    return _Clock(expected)


def normalize(value: str) -> str:
    """Lower case, single spaces, without surrounding quotes, backticks or a final full stop."""
    value = " ".join(value.split()).lower()
    value = value.rstrip(".").strip()
    return value.strip("'\"`").strip()


def as_number(answer: Any) -> float | None:
    """``answer`` as a number when it is one or a text holding exactly one; else ``None``."""
    if isinstance(answer, bool):
        return None
    if isinstance(answer, (int, float)):
        return float(answer) if math.isfinite(answer) else None
    if not isinstance(answer, str):
        return None
    found = _NUMBER.findall(answer)
    if len(found) != 1:
        return None
    return float(found[0].replace(",", ""))


def as_items(answer: Any) -> list[str] | None:
    """A list of normalized strings from a list/tuple or a separated text; else ``None``."""
    if isinstance(answer, (list, tuple)):
        if not all(isinstance(x, (str, int, float)) for x in answer):
            return None
        return [normalize(str(x)) for x in answer]
    if isinstance(answer, str):
        text_ = answer.strip().strip("[]")
        parts = [normalize(p) for p in _SPLIT.split(text_)]
        return [p for p in parts if p]
    return None
