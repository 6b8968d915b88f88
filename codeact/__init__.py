"""codeact: LLM agents that act by writing code.

from codeact import CodeAgent, LiteLLMModel, tool

agent = CodeAgent(model=LiteLLMModel("gpt-4o-mini"), tools=[my_tool])
agent.run("...").output
"""

import logging

from codeact.agents import Agent, AsyncRunStream, CodeAgent, RunStream, ToolCallingAgent
from codeact.batch import arun_batch, run_batch
from codeact.litellm_model import LiteLLMModel
from codeact.memory import RunResult, Step
from codeact.models import (
    ChatMessage,
    Model,
    ModelConfigError,
    ModelError,
    ScriptedModel,
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
from codeact.tools import Tool, ToolError, tool

__version__ = "0.2.0"

# Retries, fallbacks and restarts are logged to "codeact"; quiet unless the application (or the
# live view) listens, instead of Python's last-resort handler printing them to stderr.
logging.getLogger("codeact").addHandler(logging.NullHandler())

__all__ = [
    "__version__",
    "Agent",
    "arun_batch",
    "run_batch",
    "AsyncRunStream",
    "Chat",
    "ChatMessage",
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
    "RunResult",
    "RunStream",
    "ScriptedModel",
    "Step",
    "TokenUsage",
    "Tool",
    "ToolCall",
    "ToolCallingAgent",
    "ToolError",
    "tool",
]
