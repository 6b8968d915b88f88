"""Conversations between agents: chats, group chats, handoffs, fan-out, nested and sequential
chats, termination, checkpoints.

A conversation is a list of ``{"name", "content"}`` messages; a team is a loop over it. Each
turn of an agent is one ``run`` of that agent on the conversation so far; its final answer is
its message. Termination conditions compose with ``|`` and ``&``::

    chat(writer, critic, "Write a haiku about rain.", until=MaxTurns(6) | TextMention("APPROVED"))

Every team has ``run(task)``, ``arun(task)`` and ``as_tool(name, description)``, and returns a
``ChatResult``.
"""

from codeact.teams.chat import Chat, Team, achat, asequential_chats, chat, sequential_chats
from codeact.teams.conversation import Speaker, render_turn
from codeact.teams.fanout import FanOut, afan_out, fan_out
from codeact.teams.group import GroupChat, Selector
from codeact.teams.handoffs import HandoffChat, HandoffTool
from codeact.teams.human import HumanAgent
from codeact.teams.nested import NestedChats
from codeact.teams.result import ChatResult, Turn, TurnInfo, current_turn
from codeact.teams.summary import SUMMARY_PROMPT
from codeact.teams.termination import (
    ChatState,
    MaxTurns,
    Termination,
    TextMention,
    Timeout,
    TokenBudget,
)

__all__ = [
    "SUMMARY_PROMPT",
    "Chat",
    "ChatResult",
    "ChatState",
    "FanOut",
    "GroupChat",
    "HandoffChat",
    "HandoffTool",
    "HumanAgent",
    "MaxTurns",
    "NestedChats",
    "Selector",
    "Speaker",
    "Team",
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
    "render_turn",
    "sequential_chats",
]
