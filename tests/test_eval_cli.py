"""``codeact eval`` in real subprocesses: the offline oracle run, resuming, markdown, a real
OpenAI-protocol server, and the one-line errors of bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from codeact.eval import load_suite

if TYPE_CHECKING:
    from openai_server import OpenAIServer

pytest_plugins = ["openai_server"]

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "m3tooleval"
CONTRACT_KEYS = {"task", "domain", "agent", "success", "steps", "input_tokens", "output_tokens"}
CONTRACT_KEYS |= {"duration_s"}


def codeact(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """The installed ``codeact`` command (``python -m codeact.cli`` where there is none)."""
    script = Path(sys.executable).with_name("codeact")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "codeact.cli"]
    env = {k: v for k, v in os.environ.items() if k not in ("CODEACT_MODEL", "CODEACT_SANDBOX")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_oracle_run_of_the_builtin_suite_passes_for_both_kinds(tmp_path):
    done = codeact(
        "eval", "builtin", "--oracle", "--agent", "both", "-o", "results.jsonl", cwd=tmp_path
    )

    assert done.returncode == 0, done.stderr
    rows = lines(tmp_path / "results.jsonl")
    suite = load_suite("builtin")
    assert len(rows) == 2 * len(suite)
    assert {(r["task"], r["agent"]) for r in rows} == {
        (t.name, kind) for t in suite for kind in ("code", "tool")
    }
    for row in rows:
        assert row.keys() >= CONTRACT_KEYS
        assert row["success"] is True, row
        assert row["agent"] in ("code", "tool") and row["domain"] == row["task"].split("/")[0]
        assert row["steps"] >= 1 and row["input_tokens"] > 0 and row["output_tokens"] > 0
        assert row["duration_s"] > 0 and row["error"] is None
        assert (tmp_path / row["run"]).is_file()
    assert "Code vs tool calling, paired on 69 tasks" in done.stdout
    assert "Traceback" not in done.stderr


def test_a_rerun_skips_what_is_done_and_summarises_everything(tmp_path):
    out = tmp_path / "r.jsonl"
    first = codeact(
        "eval",
        "builtin",
        "--oracle",
        "--sandbox",
        "inline",
        "--task",
        "units/*",
        "-o",
        str(out),
        "--md",
    )
    assert first.returncode == 0, first.stderr
    assert len(lines(out)) == 24 and "| code | 12/12 (100%)" in first.stdout

    again = codeact(
        "eval", "builtin", "--oracle", "--sandbox", "inline", "--task", "units/*",
        "--task", "dna/*", "-o", str(out), "--md",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    rows = lines(out)
    assert len(rows) == 24 + 22 and {r["domain"] for r in rows[24:]} == {"dna"}
    assert "| code | 23/23 (100%)" in again.stdout
    assert "| dna | 11/11 (100%) | 11/11 (100%) |" in again.stdout
    assert "| units | 12/12 (100%) | 12/12 (100%) |" in again.stdout


def test_markdown_summary_has_the_paired_comparison(tmp_path):
    done = codeact(
        "eval", "builtin", "--oracle", "--sandbox", "inline", "--task", "files/*", "--md"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        "### Per agent kind (means per task)\n\n| agent | solved | steps |"
    )
    assert "### Code vs tool calling, paired on 11 tasks" in done.stdout
    assert "Exact McNemar test on the 0 tasks only one kind solved: p = 1." in done.stdout
    assert "| loop | 8/8 (100%) | 8/8 (100%) |" in done.stdout


def test_list_names_the_tasks():
    done = codeact("eval", "builtin", "--list", "--task", "travel/cheapest_*")
    assert done.returncode == 0
    assert done.stdout.splitlines() == [
        "travel/cheapest_flight\ttravel\tlookup",
        "travel/cheapest_destination\ttravel\tloop",
        "travel/cheapest_day\ttravel\tloop",
    ]


def test_eval_against_an_openai_protocol_server(openai_server: OpenAIServer, tmp_path):
    openai_server.complete(
        '```python\nfinal_answer(convert(392, "F", "C"))\n```', prompt_tokens=600
    )
    openai_server.complete(
        None, [{"name": "convert", "arguments": {"value": 392, "from_unit": "F", "to_unit": "C"}}]
    )
    openai_server.complete(None, [{"name": "final_answer", "arguments": {"answer": "200 °C"}}])

    done = codeact(
        "eval", "builtin", "--model", openai_server.model_id, "--api-base", openai_server.url,
        "--task", "units/oven_temperature", "--concurrency", "1", "-o", "r.jsonl", "--md",
        cwd=tmp_path,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    code, tool = lines(tmp_path / "r.jsonl")
    assert (code["agent"], code["success"], code["steps"], code["input_tokens"]) == (
        "code",
        True,
        1,
        600,
    )
    assert (tool["agent"], tool["success"], tool["steps"], tool["answer"]) == (
        "tool",
        True,
        2,
        "200 °C",
    )
    assert code["model"] == "openai/test-model"
    assert len(openai_server.completion_requests) == 3
    assert "| code | 1/1 (100%) | 1.0 | 1.0 | 1.0 | 600 |" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuch"], "unknown suite 'nosuch': use builtin, m3tooleval:PATH or module:name"),
        (["builtin", "--agent", "json", "--oracle"], "argument --agent: invalid choice: 'json'"),
        (["builtin"], "give --model (or set CODEACT_MODEL), or --oracle"),
        (["builtin", "--oracle", "--concurrency", "0"], "--concurrency, --max-steps and --limit"),
        (["builtin", "--oracle", "--concurrency", "many"], "invalid int value: 'many'"),
        (["builtin", "--oracle", "--task", "nope/*"], "no task matches nope/*"),
        (["builtin", "--oracle", "--model", "gpt-4o"], "--oracle replays the tasks' own replies"),
        (["builtin", "--model", "my-local-model"], "LiteLLM does not know the provider"),
        (["builtin", "--oracle", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["m3tooleval:/no/such/dir", "--oracle"], "no M3ToolEval tasks under /no/such/dir"),
        ([f"m3tooleval:{FIXTURE}", "--oracle"], "4 tasks have no oracle (e.g. toy/shout)"),
        (["nosuchmodule:TASKS"], "cannot load suite 'nosuchmodule:TASKS'"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, message):
    done = codeact("eval", *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert done.stderr.startswith("codeact eval: error: ")


def test_the_documented_suite_of_ones_own_runs_from_its_module(tmp_path):
    docs = (ROOT / "docs" / "eval.md").read_text()
    start = docs.index("# mysuite.py")
    (tmp_path / "mysuite.py").write_text(docs[start : docs.index("```", start)])
    done = codeact("eval", "mysuite:TASKS", "--oracle", "--sandbox", "inline", "--md", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "| code | 2/2 (100%) |" in done.stdout and "| tool | 2/2 (100%) |" in done.stdout


def test_an_oracle_that_fails_exits_1(tmp_path):
    (tmp_path / "broken.py").write_text(
        "from codeact.eval import Task, number\n"
        "TASKS = [Task('b/x', 'b', 'Say 2.', [], number(2), oracle_code='final_answer(3)',\n"
        "              oracle_calls=lambda calls: 3)]\n"
    )
    done = codeact("eval", "broken:TASKS", "--oracle", "--sandbox", "inline", cwd=tmp_path)
    assert done.returncode == 1
    assert "oracle failed on: b/x (code), b/x (tool)" in done.stderr


def test_ctrl_c_stops_keeps_the_finished_runs_and_a_rerun_resumes(tmp_path):
    (tmp_path / "slow.py").write_text(
        "import time\n"
        "from codeact import tool\n"
        "from codeact.eval import Task, number\n\n"
        "@tool\n"
        "def slow(x: int) -> int:\n"
        '    """Return x after a while.\n\n    Args:\n        x: A number.\n    """\n'
        "    time.sleep(0.2)\n"
        "    return x\n\n"
        "TASKS = [Task(f's/{i}', 's', f'Say {i}.', [slow], number(i),\n"
        "              oracle_code=f'final_answer(slow({i}))',\n"
        "              oracle_calls=lambda calls, i=i: calls('slow', x=i)) for i in range(8)]\n"
    )
    out = tmp_path / "r.jsonl"
    args = ["eval", "slow:TASKS", "--oracle", "--sandbox", "inline"]
    script = Path(sys.executable).with_name("codeact")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "codeact.cli"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [*command, *args, "--concurrency", "1", "-o", str(out)],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (out.exists() and out.read_text().count("\n") >= 2) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)

    assert proc.returncode == 130, stderr
    assert f"interrupted; the finished runs are in {out}: rerun to resume" in stderr
    assert "Traceback" not in stderr
    kept = lines(out)
    assert 2 <= len(kept) < 16 and all(r["success"] for r in kept)
    again = codeact(*args, "--concurrency", "8", "-o", str(out), "--md", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert len(lines(out)) == 16 and "| code | 8/8 (100%)" in again.stdout
