"""``str.format`` without attribute access through the format string.

``"{0.__globals__}".format(f)`` reads attributes in C, past every guard. Templates whose fields
are plain names or positions go to the real ``str.format``; the rest are formatted here, with
attribute lookups through the sandbox's ``getattr``.
"""

from __future__ import annotations

import _string
from collections.abc import Callable
from typing import Any


def _plain_template(template: str, depth: int = 2) -> bool:
    """True when no field of ``template`` reads an attribute or item (``{0.x}``, ``{a[k]}``)."""
    for _, field, spec, _ in _string.formatter_parser(template):
        if field is None:
            continue
        if "." in field or "[" in field:
            return False
        if spec and "{" in spec and (depth == 0 or not _plain_template(spec, depth - 1)):
            return False
    return True


Getattr = Callable[..., Any]


def safe_format(template: str, args: tuple[Any, ...], kwargs: Any, getattr_: Getattr) -> str:
    """``template.format(*args, **kwargs)`` with ``{0.name}`` looked up by ``getattr_``."""
    if _plain_template(template):
        if args:  # str.format itself: a subclass may override format (and call super's)
            return str.format(template, *args, **kwargs)
        return str.format_map(template, kwargs)
    return _vformat(template, args, kwargs, getattr_, 2, [0])


def _vformat(
    template: str, args: Any, kwargs: Any, getattr_: Getattr, depth: int, counter: list[int]
) -> str:
    if depth < 0:
        raise ValueError("Max string recursion exceeded")
    out = []
    for literal, field, spec, conversion in _string.formatter_parser(template):
        out.append(literal)
        if field is None:
            continue
        first, rest = _string.formatter_field_name_split(field)
        if first == "":
            if counter[0] < 0:
                raise ValueError(
                    "cannot switch from manual field specification to automatic field numbering"
                )
            first = counter[0]
            counter[0] += 1
        elif isinstance(first, int):
            if counter[0] > 0:
                raise ValueError(
                    "cannot switch from automatic field numbering to manual field specification"
                )
            counter[0] = -1
        value = args[first] if isinstance(first, int) else kwargs[first]
        for is_attr, key in rest:
            value = getattr_(value, key) if is_attr else value[key]
        if conversion:
            value = {"r": repr, "s": str, "a": ascii}[conversion](value)
        if spec and "{" in spec:
            spec = _vformat(spec, args, kwargs, getattr_, depth - 1, counter)
        out.append(format(value, spec or ""))
    return "".join(out)


def bound_format(text: str, name: str, getattr_: Getattr) -> Callable[..., str]:
    """What ``text.format`` / ``text.format_map`` is in the sandbox."""
    if name == "format_map":

        def format_map(mapping: Any) -> str:
            return safe_format(text, (), mapping, getattr_)

        return format_map

    def format(*args: Any, **kwargs: Any) -> str:
        return safe_format(text, args, kwargs, getattr_)

    return format


def unbound_format(name: str, getattr_: Getattr) -> Callable[..., str]:
    """What ``str.format`` / ``str.format_map`` is in the sandbox."""
    if name == "format_map":

        def format_map(text: str, mapping: Any) -> str:
            return safe_format(str(text), (), mapping, getattr_)

        return format_map

    def format(text: str, *args: Any, **kwargs: Any) -> str:
        return safe_format(str(text), args, kwargs, getattr_)

    return format
