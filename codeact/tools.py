"""Tools: typed, documented Python functions that agents can call.

``@tool`` reads the signature and the docstring (Google, NumPy or Sphinx style) once, at
decoration time, so a missing hint or parameter description is an error where the function is
written, not in the middle of a run. Tools take what Python functions take: defaults,
keyword-only parameters, ``*args`` and ``**kwargs`` (in the JSON schema, an array property and
extra properties; each value is still validated). pydantic builds the schema and validates calls;
it is imported lazily to keep ``import codeact`` fast.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_type_hints

_SECTION = re.compile(
    r"^\s*(Args|Arguments|Parameters|Keyword Args|Keyword Arguments|Other Parameters|Returns?|"
    r"Yields?|Raises|Examples?|Notes?|See Also|References|Warnings?|Attributes):?\s*$",
    re.IGNORECASE,
)
_ARGS_SECTIONS = {
    "args",
    "arguments",
    "parameters",
    "keyword args",
    "keyword arguments",
    "other parameters",
}
_ARG_LINE = re.compile(r"^\s*\**(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")  # Google: `name (type): text`
_NUMPY_ARG = re.compile(r"^\**(\w+)(?:\s*,\s*\**\w+)*\s*(?::.*)?$")  # NumPy: `name : type`
_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")
_SPHINX_PARAM = re.compile(r"^\s*:param\s+(?:[^:]*\s)?\**(\w+)\s*:\s*(.*)$")
_SPHINX_FIELD = re.compile(r"^\s*:\w+")


class ToolError(Exception):
    """A tool call the model got wrong; the message tells the model how to fix it."""


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a docstring into its summary and the parameters' descriptions.

    Google (``Args:`` then ``name: text``), NumPy (``Parameters`` underlined, then
    ``name : type`` and indented text) and Sphinx (``:param name: text``) styles.
    """
    lines = inspect.cleandoc(doc or "").splitlines()
    if any(_SPHINX_PARAM.match(line) for line in lines):
        return _parse_sphinx(lines)
    summary: list[str] = []
    args: dict[str, str] = {}
    section, current, args_indent, numpy = None, None, 0, False
    for i, line in enumerate(lines):
        header = _SECTION.match(line)
        underlined = i + 1 < len(lines) and _UNDERLINE.match(lines[i + 1])
        if header and (line.rstrip().endswith(":") or underlined):
            section, current, numpy = header.group(1).lower(), None, bool(underlined)
            continue
        if numpy and _UNDERLINE.match(line):
            continue
        if section is None:
            summary.append(line)
        elif section in _ARGS_SECTIONS:
            indent = len(line) - len(line.lstrip())
            match = _NUMPY_ARG.match(line) if numpy and indent == 0 else None
            if numpy and match:
                current, args_indent = match.group(1), indent
                args[current] = ""
                continue
            match = None if numpy else _ARG_LINE.match(line)
            if match and (current is None or indent <= args_indent):
                current, args_indent = match.group(1), indent
                args[current] = match.group(2).strip()
            elif current is not None and line.strip():
                args[current] = f"{args[current]} {line.strip()}".strip()
    return "\n".join(summary).strip(), args


def _parse_sphinx(lines: list[str]) -> tuple[str, dict[str, str]]:
    summary: list[str] = []
    args: dict[str, str] = {}
    current = None
    for line in lines:
        match = _SPHINX_PARAM.match(line)
        if match:
            current = match.group(1)
            args[current] = match.group(2).strip()
        elif _SPHINX_FIELD.match(line):
            current = None  # :type x:, :returns:, :raises ...:
        elif current is not None and line.strip():
            args[current] = f"{args[current]} {line.strip()}"
        elif current is None and not args:
            summary.append(line)
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


_VAR_POSITIONAL = inspect.Parameter.VAR_POSITIONAL
_VAR_KEYWORD = inspect.Parameter.VAR_KEYWORD


