"""Looking at real processes from the host, for the tests of sandboxes' process boundaries."""

from __future__ import annotations

import os
import time
from pathlib import Path


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not count)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pid: int, limit: float = 10) -> bool:
    """Wait up to ``limit`` seconds for ``pid`` to end; whether it did."""
    deadline = time.monotonic() + limit
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def with_marker(marker: str) -> list[int]:
    """Pids of the running processes whose command line holds ``marker`` (not this one)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                pass
    return [pid for pid in found if alive(pid)]


def cell_process(supervisor: int) -> int:
    """The pid of the process that runs a local sandbox's code: its supervisor's child."""
    for _ in range(200):
        children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.01)
    raise AssertionError(f"supervisor {supervisor} has no cell process")


def memory_holds(pid: int, needle: bytes) -> bool:
    """Whether any readable mapping of process ``pid`` holds ``needle`` (read from the host)."""
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            span, perms = line.split()[:2]
            if "r" not in perms:
                continue
            lo, hi = (int(x, 16) for x in span.split("-"))
            try:
                mem.seek(lo)
                if needle in mem.read(hi - lo):
                    return True
            except (OSError, OverflowError, ValueError):
                continue
    return False
