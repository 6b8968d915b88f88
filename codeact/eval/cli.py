"""``codeact eval SUITE``: run a suite with code and tool-calling agents, and compare them.

    codeact eval builtin --model gpt-4o-mini --agent both --concurrency 8 -o results.jsonl
    codeact eval builtin --oracle --agent both -o results.jsonl      # offline, oracle replies
    codeact eval m3tooleval:~/code-act --model openai/qwen --api-base http://127.0.0.1:8000/v1

Mistakes on the command line exit with status 2 and one line on stderr. With ``--oracle``, a
task the oracle fails is a bug of the suite: the exit status is then 1.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import sys
from typing import Any, NoReturn

from codeact.eval.oracle import oracle_model
from codeact.eval.run import SetupError, evaluate
from codeact.eval.suites import SuiteError, load_suite
from codeact.eval.summary import markdown, rich_tables
from codeact.eval.task import Task
from codeact.models import ModelConfigError


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        _fail(message)


def _fail(message: str) -> NoReturn:
    print(f"codeact eval: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="codeact eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", help="builtin | m3tooleval:PATH | module:name (your own suite)")
    parser.add_argument("--model", help="LiteLLM model id (default: $CODEACT_MODEL)")
    parser.add_argument(
        "--api-base", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1"
    )
    parser.add_argument("--oracle", action="store_true", help="replay the tasks' oracles (offline)")
    parser.add_argument("--agent", choices=["code", "tool", "both"], default="both")
    parser.add_argument("--concurrency", type=int, default=4, help="runs at once (default 4)")
    parser.add_argument("-o", "--output", help="results.jsonl to append to; reruns skip its tasks")
    parser.add_argument("--runs-dir", help="where to save each run (default: beside --output)")
    parser.add_argument(
        "--sandbox",
        choices=["inline", "local", "docker"],
        help="the code agent's sandbox (default: $CODEACT_SANDBOX, else local)",
    )
    parser.add_argument("--max-steps", type=int, default=10)
    parser.add_argument(
        "--task", action="append", default=[], metavar="PATTERN", help="only tasks matching"
    )
    parser.add_argument("--limit", type=int, help="only the first N tasks (after --task)")
    parser.add_argument("--retry-errors", action="store_true", help="rerun runs that errored")
    parser.add_argument("--md", action="store_true", help="print the summary as markdown")
    parser.add_argument("--list", action="store_true", help="list the tasks and exit")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.concurrency < 1 or args.max_steps < 1 or (args.limit is not None and args.limit < 1):
        _fail("--concurrency, --max-steps and --limit take a positive number")
    try:
        tasks = _select(load_suite(args.suite), args.task, args.limit)
    except SuiteError as exc:
        _fail(str(exc))
    if args.list:
        for task in tasks:
            print(f"{task.name}\t{task.domain}\t{' '.join(task.tags)}")
        return 0
    model = _model(args, tasks)
    agents = ["code", "tool"] if args.agent == "both" else [args.agent]
    try:
        rows = evaluate(
            tasks,
            model,
            agents=agents,
            concurrency=args.concurrency,
            output=args.output,
            runs_dir=args.runs_dir,
            sandbox=args.sandbox,
            max_steps=args.max_steps,
            retry_errors=args.retry_errors,
            progress=sys.stderr.isatty() and not args.no_progress,
        )
    except (ModelConfigError, SetupError) as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        where = f"; the finished runs are in {args.output}: rerun to resume" if args.output else ""
        print(f"codeact eval: interrupted{where}", file=sys.stderr)
        return 130
    _print_summary(rows, args.md)
    if args.output:
        print(f"results: {args.output} ({len(rows)} runs)", file=sys.stderr)
    if args.oracle and not all(row["success"] for row in rows):
        failed = sorted({f"{r['task']} ({r['agent']})" for r in rows if not r["success"]})
        print(f"oracle failed on: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _select(tasks: list[Task], patterns: list[str], limit: int | None) -> list[Task]:
    if patterns:
        tasks = [t for t in tasks if any(fnmatch.fnmatchcase(t.name, p) for p in patterns)]
        if not tasks:
            _fail(f"no task matches {' or '.join(patterns)}; --list shows the task names")
    return tasks[:limit] if limit else tasks


def _model(args: argparse.Namespace, tasks: list[Task]) -> Any:
    if args.oracle:
        if args.model:
            _fail("--oracle replays the tasks' own replies; drop --model")
        missing = [t.name for t in tasks if not t.has_oracle]
        if missing:
            _fail(f"{len(missing)} tasks have no oracle (e.g. {missing[0]}); run them with --model")
        return oracle_model
    model_id = args.model or os.environ.get("CODEACT_MODEL")
    if not model_id:
        _fail("give --model (or set CODEACT_MODEL), or --oracle to replay the oracles offline")
    from codeact.litellm_model import LiteLLMModel

    try:
        return LiteLLMModel(model_id, api_base=args.api_base)
    except ModelConfigError as exc:
        _fail(str(exc))


def _print_summary(rows: list[dict[str, Any]], as_markdown: bool) -> None:
    if not rows:
        print("no runs", file=sys.stderr)
        return
    if as_markdown:
        sys.stdout.write(markdown(rows))
        return
    from rich.console import Console

    console = Console()
    for table in rich_tables(rows):
        console.print(table)
        console.print()
