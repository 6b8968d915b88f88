"""What every example needs: a live model when ``CODEACT_MODEL`` is set, else a replay.

Offline (no ``CODEACT_MODEL``), the examples replay model replies saved in ``examples/runs/``
with ``ScriptedModel``: the whole loop — code, sandbox, tools, observations — runs for real;
only the model's replies come from the file (they were written by hand, and say so).
"""

from __future__ import annotations

import os
from pathlib import Path

from codeact import LiteLLMModel, Model, ScriptedModel

RUNS = Path(__file__).parent / "runs"


def pick_model(saved_run: str) -> Model:
    """``LiteLLMModel($CODEACT_MODEL)`` (with ``$CODEACT_API_BASE`` if set), else a replay of
    ``examples/runs/<saved_run>``."""
    model_id = os.environ.get("CODEACT_MODEL")
    if model_id:
        print(f"Running live with {model_id}.")
        return LiteLLMModel(model_id, api_base=os.environ.get("CODEACT_API_BASE"))
    print(f"CODEACT_MODEL is not set: replaying examples/runs/{saved_run} with ScriptedModel.")
    return ScriptedModel.from_run(RUNS / saved_run)
