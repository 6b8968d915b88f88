"""The live view, seen through a real pseudo-terminal, and when it is shown at all."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from codeact import CodeAgent, ScriptedModel
from codeact.console import wants_view

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "scripts" / "gated_run.py"


def _take_terminal() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """A child process on a pseudo-terminal, with what it has written so far."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
        master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            args,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=cwd,
            close_fds=True,
            preexec_fn=_take_terminal,  # so ^C typed on it is a SIGINT, as in a real shell
        )
        os.close(slave)
        self.master = master
        self.output = b""

    def read_until(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.output:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} not shown; the terminal had:\n{self.text()}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"{text!r} never shown; the terminal had:\n{self.text()}")
                self.output += chunk
        return self.text()

    def text(self) -> str:
        return self.output.decode("utf-8", "replace")

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        os.close(self.master)


@pytest.fixture
def terminal_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEACT_")}
    env.update(PYTHONPATH=str(ROOT), TERM="xterm-256color", COLUMNS="100")
    env.pop("NO_COLOR", None)
    return env


def test_banner_and_step_header_appear_before_the_model_answers(tmp_path, terminal_env):
    gate = tmp_path / "answer-now"
    term = Terminal([sys.executable, str(SCRIPT), str(gate)], terminal_env)
    try:
        shown = term.read_until("thinking")  # the spinner, while the model has not answered
        assert "Show [b]markup[/b] literally" in shown  # the banner, with the task as text
        assert "gated" in shown and "scripted" in shown and "inline" in shown
        assert "step 1" in shown
        assert "[/] and [red]not red[/red]" not in shown  # nothing of the reply yet
        gate.touch()
        shown = term.read_until("RESULT=")
        term.read_until("\n", timeout=5)
        assert "RESULT=success:done [/]" in term.text()
        assert "Thinking about [bold]markup[/] and [red]colours[/red]." in shown
        assert "[/] and [red]not red[/red]" in shown  # the code's output, literally
        assert "shout(text='x') = 'X'" in shown  # the tool call
        assert "step 2" in shown and "success after 2 steps" in shown
        assert term.proc.wait(timeout=10) == 0
    finally:
        term.close()


def test_the_reply_shows_as_it_is_written_and_plans_are_shown(tmp_path, terminal_env):
    gate = tmp_path / "go-on"
    script = ROOT / "tests" / "scripts" / "streamed_run.py"
    term = Terminal([sys.executable, str(script), str(gate)], terminal_env)
    try:
        shown = term.read_until("plan 1")
        shown = term.read_until("Facts: nothing yet. Plan:")  # the plan, while it streams
        assert "compute it" not in shown  # the rest has not been written yet
        gate.touch()
        shown = term.read_until("RESULT=")
        assert "compute it, then answer." in shown and "step 2" in shown
        assert "success after 2 steps" in shown
        assert term.proc.wait(timeout=10) == 0
    finally:
        term.close()


def test_a_run_outside_a_terminal_is_quiet(capsys):
    reply = "```python\nprint('[/]')\nfinal_answer(1)\n```"
    result = CodeAgent(ScriptedModel([reply]), sandbox="inline").run("t")
    assert result.output == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_verbose_true_prints_even_when_not_a_terminal(capsys):
    reply = "```python\nprint('[red]x[/red] [/]')\nfinal_answer(1)\n```"
    CodeAgent(ScriptedModel([reply]), sandbox="inline", verbose=True).run("[/]")
    out = capsys.readouterr().out
    assert "[red]x[/red] [/]" in out and "step 1" in out and "success after 1 step" in out


def test_sub_agents_are_shown_nested_with_their_names(capsys):
    helper = CodeAgent(
        ScriptedModel(["```python\nfinal_answer(2)\n```"]), sandbox="inline", name="helper"
    )
    boss = CodeAgent(
        ScriptedModel(["```python\nfinal_answer(helper(task='two?'))\n```"]),
        tools=[helper.as_tool()],
        sandbox="inline",
        name="boss",
        verbose=True,
    )
    assert boss.run("ask").output == 2
    lines = capsys.readouterr().out.splitlines()
    inner = next(line for line in lines if "step 1 · helper" in line)
    outer = next(line for line in lines if "step 1 · boss" in line)
    assert inner.startswith("    ") and not outer.startswith(" ")


@pytest.mark.parametrize(
    ("verbose", "env", "expected"),
    [
        (True, None, True),
        (False, "1", False),
        (None, "1", True),
        (None, "0", False),
        (None, None, False),
    ],
)
def test_when_the_view_is_shown(monkeypatch, verbose, env, expected):
    if env is None:
        monkeypatch.delenv("CODEACT_VERBOSE", raising=False)
    else:
        monkeypatch.setenv("CODEACT_VERBOSE", env)
    assert wants_view(verbose) is expected  # pytest's stdout is not a terminal


def test_retries_and_sandbox_restarts_are_shown_as_lines(capsys):
    replies = [
        "```python\nsum(range(10**15))\n```",  # a C loop that never looks at the interrupt
        "```python\nfinal_answer('after the restart')\n```",
    ]
    agent = CodeAgent(
        ScriptedModel(replies),
        sandbox="local",
        sandbox_options={"timeout": 0.2, "grace": 0.3},
        verbose=True,
    )
    with agent:
        assert agent.run("t").output == "after the restart"
    assert "sandbox worker restarted: TimeoutError" in capsys.readouterr().out


def test_chat_turns_are_titled_with_the_chat_the_turn_and_the_speaker(capsys):
    from codeact import chat

    def says(name: str, text: str) -> CodeAgent:
        reply = f"```python\nfinal_answer({text!r})\n```"
        return CodeAgent(ScriptedModel([reply]), sandbox="inline", name=name, verbose=True)

    result = chat(says("writer", "a draft"), says("critic", "APPROVED"), "Write.", max_turns=1)
    assert result.messages[-1]["content"] == "APPROVED"
    out = capsys.readouterr().out
    assert "turn 1 · critic · code" in out and "step 1 · critic" in out


@pytest.mark.parametrize("sandbox", ["local", "inline"])
def test_ctrl_c_in_a_cli_run_ends_it_at_once_in_one_line(tmp_path, terminal_env, sandbox):
    """^C typed while the code runs stops the run (inline too, where the cell is in the CLI's
    own thread): status 130, one line, no traceback, and no spinner redrawn after it."""
    run = tmp_path / "run.json"
    sleeper = "```python\nimport time\nprint('sleeping')\ntime.sleep(60)\n```"
    run.write_text(json.dumps({"task": "sleep", "model_outputs": [sleeper]}))
    args = [sys.executable, "-m", "codeact.cli", "run", "--replay", str(run), "--sandbox", sandbox]
    term = Terminal(args, terminal_env, cwd=ROOT)
    try:
        term.read_until("running")  # the spinner, once the code runs
        time.sleep(0.3)
        pressed = time.monotonic()
        os.write(term.master, b"\x03")
        term.read_until("codeact: interrupted", timeout=15)
        assert term.proc.wait(timeout=15) == 130
        assert time.monotonic() - pressed < 10
        shown = term.text()
        assert "Traceback" not in shown and "TimeoutError" not in shown
        last = shown.rsplit("codeact: interrupted", 1)[1]
        assert "running" not in last and "thinking" not in last
    finally:
        term.close()
