"""Tools: typed, documented Python functions that agents can call.

``@tool`` reads the signature and the Google-style docstring once, at decoration time, so a
missing hint or parameter description is an error where the function is written, not in the
middle of a run. pydantic builds the JSON schema and validates calls; it is imported lazily to
keep ``import codeact`` fast.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any, get_type_hints

_SECTION = re.compile(
    r"^\s*(Args|Arguments|Parameters|Returns?|Yields?|Raises|Examples?|Notes?):\s*$"
)
_ARG_LINE = re.compile(r"^\s*\**(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


class ToolError(Exception):
    """A tool call the model got wrong; the message tells the model how to fix it."""


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into its summary and the ``Args:`` descriptions."""
    summary: list[str] = []
    args: dict[str, str] = {}
    section, current, args_indent = None, None, 0
    for line in inspect.cleandoc(doc or "").splitlines():
        header = _SECTION.match(line)
        if header:
            section = header.group(1).lower()
            current = None
            continue
        if section is None:
            summary.append(line)
        elif section in ("args", "arguments", "parameters"):
            match = _ARG_LINE.match(line)
            indent = len(line) - len(line.lstrip())
            if match and (current is None or indent <= args_indent):
                current, args_indent = match.group(1), indent
                args[current] = match.group(2).strip()
            elif current is not None and line.strip():
                args[current] = f"{args[current]} {line.strip()}".strip()
    return "\n".join(summary).strip(), args


