"""Running a suite: every task with each agent kind, in parallel, one result line per run.

Results are appended to a JSON-lines file as each run ends, so an interrupted evaluation loses
nothing and a rerun with the same file skips what is done. Each run gets fresh task state, its
own agent and (for code) its own sandbox; the run itself is saved next to the results.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codeact.agents import Agent, CodeAgent, ToolCallingAgent
from codeact.eval.task import Task
from codeact.memory import RunResult
from codeact.models import Model, ModelConfigError, TokenUsage
from codeact.tools import Tool

AGENT_KINDS = ("code", "tool")

#: A model shared by every run, or a function ``(task, agent_kind) -> Model`` called per run.
ModelSource = Model | Callable[[Task, str], Model]


class SetupError(RuntimeError):
    """A task's tools or state, or the model of a run, could not be made."""


def evaluate(
    tasks: Sequence[Task],
    model: ModelSource,
    *,
    agents: Sequence[str] = AGENT_KINDS,
    concurrency: int = 4,
    output: str | os.PathLike[str] | None = None,
    runs_dir: str | os.PathLike[str] | None = None,
    sandbox: str | None = None,
    max_steps: int = 10,
    retry_errors: bool = False,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Run every task with every agent kind in ``agents``; one result row per (task, agent).

    With ``output`` (a ``.jsonl`` path), rows are appended as runs end and pairs already in the
    file are skipped (``retry_errors`` reruns those that ended in ``state="error"``); runs are
    saved under ``runs_dir`` (default: beside ``output``, ``results.runs/``). Returns the rows of
    ``tasks`` in task order, the ones from earlier runs included. ``on_result(row)`` is called
    as each run ends (from a worker thread, one at a time); ``progress`` shows a bar on stderr.
    A ``ModelConfigError`` (bad key, unknown model) or a task that cannot be set up stops the
    evaluation: it is raised once the runs in progress end, and the runs it stopped are not
    recorded (a rerun does them).
    """
    unknown = [a for a in agents if a not in AGENT_KINDS]
    if unknown or not agents:
        raise ValueError(f"unknown agent kind {unknown[0] if unknown else ''!r}; use code, tool")
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise ValueError("task names must be unique within an evaluation")
    done = read_results(output) if output else {}
    wanted = [(task, kind) for task in tasks for kind in agents]
    todo = [
        (task, kind)
        for task, kind in wanted
        if (task.name, kind) not in done
        or (retry_errors and done[task.name, kind].get("state") == "error")
    ]
    if runs_dir is None and output is not None:
        runs_dir = Path(output).with_suffix(".runs")
    jobs = {f"{kind}::{task.name}": (task, kind) for task, kind in todo}
    with _progress_bar(len(jobs) if progress else 0, on_result) as report:
        runs = _Runs(model, sandbox, max_steps, output, runs_dir, report)
        try:
            # The batch API wants a fresh agent per task (a string): ours is built from the key.
            _run_batch(lambda: _JobAgent(runs, jobs), list(jobs), concurrency=concurrency)
        finally:
            runs.close()
    if runs.fatal is not None:
        raise runs.fatal
    done.update(runs.rows)
    return [done[task.name, kind] for task, kind in wanted if (task.name, kind) in done]


def read_results(path: str | os.PathLike[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """The rows of a results file by (task, agent); the last line of a pair wins."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    if not os.path.exists(path):
        return rows
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash: that run is redone
            if isinstance(row, dict) and "task" in row and "agent" in row:
                rows[row["task"], row["agent"]] = row
    return rows


class _Runs:
    """What the runs of one evaluation share: the model, the results file, a fatal error."""

    def __init__(
        self,
        model: ModelSource,
        sandbox: str | None,
        max_steps: int,
        output: str | os.PathLike[str] | None,
        runs_dir: str | os.PathLike[str] | None,
        on_result: Callable[[dict[str, Any]], None] | None,
    ) -> None:
        self.model, self.sandbox, self.max_steps = model, sandbox, max_steps
        self.runs_dir = Path(runs_dir) if runs_dir is not None else None
        self.on_result = on_result
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}
        self.fatal: Exception | None = None
        self._lock = threading.Lock()
        self._out = None
        if output is not None:
            Path(output).parent.mkdir(parents=True, exist_ok=True)
            self._out = open(output, "a+", encoding="utf-8")  # noqa: SIM115 (closed in close())
            self._out.seek(0, os.SEEK_END)
            if self._out.tell() > 0:
                self._out.seek(self._out.tell() - 1)
                last = self._out.read(1)
                if last != "\n":  # a line cut short by a crash: start ours on a line of its own
                    self._out.write("\n")

    def agent(self, task: Task, kind: str, tools: list[Tool]) -> Agent:
        model = self.model if isinstance(self.model, Model) else self.model(task, kind)
        options = {"max_steps": self.max_steps, "verbose": False}  # many runs: the bar says
        if kind == "code":
            return CodeAgent(model, tools, sandbox=self.sandbox, **options)
        return ToolCallingAgent(model, tools, **options)

    def start(self, task: Task, kind: str) -> _Started | RunResult:
        """Fresh state, tools and agent for one run; a ``RunResult`` when there is no run."""
        if self.fatal is not None:
            return _error_result(task, "skipped: the evaluation stopped")
        try:
            state, tools = task.start()
            tools, calls = _counted(tools)
            return _Started(task, kind, state, self.agent(task, kind, tools), calls)
        except Exception as exc:  # the task or its model cannot be set up: stop, and say which
            self._stop(SetupError(f"task {task.name!r} ({kind}) could not be set up: {exc}"))
            return _error_result(task, str(exc))

    def finish(self, run: _Started, outcome: RunResult | Exception) -> RunResult:
        """Close the run's agent, judge its answer, save it and record its row."""
        run.agent.close()
        task = run.task
        if isinstance(outcome, ModelConfigError):  # the user's to fix (a key, a model id): stop
            self._stop(outcome)
            return _error_result(task, str(outcome))
        if isinstance(getattr(outcome, "result", None), RunResult):  # the model failed mid-run
            outcome = outcome.result  # type: ignore[union-attr]  # its steps and tokens so far
        elif isinstance(outcome, Exception):  # a crashed sandbox, a broken tool: this run's error
            outcome = _error_result(task, f"{type(outcome).__name__}: {outcome}")
        success, error = _judge(task, outcome, run.state)
        path = self._save(task, run.kind, outcome)
        model_id = getattr(run.agent.model, "model_id", None)
        self._record(
            result_row(task, run.kind, outcome, success, error, run.calls[0], path, model_id)
        )
        return outcome

    def _stop(self, exc: Exception) -> None:
        with self._lock:
            self.fatal = self.fatal or exc

    def _save(self, task: Task, kind: str, result: RunResult) -> str | None:
        if self.runs_dir is None:
            return None
        path = self.runs_dir / kind / f"{_slug(task.name)}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        result.save(path)
        return str(path)

    def _record(self, row: dict[str, Any]) -> None:
        with self._lock:
            self.rows[row["task"], row["agent"]] = row
            if self._out is not None:
                self._out.write(json.dumps(row, ensure_ascii=False, default=repr) + "\n")
                self._out.flush()
            if self.on_result is not None:
                self.on_result(row)

    def close(self) -> None:
        if self._out is not None:
            self._out.close()


