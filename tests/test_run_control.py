"""Run control through the agent loop, driven by ScriptedModel with real sandboxes and tools:
budgets, approval, typed answers and checks, planning, continued conversations, images, token
streaming, sub-agents that report honestly, code through a tool call, tool-call caps."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest
from pydantic import BaseModel

from codeact import (
    CodeAgent,
    ScriptedModel,
    Step,
    TokenDelta,
    ToolCallingAgent,
    prompts,
    tool,
)
from codeact.agents import Agent

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(32))


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: First number.
        b: Second number.
    """
    return a + b


@tool
def chart(title: str) -> bytes:
    """Draw a chart.

    Args:
        title: Its title.
    """
    return PNG


def code(source: str, thought: str = "Thought: go.") -> str:
    return f"{thought}\n```python\n{source}\n```"


def call(name: str, **arguments) -> dict:
    return {"content": None, "tool_calls": [{"name": name, "arguments": arguments}]}


def code_agent(replies, **options) -> CodeAgent:
    return CodeAgent(ScriptedModel(replies), tools=[add, chart], sandbox="inline", **options)


class PricedModel(ScriptedModel):
    """A ScriptedModel whose replies cost $0.01 each, as LiteLLM would price them."""

    def generate(self, messages, *, tools=None, stop=None, timeout=None):
        reply = super().generate(messages, tools=tools, stop=stop)
        reply.cost_usd = 0.01
        return reply


# --- budgets -------------------------------------------------------------------------------------


def test_max_tokens_stops_the_run_and_asks_for_a_best_answer():
    replies = [code("print('x' * 2000)"), code("print(2)"), "About 42."]
    model = ScriptedModel(replies)
    result = CodeAgent(model, sandbox="inline", max_tokens=500).run("task")
    assert result.state == "max_tokens"
    assert result.output == "About 42."
    assert len(result.steps) == 2  # the second, sent the 2,000 characters, spent the budget
    assert "(max_tokens=500)" in result.error
    assert model.requests[-1][-1]["content"].startswith("You have used up your token budget.")


def test_max_cost_stops_the_run():
    model = PricedModel([code("print(1)"), code("print(2)"), "Best guess.", code("print(3)")])
    result = CodeAgent(model, sandbox="inline", max_cost_usd=0.015).run("task")
    assert result.state == "max_cost"
    assert len(result.steps) == 2 and result.output == "Best guess."
    assert result.cost_usd == pytest.approx(0.03)  # the best-answer call is counted too


def test_max_cost_with_a_model_without_prices_warns():
    agent = CodeAgent(ScriptedModel([code("final_answer(1)")]), sandbox="inline", max_cost_usd=1)
    with pytest.warns(RuntimeWarning, match="'scripted' has no known price"):
        assert agent.run("task").output == 1


def test_max_time_stops_the_run_and_caps_the_sandbox_run():
    model = ScriptedModel([code("print(1)"), code("while True:\n    pass"), "Out of time."])
    agent = CodeAgent(model, sandbox="inline", max_time_s=1.0, sandbox_options={"timeout": 30})
    started = time.monotonic()
    result = agent.run("task")
    assert time.monotonic() - started < 5  # the endless loop got the time left, not 30 s
    assert result.state == "max_time" and result.output == "Out of time."
    assert "TimeoutError" in result.steps[1].error
    assert agent.sandbox.timeout == 30  # restored for later runs
    assert model.calls[0]["timeout"] <= 1.0  # the model call was given the time left too


def test_max_steps_keeps_its_state_and_the_old_request():
    model = ScriptedModel([code("print(1)"), "Probably 3."])
    result = CodeAgent(model, sandbox="inline", max_steps=1).run("task")
    assert (result.state, result.output) == ("max_steps", "Probably 3.")
    assert model.requests[-1][-1] == {"role": "user", "content": prompts.OUT_OF_STEPS}


def test_caps_must_be_positive():
    with pytest.raises(ValueError, match="max_time_s must be a positive number"):
        code_agent([], max_time_s=0)


