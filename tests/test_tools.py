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


# --- tools as people already write them ------------------------------------------------------


@tool
def minimum_value(*values: float) -> float:
    """The smallest of the values.

    Args:
        values: Numbers to compare.
    """
    return min(values)


@tool
def book_hotel(location: str, *preferences: str, nights: int = 1, **extras: str) -> str:
    """Book a hotel.

    Args:
        location: Where.
        preferences: Wishes, most important first.
        nights: How long.
        extras: Anything else, by name.
    """
    return f"{location}/{nights}/{','.join(preferences)}/{sorted(extras.items())}"


def test_variadic_parameters_are_called_like_python():
    assert minimum_value(3, 1.5, 2) == 1.5
    assert book_hotel("Rome", "quiet", "view", nights=2, floor="high") == (
        "Rome/2/quiet,view/[('floor', 'high')]"
    )


def test_variadic_values_are_still_validated():
    with pytest.raises(ToolError, match=r"values\.1: Input should be a valid number"):
        minimum_value(1, "many")
    with pytest.raises(ToolError, match=r"extras\.floor: Input should be a valid string"):
        book_hotel("Rome", floor=3)


def test_the_stub_shows_the_real_signature():
    assert minimum_value.usage() == "minimum_value(*values: float) -> float"
    assert book_hotel.usage() == (
        "book_hotel(location: str, *preferences: str, nights: int = 1, **extras: str) -> str"
    )

    @tool
    def search(query: str, /, *, limit: int = 5) -> list:
        """Search.

        Args:
            query: Words.
            limit: How many.
        """
        return [query] * limit

    assert search.usage() == "search(query: str, /, *, limit: int = 5) -> list"
    with pytest.raises(ToolError, match="positional argument"):
        search("x", 2)


def test_variadic_schema_is_an_array_and_an_object():
    properties = book_hotel.parameters["properties"]
    assert properties["preferences"] == {
        "type": "array",
        "items": {"type": "string"},
        "description": "Wishes, most important first.",
    }
    assert properties["extras"]["type"] == "object"
    assert properties["extras"]["additionalProperties"] == {"type": "string"}
    assert book_hotel.parameters["required"] == ["location"]


def test_json_calls_put_the_array_in_place_of_the_star_arguments():
    result = book_hotel.call_with({"location": "Oslo", "preferences": ["a", "b"], "nights": 3})
    assert result == "Oslo/3/a,b/[]"
    assert minimum_value.call_with({"values": [4, 2]}) == 2
    with pytest.raises(ToolError, match="location: Field required"):
        book_hotel.call_with({"preferences": ["a"]})


def test_wrapping_a_function_without_a_docstring():
    def scale(x: float, factor: float = 2.0) -> float:
        return x * factor

    wrapped = Tool(
        scale,
        name="scale_it",
        description="Multiply a number.",
        arg_descriptions={"x": "The number.", "factor": "By how much."},
    )
    assert wrapped(3) == 6.0 and wrapped.name == "scale_it"
    assert "x: The number." in wrapped.describe()
    with pytest.raises(TypeError, match="parameter 'factor' is not described"):
        Tool(scale, description="Multiply.", arg_descriptions={"x": "The number."})


def test_numpy_and_sphinx_docstrings():
    def numpy_style(values: list, scale: float = 1.0) -> float:
        """Sum values.

        Parameters
        ----------
        values : list of float
            The values
            to add.
        scale : float, optional
            A factor.

        Returns
        -------
        float
        """
        return sum(values) * scale

    def sphinx_style(location: str, nights: int) -> str:
        """Book a room.

        :param location: Where.
        :type location: str
        :param nights: How long,
            in nights.
        :returns: A booking id.
        """
        return location * nights

    numpy_tool, sphinx_tool = Tool(numpy_style), Tool(sphinx_style)
    assert numpy_tool.description == "Sum values."
    assert numpy_tool.parameters["properties"]["values"]["description"] == "The values to add."
    assert numpy_tool.parameters["properties"]["scale"]["description"] == "A factor."
    assert sphinx_tool.description == "Book a room."
    assert sphinx_tool.parameters["properties"]["nights"]["description"] == "How long, in nights."


def test_a_subclass_keeps_its_own_description():
    class Lookup(Tool):
        name = "lookup"
        description = "Look a key up in the table."

        def forward(self, key: str) -> str:
            """Return the value.

            Args:
                key: The key.
            """
            return key

    assert Lookup().description == "Look a key up in the table."


def test_forgetting_super_init_fails_at_construction():
    class Broken(Tool):
        name = "broken"
        description = "Never set up."

        def __init__(self) -> None:
            self.state = 1

        def forward(self, x: int) -> int:
            """Args:
            x: A number.
            """
            return x

    with pytest.raises(TypeError, match=r"Broken.__init__ must call super\(\).__init__\(\)"):
        Broken()
