"""@tool and Tool: schema from hints and docstrings, validation, clear errors at decoration."""

from __future__ import annotations

from typing import Literal

import pytest

from codeact import Tool, ToolError, tool


@tool
def get_weather(city: str, unit: Literal["C", "F"] = "C") -> str:
    """Current weather for a city.

    Args:
        city: City name, e.g. "Paris".
        unit: Temperature unit,
            Celsius or Fahrenheit.
    """
    return f"{city}: 21 {unit}"


def test_tool_reads_name_description_and_schema():
    assert get_weather.name == "get_weather"
    assert get_weather.description == "Current weather for a city."
    assert get_weather.output_type == "str"
    assert get_weather.parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": 'City name, e.g. "Paris".'},
            "unit": {
                "type": "string",
                "enum": ["C", "F"],
                "default": "C",
                "description": "Temperature unit, Celsius or Fahrenheit.",
            },
        },
        "required": ["city"],
        "additionalProperties": False,
    }


def test_openai_schema_wraps_parameters():
    schema = get_weather.to_schema()
    assert schema["type"] == "function"
    assert schema["function"]["name"] == "get_weather"
    assert schema["function"]["parameters"] is get_weather.parameters


def test_tool_is_callable_positionally_and_by_keyword():
    assert get_weather("Paris") == "Paris: 21 C"
    assert get_weather(city="Rome", unit="F") == "Rome: 21 F"


@pytest.mark.parametrize(
    ("args", "kwargs", "fragment"),
    [
        ((), {}, "missing a required argument: 'city'"),
        (("Paris",), {"unit": "K"}, "unit: Input should be 'C' or 'F'"),
        ((3,), {}, "city: Input should be a valid string"),
        (("Paris",), {"town": "x"}, "unexpected keyword argument 'town'"),
        (("a", "C", "extra"), {}, "too many positional arguments"),
    ],
)
def test_bad_calls_raise_tool_error_with_usage(args, kwargs, fragment):
    with pytest.raises(ToolError) as err:
        get_weather(*args, **kwargs)
    assert fragment in str(err.value)
    assert "Usage: get_weather(city: str, unit: Literal['C', 'F'] = 'C') -> str" in str(err.value)


def test_arguments_are_coerced_to_declared_types():
    @tool
    def add(a: int, b: float) -> float:
        """Add two numbers.

        Args:
            a: First.
            b: Second.
        """
        return a + b

    assert add("2", "0.5") == 2.5


def test_missing_type_hint_fails_at_decoration():
    with pytest.raises(TypeError, match="parameter 'city' has no type hint"):

        @tool
        def weather(city) -> str:
            """Weather.

            Args:
                city: A city.
            """


def test_missing_return_hint_fails_at_decoration():
    with pytest.raises(TypeError, match="no return type hint"):

        @tool
        def weather(city: str):
            """Weather.

            Args:
                city: A city.
            """


def test_undocumented_parameter_fails_at_decoration():
    with pytest.raises(TypeError, match=r"parameter 'unit' is not described.*Args:"):

        @tool
        def weather(city: str, unit: str) -> str:
            """Weather.

            Args:
                city: A city.
            """


def test_missing_docstring_fails_at_decoration():
    with pytest.raises(TypeError, match="has no description"):

        @tool
        def weather(city: str) -> str:
            return city


def test_subclassed_tool_keeps_state():
    class Counter(Tool):
        name = "count"
        description = "Add to a running total."

        def __init__(self) -> None:
            self.total = 0
            super().__init__()

        def forward(self, step: int) -> int:
            """Args:
            step: How much to add.
            """
            self.total += step
            return self.total

    counter = Counter()
    assert counter(2) == 2
    assert counter(step=3) == 5
    assert counter.usage() == "count(step: int) -> int"
    assert counter.description == "Add to a running total."


def test_async_tool_runs_to_completion():
    @tool
    async def double(x: int) -> int:
        """Double a number.

        Args:
            x: The number.
        """
        return 2 * x

    assert double(21) == 42


def test_describe_renders_a_python_stub():
    assert get_weather.describe() == (
        "def get_weather(city: str, unit: Literal['C', 'F'] = 'C') -> str:\n"
        '    """Current weather for a city.\n'
        "\n"
        "    Args:\n"
        '        city: City name, e.g. "Paris".\n'
        "        unit: Temperature unit, Celsius or Fahrenheit.\n"
        '    """'
    )
