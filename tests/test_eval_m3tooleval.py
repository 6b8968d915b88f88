"""The M3ToolEval adapter, on a miniature in its layout and (when present) a real checkout.

Set ``CODEACT_M3TOOLEVAL`` to a checkout of https://github.com/xingyaoww/code-act to run the
tests of the real suite; without it they skip (nothing of theirs ships with codeact).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from codeact import ScriptedModel
from codeact.eval import evaluate, load_suite
from codeact.tools import ToolError

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "m3tooleval"
CHECKOUT = os.environ.get("CODEACT_M3TOOLEVAL")
needs_checkout = pytest.mark.skipif(
    not CHECKOUT, reason="set CODEACT_M3TOOLEVAL to a checkout of xingyaoww/code-act"
)


def by_name(path: Path | str) -> dict:
    return {task.name: task for task in load_suite(f"m3tooleval:{path}")}


def tools_of(task) -> dict:
    _, tools = task.start()
    return {t.name: t for t in tools}


def scripted(replies: dict[str, dict[str, list]]):
    """A model factory: ``replies[task][kind]`` are that run's model replies."""
    return lambda task, kind: ScriptedModel(replies[task.name][kind])


def call(name: str, **arguments) -> dict:
    """A model reply with one tool call."""
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def final(answer) -> dict:
    return call("final_answer", answer=answer)


def test_fixture_tasks_load_without_their_repl_and_quietly(capsys):
    tasks = by_name(FIXTURE)  # its repl.py raises ImportError if imported
    assert list(tasks) == ["toy/shout", "toy/largest", "toy/calculate", "toy/clicks"]
    assert capsys.readouterr().out == ""  # their tasks print as they register
    task = tasks["toy/shout"]
    assert task.domain == "toy" and task.prompt.startswith("Shout the word 'hi'.\nGive only")
    assert task.expected == "HI!" and not task.has_oracle


def test_tools_take_the_documented_names_and_variadic_arguments():
    tools = tools_of(by_name(FIXTURE)["toy/shout"])
    assert tools["shout"].usage() == "shout(text: str) -> str"
    assert tools["shout"](text="hi") == "HI!"
    assert tools["largest"].usage() == "largest(*args: int) -> int"
    assert tools["largest"](3, 9, 4) == 9
    assert tools["largest"].call_with({"args": [3, 9, 4]}) == 9  # as a tool call sends them


def test_their_eval_calculator_is_replaced_by_arithmetic():
    calculator = tools_of(by_name(FIXTURE)["toy/calculate"])["calculator"]
    assert calculator(expression="2 + (3 * 4)") == 14
    with pytest.raises(ToolError, match="only numbers"):
        calculator(expression="__import__('os').getpid()")


def test_fixture_tasks_run_end_to_end_with_fresh_state_and_their_checker():
    code = "```python\n{}\n```".format
    replies = {
        "toy/shout": {"code": [code('final_answer(shout("hi"))')], "tool": [final("hi!")]},
        "toy/largest": {
            "code": [code("final_answer(largest(3, 9, 4))")],
            "tool": [
                call("largest", args=[3, 9, 4]),
                final("9"),
            ],
        },
        "toy/calculate": {
            "code": [code('final_answer(calculator("2 + (3 * 4)"))')],
            "tool": [final(15)],  # wrong: their checker says no
        },
        "toy/clicks": {
            "code": [code("click()\nfinal_answer(click())")],
            "tool": [
                call("click"),
                call("click"),
                call("click"),
                final(3),  # three clicks: the state was fresh, the answer is wrong
            ],
        },
    }
    rows = evaluate(list(by_name(FIXTURE).values()), scripted(replies), sandbox="inline")
    success = {(r["task"], r["agent"]): r["success"] for r in rows}
    assert success == {
        ("toy/shout", "code"): True,
        ("toy/shout", "tool"): True,  # "hi!" matches "HI!" by their (case-blind) checker
        ("toy/largest", "code"): True,
        ("toy/largest", "tool"): True,
        ("toy/calculate", "code"): True,
        ("toy/calculate", "tool"): False,
        ("toy/clicks", "code"): True,
        ("toy/clicks", "tool"): False,
    }
    assert all(r["tags"] == ["m3tooleval"] for r in rows)


@needs_checkout
def test_the_real_suite_loads_every_task_and_tool():
    tasks = by_name(CHECKOUT)
    assert len(tasks) == 82
    assert Counter(t.domain for t in tasks.values()) == {
        "web_browsing": 34,
        "trade_calculator": 17,
        "travel_itinerary_planning": 15,
        "message_decoder": 8,
        "cryptobotanists_plant_dna_sequencer": 8,
    }
    for task in tasks.values():
        for tool in tools_of(task).values():
            assert tool.to_schema()["function"]["parameters"]["type"] == "object"
    travel = tools_of(tasks["travel_itinerary_planning/plan_trip_to_0"])
    assert (
        travel["book_hotel"].usage() == "book_hotel(location: str, *preferences: str) -> List[Dict]"
    )
    assert travel["max"](3, 5.5, 1) == 5.5


@needs_checkout
def test_their_checker_takes_the_expected_answer_from_both_kinds_and_rejects_others():
    tasks = list(by_name(CHECKOUT).values())

    def answering(right: bool):
        def make(task, kind):
            answer = task.expected if right else "not the answer"
            if kind == "code":
                return ScriptedModel([f"```python\nfinal_answer({answer!r})\n```"])
            return ScriptedModel([final(answer)])

        return make

    rows = evaluate(tasks, answering(True), sandbox="inline")
    assert len(rows) == 164 and all(r["success"] for r in rows)
    rows = evaluate(tasks, answering(False), sandbox="inline")
    assert not any(r["success"] for r in rows)


@needs_checkout
def test_real_tasks_solved_through_their_tools():
    tasks = by_name(CHECKOUT)
    code = "```python\n{}\n```".format
    replies = {
        "message_decoder/full_alien_message_decoding": {
            "code": [code("text = convert_hex_to_ascii('7a686b7a686d666d686b')\n"
                          "final_answer(caesar_decode(reverse_string(text), 5))")],
            "tool": [
                call("convert_hex_to_ascii", hex_string="7a686b7a686d666d686b"),
                call("reverse_string", string="zhkzhmfmhk"),
                call("caesar_decode", message="khmfmhzkhz", shift=5),
                final("fchahcufcu"),
            ],
        },
        "travel_itinerary_planning/plan_trip_to_0": {
            "code": [code('flight = find_flights("E", "A", "2023-12-25")[0]["price"]\n'
                          'hotel = book_hotel("A", "wifi", "pool")[0]["price_per_night"]\n'
                          "final_answer(budget_calculator(flight, hotel, 5))")],
            "tool": [],
        },
        "web_browsing/price_of_legendary_wand": {
            "code": [code("import re\nclick_url('/products')\n"
                          "page = click_url('/products/wand/legendary_wand')\n"
                          "final_answer(re.search(r'Price: \\$([0-9.]+)', page).group(1))")],
            "tool": [],
        },
    }  # fmt: skip
    chosen = [tasks[name] for name in replies]
    rows = evaluate(chosen, scripted(replies), agents=["code"], sandbox="local")
    assert [r["success"] for r in rows] == [True, True, True], rows
    decoder = [tasks["message_decoder/full_alien_message_decoding"]]
    (row,) = evaluate(decoder, scripted(replies), agents=["tool"])
    assert row["success"] and row["tool_calls"] == 3
