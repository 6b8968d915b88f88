"""The agent loop, driven by ScriptedModel, with the inline sandbox and real tools."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from codeact import (
    CodeAgent,
    ModelError,
    RunResult,
    ScriptedModel,
    ToolCallingAgent,
    prompts,
    tool,
)


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: First number.
        b: Second number.
    """
    return a + b


@tool
def shout(text: str) -> str:
    """Upper-case a text.

    Args:
        text: The text.
    """
    return text.upper()


def code(source: str) -> str:
    return f"Thought: go.\n```python\n{source}\n```"


def code_agent(replies, **kwargs) -> CodeAgent:
    return CodeAgent(ScriptedModel(replies), tools=[add, shout], sandbox="inline", **kwargs)


def test_code_agent_finishes_with_final_answer():
    agent = code_agent([code("x = add(2, 3)\nprint(x)"), code("final_answer(x * 10)")])
    result = agent.run("What is (2 + 3) * 10?")
    assert isinstance(result, RunResult)
    assert result.state == "success"
    assert result.output == 50
    assert [s.observation for s in result.steps][0] == "Output:\n5"
    assert result.steps[-1].is_final
    assert result.error is None


def test_model_sees_the_observation_of_the_previous_step():
    model = ScriptedModel([code("print(add(1, 1))"), code("final_answer('done')")])
    CodeAgent(model, tools=[add], sandbox="inline").run("task")
    second = model.requests[1]
    assert (
        second[0]["role"] == "system" and "def add(a: int, b: int) -> int:" in second[0]["content"]
    )
    assert second[1] == {"role": "user", "content": "task"}
    assert second[2]["role"] == "assistant" and "print(add(1, 1))" in second[2]["content"]
    assert second[3] == {"role": "user", "content": "Observation:\nOutput:\n2"}


@pytest.mark.parametrize(
    ("reply", "error_fragment", "observation_fragment"),
    [
        ("I think the answer is 4.", "no code block", "```python"),
        (code("x = = 1"), "SyntaxError", "SyntaxError"),
        (code("y = 1\nz = y / 0"), "ZeroDivisionError", "at line 2: z = y / 0"),
        (code("weather('Paris')"), "NameError", "name 'weather' is not defined"),
        (code("add('x', 2)"), "ToolError", "add() got invalid arguments: a:"),
        (code("add(1)"), "ToolError", "missing a required argument: 'b'"),
    ],
)
def test_model_mistakes_become_observations_and_the_run_goes_on(
    reply, error_fragment, observation_fragment
):
    result = code_agent([reply, code("final_answer('recovered')")]).run("task")
    first = result.steps[0]
    assert error_fragment in first.error
    assert observation_fragment in first.observation
    assert result.state == "success" and result.output == "recovered"


def test_timeout_is_an_observation():
    agent = code_agent(
        [code("while True:\n    pass"), code("final_answer(1)")], sandbox_options={"timeout": 0.5}
    )
    result = agent.run("task")
    assert "TimeoutError" in result.steps[0].error
    assert result.output == 1


def test_max_steps_asks_once_for_a_best_answer():
    model = ScriptedModel([code("print(1)"), code("print(2)"), "<think>hmm</think>Probably 3."])
    result = CodeAgent(model, sandbox="inline", max_steps=2).run("task")
    assert result.state == "max_steps"
    assert result.output == "Probably 3."
    assert len(result.steps) == 2
    assert model.requests[-1][-1] == {"role": "user", "content": prompts.OUT_OF_STEPS}


def test_a_model_that_fails_raises_model_error_with_the_partial_run():
    with pytest.raises(ModelError, match="ran out") as raised:
        code_agent([code("x = add(1, 2)\nprint(x)")]).run("task")
    partial = raised.value.result
    assert partial.state == "error" and "ran out" in partial.error
    assert len(partial.steps) == 1 and partial.steps[0].observation == "Output:\n3"
    assert partial.token_usage.input_tokens > 0


def test_token_usage_is_summed_over_steps():
    result = code_agent([code("print(1)"), code("final_answer(2)")]).run("task")
    assert result.token_usage.input_tokens == sum(s.token_usage.input_tokens for s in result.steps)
    assert result.token_usage.output_tokens == sum(
        s.token_usage.output_tokens for s in result.steps
    )
    assert result.token_usage.input_tokens > 0 and result.token_usage.output_tokens > 0


def test_stream_yields_steps_as_they_complete():
    seen = []
    stream = code_agent(
        [code("print('a')"), code("final_answer('b')")],
        step_callbacks=[lambda s: seen.append(s.index)],
    ).run("t", stream=True)
    indices = []
    for step in stream:
        indices.append(step.index)
        assert seen == indices  # the callback ran before the step was yielded
    assert indices == [1, 2]
    assert stream.result.output == "b" and stream.result.state == "success"