def test_tool_calls_past_the_cap_fail_with_an_error_the_model_sees():
    result = code_agent(
        [code("for i in range(5):\n    print(add(i, 0))"), code("final_answer('stopped')")],
        max_tool_calls=3,
    ).run("task")
    first = result.steps[0]
    assert "Output:\n0\n1\n2" in first.observation
    assert "add() was not called" in first.error and "max_tool_calls" in first.error
    assert [u.error is None for u in first.tool_uses] == [True, True, True, False]
    assert result.output == "stopped"


def test_the_tool_call_cap_counts_tool_calling_agents_calls():
    replies = [call("add", a=1, b=2), call("add", a=3, b=4), call("final_answer", answer="ok")]
    agent = ToolCallingAgent(ScriptedModel(replies), tools=[add], max_tool_calls=1)
    result = agent.run("task")
    assert result.steps[0].observation == "add: 3"
    assert "was not called" in result.steps[1].observation and result.output == "ok"


# --- approval ------------------------------------------------------------------------------------


def test_approved_code_runs_and_the_approver_sees_it():
    seen = []

    def approve(action):
        seen.append(action)
        return True

    result = code_agent([code("final_answer(add(1, 2))")], approve=approve).run("task")
    assert result.output == 3
    assert [(a.kind, a.code, a.step, a.agent) for a in seen] == [
        ("code", "final_answer(add(1, 2))", 1, "code_agent")
    ]


@pytest.mark.parametrize(
    ("verdict", "told"),
    [
        (False, "The action was refused by the user and did not run."),
        ("use add, not print", "The user said: use add, not print"),
    ],
)
def test_refused_code_does_not_run_and_the_model_is_told(verdict, told):
    answers = iter([verdict, True])
    agent = code_agent(
        [code("x = add(1, 1)\nprint('ran')"), code("final_answer(2)")],
        approve=lambda action: next(answers),
    )
    result = agent.run("task")
    first = result.steps[0]
    assert told in first.observation and "ran" not in first.observation
    assert first.tool_uses == []  # nothing ran
    assert first.refusals[0].action == "x = add(1, 1)\nprint('ran')"
    assert first.refusals[0].reason == first.observation and first.error is None
    assert agent.sandbox.run("'x' in dir()").value is False
    assert result.output == 2


def test_each_tool_call_is_approved_on_its_own():
    replies = [
        {
            "content": None,
            "tool_calls": [
                {"name": "add", "arguments": {"a": 1, "b": 1}},
                {"name": "add", "arguments": {"a": 40, "b": 2}},
            ],
        },
        call("final_answer", answer=42),
    ]
    seen = []

    def approve(action):
        seen.append((action.kind, action.tool, action.arguments))
        return "not that one" if action.arguments["a"] == 1 else True

    result = ToolCallingAgent(ScriptedModel(replies), tools=[add], approve=approve).run("task")
    assert seen == [("tool", "add", {"a": 1, "b": 1}), ("tool", "add", {"a": 40, "b": 2})]
    first = result.steps[0]
    assert first.tool_results[0].endswith("The user said: not that one")
    assert first.tool_results[1] == "42"
    assert [u.arguments for u in first.tool_uses] == [{"a": 40, "b": 2}]
    assert first.refusals[0].action == 'add({"a": 1, "b": 1})'
    assert result.output == 42  # final_answer itself is not put to the approver


def test_a_sub_agents_actions_go_through_its_own_approve():
    asked = {"boss": 0, "helper": 0}

    def counting(name, verdict):
        def approve(action):
            asked[name] += 1
            return verdict

        return approve

    helper = code_agent(
        [code("final_answer(1)"), code("final_answer(2)")],
        name="helper",
        approve=counting("helper", "no"),
        max_steps=1,
    )
    boss = CodeAgent(
        ScriptedModel([code("helper(task='x')"), code("final_answer('done')")]),
        tools=[helper.as_tool()],
        sandbox="inline",
        approve=counting("boss", True),
    )
    result = boss.run("task")
    assert asked == {"boss": 2, "helper": 1}
    assert result.steps[0].tool_uses[0].run.steps[0].refusals


