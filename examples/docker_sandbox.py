"""The docker sandbox: the code runs in a hardened, throwaway container; tools stay on the host.

The container has no network, a read-only root, no capabilities and a non-root user; the tool
below reads a secret that never enters it: the code calls the tool, the call travels back to
this process, and only the tool's result goes into the container. Needs a Docker engine and an
image with python3 (``CODEACT_DOCKER_IMAGE``, default ``python:3.12-slim``).
"""

from __future__ import annotations

import os

from _shared import pick_model

from codeact import CodeAgent, tool

API_TOKEN = "secret-token-that-stays-on-the-host"


@tool
def account_balance(account: str) -> float:
    """The balance of an account in EUR (uses an API token the code never sees).

    Args:
        account: Account id, e.g. "acc-1".
    """
    assert API_TOKEN  # a real tool would send it to an API here
    return {"acc-1": 1520.75, "acc-2": 310.10}.get(account, 0.0)


TASK = "What is the total balance of accounts acc-1 and acc-2, and can the code see the network?"


def main() -> None:
    image = os.environ.get("CODEACT_DOCKER_IMAGE")  # None: the default image
    agent = CodeAgent(
        pick_model("docker_sandbox.json"),
        tools=[account_balance],
        sandbox="docker",
        sandbox_options={"image": image} if image else {},
    )
    with agent:
        result = agent.run(TASK)
    print(result)


if __name__ == "__main__":
    main()
