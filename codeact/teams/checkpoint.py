"""A conversation's state as a JSON file, written after every turn, so a run can resume.

The file is replaced atomically (written beside it, flushed, then renamed): a process killed at
any moment leaves either the previous turn's state or the new one, never half a file.
"""

from __future__ import annotations

import json
import os
from typing import Any

from codeact.checkpoints import read_checkpoint, write_atomically

VERSION = 1

CheckpointPath = str | os.PathLike[str]  #: where a checkpoint is kept


def save(path: CheckpointPath, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically."""
    # dumps, not dump: its C encoder is several times faster than dump's streaming one
    text = json.dumps({"version": VERSION, **state}, ensure_ascii=False, default=repr)
    write_atomically(path, text, "chat checkpoint")


def load(
    path: CheckpointPath, *, kind: str, task: str, speakers: list[str]
) -> dict[str, Any] | None:
    """The state saved at ``path`` for this conversation, or ``None`` when there is none yet.

    A file that is not a checkpoint, or one of another conversation (another kind of team, task
    or set of speakers), is an error: resuming it would mix two conversations.
    """
    target = os.fspath(path)
    state = read_checkpoint(target)
    if state is None:
        return None
    if not isinstance(state, dict) or state.get("version") != VERSION:
        raise ValueError(f"cannot resume from {target}: not a codeact chat checkpoint")
    mismatch = [
        f"{what} {saved!r} (this one: {given!r})"
        for what, saved, given in [
            ("kind", state.get("kind"), kind),
            ("task", state.get("task"), task),
            ("speakers", state.get("speakers"), speakers),
        ]
        if saved != given
    ]
    if mismatch:
        raise ValueError(
            f"{target} is the checkpoint of another conversation: it has {'; '.join(mismatch)}. "
            "Pass another checkpoint path, or delete the file to start over"
        )
    return state