def test_an_approver_that_answers_nonsense_fails_the_run_at_once():
    with pytest.raises(TypeError, match="approve= must return True, False or a reason"):
        code_agent([code("print(1)")], approve=lambda a: None).run("task")


# --- typed answers and checks -------------------------------------------------------------------


class Forecast(BaseModel):
    city: str
    high_c: float


@dataclasses.dataclass
class Pair:
    left: int
    right: int


def test_an_invalid_typed_answer_is_corrected_on_the_next_step():
    replies = [
        code("final_answer({'city': 'Oslo', 'high_c': 'warm'})"),
        code("final_answer({'city': 'Oslo', 'high_c': 21.5})"),
    ]
    result = code_agent(replies, output_type=Forecast).run("task")
    first = result.steps[0]
    assert not first.is_final and "not a valid Forecast" in first.error
    assert "high_c" in first.observation and "final_answer again" in first.observation
    assert result.state == "success" and result.output == Forecast(city="Oslo", high_c=21.5)


def test_the_prompt_tells_the_shape_of_the_answer():
    agent = code_agent([code("final_answer({'left': 1, 'right': '2'})")], output_type=Pair)
    assert '"left":{"type":"integer"}' in agent.system_prompt()
    assert agent.run("task").output == Pair(1, 2)


def test_a_tool_calling_agents_final_answer_takes_the_output_types_schema():
    replies = [
        call("final_answer", answer={"city": 1}),
        call("final_answer", answer={"city": "Rome", "high_c": 30}),
    ]
    model = ScriptedModel(replies)
    result = ToolCallingAgent(model, output_type=Forecast).run("task")
    finish = [t for t in model.calls[0]["tools"] if t["function"]["name"] == "final_answer"][0]
    answer = finish["function"]["parameters"]["properties"]["answer"]
    assert answer["properties"]["high_c"] == {"type": "number"}
    assert result.steps[0].tool_results[0].startswith("Error: Your final answer is not a valid")
    assert result.output == Forecast(city="Rome", high_c=30.0)


def test_failed_checks_are_observations_and_the_run_goes_on():
    seen = []

    def positive(answer, run):
        seen.append((answer, run.state, len(run.steps)))
        return True if answer > 0 else "it must be positive"

    result = code_agent(
        [code("final_answer(-1)"), code("final_answer(5)")], final_answer_checks=[positive]
    ).run("task")
    assert "rejected by positive: it must be positive" in result.steps[0].observation
    assert result.output == 5 and seen == [(-1, "running", 0), (5, "running", 1)]


def test_a_typed_best_answer_is_parsed_and_validated():
    replies = [code("print(1)"), '```json\n{"city": "Paris", "high_c": 18}\n```']
    result = code_agent(replies, output_type=Forecast, max_steps=1).run("task")
    assert result.state == "max_steps" and result.output == Forecast(city="Paris", high_c=18)
    broken = code_agent([code("print(1)"), "no idea"], output_type=Forecast, max_steps=1)
    result = broken.run("task")
    assert result.output is None and "best answer is not a valid Forecast" in result.error


# --- planning ------------------------------------------------------------------------------------


def test_planning_steps_come_before_the_first_action_and_every_n_after():
    plan = "Facts: none. Plan: print, then answer."
    replies = [plan, code("print(1)"), code("print(2)"), plan, code("final_answer(3)")]
    model = ScriptedModel(replies)
    result = code_agent(replies, planning_interval=2).run("task")
    assert [s.kind for s in result.steps] == ["plan", "action", "action", "plan", "action"]
    assert [s.index for s in result.steps] == [1, 2, 3, 4, 5]
    assert result.steps[0].model_output == plan and result.steps[0].action is None
    model = ScriptedModel(replies)
    CodeAgent(model, sandbox="inline", planning_interval=2).run("task")
    assert model.requests[0][-1]["content"].startswith("Before you act, plan.")
    assert model.calls[0]["stop"] is None  # a plan is text: no stop sequence, no tools
    assert model.requests[1][-1]["content"] == "Now carry out your plan, one step at a time."
    assert model.requests[3][-1]["content"].startswith("Pause and plan again")