def test_leaving_a_stream_early_keeps_the_partial_run():
    stream = code_agent([code("x = 1"), code("x = 2"), code("final_answer(x)")]).run(
        "t", stream=True
    )
    for step in stream:
        if step.index == 2:
            break
    assert stream.result.state == "interrupted"
    assert [s.index for s in stream.result.steps] == [1, 2] and stream.result.output is None


def test_a_saved_run_says_how_it_was_made(tmp_path):
    agent = code_agent(
        [code("x = add(2, 3)"), code("final_answer(shout('ok'))")],
        instructions="Be brief.",
        max_steps=4,
        name="calc",
    )
    path = tmp_path / "run.json"
    agent.run("the task").save(path)
    import json

    saved = json.loads(path.read_text())
    meta = saved["meta"]
    assert meta["model_id"] == "scripted" and meta["agent_kind"] == "code"
    assert meta["agent_name"] == "calc" and meta["sandbox"] == "inline"
    assert meta["tools"] == ["add", "shout"] and meta["max_steps"] == 4
    assert meta["instructions"] == "Be brief." and "def add(" in meta["system_prompt"]
    assert meta["codeact_version"] and meta["started_at"].startswith("20")
    uses = saved["steps"][0]["tool_uses"]
    assert uses[0]["name"] == "add" and uses[0]["arguments"] == {"a": 2, "b": 3}
    assert uses[0]["result"] == 5 and uses[0]["error"] is None
    assert RunResult.load(path).steps[1].tool_uses[0].result == "OK"


def test_a_failing_tool_keeps_its_host_traceback_in_the_step(caplog):
    @tool
    def fragile(n: int) -> int:
        """Fails deep inside.

        Args:
            n: Anything.
        """
        return {}["missing"]

    agent = CodeAgent(
        ScriptedModel([code("fragile(1)"), code("final_answer(0)")]),
        tools=[fragile],
        sandbox="inline",
    )
    with caplog.at_level("DEBUG", logger="codeact"):
        result = agent.run("t")
    use = result.steps[0].tool_uses[0]
    assert use.error == "KeyError: 'missing'"
    assert 'return {}["missing"]' in use.traceback  # the tool author's own line
    assert "Traceback" not in result.steps[0].observation  # the model sees the short error
    assert any("fragile" in r.getMessage() and r.levelname == "DEBUG" for r in caplog.records)


def test_str_of_a_result_is_a_short_summary():
    result = code_agent([code("print('x' * 5000)"), code("final_answer('y' * 5000)")]).run("t")
    text = str(result)
    assert text.startswith("success after 2 steps in ") and "tokens" in text
    assert len(text) < 500 and "answer: 'yyy" not in text and "answer: yyy" in text


def test_arun_uses_the_async_model_path():
    result = asyncio.run(code_agent([code("final_answer(add(1, 2))")]).arun("task"))
    assert result.output == 3


def test_sandbox_variables_persist_across_runs_of_one_agent():
    agent = code_agent([code("memo = 41\nfinal_answer('set')"), code("final_answer(memo + 1)")])
    assert agent.run("one").output == "set"
    assert agent.run("two").output == 42


def test_instructions_go_into_the_system_prompt():
    agent = code_agent([], instructions="Answer in French.")
    prompt = agent.system_prompt()
    assert prompt.rstrip().endswith("Answer in French.")
    assert "final_answer(answer)" in prompt and "def shout(text: str) -> str:" in prompt


def _imports_line(agent: CodeAgent) -> str:
    return next(line for line in agent.system_prompt().splitlines() if "Imports allowed" in line)


def test_prompt_lists_what_the_sandbox_lets_the_code_import():
    restricted = _imports_line(code_agent([], allowed_imports=["numpy"]))
    assert (
        " json, " in restricted
        and " math, " in restricted
        and "numpy" in restricted
        and "subprocess" not in restricted
    )
    local = CodeAgent(ScriptedModel([]), sandbox="local", allowed_imports=["numpy"])
    assert _imports_line(local) == restricted  # the same policy, in a worker process
    docker = CodeAgent(ScriptedModel([]), sandbox="docker")  # no engine needed until it runs
    assert _imports_line(docker).endswith("Imports allowed: any module installed.")


def test_prompt_of_a_sandbox_of_ones_own_lists_the_restricted_set():
    from sandboxes.inline import InlineSandbox

    class Mine:  # the protocol's three methods, no ``importable``
        def __init__(self) -> None:
            self.inner = InlineSandbox()

        def start(self, tools=None):
            self.inner.start(tools)

        def run(self, code):
            return self.inner.run(code)

        def close(self):
            self.inner.close()

    agent = CodeAgent(ScriptedModel([code("final_answer(1)")]), sandbox=Mine())
    assert " json, " in _imports_line(agent) and agent.run("t").output == 1