@dataclass(frozen=True)
class _Param:
    """One parameter of a tool: how it is passed, its type, default and description."""

    name: str
    kind: inspect._ParameterKind
    hint: Any
    default: Any
    doc: str

    @property
    def field(self) -> tuple[Any, Any]:
        """What pydantic validates and the default: ``*args`` as a list of the hint,
        ``**kwargs`` as a dict of it (each value still checked)."""
        if self.kind is _VAR_POSITIONAL:
            return list[self.hint], []  # type: ignore[name-defined]
        if self.kind is _VAR_KEYWORD:
            return dict[str, self.hint], {}  # type: ignore[name-defined]
        return self.hint, ... if self.default is inspect.Parameter.empty else self.default

    def stub(self) -> str:
        """As in a ``def`` line: ``city: str = 'Paris'``, ``*values: float``."""
        stars = {_VAR_POSITIONAL: "*", _VAR_KEYWORD: "**"}.get(self.kind, "")
        text = f"{stars}{self.name}: {_type_name(self.hint)}"
        if self.default is not inspect.Parameter.empty:
            text += f" = {self.default!r}"
        return text


class Tool:
    """A callable the agent can use: name, description, JSON-schema parameters, output type.

    Build one with ``@tool``, directly with ``Tool(fn)`` (``Tool(library_fn, name=...,
    description=..., arg_descriptions={...})`` wraps a function without a docstring of its own),
    or subclass it for stateful tools::

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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass's ``__init__`` that forgets ``super().__init__()`` fails at construction,
        not at the first call in the middle of a run."""
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return

        @functools.wraps(init)
        def checked_init(self: Tool, *args: Any, **kw: Any) -> None:
            init(self, *args, **kw)
            if "_params" not in self.__dict__:
                raise TypeError(
                    f"{cls.__name__}.__init__ must call super().__init__() (Tool reads the "
                    "signature and docs of forward() there)"
                )

        cls.__init__ = checked_init  # type: ignore[method-assign]

    def __init__(
        self,
        fn: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        arg_descriptions: dict[str, str] | None = None,
    ) -> None:
        if fn is None and type(self).forward is Tool.forward:
            raise TypeError("Tool() needs a function, or subclass Tool and implement forward()")
        self.fn = fn if fn is not None else self.forward
        summary, arg_docs = parse_docstring(inspect.getdoc(self.fn) or "")
        arg_docs.update(arg_descriptions or {})
        if fn is None:  # a subclass: its own description wins over forward's docstring
            summary = (
                type(self).description or summary or inspect.cleandoc(type(self).__doc__ or "")
            )
            self.name = name or self.name or type(self).__name__.lower()
        else:
            self.name = name or getattr(fn, "__name__", "") or type(fn).__name__
        self.description = description or summary
        if not self.description:
            raise TypeError(
                f"tool {self.name!r} has no description: add a docstring whose first line says "
                "what it does (or pass description=...)"
            )
        try:
            self.signature = inspect.signature(self.fn)
        except (TypeError, ValueError):
            raise TypeError(
                f"tool {self.name!r}: the signature of {self.fn!r} cannot be read; wrap it in a "
                "typed function"
            ) from None
        try:
            hints = get_type_hints(self.fn)
        except Exception as exc:  # unresolvable forward references
            raise TypeError(f"tool {self.name!r}: cannot resolve type hints ({exc})") from None
        params = []
        for pname, param in self.signature.parameters.items():
            if pname not in hints:
                raise TypeError(
                    f"tool {self.name!r}: parameter {pname!r} has no type hint; "
                    f"write it as `{pname}: str` (or the right type)"
                )
            if not arg_docs.get(pname):
                raise TypeError(
                    f"tool {self.name!r}: parameter {pname!r} is not described; add "
                    f"`{pname}: <what it is>` under `Args:` in the docstring (or pass "
                    "arg_descriptions=...)"
                )
            params.append(_Param(pname, param.kind, hints[pname], param.default, arg_docs[pname]))
        if "return" not in hints:
            raise TypeError(f"tool {self.name!r} has no return type hint; add one, e.g. `-> str`")
        self.output_type = _type_name(hints["return"])
        self._params = params
        self._model: Any = None
        self._parameters: dict[str, Any] | None = None

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Subclasses implement the tool here (with typed, documented parameters)."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def _pydantic_model(self) -> Any:
        if self._model is None:
            from pydantic import ConfigDict, Field, create_model

            fields = {}
            for p in self._params:
                hint, default = p.field
                fields[p.name] = (hint, Field(default, description=p.doc))
            self._model = create_model(
                f"{self.name}_args",
                __config__=ConfigDict(extra="forbid", arbitrary_types_allowed=True),
                **fields,
            )
        return self._model

    @property
    def parameters(self) -> dict[str, Any]:
        """JSON schema of the arguments (built on first use: pydantic is slow to import).

        ``*args`` is an array property and ``**kwargs`` an object property, under their names.
        """
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
        for p in self._params:  # an empty *args or **kwargs is the natural default: don't show it
            if p.kind in (_VAR_POSITIONAL, _VAR_KEYWORD):
                schema["properties"][p.name].pop("default", None)
        return schema

    def validate(
        self, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Bind and check a Python call's arguments; return them by parameter name, coerced to
        the declared types (``*args`` as a list, ``**kwargs`` as a dict)."""
        try:
            bound = self.signature.bind(*args, **(kwargs or {}))
        except TypeError as exc:
            raise ToolError(f"{self.name}() {exc}. Usage: {self.usage()}") from None
        return self._check(bound.arguments)

    def _check(self, named: dict[str, Any]) -> dict[str, Any]:
        from pydantic import ValidationError

        try:
            checked = self._pydantic_model().model_validate(named)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ToolError(
                f"{self.name}() got invalid arguments: {problems}. Usage: {self.usage()}"
            ) from None
        return {p.name: getattr(checked, p.name) for p in self._params if p.name in named}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._invoke(self.validate(args, kwargs))

    def call_with(self, arguments: dict[str, Any]) -> Any:
        """Call with the arguments as one JSON object, as tool-calling models send them: by
        parameter name, ``*args`` as a list under its name, ``**kwargs`` as an object."""
        return self._invoke(self._check(arguments))

    def _invoke(self, checked: dict[str, Any]) -> Any:
        bound = inspect.BoundArguments(self.signature, checked)  # type: ignore[arg-type]
        result = self.fn(*bound.args, **bound.kwargs)
        if inspect.isawaitable(result):  # an async tool: see ``blocking.wait``
            from codeact import blocking

            result = blocking.wait(result)
        return result

    @property
    def is_async(self) -> bool:
        """Whether the tool is a coroutine function (``async def``): awaited under ``arun``."""
        return inspect.iscoroutinefunction(self.fn)

    async def acall_with(self, arguments: dict[str, Any]) -> Any:
        """``call_with`` from async code: an async tool is awaited here, on the event loop; a
        plain function runs in a thread of ``codeact.blocking`` (it may block)."""
        checked = self._check(arguments)
        if not self.is_async:
            from codeact import blocking

            return await blocking.run(self._invoke, checked)
        bound = inspect.BoundArguments(self.signature, checked)  # type: ignore[arg-type]
        return await self.fn(*bound.args, **bound.kwargs)

    def usage(self) -> str:
        """The Python signature the model sees, e.g. ``get_weather(city: str) -> str``."""
        parts: list[str] = []
        star = any(p.kind is _VAR_POSITIONAL for p in self._params)
        for i, p in enumerate(self._params):
            if p.kind is inspect.Parameter.KEYWORD_ONLY and not star:
                parts.append("*")
                star = True
            parts.append(p.stub())
            following = self._params[i + 1].kind if i + 1 < len(self._params) else None
            if p.kind is inspect.Parameter.POSITIONAL_ONLY and following is not p.kind:
                parts.append("/")
        return f"{self.name}({', '.join(parts)}) -> {self.output_type}"

    def describe(self) -> str:
        """The tool as a Python stub with its docs, for code-writing models."""
        lines = [f"def {self.usage()}:", f'    """{self.description}']
        if self._params:
            lines.append("")
            lines.append("    Args:")
            lines += [f"        {p.name}: {p.doc}" for p in self._params]
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


def _final_answer(answer: Any) -> Any:
    """Finish the task and give the final answer.

    Args:
        answer: The final answer to the task.
    """
    return answer


final_answer = Tool(_final_answer, name="final_answer")