def test_planning_steps_do_not_count_against_max_steps():
    replies = ["plan", code("print(1)"), "plan again", code("print(2)"), "best"]
    result = code_agent(replies, planning_interval=1, max_steps=2).run("task")
    assert [s.kind for s in result.steps] == ["plan", "action", "plan", "action"]
    assert result.state == "max_steps"


# --- conversations that continue ----------------------------------------------------------------


def test_reset_false_continues_the_conversation():
    model = ScriptedModel([code("x = 20\nfinal_answer(x)"), code("final_answer(x + 1)")])
    agent = CodeAgent(model, sandbox="inline")
    assert agent.run("set x").output == 20
    second = agent.run("add one to x", reset=False)
    assert second.output == 21 and len(second.steps) == 1
    sent = model.requests[1]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user", "user"]
    assert sent[1]["content"] == "set x" and sent[-1]["content"] == "add one to x"


def test_reset_true_starts_a_new_conversation():
    model = ScriptedModel([code("final_answer(1)"), code("final_answer(2)")])
    agent = CodeAgent(model, sandbox="inline")
    agent.run("first")
    agent.run("second")
    assert [m["content"] for m in model.requests[1][1:]] == ["second"]


# --- variables and images (the scripted half) ---------------------------------------------------


def test_variables_are_set_before_the_first_step_and_listed_in_the_task():
    model = ScriptedModel([code("final_answer(sum(prices['eur']) * rate)")])
    result = CodeAgent(model, sandbox="inline").run(
        "total in dollars", variables={"prices": {"eur": [1, 2]}, "rate": 1.5}
    )
    assert result.output == 4.5
    task = model.requests[0][1]["content"]
    assert "These variables are already defined in your Python session" in task
    assert "- `rate`: float = 1.5" in task and "- `prices`: dict with 1 keys: 'eur'" in task


def test_a_tool_calling_agent_gets_the_variables_as_json():
    model = ScriptedModel([call("final_answer", answer=3)])
    ToolCallingAgent(model).run("t", variables={"xs": (1, 2)})
    assert "- `xs`: [1, 2]" in model.requests[0][1]["content"]


def test_variables_that_are_not_data_fail_before_anything_runs():
    model = ScriptedModel([code("final_answer(1)")])
    with pytest.raises(TypeError, match="'f' is a builtin_function_or_method; give JSON"):
        CodeAgent(model, sandbox="inline").run("t", variables={"f": print})
    assert model.requests == []


def test_a_variable_may_not_shadow_a_tool():
    with pytest.raises(ValueError, match="'add' is the name of a tool"):
        code_agent([code("final_answer(1)")]).run("t", variables={"add": 1})


def test_images_go_with_the_task_as_image_parts(tmp_path):
    path = tmp_path / "plot.png"
    path.write_bytes(PNG)
    model = ScriptedModel([code("final_answer('a plot')")])
    CodeAgent(model, sandbox="inline").run("What is this?", images=[path, PNG])
    content = model.requests[0][1]["content"]
    assert content[0] == {"type": "text", "text": "What is this?"}
    assert [p["type"] for p in content[1:]] == ["image_url", "image_url"]
    assert content[1]["image_url"]["url"].startswith("data:image/png;base64,iVBORw0KGgo")


def test_a_tools_image_is_shown_to_the_code_agent_on_the_next_step():
    model = ScriptedModel([code("r = chart('sales')\nprint(r)"), code("final_answer('seen')")])
    result = CodeAgent(model, tools=[chart], sandbox="inline").run("task")
    first = result.steps[0]
    assert "<image/png, 40 bytes> (you will see this image after this step)" in first.observation
    assert first.images[0].startswith("data:image/png;base64,")
    observation = model.requests[1][-1]["content"]
    assert observation[0]["type"] == "text" and observation[1]["type"] == "image_url"


def test_pil_images_are_sent_as_png():
    from PIL import Image

    @tool
    def draw(size: int) -> object:
        """Draw a square.

        Args:
            size: Its side in pixels.
        """
        return Image.new("RGB", (size, size), "red")

    model = ScriptedModel([code("draw(8)"), code("final_answer('red')")])
    result = CodeAgent(model, tools=[draw], sandbox="inline").run(
        "draw", images=[Image.new("L", (2, 2))]
    )
    assert "<image 8x8>" in result.steps[0].observation
    assert result.steps[0].images[0].startswith("data:image/png;base64,iVBORw0KGgo")
    assert model.requests[0][1]["content"][1]["image_url"]["url"].startswith("data:image/png")


