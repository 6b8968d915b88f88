"""codeact: LLM agents that act by writing code.

from codeact import CodeAgent, LiteLLMModel, tool

agent = CodeAgent(model=LiteLLMModel("gpt-4o-mini"), tools=[my_tool])
agent.run("...").output
"""

import importlib
import logging
from typing import TYPE_CHECKING, Any

from codeact.agents import Agent, AsyncRunStream, RunStream
from codeact.approval import Action, ConsoleApprover
from codeact.code_agent import CodeAgent
from codeact.litellm_model import LiteLLMModel
from codeact.memory import Refusal, RunResult, Step, ToolUse
from codeact.models import (
    ChatMessage,
    Model,
    ModelConfigError,
    ModelError,
    ScriptedModel,
    TokenDelta,
    TokenUsage,
    ToolCall,
)
from codeact.tool_agent import ToolCallingAgent
from codeact.tools import Tool, ToolError, tool

__version__ = "0.2.0"

#: Names loaded on first use: the multi-agent patterns and batches sit on top of the agents, and
#: ``import codeact`` (a CLI's ``--version``, a script that runs one agent) need not pay for them.
_LAZY = {
    "arun_batch": "codeact.batch",
    "run_batch": "codeact.batch",
    "Chat": "codeact.teams",
    "ChatResult": "codeact.teams",
    "FanOut": "codeact.teams",
    "GroupChat": "codeact.teams",
    "HandoffChat": "codeact.teams",
    "HumanAgent": "codeact.teams",
    "MaxTurns": "codeact.teams",
    "NestedChats": "codeact.teams",
    "Termination": "codeact.teams",
    "TextMention": "codeact.teams",
    "Timeout": "codeact.teams",
    "TokenBudget": "codeact.teams",
    "Turn": "codeact.teams",
    "TurnInfo": "codeact.teams",
    "achat": "codeact.teams",
    "afan_out": "codeact.teams",
    "asequential_chats": "codeact.teams",
    "chat": "codeact.teams",
    "current_turn": "codeact.teams",
    "fan_out": "codeact.teams",
    "sequential_chats": "codeact.teams",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'codeact' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once loaded, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:
    from codeact.batch import arun_batch, run_batch
    from codeact.teams import (
        Chat,
        ChatResult,
        FanOut,
        GroupChat,
        HandoffChat,
        HumanAgent,
        MaxTurns,
        NestedChats,
        Termination,
        TextMention,
        Timeout,
        TokenBudget,
        Turn,
        TurnInfo,
        achat,
        afan_out,
        asequential_chats,
        chat,
        current_turn,
        fan_out,
        sequential_chats,
    )


# Retries, fallbacks and restarts are logged to "codeact"; quiet unless the application (or the
# live view) listens, instead of Python's last-resort handler printing them to stderr.
logging.getLogger("codeact").addHandler(logging.NullHandler())

__all__ = [
    "__version__",
    "Action",
    "Agent",
    "arun_batch",
    "run_batch",
    "AsyncRunStream",
    "Chat",
    "ChatMessage",
    "ConsoleApprover",
    "ChatResult",
    "FanOut",
    "GroupChat",
    "HandoffChat",
    "HumanAgent",
    "MaxTurns",
    "NestedChats",
    "Termination",
    "TextMention",
    "Timeout",
    "TokenBudget",
    "Turn",
    "TurnInfo",
    "achat",
    "afan_out",
    "asequential_chats",
    "chat",
    "current_turn",
    "fan_out",
    "sequential_chats",
    "CodeAgent",
    "LiteLLMModel",
    "Model",
    "ModelConfigError",
    "ModelError",
    "Refusal",
    "RunResult",
    "RunStream",
    "ScriptedModel",
    "Step",
    "TokenDelta",
    "TokenUsage",
    "Tool",
    "ToolCall",
    "ToolCallingAgent",
    "ToolUse",
    "ToolError",
    "tool",
]
