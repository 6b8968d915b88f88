"""Finding the code in a model reply, and what the model is shown."""

from codeact.prompts import code_observation, extract_code


def test_python_fence_with_prose_around_it():
    reply = "Thought: add them.\nCode:\n```python\nx = 1 + 2\nprint(x)\n```\nDone."
    assert extract_code(reply) == "x = 1 + 2\nprint(x)"


def test_py_and_bare_fences():
    assert extract_code("```py\na = 1\n```") == "a = 1"
    assert extract_code("```\nb = 2\n```") == "b = 2"


def test_code_tags():
    assert extract_code("Thought: x\n<code>\nfinal_answer(3)\n</code>") == "final_answer(3)"


def test_several_blocks_run_in_order():
    reply = "```python\na = 1\n```\nthen\n```python\nb = a + 1\n```"
    assert extract_code(reply) == "a = 1\n\nb = a + 1"


def test_think_tags_are_ignored():
    reply = "<think>maybe ```python\nimport os\n```</think>\n```python\nx = 5\n```"
    assert extract_code(reply) == "x = 5"


def test_unclosed_block_runs_to_the_end():
    assert extract_code("Code:\n```python\nx = 1\nprint(x)") == "x = 1\nprint(x)"


def test_no_code_is_none():
    assert extract_code("The answer is 42.") is None
    assert extract_code("") is None
    assert extract_code(None) is None


def test_indented_block_is_dedented():
    assert extract_code("```python\n    x = 1\n    y = 2\n```") == "x = 1\ny = 2"


def test_observation_shows_output_value_and_error():
    obs = code_observation("hi\n", 42, "ZeroDivisionError: division by zero\n  at line 1: 1/0")
    assert obs == (
        "Output:\nhi\nValue: 42\n"
        "Error: ZeroDivisionError: division by zero\n  at line 1: 1/0\n"
        "Fix the problem and try again."
    )


def test_observation_of_silent_code_says_so():
    assert "without output" in code_observation("", None, None)


def test_long_values_are_truncated():
    obs = code_observation("", "x" * 10_000, None)
    assert len(obs) < 4_100 and "more characters" in obs


def test_observation_of_a_final_answer_shows_it():
    assert code_observation("", None, None, "Rome") == "Final answer: 'Rome'"
    assert code_observation("", None, None, None) == "Final answer: None"