def test_a_tools_image_is_shown_to_the_tool_calling_agent_on_the_next_step():
    model = ScriptedModel([call("chart", title="t"), call("final_answer", answer="ok")])
    ToolCallingAgent(model, tools=[chart]).run("task")
    sent = model.requests[1]
    assert sent[-2]["role"] == "tool" and "image/png" in sent[-2]["content"]
    assert sent[-1]["role"] == "user" and sent[-1]["content"][1]["type"] == "image_url"


def test_reasoning_is_kept_in_the_step_and_the_saved_run_but_not_sent_back(tmp_path):
    model = ScriptedModel(
        [{"content": code("print(1)"), "reasoning": "Let me think."}, code("final_answer(1)")]
    )
    result = CodeAgent(model, sandbox="inline").run("task")
    assert result.steps[0].reasoning == "Let me think."
    assert "Let me think." not in str(model.requests[1])
    result.save(tmp_path / "run.json")
    assert "Let me think." in (tmp_path / "run.json").read_text()


# --- token streaming -----------------------------------------------------------------------------


def test_token_callbacks_get_the_deltas_in_order():
    deltas: list[TokenDelta] = []
    reply = code("final_answer(1)", thought="Thought: easy one.")
    agent = code_agent([reply], token_callbacks=[deltas.append])
    agent.run("task")
    assert "".join(d.text for d in deltas) == reply
    assert {(d.agent, d.step, d.kind) for d in deltas} == {("code_agent", 1, "content")}


def test_the_event_stream_interleaves_tokens_and_steps():
    stream = code_agent([code("print(1)"), code("final_answer(2)")]).run("task", stream=True)
    kinds = [type(e).__name__ for e in stream.events()]
    assert kinds[-1] == "Step" and kinds.count("Step") == 2
    first_step = kinds.index("Step")
    assert set(kinds[:first_step]) == {"TokenDelta"} and "TokenDelta" in kinds[first_step + 1 :]
    assert stream.result.output == 2


def test_a_step_stream_alone_does_not_ask_the_model_to_stream():
    class NoStreaming(ScriptedModel):
        def stream(self, *args, **kwargs):
            raise AssertionError("not watched: should not stream")

    stream = CodeAgent(NoStreaming([code("final_answer(1)")]), sandbox="inline").run(
        "task", stream=True
    )
    assert [type(s) for s in stream] == [Step]


def test_async_event_stream_and_callbacks():
    deltas: list[TokenDelta] = []
    agent = code_agent([code("print(1)"), code("final_answer(2)")], token_callbacks=[deltas.append])

    async def events():
        return [e async for e in agent.astream("task").events()]

    events = asyncio.run(events())
    streamed = [e for e in events if isinstance(e, TokenDelta)]
    assert streamed == deltas and len(streamed) > 4
    assert [e.index for e in events if isinstance(e, Step)] == [1, 2]


# --- sub-agents that report honestly ------------------------------------------------------------


def test_a_sub_agents_tokens_and_cost_are_in_the_callers_totals():
    helper = CodeAgent(
        PricedModel([code("final_answer(add(40, 2))")]), tools=[add], sandbox="inline", name="calc"
    )
    boss = CodeAgent(
        PricedModel([code("r = calc(task='40 + 2')\nprint(r)"), code("final_answer(r)")]),
        tools=[helper.as_tool()],
        sandbox="inline",
    )
    result = boss.run("ask calc")
    sub = result.steps[0].tool_uses[0].run
    own = sum(s.token_usage.total_tokens for s in result.steps)
    assert result.token_usage.total_tokens == own + sub.token_usage.total_tokens
    assert result.cost_usd == pytest.approx(0.03)


