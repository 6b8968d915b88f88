"""C iterators the code can re-enter or make compare what they hold no reference to: in Python.

CPython 3.11's ``islice``, ``zip_longest`` and ``accumulate`` keep a field of theirs in a local
(or pass it to a comparison) while they call the code back; a ``next()`` of the same iterator
from inside that callback released the field, and the outer call went on with the freed object
or released it a second time. ``iter(callable, sentinel)`` compares a sentinel only the iterator
holds, and an inner ``next()`` that ends the iteration frees it mid-comparison (red team round
10, F1, F2, F4, F5). The code gets these as generators instead: a generator re-entered raises
``ValueError: generator already executing``, and every object a comparison sees is held by a
local. Same arguments, same values, same laziness; ``type()`` shows a generator. The rest of
``itertools`` holds references across its callbacks. ``groupby`` compared keys it held no
reference to (round 9, F2): it is here too.
"""

from __future__ import annotations

import builtins
import operator
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any


def accumulate(
    iterable: Iterable[Any], func: Callable[[Any, Any], Any] | None = None, *, initial: Any = None
) -> Iterator[Any]:
    """``itertools.accumulate``: running totals (or results of ``func``)."""
    return _accumulated(builtins.iter(iterable), operator.add if func is None else func, initial)


def _accumulated(items: Iterator[Any], add: Callable[[Any, Any], Any], total: Any) -> Any:
    if total is None:
        try:
            total = next(items)
        except StopIteration:
            return
    yield total
    for item in items:
        total = add(total, item)
        yield total


def _islice_bound(value: Any, name: str) -> int | None:
    if value is None:
        return None
    try:
        bound = operator.index(value)
    except TypeError:
        bound = -1
    if not 0 <= bound <= sys.maxsize:
        raise ValueError(
            f"{name} argument for islice() must be None or an integer: 0 <= x <= sys.maxsize."
        )
    return bound


def islice(iterable: Iterable[Any], *args: Any) -> Iterator[Any]:
    """``itertools.islice(iterable, stop)`` / ``islice(iterable, start, stop[, step])``."""
    if not 1 <= len(args) <= 3:
        raise TypeError(f"islice expected at most 4 arguments, got {len(args) + 1}")
    start, stop, step = (None, args[0], None) if len(args) == 1 else (*args, None)[:3]
    first = _islice_bound(start, "Indices") or 0
    last = _islice_bound(stop, "Stop" if len(args) == 1 else "Indices")
    if step is not None and (type(step) is not int or step < 1):
        raise ValueError("Step for islice() must be a positive integer or None.")
    return _sliced(builtins.iter(iterable), first, last, step or 1)


def _sliced(items: Iterator[Any], first: int, last: int | None, step: int) -> Iterator[Any]:
    """What C's islice consumes, in its order: up to the next wanted item, none past ``last``."""
    count, wanted = 0, first
    try:
        while True:
            while count < wanted:
                next(items)
                count += 1
            if last is not None and count >= last:
                return
            item = next(items)
            count += 1
            wanted += step
            if last is not None and wanted > last:
                wanted = last
            yield item
    except StopIteration:
        return


def zip_longest(*iterables: Iterable[Any], fillvalue: Any = None) -> Iterator[tuple[Any, ...]]:
    """``itertools.zip_longest``: tuples until the longest input ends."""
    sources: list[Iterator[Any] | None] = [builtins.iter(x) for x in iterables]
    return _zipped_longest(sources, fillvalue)


def _zipped_longest(sources: list[Iterator[Any] | None], fillvalue: Any) -> Iterator[Any]:
    left = len(sources)
    while left:
        row = []
        for i, source in enumerate(sources):
            if source is None:
                row.append(fillvalue)
                continue
            try:
                row.append(next(source))
            except StopIteration:
                sources[i] = None
                left -= 1
                if not left:
                    return
                row.append(fillvalue)
        yield tuple(row)


def iter(obj: Any, *sentinel: Any) -> Iterator[Any]:  # noqa: A001  (the builtin the code knows)
    """``iter(iterable)``, and ``iter(callable, sentinel)`` as a generator."""
    if not sentinel:
        return builtins.iter(obj)
    if len(sentinel) > 1:
        raise TypeError(f"iter expected at most 2 arguments, got {1 + len(sentinel)}")
    if not callable(obj):
        raise TypeError("iter(v, w): v must be callable")
    return _called(obj, sentinel[0])


def _called(func: Callable[[], Any], sentinel: Any) -> Iterator[Any]:
    while True:
        try:
            value = func()
        except StopIteration:  # ends the iteration, as in C
            return
        if sentinel is value or sentinel == value:
            return
        yield value


_NOTHING = object()


def _same(a: Any, b: Any) -> bool:
    return a is b or bool(a == b)


class groupby:  # noqa: N801  (the name the code knows)
    """``itertools.groupby`` in Python: CPython 3.11's compares the group's key with the current
    one holding no reference to them, and the code's ``__eq__`` advancing the groups freed the
    key it was comparing (red team round 9, F2). The same groups, the same laziness: moving on
    ends the group before."""

    __slots__ = ("_items", "_key", "_target", "_current", "_value", "_group")

    def __init__(self, iterable: Any, key: Any = None) -> None:
        self._items, self._key = iter(iterable), key
        self._target = self._current = self._value = _NOTHING
        self._group: object = _NOTHING

    def __iter__(self) -> groupby:
        return self

    def _step(self) -> None:
        value = next(self._items)
        self._current = value if self._key is None else self._key(value)
        self._value = value

    def __next__(self) -> tuple[Any, Any]:
        self._group = group = object()
        while True:
            if self._current is _NOTHING:
                self._step()
            elif self._target is _NOTHING or not _same(self._target, self._current):
                break
            else:
                self._step()
        self._target = target = self._current
        return target, self._members(group, target)

    def _members(self, group: object, target: Any) -> Any:
        while self._group is group:
            if self._current is _NOTHING:
                try:
                    self._step()
                except StopIteration:
                    return
            if not _same(target, self._current):
                return
            value = self._value
            self._current = self._value = _NOTHING
            yield value


groupby.__module__ = "itertools"


def itertools_module(guards: Any, module: Any) -> dict[str, Any]:
    return {
        "accumulate": accumulate,
        "groupby": groupby,
        "islice": islice,
        "zip_longest": zip_longest,
    }
