"""``codeact run "task" --model ... --sandbox ... --tools module:function``: agents from a shell."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import Any

from codeact.agents import CodeAgent, ToolCallingAgent
from codeact.console import print_step
from codeact.litellm_model import LiteLLMModel
from codeact.models import Model, ScriptedModel
from codeact.tools import Tool


def load_tool(spec: str) -> Tool:
    """``package.module:function`` (a ``Tool`` or a typed, documented function) to a ``Tool``."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise SystemExit(f"--tools takes module:function, got {spec!r}")
    sys.path.insert(0, os.getcwd())
    obj = getattr(importlib.import_module(module_name), attr)
    return obj if isinstance(obj, Tool) else Tool(obj)


#: Commands that live in optional modules, loaded only when called: name -> (module, help).
#: Each module has ``main(argv: list[str]) -> int`` that parses the rest of the command line.
COMMANDS: dict[str, tuple[str, str]] = {}


def main(argv: list[str] | None = None) -> int:
    from codeact import __version__

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in COMMANDS:
        module_name, _ = COMMANDS[argv[0]]
        return importlib.import_module(module_name).main(argv[1:])
    parser = argparse.ArgumentParser(prog="codeact", description=__doc__)
    parser.add_argument("--version", action="version", version=f"codeact {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    run = sub.add_parser("run", help="run an agent on a task")
    run.add_argument("task")
    run.add_argument(
        "--model",
        default=os.environ.get("CODEACT_MODEL"),
        help="LiteLLM model id (default: $CODEACT_MODEL)",
    )
    run.add_argument(
        "--api-base", help="OpenAI-compatible server URL, e.g. http://127.0.0.1:8000/v1"
    )
    run.add_argument("--replay", help="replay the model replies of a saved run (JSON) instead")
    run.add_argument("--agent", choices=["code", "tool-calling"], default="code")
    run.add_argument(
        "--sandbox", help="inline | local | docker (default: $CODEACT_SANDBOX or local)"
    )
    run.add_argument("--tools", nargs="*", default=[], metavar="MODULE:FUNCTION")
    run.add_argument(
        "--allow", nargs="*", default=[], metavar="MODULE", help="extra modules the code may import"
    )
    run.add_argument("--max-steps", type=int, default=10)
    run.add_argument("--save", help="write the run as JSON here")
    run.add_argument("--quiet", action="store_true", help="print only the answer")
    args = parser.parse_args(argv)

    model: Model
    if args.replay:
        model = ScriptedModel.from_run(args.replay)
    elif args.model:
        model = LiteLLMModel(args.model, api_base=args.api_base)
    else:
        parser.error("give --model (or set CODEACT_MODEL), or --replay a saved run")
    tools = [load_tool(spec) for spec in args.tools]
    callbacks = [] if args.quiet else [print_step]
    agent: Any
    if args.agent == "code":
        agent = CodeAgent(
            model,
            tools,
            sandbox=args.sandbox,
            allowed_imports=args.allow,
            max_steps=args.max_steps,
            step_callbacks=callbacks,
        )
    else:
        agent = ToolCallingAgent(model, tools, max_steps=args.max_steps, step_callbacks=callbacks)
    with agent:
        result = agent.run(args.task)
    if args.save:
        result.save(args.save)
    answer = (
        result.output if isinstance(result.output, str) else json.dumps(result.output, default=repr)
    )
    print(answer)
    if result.state != "success":
        print(f"[{result.state}] {result.error or ''}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
