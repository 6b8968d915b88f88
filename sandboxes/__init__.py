"""Sandboxes for running model-written Python: ``inline``, ``local`` and ``docker``.

Usable without codeact::

    with make_sandbox("local", timeout=10) as sb:
        sb.start(tools={"add": lambda a, b: a + b})
        sb.run("print(add(1, 2))").stdout  # "3\\n"
"""

import logging

from sandboxes.base import Execution, Sandbox, SandboxError, make_sandbox

# Worker restarts are logged to "sandboxes"; quiet unless the application listens.
logging.getLogger("sandboxes").addHandler(logging.NullHandler())

__all__ = ["Execution", "Sandbox", "SandboxError", "make_sandbox"]
