"""Typed, checked final answers.

``output_type`` (a pydantic model, dataclass, TypedDict or plain type such as ``int`` or
``list[str]``) is told to the model as a JSON schema. The answer the action gives crosses from
the sandbox as data and is validated here, on the host, so it works the same in every backend;
``RunResult.output`` is the validated instance. ``final_answer_checks`` then see it: each
``check(answer, run_so_far)`` returns ``True`` or a reason. An invalid answer or a failed check
is not an error of the run: the model is shown why, and the run goes on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

Check = Callable[[Any, Any], "bool | str"]


class AnswerRejected(Exception):
    """The final answer did not validate or failed a check; the message is for the model."""


class OutputSpec:
    """What a final answer must be: a type to validate against and checks to pass."""

    def __init__(self, output_type: Any = None, checks: Sequence[Check] = ()) -> None:
        self.output_type = output_type
        self.checks = list(checks)
        for check in self.checks:
            if not callable(check):
                raise TypeError(f"final_answer_checks must be callables, got {check!r}")
        self._adapter: Any = None
        if output_type is not None:
            from pydantic import TypeAdapter

            try:
                self._adapter = TypeAdapter(output_type)
                self._schema = _strip_titles(self._adapter.json_schema())
            except Exception as exc:
                raise TypeError(
                    f"output_type={_name(output_type)} cannot be validated or described as JSON "
                    f"schema: {str(exc).splitlines()[0]}"
                ) from None

    @property
    def typed(self) -> bool:
        return self._adapter is not None

    def schema(self) -> dict[str, Any] | None:
        """The JSON schema of the answer, or ``None`` when any answer will do."""
        return self._schema if self.typed else None

    def describe(self) -> str:
        """What the prompt says about the answer's shape ("" without an ``output_type``)."""
        if not self.typed:
            return ""
        schema = json.dumps(self._schema, ensure_ascii=False, separators=(",", ":"))
        return (
            f"The final answer must be a {_name(self.output_type)}: give final_answer a value "
            f"(JSON-like: dicts, lists, strings, numbers) that matches this JSON schema: {schema}"
        )

    def final_answer_parameters(self) -> dict[str, Any]:
        """The ``final_answer`` tool's parameters, with ``answer`` of the output type's schema."""
        schema = dict(self._schema) if self.typed else {"description": "The final answer."}
        defs = schema.pop("$defs", None)  # references point at the root of the parameters
        parameters: dict[str, Any] = {
            "type": "object",
            "properties": {"answer": schema},
            "required": ["answer"],
        }
        if defs:
            parameters["$defs"] = defs
        return parameters

    @property
    def active(self) -> bool:
        """Whether answers are checked at all (an ``output_type`` or some checks)."""
        return self.typed or bool(self.checks)

    def best_answer(self, text: str) -> tuple[Any, str | None]:
        """The answer in a forced best-answer reply, and why it is not usable (or ``None``).

        Untyped, it is the text. Typed, it is the JSON in the text (a fenced block is
        unwrapped), validated; checks are not run (the run has already been stopped).
        """
        if not self.typed:
            return (text or None), None
        body = text.strip()
        fenced = re.search(r"```(?:json)?\s*\n(.*?)\n\s*```", body, re.DOTALL)
        if fenced:
            body = fenced.group(1)
        try:
            value = json.loads(body)
        except ValueError:
            value = body  # a plain type (int, str) may still validate from the text
        from pydantic import ValidationError

        try:
            return self._adapter.validate_python(value), None
        except ValidationError as exc:
            return (
                None,
                f"the best answer is not a valid {_name(self.output_type)}: {_problems(exc)}",
            )

    def accept(self, answer: Any, run_so_far: Any) -> Any:
        """The answer validated (an instance of the output type); ``AnswerRejected`` otherwise."""
        if self.typed:
            from pydantic import ValidationError

            try:
                answer = self._adapter.validate_python(answer)
            except ValidationError as exc:
                raise AnswerRejected(
                    f"Your final answer is not a valid {_name(self.output_type)}: "
                    f"{_problems(exc)}. Call final_answer again with a corrected value."
                ) from None
        for check in self.checks:
            verdict = check(answer, run_so_far)
            if verdict is True:
                continue
            if verdict is False or isinstance(verdict, str):
                reason = verdict if isinstance(verdict, str) and verdict.strip() else None
                name = getattr(check, "__name__", "a check")
                raise AnswerRejected(
                    f"Your final answer was rejected by {name}: {reason or 'it failed the check'}."
                    " Fix it and call final_answer again."
                )
            raise TypeError(
                f"final_answer_checks: {getattr(check, '__name__', check)!r} must return True or "
                f"a reason string, not {type(verdict).__name__}"
            )
        return answer


def _problems(exc: Any) -> str:
    parts = []
    for err in exc.errors()[:10]:
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"{where}: {err['msg']}" if where else err["msg"])
    return "; ".join(parts)


def _name(output_type: Any) -> str:
    if isinstance(output_type, type):
        return output_type.__name__
    return str(output_type).replace("typing.", "")


def _strip_titles(schema: Any) -> Any:
    """pydantic titles every property; the model needs no titles, they only cost tokens."""
    if isinstance(schema, dict):
        return {
            k: _strip_titles(v)
            for k, v in schema.items()
            if not (k == "title" and isinstance(v, str))
        }
    if isinstance(schema, list):
        return [_strip_titles(v) for v in schema]
    return schema
