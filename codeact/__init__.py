"""codeact: LLM agents that act by writing code.

from codeact import CodeAgent, LiteLLMModel, tool

agent = CodeAgent(model=LiteLLMModel("gpt-4o-mini"), tools=[my_tool])
agent.run("...").output
"""

import logging

from codeact.agents import Agent, AsyncRunStream, RunStream
from codeact.approval import Action, ConsoleApprover
from codeact.batch import arun_batch, run_batch
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
from codeact.tool_agent import ToolCallingAgent
from codeact.tools import Tool, ToolError, tool

__version__ = "0.2.0"

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
