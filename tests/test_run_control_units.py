"""The run-control helpers on their own: budgets, approval answers, images, variables as code."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from codeact.approval import REFUSED, Action, ConsoleApprover, refusal_reason
from codeact.budgets import Budget, Limits, Spent
from codeact.images import image_part, image_type, is_image
from codeact.models import ChatMessage, TokenUsage
from codeact.tools import ToolError
from codeact.variables import assignment_code, describe

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16

# --- budgets ---------------------------------------------------------------------------------


def test_each_cap_names_its_state():
    reply = ChatMessage("x", usage=TokenUsage(60, 50), cost_usd=0.2)
    assert Budget(Limits(max_steps=1)).exceeded() is None
    budget = Budget(Limits(max_steps=1))
    budget.add_step()
    assert budget.exceeded()[0] == "max_steps"
    budget = Budget(Limits(max_tokens=100))
    budget.add_reply(reply)
    assert budget.exceeded() == ("max_tokens", "stopped at 110 tokens (max_tokens=100)")
    budget = Budget(Limits(max_cost_usd=0.1))
    budget.add_reply(reply)
    assert budget.exceeded()[0] == "max_cost"
    budget = Budget(Limits(max_time_s=0.05))
    time.sleep(0.06)
    assert budget.exceeded()[0] == "max_time" and budget.time_left() == 0.0


def test_time_spent_before_a_resume_counts():
    budget = Budget(Limits(max_time_s=10), Spent(time_s=9.5))
    assert budget.time_left() < 0.5


def test_an_unpriced_model_under_a_cost_cap_warns_once():
    budget = Budget(Limits(max_cost_usd=1.0), model_id="mystery")
    with pytest.warns(RuntimeWarning, match="'mystery' has no known price"):
        budget.add_reply(ChatMessage("x", usage=TokenUsage(1, 1)))
    budget.add_reply(ChatMessage("x", usage=TokenUsage(1, 1)))  # no second warning (else error)


def test_the_tool_call_cap_is_an_error_for_the_model():
    budget = Budget(Limits(max_tool_calls=2))
    budget.take_tool_call("add")
    budget.take_tool_call("add")
    with pytest.raises(ToolError, match="add\\(\\) was not called: .* all 2 tool calls"):
        budget.take_tool_call("add")


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match="max_tokens must be a positive number"):
        Limits(max_tokens=0)


# --- approval --------------------------------------------------------------------------------


def code_action() -> Action:
    return Action("code", "agent", 1, code="delete_everything()")


def test_approval_answers():
    assert refusal_reason(None, code_action()) is None
    assert refusal_reason(lambda a: True, code_action()) is None
    assert refusal_reason(lambda a: False, code_action()) == REFUSED
    assert refusal_reason(lambda a: "too risky", code_action()).endswith("The user said: too risky")
    with pytest.raises(TypeError, match="must return True, False or a reason"):
        refusal_reason(lambda a: None, code_action())


@pytest.mark.parametrize(
    ("typed", "verdict"),
    [("y", True), ("YES", True), ("n", False), ("", False), ("no, use a copy", "no, use a copy")],
)
def test_the_console_approver_shows_the_action_and_reads_the_answer(typed, verdict):
    out = io.StringIO()
    questions = []
    approver = ConsoleApprover(
        ask=lambda q: questions.append(q) or typed, console=Console(file=out)
    )
    assert approver(code_action()) == verdict
    assert "delete_everything()" in out.getvalue() and "agent wants to run" in out.getvalue()
    assert questions and "[y]es / [n]o" in questions[0]


def test_the_console_approver_refuses_at_end_of_input():
    def closed(question):
        raise EOFError

    approver = ConsoleApprover(ask=closed, console=Console(file=io.StringIO()))
    assert approver(Action("tool", "a", 2, tool="rm", arguments={"path": "/"})) == (
        "no one was there to approve it"
    )


# --- images ----------------------------------------------------------------------------------


def test_images_are_recognised_by_their_bytes(tmp_path):
    assert image_type(PNG) == "image/png" and image_type(JPEG) == "image/jpeg"
    assert is_image(PNG) and not is_image(b"hello") and not is_image("x.png")
    path = tmp_path / "photo.bin"
    path.write_bytes(JPEG)
    assert image_part(path)["image_url"]["url"].startswith("data:image/jpeg;base64,/9j/")
    assert image_part("https://example.org/a.png")["image_url"]["url"] == (
        "https://example.org/a.png"
    )


def test_what_is_not_an_image_is_refused_clearly(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="notes.txt' is not a PNG, JPEG"):
        image_part(text)
    with pytest.raises(ValueError, match="cannot read image"):
        image_part(tmp_path / "missing.png")
    with pytest.raises(TypeError, match="not int"):
        image_part(3)


# --- variables -------------------------------------------------------------------------------


def test_variables_travel_as_json_string_literals():
    code = assignment_code({"config": {"a": [1, (2, 3)], "b": None}})
    assert 'config = _codeact_value(\'{"a":[1,[2,3]],"b":null}\')' in code
    assert code.rstrip().endswith("del _codeact_value")


def test_values_that_are_not_data_are_refused_before_anything_runs():
    with pytest.raises(TypeError, match="'f' is a function"):
        assignment_code({"f": lambda: 1})
    with pytest.raises(TypeError, match="non-string key 1"):
        assignment_code({"d": {1: "x"}})
    with pytest.raises(ValueError, match="'not valid' is not a valid Python variable name"):
        assignment_code({"not valid": 1})
    with pytest.raises(ValueError, match="starts with '_'"):
        assignment_code({"_hidden": 1})


def test_the_prompt_lists_each_variable_with_its_shape():
    import numpy as np
    import pandas as pd

    text = describe(
        {"df": pd.DataFrame({"a": [1, 2]}), "arr": np.zeros((2, 3)), "n": 5, "cfg": {"k": 1}}
    )
    assert "- `df`: pandas DataFrame, 2 rows x 1 columns: a (int64)" in text
    assert "- `arr`: numpy array, shape (2, 3), dtype float64" in text
    assert "- `n`: int = 5" in text and "- `cfg`: dict with 1 keys: 'k'" in text
