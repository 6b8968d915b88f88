"""A run's state as a JSON file, written after every step, so that another process can resume it.

A checkpoint holds the conversation (the messages as the model saw them, compactions included),
the steps so far, what the run has spent against its budgets, and whether it has finished. It
does not hold the sandbox's variables: they live in a process that may be gone, so a resumed
run is told that its Python session starts empty. The file is replaced atomically (written
beside it, flushed, renamed): a process killed at any moment leaves the previous step's state
or the new one, never half a file.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from codeact.context import Conversation
from codeact.memory import RunResult

if TYPE_CHECKING:
    from codeact.driving import RunState

VERSION = 1
KIND = "codeact agent run"

CheckpointPath = str | os.PathLike[str]  #: where a checkpoint is kept

RESUMED_NOTE = (
    "This run was interrupted and has been resumed from a checkpoint in a new process. The "
    "conversation above is intact, but the Python session was restarted: variables, functions "
    "and imports defined by earlier code are gone. Recompute or re-import what you still need."
)
RESUMED_NOTE_TOOLS = (
    "This run was interrupted and has been resumed from a checkpoint in a new process. The "
    "conversation above is intact; go on from where it stopped."
)


def save(path: CheckpointPath, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically."""
    text = json.dumps({"version": VERSION, "kind": KIND, **state}, ensure_ascii=False)
    write_atomically(path, text, "run checkpoint")


def write_atomically(path: CheckpointPath, text: str, what: str) -> None:
    """Write ``text`` to ``path`` so that a crash leaves the old file or the new one, never
    half of one (a file beside it, synced, then renamed over it); an ``OSError`` says which
    ``what`` could not be written and what to do."""
    target = os.fspath(path)
    directory, name = os.path.split(target)
    partial = os.path.join(directory, f".{name}.partial")
    try:
        with open(partial, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, target)
    except OSError as exc:
        raise type(exc)(
            exc.errno,
            f"cannot write the {what} {target} ({exc.strerror}); give a path in a directory "
            "that exists and is writable",
        ) from exc


def read_checkpoint(path: str | os.PathLike[str]) -> Any:
    """The JSON saved at ``path``, or ``None`` when there is no file yet; a file that cannot be
    read or parsed is a ``ValueError`` naming it (agent and chat checkpoints alike)."""
    target = os.fspath(path)
    if not os.path.exists(target):
        return None
    try:
        with open(target, encoding="utf-8") as fh:
            return json.loads(fh.read())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot resume from {target}: not a readable checkpoint ({exc})")


def load(path: CheckpointPath, *, agent: str, task: str | None = None) -> dict[str, Any] | None:
    """The state saved at ``path``, or ``None`` when there is no file yet.

    A file that is not an agent checkpoint, or one of another agent or (when ``task`` is
    given) another task, is an error: resuming it would mix two runs.
    """
    target = os.fspath(path)
    state = read_checkpoint(target)
    if state is None:
        return None
    if not isinstance(state, dict) or state.get("kind") != KIND:
        raise ValueError(f"cannot resume from {target}: not a codeact agent checkpoint")
    if state.get("version") != VERSION:
        raise ValueError(
            f"cannot resume from {target}: checkpoint version {state.get('version')!r}, this "
            f"codeact reads version {VERSION}"
        )
    mismatch = [
        f"{what} {saved!r} (this one: {given!r})"
        for what, saved, given in [
            ("agent", state.get("agent"), agent),
            ("task", state.get("task"), task),
        ]
        if given is not None and saved != given
    ]
    if mismatch:
        raise ValueError(
            f"{target} is the checkpoint of another run: it has {'; '.join(mismatch)}. Pass "
            "another checkpoint path, or delete the file to start over"
        )
    return state


def state_of(run: RunState, agent: str, kind: str, result: RunResult | None = None) -> dict:
    """What a checkpoint holds of ``run``: finished when ``result`` is given."""
    snapshot = result or run.result("running")
    spent = run.budget.snapshot()
    spent.time_s = snapshot.duration_s
    return {
        "agent": agent,
        "agent_kind": kind,
        "task": run.task,
        "finished": result is not None,
        "result": snapshot.to_dict(),
        "conversation": run.conversation.to_dict(),
        "spent": spent.to_dict(),
    }


def restore(run: RunState, state: dict[str, Any]) -> None:
    """Put a checkpoint's steps, totals and conversation back into a new run."""
    saved = RunResult.from_dict(state["result"])
    run.steps, run.outputs = saved.steps, saved.model_outputs
    run.usage = saved.token_usage
    run.costs = [saved.cost_usd] if saved.cost_usd is not None else []
    run.earlier_s = saved.duration_s
    run.conversation = Conversation.from_dict(state["conversation"])
