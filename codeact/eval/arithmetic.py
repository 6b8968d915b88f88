"""Arithmetic on numbers only, for the ``calculate`` tools of the suites.

Tools run on the host, and their arguments come from the model: a calculator that calls
``eval`` (as M3ToolEval's does) would run whatever the model writes in the host process. This one
walks the expression's syntax tree and knows numbers, operators, parentheses and a few functions.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from codeact.tools import ToolError

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "sqrt": math.sqrt,
}
_MAX_EXPONENT = 64
_MAX_MAGNITUDE = 1e15


def evaluate_arithmetic(expression: str) -> float | int:
    """The value of an arithmetic expression such as ``"(120 + 3 * 85.5) / 2"``.

    Raises ``ToolError`` (a message the model can act on) for anything that is not arithmetic.
    """
    if len(expression) > 500:
        raise ToolError("the expression is too long; split it into smaller calculations")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        raise ToolError(f"cannot parse {expression!r}: write an arithmetic expression") from None
    try:
        return _value(tree.body)
    except ZeroDivisionError:
        raise ToolError(f"division by zero in {expression!r}") from None
    except (OverflowError, ValueError, TypeError) as exc:
        raise ToolError(f"cannot evaluate {expression!r}: {exc}") from None


def _value(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > _MAX_EXPONENT:
            raise ValueError(f"exponents are limited to {_MAX_EXPONENT}")
        result = _BINARY[type(node.op)](left, right)
        if isinstance(result, complex) or abs(result) > _MAX_MAGNITUDE:
            raise ValueError("the result is out of range")
        return result
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_value(node.operand))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        return _FUNCTIONS[node.func.id](*(_value(arg) for arg in node.args))
    known = ", ".join(_FUNCTIONS)
    raise TypeError(f"only numbers, + - * / // % **, parentheses and {known} are allowed")
