"""The built-in suite: tasks over several domains, each with its own deterministic tools."""

from __future__ import annotations

from codeact.eval.builtin import dna, files, schedule, shop, travel, units
from codeact.eval.task import Task

DOMAINS = [travel, shop, units, schedule, dna, files]


def tasks() -> list[Task]:
    """Every task of the built-in suite, domain by domain."""
    return [task for domain in DOMAINS for task in domain.TASKS]
