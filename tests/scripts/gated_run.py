"""A CodeAgent run whose model answers only once the file named by argv[1] exists.

Run under a pseudo-terminal by tests/test_console.py to check what the live view shows while
the model is still thinking. The replies contain rich markup, which must print literally.
"""

import os
import sys
import time

from codeact import CodeAgent, ScriptedModel, tool

gate = sys.argv[1]


class GatedModel(ScriptedModel):
    def generate(self, messages, *, tools=None, stop=None):
        while not os.path.exists(gate):
            time.sleep(0.02)
        return super().generate(messages, tools=tools, stop=stop)


@tool
def shout(text: str) -> str:
    """Upper-case a text.

    Args:
        text: The text.
    """
    return text.upper()


replies = [
    "Thinking about [bold]markup[/] and [red]colours[/red].\n"
    "```python\nprint('[/] and [red]not red[/red]')\nprint(shout('x'))\n```",
    "```python\nfinal_answer('done [/]')\n```",
]
with CodeAgent(GatedModel(replies), tools=[shout], sandbox="inline", name="gated") as agent:
    result = agent.run("Show [b]markup[/b] literally")
print(f"RESULT={result.state}:{result.output}")