@dataclass
class _Started:
    """A run about to happen: its task, agent kind, fresh state, agent, tool-call counter."""

    task: Task
    kind: str
    state: Any
    agent: Agent
    calls: list[int]


class _JobAgent:
    """The agent a batch gets per task: it runs the job its task string names.

    The batch API takes a zero-argument agent factory and task strings; an evaluation's runs
    each need their own tools, model and checker, so the string is a job key and this agent
    builds the real one. ``close`` closes the run in progress (the batch calls it on Ctrl-C).
    """

    def __init__(self, runs: _Runs, jobs: dict[str, tuple[Task, str]]) -> None:
        self.runs, self.jobs = runs, jobs
        self.current: Agent | None = None

    def run(self, key: str) -> RunResult:
        started = self.runs.start(*self.jobs[key])
        if isinstance(started, RunResult):
            return started
        self.current = started.agent
        try:
            outcome: RunResult | Exception = started.agent.run(started.task.prompt)
        except Exception as exc:
            outcome = exc
        self.current = None
        return self.runs.finish(started, outcome)

    def close(self) -> None:
        if self.current is not None:
            self.current.close()


def _run_batch(
    make_agent: Callable[[], Any], tasks: list[str], *, concurrency: int = 8
) -> list[RunResult]:
    """A stand-in for ``codeact.run_batch`` (same contract) until it lands: threads."""

    def one(task: str) -> RunResult:
        agent = make_agent()
        try:
            return agent.run(task)
        except Exception as exc:
            return RunResult(None, "error", [], TokenUsage(), 0.0, task, str(exc))
        finally:
            agent.close()

    pool = ThreadPoolExecutor(max_workers=concurrency)
    try:
        return list(pool.map(one, tasks))
    except KeyboardInterrupt:  # runs not started are dropped; runs in progress end and record
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown()