def _type_name(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return "Any"
    if isinstance(annotation, type):
        return annotation.__name__
    return inspect.formatannotation(annotation).replace("typing.", "")


def _strip_titles(schema: Any) -> Any:
    """pydantic titles every field; models don't need them and they cost tokens."""
    if isinstance(schema, dict):
        return {k: _strip_titles(v) for k, v in schema.items() if k != "title"}
    if isinstance(schema, list):
        return [_strip_titles(v) for v in schema]
    return schema


class Tool:
    """A callable the agent can use: name, description, JSON-schema parameters, output type.

    Build one with ``@tool``, directly with ``Tool(fn)``, or subclass it for stateful tools::

        class Counter(Tool):
            name = "count"
            description = "Count calls."

            def forward(self, step: int) -> int:
                '''Args:
                    step: How much to add.
                '''
                ...

    Calling a tool validates the arguments against the schema; a bad call raises ``ToolError``
    with a message the model can act on.
    """

    name: str = ""
    description: str = ""
    output_type: str = "Any"

    def __init__(
        self,
        fn: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> None:
        self.fn = fn if fn is not None else self.forward
        owner = fn.__name__ if fn is not None else type(self).__name__
        doc = inspect.getdoc(self.fn) or ""
        summary, arg_docs = parse_docstring(doc)
        if fn is None and not summary:
            summary = self.description or inspect.getdoc(type(self)) or ""
        self.name = name or (fn.__name__ if fn is not None else self.name or owner.lower())
        self.description = description or summary
        if not self.description:
            raise TypeError(
                f"tool {self.name!r} has no description: add a docstring whose first line says "
                "what it does"
            )
        self.signature = inspect.signature(self.fn)
        try:
            hints = get_type_hints(self.fn)
        except Exception as exc:  # unresolvable forward references
            raise TypeError(f"tool {self.name!r}: cannot resolve type hints ({exc})") from None
        self._fields: dict[str, tuple[Any, Any, str]] = {}
        for pname, param in self.signature.parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(
                    f"tool {self.name!r}: *{pname} is not supported; give every parameter a name "
                    "and a type"
                )
            if pname not in hints:
                raise TypeError(
                    f"tool {self.name!r}: parameter {pname!r} has no type hint; "
                    f"write it as `{pname}: str` (or the right type)"
                )
            if not arg_docs.get(pname):
                raise TypeError(
                    f"tool {self.name!r}: parameter {pname!r} is not described; add "
                    f"`{pname}: <what it is>` under `Args:` in the docstring"
                )
            self._fields[pname] = (hints[pname], param.default, arg_docs[pname])
        if "return" not in hints:
            raise TypeError(f"tool {self.name!r} has no return type hint; add one, e.g. `-> str`")
        self.output_type = _type_name(hints["return"])
        self._model: Any = None
        self._parameters: dict[str, Any] | None = None

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Subclasses implement the tool here (with typed, documented parameters)."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def _pydantic_model(self) -> Any:
        if self._model is None:
            from pydantic import ConfigDict, Field, create_model

            fields = {
                pname: (
                    hint,
                    Field(... if default is inspect.Parameter.empty else default, description=doc),
                )
                for pname, (hint, default, doc) in self._fields.items()
            }
            self._model = create_model(
                f"{self.name}_args",
                __config__=ConfigDict(extra="forbid", arbitrary_types_allowed=True),
                **fields,
            )
        return self._model

    @property
    def parameters(self) -> dict[str, Any]:
        """JSON schema of the arguments (built on first use: pydantic is slow to import)."""
        if self._parameters is None:
            self._parameters = self._schema()
        return self._parameters

    def _schema(self) -> dict[str, Any]:
        try:
            schema = self._pydantic_model().model_json_schema()
        except Exception as exc:
            raise TypeError(
                f"tool {self.name!r}: its parameter types cannot be described as JSON schema "
                f"({exc}); use JSON-like types (str, int, float, bool, list, dict, Literal, models)"
            ) from None
        schema = _strip_titles(schema)
        schema.setdefault("properties", {})
        schema.setdefault("required", [])
        return schema

    def validate(
        self, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Bind and check the arguments; return them by name, coerced to the declared types."""
        try:
            bound = self.signature.bind(*args, **(kwargs or {}))
        except TypeError as exc:
            raise ToolError(f"{self.name}() {exc}. Usage: {self.usage()}") from None
        from pydantic import ValidationError

        try:
            checked = self._pydantic_model().model_validate(bound.arguments)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ToolError(
                f"{self.name}() got invalid arguments: {problems}. Usage: {self.usage()}"
            ) from None
        return {pname: getattr(checked, pname) for pname in bound.arguments}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        result = self.fn(**self.validate(args, kwargs))
        if inspect.isawaitable(result):
            result = _run_coroutine(result)
        return result

    def usage(self) -> str:
        """The Python signature the model sees, e.g. ``get_weather(city: str) -> str``."""
        params = []
        for pname, (hint, default, _) in self._fields.items():
            text = f"{pname}: {_type_name(hint)}"
            if default is not inspect.Parameter.empty:
                text += f" = {default!r}"
            params.append(text)
        return f"{self.name}({', '.join(params)}) -> {self.output_type}"

    def describe(self) -> str:
        """The tool as a Python stub with its docs, for code-writing models."""
        lines = [f"def {self.usage()}:", f'    """{self.description}']
        if self._fields:
            lines.append("")
            lines.append("    Args:")
            lines += [f"        {p}: {doc}" for p, (_, _, doc) in self._fields.items()]
        lines.append('    """')
        return "\n".join(lines)

    def to_schema(self) -> dict[str, Any]:
        """The OpenAI function-calling schema."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    def __repr__(self) -> str:
        return f"Tool({self.usage()})"


def tool(fn: Callable[..., Any]) -> Tool:
    """Turn a typed function with a Google-style docstring into a ``Tool``."""
    return Tool(fn)


def _run_coroutine(coro: Any) -> Any:
    """Run an async tool to completion from synchronous code (tools run off the event loop)."""
    import asyncio  # not at module level: keeps `import codeact` fast

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    raise ToolError("async tools cannot be called from inside a running event loop thread")


def _final_answer(answer: Any) -> Any:
    """Finish the task and give the final answer.

    Args:
        answer: The final answer to the task.
    """
    return answer


final_answer = Tool(_final_answer, name="final_answer")