def test_run_is_saved_and_replayed(tmp_path):
    first = code_agent([code("x = add(20, 1)"), code("final_answer(x * 2)")]).run("task")
    path = tmp_path / "run.json"
    first.save(path)
    replay = CodeAgent(ScriptedModel.from_run(path), tools=[add], sandbox="inline").run("task")
    assert replay.output == first.output == 42
    assert [s.observation for s in replay.steps] == [s.observation for s in first.steps]
    assert RunResult.load(path).steps[0].action == "x = add(20, 1)"


def test_sandbox_from_environment_and_unknown_name(monkeypatch):
    monkeypatch.setenv("CODEACT_SANDBOX", "inline")
    agent = CodeAgent(ScriptedModel([]))
    assert type(agent.sandbox).__name__ == "InlineSandbox"
    with pytest.raises(ValueError, match="choose one of: docker, inline, local"):
        CodeAgent(ScriptedModel([]), sandbox="vm")


def test_duplicate_tool_names_are_refused():
    with pytest.raises(ValueError, match="unique"):
        CodeAgent(ScriptedModel([]), tools=[add, add], sandbox="inline")


# --- ToolCallingAgent ------------------------------------------------------------------------


def calls(*pairs, content=None):
    return {"content": content, "tool_calls": [{"name": n, "arguments": a} for n, a in pairs]}


def test_tool_calling_agent_finishes_with_final_answer_tool():
    model = ScriptedModel(
        [calls(("add", {"a": 2, "b": 2})), calls(("final_answer", {"answer": 4}))]
    )
    result = ToolCallingAgent(model, tools=[add]).run("2+2?")
    assert result.state == "success" and result.output == 4
    assert result.steps[0].observation == "add: 4"


def test_tool_calling_agent_sends_native_tool_messages():
    model = ScriptedModel(
        [
            calls(("add", {"a": 1, "b": 2}), ("shout", {"text": "hi"})),
            calls(("final_answer", {"answer": "ok"})),
        ]
    )
    ToolCallingAgent(model, tools=[add, shout]).run("task")
    sent = model.requests[1]
    assistant, *tool_messages = sent[2:]
    ids = [c["id"] for c in assistant["tool_calls"]]
    assert assistant["role"] == "assistant" and len(ids) == 2 and all(ids)
    assert tool_messages == [
        {"role": "tool", "tool_call_id": ids[0], "content": "3"},
        {"role": "tool", "tool_call_id": ids[1], "content": "HI"},
    ]


def test_tool_calling_agent_offers_tool_schemas_including_final_answer():
    model = ScriptedModel([calls(("final_answer", {"answer": 1}))])
    agent = ToolCallingAgent(model, tools=[add])
    options = agent._think_options()
    assert [t["function"]["name"] for t in options["tools"]] == ["add", "final_answer"]
    assert agent.run("t").output == 1


def test_tool_calls_of_one_reply_run_concurrently():
    barrier = threading.Barrier(2, timeout=10)

    @tool
    def meet(who: str) -> str:
        """Wait until the other call arrives too.

        Args:
            who: Name.
        """
        barrier.wait()  # raises BrokenBarrierError unless both calls are in flight at once
        return f"met {who}"

    model = ScriptedModel(
        [
            calls(("meet", {"who": "a"}), ("meet", {"who": "b"})),
            calls(("final_answer", {"answer": "done"})),
        ]
    )
    result = ToolCallingAgent(model, tools=[meet]).run("t")
    assert result.steps[0].observation == "meet: met a\nmeet: met b"
    assert result.steps[0].error is None


def test_a_failing_call_keeps_the_good_results():
    @tool
    def boom(x: int) -> int:
        """Always fails.

        Args:
            x: Ignored.
        """
        raise RuntimeError("disk on fire")

    model = ScriptedModel(
        [
            calls(("add", {"a": 1, "b": 1}), ("boom", {"x": 1}), ("nope", {}), ("add", {"a": "z"})),
            calls(("final_answer", {"answer": "ok"})),
        ]
    )
    result = ToolCallingAgent(model, tools=[add, boom]).run("t")
    first = result.steps[0]
    assert first.tool_results[0] == "2"
    assert first.tool_results[1] == "Error: RuntimeError: disk on fire"
    assert first.tool_results[2].startswith(
        "Error: unknown tool 'nope'; available tools: add, boom"
    )
    assert "b: Field required" in first.tool_results[3]
    assert "disk on fire" in first.error and "unknown tool" in first.error
    assert result.output == "ok"


