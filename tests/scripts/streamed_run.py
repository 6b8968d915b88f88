"""A CodeAgent run whose model streams half its reply, then waits for the file named by argv[1].

Run under a pseudo-terminal by tests/test_console.py to check that the live view shows the
reply as it is written, and planning steps.
"""

import os
import sys
import time

from codeact import CodeAgent, ScriptedModel, TokenDelta

gate = sys.argv[1]


class HalfThenGatedModel(ScriptedModel):
    def stream(self, messages, *, tools=None, stop=None, timeout=None):
        for i, item in enumerate(super().stream(messages, tools=tools, stop=stop)):
            if i == 4 and isinstance(item, TokenDelta):
                while not os.path.exists(gate):
                    time.sleep(0.02)
            yield item


replies = [
    "Facts: nothing yet. Plan: compute it, then answer.",
    "Thought: multiply the two numbers first, then answer.\n```python\nfinal_answer(6 * 7)\n```",
]
model = HalfThenGatedModel(replies)
with CodeAgent(model, sandbox="inline", name="streamer", planning_interval=5) as agent:
    result = agent.run("What is 6 * 7?")
print(f"RESULT={result.state}:{result.output}")
