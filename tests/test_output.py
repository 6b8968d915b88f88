"""Typed answers and answer checks (codeact.output), on their own."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import BaseModel
from typing_extensions import TypedDict

from codeact.output import AnswerRejected, OutputSpec


class City(BaseModel):
    name: str
    population: int


class Ranking(BaseModel):
    cities: list[City]


@dataclasses.dataclass
class Point:
    x: float
    y: float


class Totals(TypedDict):
    count: int
    names: list[str]


@pytest.mark.parametrize(
    ("output_type", "answer", "expected"),
    [
        (City, {"name": "Oslo", "population": "709000"}, City(name="Oslo", population=709000)),
        (Point, {"x": 1, "y": 2.5}, Point(1.0, 2.5)),
        (Totals, {"count": 2, "names": ["a", "b"]}, {"count": 2, "names": ["a", "b"]}),
        (int, "42", 42),
        (list[str], ["a"], ["a"]),
    ],
)
def test_answers_are_validated_into_the_output_type(output_type, answer, expected):
    assert OutputSpec(output_type).accept(answer, None) == expected


def test_an_invalid_answer_is_rejected_with_what_is_wrong():
    with pytest.raises(AnswerRejected) as rejected:
        OutputSpec(City).accept({"name": "Oslo", "population": "many"}, None)
    assert "not a valid City" in str(rejected.value)
    assert "population" in str(rejected.value)
    assert "final_answer again" in str(rejected.value)


def test_the_prompt_describes_the_shape_as_json_schema():
    text = OutputSpec(City).describe()
    assert "City" in text and '"population":{"type":"integer"}' in text
    assert OutputSpec().describe() == ""


def test_final_answer_parameters_carry_the_schema_with_definitions_at_the_root():
    parameters = OutputSpec(Ranking).final_answer_parameters()
    assert parameters["required"] == ["answer"]
    assert parameters["properties"]["answer"]["properties"]["cities"]["items"] == {
        "$ref": "#/$defs/City"
    }
    assert "City" in parameters["$defs"]
    assert "title" not in parameters["$defs"]["City"]


def test_checks_see_the_validated_answer_and_can_give_a_reason():
    seen = []

    def positive(answer, run):
        seen.append((answer, run))
        return True if answer > 0 else "the count must be positive"

    spec = OutputSpec(int, [positive])
    assert spec.accept("3", "run so far") == 3
    assert seen == [(3, "run so far")]
    with pytest.raises(AnswerRejected, match="positive: the count must be positive"):
        spec.accept(-1, None)


def test_a_check_returning_false_rejects_and_anything_else_is_a_bug():
    with pytest.raises(AnswerRejected, match="failed the check"):
        OutputSpec(checks=[lambda a, r: False]).accept(1, None)
    with pytest.raises(TypeError, match="must return True or a reason"):
        OutputSpec(checks=[lambda a, r: None]).accept(1, None)


def test_a_type_pydantic_cannot_handle_is_refused_at_once():
    class Opaque:
        pass

    with pytest.raises(TypeError, match="output_type=Opaque cannot be validated"):
        OutputSpec(Opaque)
