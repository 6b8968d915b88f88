"""The ``codeact`` command: run an agent on a task, replay a saved run, and more.

    codeact run "task" --model gpt-4o-mini --sandbox docker --tools mymodule:my_tool
    codeact replay run.json

Mistakes (an unknown sandbox, a missing API key, a tool that does not import) end the command
with one line on stderr that says what to do, and exit status 2; a run that does not succeed
exits 1.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
from typing import Any, NoReturn

#: Commands that live in optional modules, loaded only when called: name -> (module, help).
#: Each module has ``main(argv: list[str]) -> int`` that parses the rest of the command line.
COMMANDS: dict[str, tuple[str, str]] = {
    "eval": ("codeact.eval.cli", "evaluate code and tool-calling agents on a suite of tasks"),
    "mcp": ("codeact.mcp.serve", "serve a sandbox (and agents) as MCP tools: codeact mcp serve"),
    "report": ("codeact.report", "a saved run or chat as one HTML page: codeact report RUN.json"),
}


class UsageError(Exception):
    """A mistake of the user or the environment: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (the usage text is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv and argv[0] in COMMANDS:
            module_name, _ = COMMANDS[argv[0]]
            return importlib.import_module(module_name).main(argv[1:])
        args = _parser().parse_args(argv)
        return args.handler(args)
    except UsageError as exc:
        print(f"codeact: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("codeact: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    from codeact import __version__

    parser = _Parser(prog="codeact", description="LLM agents that act by writing code.")
    parser.add_argument("--version", action="version", version=f"codeact {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="run an agent on a task", description="Run an agent.")
    run.set_defaults(handler=_run)
    run.add_argument("task", nargs="?", help="the task (with --replay: the saved run's task)")
    run.add_argument(
        "--model", default=os.environ.get("CODEACT_MODEL"), help="LiteLLM model id ($CODEACT_MODEL)"
    )
    run.add_argument("--api-key", help="the provider's API key (default: its usual env var)")
    run.add_argument(
        "--api-base", help="an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1"
    )
    run.add_argument(
        "--replay", metavar="RUN.json", help="re-run a saved run with its saved model replies"
    )
    run.add_argument("--agent", choices=["code", "tool", "tool-calling"], help="default: code")
    run.add_argument("--sandbox", help="inline, local or docker (default: $CODEACT_SANDBOX, local)")
    run.add_argument("--image", help="the docker sandbox's image (default: $CODEACT_DOCKER_IMAGE)")
    run.add_argument("--timeout", type=float, help="seconds one code action may run (default 30)")
    run.add_argument(
        "--tools",
        action="append",
        default=[],
        metavar="MODULE:FUNCTION[,...]",
        help="a tool to give the agent; repeat or separate with commas",
    )
    run.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="MODULE[,...]",
        help="a module the code may import besides the safe default set",
    )
    run.add_argument("--max-steps", type=int, help="model calls before it must answer (10)")
    run.add_argument("--max-tokens", type=int, help="stop past this many tokens (in + out)")
    run.add_argument("--max-time", type=float, metavar="SECONDS", help="stop after this long")
    run.add_argument("--max-cost", type=float, metavar="USD", help="stop past this cost")
    run.add_argument("--max-tool-calls", type=int, help="tool calls the run may make")
    run.add_argument("--planning-interval", type=int, metavar="N", help="plan every N steps")
    run.add_argument(
        "--code-action", choices=["text", "tool"], help="code in the reply (text) or a python tool"
    )
    run.add_argument(
        "--approve", action="store_true", help="ask before each action runs (y / n / a reason)"
    )
    run.add_argument("--instructions", help="added to the system prompt")
    run.add_argument("--save", metavar="RUN.json", help="write the run here as JSON")
    shown = run.add_mutually_exclusive_group()
    shown.add_argument("--verbose", "-v", action="store_true", help="always show the live view")
    shown.add_argument("--quiet", "-q", action="store_true", help="print only the answer")
    run.add_argument("--json", action="store_true", help="print the whole run as JSON")
    replay = sub.add_parser(
        "replay", help="show a saved run as it happened", description="Show a saved run."
    )
    replay.set_defaults(handler=_replay)
    replay.add_argument("run", metavar="RUN.json")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


# --- codeact run ---------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    from codeact.agents import Agent, CodeAgent, ToolCallingAgent
    from codeact.models import ModelConfigError, ModelError, ScriptedModel
    from sandboxes import SandboxError

    saved = _load_run(args.replay) if args.replay else None
    meta = saved.meta if saved else {}
    task = args.task or (saved.task if saved else None)
    if not task:
        raise UsageError('give the task, e.g. codeact run "What is 2**100?" --model gpt-4o-mini')
    tools = [_load_tool(spec) for spec in _split(args.tools)]
    if saved is not None:
        _warn_if_different(saved, task, [t.name for t in tools])
        model: Any = ScriptedModel.from_run(saved.to_dict())
    elif args.model:
        model = _litellm_model(args)
    else:
        raise UsageError("give --model (or set CODEACT_MODEL), or --replay a saved run")
    kind = args.agent or {"tool": "tool"}.get(meta.get("agent_kind", ""), "code")
    shown = not (args.quiet or args.json) and (args.verbose or _wants_view_on_stderr())
    view = _stderr_view() if shown else None
    common: dict[str, Any] = {
        "max_steps": args.max_steps or meta.get("max_steps") or 10,
        "max_tokens": args.max_tokens,
        "max_time_s": args.max_time,
        "max_cost_usd": args.max_cost,
        "max_tool_calls": args.max_tool_calls,
        "planning_interval": args.planning_interval,
        "approve": _console_approver() if args.approve else None,
        "instructions": args.instructions or meta.get("instructions"),
        "verbose": None if view else False,  # None: the run nests in the view below
    }
    agent: Agent
    try:
        if kind == "code":
            options = {
                k: v for k, v in (("timeout", args.timeout), ("image", args.image)) if v is not None
            }
            sandbox = args.sandbox
            if sandbox is None and meta.get("sandbox") in ("inline", "local", "docker"):
                sandbox = meta["sandbox"]  # (a sandbox of the user's own: the default instead)
            agent = CodeAgent(
                model,
                tools,
                sandbox=sandbox,
                code_action=args.code_action or "text",
                allowed_imports=_split(args.allow),
                sandbox_options=options,
                **common,
            )
        else:
            agent = ToolCallingAgent(model, tools, **common)
    except (ValueError, TypeError, SandboxError) as exc:
        raise UsageError(str(exc)) from None
    try:
        with agent, view.active(-1) if view else contextlib.nullcontext():
            result = agent.run(task)
    except ModelConfigError as exc:
        raise UsageError(str(exc)) from None
    except SandboxError as exc:
        raise UsageError(str(exc)) from None
    except ModelError as exc:
        print(f"codeact: the model failed: {exc}", file=sys.stderr)
        if args.save and exc.result is not None:
            exc.result.save(args.save)
        return 1
    if args.save:
        result.save(args.save)
        if view is not None:  # under the closing summary: where the run went, and its page
            page = os.path.splitext(args.save)[0] + ".html"
            view.note(
                f"saved {args.save}; to see it: codeact report {args.save} -o {page}", style="dim"
            )
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        out = result.output
        print(out if isinstance(out, str) else json.dumps(out, default=repr, ensure_ascii=False))
    if result.state != "success":
        print(f"codeact: [{result.state}] {result.error or ''}", file=sys.stderr)
        return 1
    return 0


def _litellm_model(args: argparse.Namespace) -> Any:
    from codeact.litellm_model import LiteLLMModel
    from codeact.models import ModelConfigError

    try:
        return LiteLLMModel(args.model, api_base=args.api_base, api_key=args.api_key)
    except ModelConfigError as exc:
        raise UsageError(
            str(exc).replace("pass api_key=... to LiteLLMModel", "--api-key")
        ) from None


def _split(values: list[str]) -> list[str]:
    """Repeated options and comma lists, flattened: ``-t a:f,b:g -t c:h``."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _load_tool(spec: str) -> Any:
    """``package.module:function`` (a ``Tool`` or a typed, documented function) to a ``Tool``."""
    from codeact.tools import Tool

    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise UsageError(f"--tools takes MODULE:FUNCTION, got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"--tools {spec}: cannot import {module_name!r} ({exc})") from None
    except Exception as exc:
        raise UsageError(f"--tools {spec}: importing {module_name!r} failed: {exc!r}") from None
    try:
        obj = getattr(module, attr)
    except AttributeError:
        public = ", ".join(n for n in dir(module) if not n.startswith("_"))[:300]
        raise UsageError(f"--tools {spec}: {module_name} has no {attr!r} (it has: {public})")
    try:
        return obj if isinstance(obj, Tool) else Tool(obj)
    except TypeError as exc:
        raise UsageError(f"--tools {spec}: {exc}") from None


def _load_run(path: str) -> Any:
    from codeact.memory import RunResult

    try:
        return RunResult.load(path)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise UsageError(f"{path} is not a saved run ({type(exc).__name__}: {exc})") from None


def _warn_if_different(saved: Any, task: str, tools: list[str]) -> None:
    if saved.task and task != saved.task:
        print("codeact: warning: the task differs from the saved run's", file=sys.stderr)
    saved_tools = saved.meta.get("tools")
    if saved_tools is not None and sorted(saved_tools) != sorted(tools):
        print(
            f"codeact: warning: the saved run used tools {', '.join(saved_tools) or '(none)'}, "
            f"this replay has {', '.join(tools) or '(none)'}",
            file=sys.stderr,
        )


def _console_approver() -> Any:
    """The console approver, on stderr (stdout is the answer's)."""
    from rich.console import Console

    from codeact.approval import ConsoleApprover

    def ask(prompt: str) -> str:
        sys.stderr.write(prompt)
        sys.stderr.flush()
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line

    return ConsoleApprover(ask=ask, console=Console(stderr=True))


def _wants_view_on_stderr() -> bool:
    from codeact.console import wants_view

    return wants_view(None) if "CODEACT_VERBOSE" in os.environ else sys.stderr.isatty()


def _stderr_view() -> Any:
    from rich.console import Console

    from codeact.console import LiveView

    return LiveView(Console(stderr=True))


# --- codeact replay ------------------------------------------------------------------------------


def _replay(args: argparse.Namespace) -> int:
    """Show a saved run's steps as they happened, without running anything."""
    from codeact.console import LiveView

    LiveView().replay(_load_run(args.run))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