def test_a_reply_without_tool_calls_is_nudged():
    model = ScriptedModel(["The answer is 4.", calls(("final_answer", {"answer": 4}))])
    result = ToolCallingAgent(model, tools=[add]).run("t")
    assert result.steps[0].error == "the reply called no tool"
    assert model.requests[1][-1] == {"role": "user", "content": prompts.NO_TOOL_CALL}
    assert result.output == 4


def test_final_answer_without_answer_argument_is_an_error():
    model = ScriptedModel(
        [calls(("final_answer", {"result": 4})), calls(("final_answer", {"answer": 4}))]
    )
    result = ToolCallingAgent(model).run("t")
    assert not result.steps[0].is_final and "answer" in result.steps[0].error
    assert result.output == 4


# --- agents as tools -------------------------------------------------------------------------


def test_agent_as_tool_of_another_agent():
    helper = code_agent(
        [code("final_answer(add(40, 2))")], name="calculator", description="Does arithmetic."
    )
    as_tool = helper.as_tool()
    assert as_tool.name == "calculator" and as_tool.description == "Does arithmetic."
    assert as_tool.parameters["required"] == ["task"]
    boss = CodeAgent(
        ScriptedModel([code("r = calculator(task='40 + 2')\nfinal_answer(r)")]),
        tools=[as_tool],
        sandbox="inline",
    )
    assert boss.run("ask the calculator").output == 42


class PricedModel:
    """A real (if tiny) Model that knows its price: replays replies at $0.01 each."""

    model_id = "priced"

    def __init__(self, replies: list[str]) -> None:
        self.inner = ScriptedModel(replies)

    def generate(self, messages, *, tools=None, stop=None):
        reply = self.inner.generate(messages, tools=tools, stop=stop)
        reply.cost_usd = 0.01
        return reply

    async def agenerate(self, messages, *, tools=None, stop=None):
        return self.generate(messages, tools=tools, stop=stop)


def test_cost_is_recorded_per_step_and_summed():
    model = PricedModel([code("print(1)"), code("final_answer(2)")])
    result = CodeAgent(model, sandbox="inline").run("t")
    assert [s.cost_usd for s in result.steps] == [0.01, 0.01]
    assert result.cost_usd == pytest.approx(0.02)
    assert code_agent([code("final_answer(1)")]).run("t").cost_usd is None


# --- tools with *args and keyword-only parameters, in both agent kinds ------------------------


@tool
def smallest(*values: float, absolute: bool = False) -> float:
    """The smallest of the values.

    Args:
        values: Numbers to compare.
        absolute: Compare absolute values.
    """
    return min(values, key=abs) if absolute else min(values)


@pytest.mark.parametrize("sandbox", ["inline", "local"])
def test_code_agent_calls_variadic_tools(sandbox):
    agent = CodeAgent(
        ScriptedModel(
            [code("final_answer([smallest(3, -5, 2), smallest(3, -5, 2, absolute=True)])")]
        ),
        tools=[smallest],
        sandbox=sandbox,
    )
    with agent:
        assert "def smallest(*values: float, absolute: bool = False) -> float:" in (
            agent.system_prompt()
        )
        result = agent.run("t")
    assert result.output == [-5, 2]
    assert result.steps[0].tool_uses[0].arguments == {"values": (3, -5, 2)}


def test_tool_calling_agent_sends_star_arguments_as_an_array():
    model = ScriptedModel(
        [
            calls(("smallest", {"values": [3, -5, 2], "absolute": True})),
            calls(("final_answer", {"answer": "ok"})),
        ]
    )
    result = ToolCallingAgent(model, tools=[smallest]).run("t")
    assert result.steps[0].observation == "smallest: 2.0"


@pytest.mark.parametrize("sandbox", ["inline", "local"])
def test_allowed_imports_that_are_not_installed_fail_at_construction(sandbox):
    with pytest.raises(ValueError, match="allowed_imports names 'nosuchmodule_xyz'"):
        CodeAgent(ScriptedModel([]), sandbox=sandbox, allowed_imports=["json", "nosuchmodule_xyz"])
    CodeAgent(ScriptedModel([]), sandbox=sandbox, allowed_imports=["numpy", "collections.abc"])


@pytest.mark.parametrize(
    "sandbox", ["inline", "local", pytest.param("docker", marks=pytest.mark.docker)]
)
def test_a_tuple_answer_comes_back_as_a_tuple(sandbox):
    options = {"image": os.environ.get("CODEACT_DOCKER_IMAGE")} if sandbox == "docker" else {}
    reply = code("final_answer((1, ('a', [2, (3,)]), {'k': (4, 5)}))")
    with CodeAgent(ScriptedModel([reply]), sandbox=sandbox, sandbox_options=options) as agent:
        result = agent.run("t")
    assert result.output == (1, ("a", [2, (3,)]), {"k": (4, 5)})
    assert type(result.output) is tuple and type(result.output[1][1][1]) is tuple
