"""The evaluation harness through its Python API: suite, checkers, oracles, runs, summaries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from codeact import LiteLLMModel, ModelConfigError, ScriptedModel
from codeact.eval import evaluate, items, load_suite, markdown, number, oracle_model, paired, text
from codeact.eval.arithmetic import evaluate_arithmetic
from codeact.eval.checks import clock, yes_no
from codeact.eval.oracle import tool_replies
from codeact.eval.summary import mcnemar_exact
from codeact.tools import ToolError

if TYPE_CHECKING:
    from openai_server import OpenAIServer

pytest_plugins = ["openai_server"]

SUITE = load_suite("builtin")
BY_NAME = {task.name: task for task in SUITE}


def answering(answer):
    """A model factory whose agents answer ``answer`` at once, for either kind."""

    def make(task, kind):
        if kind == "code":
            return ScriptedModel([f"```python\nfinal_answer({answer!r})\n```"])
        return ScriptedModel(
            [{"tool_calls": [{"name": "final_answer", "arguments": {"answer": answer}}]}]
        )

    return make


def test_import_codeact_does_not_load_the_harness():
    code = (
        "import sys, codeact, codeact.cli\nprint([m for m in sys.modules if 'codeact.eval' in m])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_builtin_suite_spans_six_domains_with_every_kind_of_task():
    domains = {task.domain for task in SUITE}
    assert len(SUITE) >= 60 and len(BY_NAME) == len(SUITE)
    assert domains == {"travel", "shop", "units", "schedule", "dna", "files"}
    for domain in domains:
        tags = {tag for task in SUITE if task.domain == domain for tag in task.tags}
        assert "loop" in tags and tags <= {"lookup", "chain", "loop"}, domain
    assert all(task.has_oracle for task in SUITE)
    assert all(task.prompt.strip() and task.expected is not None for task in SUITE)


@pytest.mark.parametrize("task", SUITE, ids=lambda t: t.name)
def test_checker_rejects_wrong_answers_and_untouched_state(task):
    state, _ = task.start()
    for wrong in (None, "", "I don't know", -12345, [], {"answer": task.expected}):
        assert not task.check(wrong, state)
    changes_state = task.check.checks_state
    # The right answer alone passes, unless the task is to change something: then the state,
    # still untouched here, must fail it.
    assert bool(task.check(task.expected, state)) is not changes_state


def test_stateful_tasks_get_fresh_state_for_every_run():
    task = BY_NAME["files/clean_tmp"]
    first, _ = task.start()
    first.files.clear()
    second, tools = task.start()
    assert second is not first and "/tmp/a.tmp" in second.files
    assert {t.name for t in tools} >= {"list_dir", "delete", "file_size"}


def test_tool_oracle_calls_depend_on_what_earlier_calls_returned():
    replies = tool_replies(BY_NAME["shop/best_coupon"])
    calls = [(c["name"], c["arguments"]) for r in replies for c in r["tool_calls"]]
    assert calls[:2] == [
        ("add_to_cart", {"product_id": "MN-100", "quantity": 1}),
        ("add_to_cart", {"product_id": "CB-200", "quantity": 1}),
    ]
    assert [a["code"] for n, a in calls[2:5]] == ["SAVE10", "FLAT25", "DESK15"]
    assert calls[5:] == [
        ("apply_coupon", {"code": "FLAT25"}),
        ("final_answer", {"answer": "FLAT25"}),
    ]


def test_oracles_pass_in_the_local_sandbox_one_task_per_domain(tmp_path):
    one_each = list({task.domain: task for task in SUITE if "loop" in task.tags}.values())
    rows = evaluate(
        one_each, oracle_model, sandbox="local", concurrency=2, output=tmp_path / "r.jsonl"
    )
    assert len(rows) == 2 * len(one_each)
    assert [r["agent"] for r in rows[:2]] == ["code", "tool"]
    for row in rows:
        assert row["success"] and row["state"] == "success", row
        assert row["tool_calls"] >= 1 and row["model"] == "scripted"
    code = [r for r in rows if r["agent"] == "code"]
    assert all(r["steps"] == 1 for r in code)  # a loop in code is one step; in tool calls, several
    assert all(r["steps"] > 1 for r in rows if r["agent"] == "tool")


def test_a_wrong_answer_is_a_failure_that_keeps_what_was_said(tmp_path):
    rows = evaluate([BY_NAME["units/miles_to_km"]], answering("about 40 km"), sandbox="inline")
    for row in rows:
        assert row["success"] is False and row["state"] == "success" and row["error"] is None
        assert row["answer"] == "about 40 km" and row["expected"] == 42.16


def test_rerun_skips_done_runs_and_retries_errors_on_request(tmp_path):
    out = tmp_path / "results.jsonl"
    built = []

    def counting(task, kind):
        built.append((task.name, kind))
        return oracle_model(task, kind)

    first, second, third = SUITE[:3]
    evaluate([first, second], counting, output=out, sandbox="inline")
    assert len(built) == 4
    rows = evaluate([first, second, third], counting, output=out, sandbox="inline")
    assert built[4:] == [(third.name, "code"), (third.name, "tool")]
    assert [r["task"] for r in rows] == [
        t.name for t in (first, first, second, second, third, third)
    ]
    assert len(out.read_text().splitlines()) == 6

    lines = out.read_text().splitlines()
    done = next(
        r for r in map(json.loads, lines) if (r["task"], r["agent"]) == (first.name, "code")
    )
    broken = {**done, "state": "error", "success": False}
    out.write_text("\n".join([*lines, json.dumps(broken), '{"task": "cut sh']))  # a crash mid-line
    evaluate([first], counting, output=out, sandbox="inline")
    assert len(built) == 6  # an error row is kept unless asked
    rows = evaluate([first], counting, output=out, sandbox="inline", retry_errors=True)
    assert built[6:] == [(first.name, "code")] and rows[0]["success"]
    assert json.loads(out.read_text().splitlines()[-1])["task"] == first.name


def test_runs_are_saved_and_replay(tmp_path):
    rows = evaluate(
        [BY_NAME["dna/highest_gc"]], oracle_model, output=tmp_path / "r.jsonl", sandbox="inline"
    )
    for row in rows:
        assert row["run"] == str(tmp_path / "r.runs" / row["agent"] / "dna__highest_gc.json")
        saved = json.loads(Path(row["run"]).read_text())
        assert saved["state"] == "success" and saved["output"] == "S3"
        assert len(ScriptedModel.from_run(row["run"]).responses) == row["model_calls"]


def test_a_model_configuration_error_stops_the_evaluation(tmp_path):
    class Misconfigured(ScriptedModel):
        def generate(self, messages, **kwargs):
            raise ModelConfigError("set OPENAI_API_KEY")

    out = tmp_path / "r.jsonl"
    with pytest.raises(ModelConfigError, match="OPENAI_API_KEY"):
        evaluate(SUITE[:5], lambda task, kind: Misconfigured([]), output=out, sandbox="inline")
    assert out.read_text() == ""  # nothing recorded: a rerun after the fix does everything


def test_evaluate_refuses_bad_arguments():
    with pytest.raises(ValueError, match="unknown agent kind 'json'"):
        evaluate(SUITE[:1], oracle_model, agents=["json"])
    with pytest.raises(ValueError, match="concurrency"):
        evaluate(SUITE[:1], oracle_model, concurrency=0)
    with pytest.raises(ValueError, match="unique"):
        evaluate([SUITE[0], SUITE[0]], oracle_model)


def test_api_end_to_end_through_an_openai_protocol_server(openai_server: OpenAIServer, tmp_path):
    task = BY_NAME["units/miles_to_km"]
    openai_server.complete(
        'I convert.\n```python\nfinal_answer(round(convert(26.2, "mi", "km"), 2))\n```',
        prompt_tokens=700,
        completion_tokens=30,
    )
    openai_server.complete(
        None,
        [{"name": "convert", "arguments": {"value": 26.2, "from_unit": "mi", "to_unit": "km"}}],
        prompt_tokens=300,
        completion_tokens=20,
    )
    openai_server.complete(
        None, [{"name": "final_answer", "arguments": {"answer": "42.16"}}], prompt_tokens=350
    )
    model = LiteLLMModel(openai_server.model_id, api_base=openai_server.url, backoff=0.01)

    rows = evaluate([task], model, concurrency=1, sandbox="inline", output=tmp_path / "r.jsonl")

    code, tool = rows
    assert code["success"] and tool["success"]
    assert (code["steps"], code["model_calls"], code["input_tokens"], code["output_tokens"]) == (
        1,
        1,
        700,
        30,
    )
    assert (tool["steps"], tool["model_calls"], tool["input_tokens"], tool["output_tokens"]) == (
        2,
        2,
        650,
        25,
    )
    assert code["model"] == tool["model"] == openai_server.model_id
    assert code["tool_calls"] == tool["tool_calls"] == 1
    first, second, third = (r.body for r in openai_server.completion_requests)
    assert (
        "def convert(value: float, from_unit: str, to_unit: str) -> float:"
        in first["messages"][0]["content"]
    )
    assert first["messages"][1]["content"] == task.prompt
    assert {t["function"]["name"] for t in second["tools"]} == {
        "convert",
        "exchange_rate",
        "calculate",
        "final_answer",
    }
    assert third["messages"][-1]["content"] == "42.164813"


def test_summary_pairs_the_two_kinds_on_the_same_tasks():
    def row(task, agent, success, steps):
        return {
            "task": task,
            "domain": task[0],
            "agent": agent,
            "tags": ["loop"],
            "success": success,
            "steps": steps,
            "model_calls": steps,
            "tool_calls": 3,
            "input_tokens": 100 * steps,
            "output_tokens": 10,
            "cost_usd": None,
            "duration_s": 0.5,
        }

    rows = [
        row("a1", "code", True, 1),
        row("a1", "tool", True, 4),
        row("a2", "code", True, 2),
        row("a2", "tool", False, 10),
        row("b1", "code", False, 3),
        row("b1", "tool", True, 5),
        row("b2", "code", True, 1),
        row("b2", "tool", True, 2),
        row("b3", "code", True, 1),
    ]
    p = paired(rows)
    assert (p["tasks"], p["both"], p["code_only"], p["tool_only"]) == (4, 2, 1, 1)
    assert p["steps"] == (1.0, 3.0) and p["p_value"] == 1.0

    md = markdown(rows)
    assert "| code | 4/5 (80%) | 1.6 |" in md
    assert "| tool | 3/4 (75%) | 5.2 |" in md
    assert "### Code vs tool calling, paired on 4 tasks" in md
    assert "| steps, on the 2 both solved | 1.0 | 3.0 |" in md
    assert "Code took 67% fewer steps than tool calling." in md
    assert "| a | 2/2 (100%) | 1/2 (50%) |" in md and "| b | 2/3 (67%) | 2/2 (100%) |" in md
    rerun = {**rows[4], "success": True}  # the last row of a (task, agent) wins
    assert "| code | 5/5 (100%)" in markdown([*rows, rerun])


def test_mcnemar_exact_p_values():
    assert mcnemar_exact(0, 0) == 1.0 and mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(0, 5) == pytest.approx(0.0625)
    assert mcnemar_exact(9, 1) == pytest.approx(2 * 11 / 1024)


def test_checkers_accept_the_usual_spellings_and_nothing_ambiguous():
    assert number(1450)("1,450.00 EUR") and number(1450)(1450.004) and number(1450)("$1450")
    assert not number(1450)("1450 or 1500") and not number(1450)(True) and not number(1450)("x")
    assert text("Tejo Suites")("  'tejo suites'. ") and not text("Tejo Suites")("Tejo")
    assert items(["a.md", "b.md"])("b.md, a.md") and items(["a.md", "b.md"])(["a.md", "b.md"])
    assert not items(["S3", "S7"], ordered=True)("S7 and S3") and items(["S3", "S7"])("S7 and S3")
    assert clock("09:30")("at 9:30.") and not clock("09:30")("09:30 or 10:00")
    assert yes_no(True)("Yes, he is free.") and yes_no(False)(False) and not yes_no(True)("no")


def test_calculate_does_arithmetic_and_nothing_else():
    assert evaluate_arithmetic("(120 + 3 * 85.5) / 2") == 188.25
    assert evaluate_arithmetic("round(2 ** 0.5, 3)") == 1.414
    for attack in ("__import__('os').getpid()", "9 ** 9 ** 9", "().__class__", "x", "'a' * 9"):
        with pytest.raises(ToolError):
            evaluate_arithmetic(attack)


def test_a_model_failing_mid_run_is_that_runs_error_with_its_steps(openai_server: OpenAIServer):
    openai_server.complete('```python\nprint(convert(1, "km", "m"))\n```', prompt_tokens=500)
    openai_server.fail(503, "overloaded")
    openai_server.fail(503, "overloaded")
    model = LiteLLMModel(
        openai_server.model_id, api_base=openai_server.url, backoff=0.01, max_retries=1
    )

    (row,) = evaluate([BY_NAME["units/miles_to_km"]], model, agents=["code"], sandbox="inline")

    assert row["state"] == "error" and row["success"] is False and "503" in row["error"]
    assert (row["steps"], row["model_calls"], row["input_tokens"]) == (1, 1, 500)


def test_runs_print_no_live_view_even_where_one_is_wanted(monkeypatch, capsys):
    monkeypatch.setenv("CODEACT_VERBOSE", "1")  # concurrent runs would interleave on screen
    rows = evaluate(SUITE[:3], oracle_model, sandbox="inline")
    assert all(r["success"] for r in rows)
    assert capsys.readouterr().out == ""