@contextlib.contextmanager
def _progress_bar(
    total: int, on_result: Callable[[dict[str, Any]], None] | None
) -> Iterator[Callable[[dict[str, Any]], None] | None]:
    """``on_result``, also advancing a bar on stderr when there are ``total`` runs to show."""
    if total == 0:
        yield on_result
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    solved = [0, 0]
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    with Progress(*columns, TimeElapsedColumn(), console=Console(stderr=True)) as bar:
        task_id = bar.add_task("evaluating", total=total)

        def report(row: dict[str, Any]) -> None:
            solved[0] += bool(row["success"])
            solved[1] += 1
            bar.update(task_id, advance=1, description=f"{solved[0]}/{solved[1]} solved")
            if on_result is not None:
                on_result(row)

        yield report


def result_row(
    task: Task,
    kind: str,
    result: RunResult,
    success: bool,
    error: str | None,
    tool_calls: int,
    run_path: str | None,
    model_id: str | None,
) -> dict[str, Any]:
    """One line of results.jsonl (keys ``task domain agent success steps input_tokens
    output_tokens duration_s`` are a contract)."""
    return {
        "task": task.name,
        "domain": task.domain,
        "agent": kind,
        "tags": list(task.tags),
        "success": success,
        "state": result.state,
        "steps": len(result.steps),
        "model_calls": len(result.model_outputs),
        "tool_calls": tool_calls,
        "input_tokens": result.token_usage.input_tokens,
        "output_tokens": result.token_usage.output_tokens,
        "cost_usd": result.cost_usd,
        "duration_s": round(result.duration_s, 4),
        "answer": _jsonable(result.output),
        "expected": _jsonable(task.expected),
        "error": error,
        "model": model_id,
        "run": run_path,
    }


def _judge(task: Task, result: RunResult, state: Any) -> tuple[bool, str | None]:
    """(success, error): success needs a finished run whose answer the checker accepts."""
    if result.state != "success":
        return False, result.error or f"the run ended in state {result.state!r}"
    try:
        return bool(task.check(result.output, state)), None
    except Exception as exc:
        return False, f"the checker raised {type(exc).__name__}: {exc}"


def _counted(tools: list[Tool]) -> tuple[list[Tool], list[int]]:
    """Copies of ``tools`` that count the calls they run (code makes many calls per step)."""
    count = [0]
    lock = threading.Lock()
    counted = []
    for original in tools:
        tool = copy.copy(original)
        fn = original.fn

        def call(*args: Any, _fn: Callable[..., Any] = fn, **kwargs: Any) -> Any:
            with lock:
                count[0] += 1
            return _fn(*args, **kwargs)

        tool.fn = call
        counted.append(tool)
    return counted, count


def _error_result(task: Task, error: str) -> RunResult:
    return RunResult(None, "error", [], TokenUsage(), 0.0, task.prompt, error)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name.replace("/", "__"))


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)