def test_a_sub_agent_out_of_steps_says_so_instead_of_guessing():
    helper = code_agent([code("print(1)"), "maybe 7"], name="helper", max_steps=1)
    boss = CodeAgent(
        ScriptedModel([code("print(helper(task='x'))"), code("final_answer('gave up')")]),
        tools=[helper.as_tool()],
        sandbox="inline",
    )
    first = boss.run("task").steps[0]
    assert "agent 'helper' did not finish the task (max_steps" in first.error
    assert "unchecked best guess: 'maybe 7'" in first.error
    assert "Output:" not in first.observation  # nothing printed: the call raised


def test_a_sub_agents_budget_counts_against_the_callers():
    helper = CodeAgent(PricedModel([code("final_answer(1)")] * 3), sandbox="inline", name="h")
    boss = CodeAgent(
        PricedModel([code("h(task='a')\nh(task='b')"), code("print(2)"), "best"]),
        tools=[helper.as_tool()],
        sandbox="inline",
        max_cost_usd=0.025,
    )
    result = boss.run("task")
    assert result.state == "max_cost" and len(result.steps) == 1


# --- code through a tool call -------------------------------------------------------------------


def test_code_action_tool_offers_one_python_tool_and_runs_its_code():
    model = ScriptedModel(
        [call("python", code="x = add(1, 2)\nprint(x)"), call("python", code="final_answer(x * 2)")]
    )
    agent = CodeAgent(model, tools=[add], sandbox="inline", code_action="tool")
    result = agent.run("task")
    assert result.output == 6
    assert [t["function"]["name"] for t in model.calls[0]["tools"]] == ["python"]
    assert model.calls[0]["stop"] is None
    assert "def add(a: int, b: int) -> int:" in model.requests[0][0]["content"]
    assert "call the `python` tool" in model.requests[0][0]["content"]
    tool_message = model.requests[1][-1]
    assert tool_message["role"] == "tool" and tool_message["content"] == "Output:\n3"


def test_code_action_tool_tells_the_model_about_wrong_calls():
    replies = [call("add", a=1, b=2), "no call at all", call("python", code="final_answer(1)")]
    result = CodeAgent(
        ScriptedModel(replies), tools=[add], sandbox="inline", code_action="tool"
    ).run("t")
    assert "there is no tool 'add': call python, and add inside your code" in result.steps[0].error
    assert result.steps[1].observation == prompts.NO_PYTHON_CALL
    assert result.output == 1


def test_code_action_must_be_text_or_tool():
    with pytest.raises(ValueError, match="code_action must be 'text' or 'tool'"):
        code_agent([], code_action="json")


# --- compaction in the loop ---------------------------------------------------------------------


def test_a_long_run_stays_within_its_context_budget():
    replies = [code(f"print({i}, 'x' * 5000)") for i in range(12)] + [code("final_answer(1)")]
    model = ScriptedModel(replies)
    result = CodeAgent(model, sandbox="inline", max_steps=20, max_context_tokens=6_000).run("t")
    assert result.output == 1
    sizes = [len(str(r)) for r in model.requests]
    assert max(sizes) < 6_000 * 4 + 5_000  # never much past the budget (~4 characters a token)
    assert any(s.compaction for s in result.steps)
    assert model.requests[-1][1]["content"] == "t"  # the task stays verbatim


def test_compaction_summarises_with_one_model_call_when_eliding_is_not_enough():
    long_code = "# " + "c" * 3000 + "\nprint(1)"
    replies = [code(long_code) for _ in range(8)]
    replies.insert(6, "Summary: printed 1 five times.")
    model = ScriptedModel(replies + [code("final_answer(1)")])
    result = CodeAgent(model, sandbox="inline", max_steps=20, max_context_tokens=4_000).run("t")
    assert result.output == 1
    summaries = [s for s in result.steps if s.compaction and "summarised" in s.compaction]
    assert summaries
    assert any("Summary: printed 1 five times." in str(r) for r in model.requests[7:])


# --- the constructors ---------------------------------------------------------------------------


def test_code_agent_takes_every_agent_parameter():
    import inspect

    base = set(inspect.signature(Agent.__init__).parameters)
    assert base <= set(inspect.signature(CodeAgent.__init__).parameters)
