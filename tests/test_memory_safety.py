"""C code of CPython 3.11 that goes on using what the code's callbacks freed: each snippet
crashes plain Python or shows it read freed memory (a borrowed item or a freed node used after
the callback returned), and runs to its end under the policy (``sandboxes/policy/reentrancy.py``).

The corpus (``attacks.py``) holds attacks whose plain-Python run shows the escape without
crashing; these cannot: they are judged by the exit status of a child process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: A comparison that says so when it runs on an object already freed (its slots were cleared
#: at deallocation), else does what the snippet's ``touch(self, other)`` does.
_PROBE = """
        class X:
            __slots__ = ("tag",)
            def __init__(self, tag):
                self.tag = tag
            def __eq__(self, other):
                try:
                    self.tag
                except AttributeError:
                    print("FREED")
                    return False
                return touch(self, other)
            __hash__ = None
"""

CRASHES = {
    # gh-119004 (fixed in 3.12): OrderedDict == walks its nodes while the keys' __eq__ run; one
    # clearing the dicts leaves it following freed nodes (red team round 7, F3).
    "ordered_dict_eq_walks_freed_nodes": """
        from collections import OrderedDict
        calls = [0]
        class K:
            def __init__(self, v):
                self.v = v
            def __hash__(self):
                return self.v
            def __eq__(self, other):
                calls[0] += 1
                if calls[0] == 3:  # the walk over the nodes, after dict's own comparison
                    left.clear()
                    right.clear()
                    for i in range(100):
                        left[K(1000 + i)] = i
                return True
        left = OrderedDict([(K(1), 1), (K(2), 2)])
        right = OrderedDict([(K(1), 1), (K(2), 2)])
        left == right
        print("FREED" if calls[0] > 4 else "OK")  # more calls: keys of nodes freed and refilled
    """,
    # gh-120298 (fixed in 3.12): list ordering makes its last comparison on items it holds no
    # reference to; __lt__ frees the right one, the reflected __gt__ runs on freed memory (F1).
    "list_ordering_compares_a_freed_item": """
        class A:
            def __eq__(self, other):
                return False
            def __lt__(self, other):
                right.clear()
                del other
                refill = [bytes(2000) for _ in range(50)]
                return NotImplemented
        left, right = [A()], [bytes(1999) + b"Z"]
        try:
            left < right
        except TypeError as error:  # the reflected comparison names the freed item's "type"
            print("OK" if str(error).endswith("'A' and 'bytes'") else "FREED")
    """,
    # deque.index compares an item it holds no reference to, and checks for mutation only after
    # the comparison (red team round 9, F1): the item, a tuple, is freed inside its own compare.
    "deque_index_compares_a_freed_item": """
        from collections import deque
    """
    + _PROBE
    + """
        def touch(self, other):
            if self.tag == "first":
                queue.clear()  # frees the tuple being compared, and its second item
            return True
        queue = deque([(X("first"), X("second"))])
        try:
            queue.index((X("a"), X("b")))
        except (ValueError, RuntimeError):
            pass
        print("OK")
    """,
}

# accumulate compares its running total, which only it holds, and a next() from inside that
# comparison replaced (freed) it (red team round 10, F5): the code's accumulate is a generator.
CRASHES["accumulate_total_freed_by_reentry"] = (
    """
        import itertools, operator
    """
    + _PROBE
    + """
        def touch(self, other):
            if self.tag == "first" and other.tag == "a":
                next(totals, None)  # compares the total with ("c", ...), unequal: replaces it
            return other.tag != "c"
        def rows():  # made as they are taken: the running total is held by accumulate alone
            yield X("first"), X("second")
            yield X("a"), X("b")
            yield X("c"), X("d")
        totals = itertools.accumulate(rows(), operator.eq)
        next(totals)
        try:
            next(totals)
        except (ValueError, RuntimeError):
            pass
        print("OK")
    """
)

# The C iterator over __getitem__, re-entered, ended twice and released the sequence twice
# (red team round 10, F3): the code's classes iterate over __getitem__ with a generator.
CRASHES["sequence_iterator_released_twice"] = """
    class Seq:
        __slots__ = ("tag",)
        def __init__(self):
            self.tag = "alive"
        def __getitem__(self, index):
            if calls.append(index) or len(calls) == 1:
                next(items, None)  # re-entered: this inner call ends the iteration
            raise IndexError(index)  # and the outer one ends it again
    calls = []
    s = Seq()
    items = iter(s)
    try:
        next(items, None)
    except ValueError:  # the sandbox's generator refuses to be re-entered
        pass
    try:
        s.tag
    except AttributeError:  # its slots were cleared: the name is all that is left of it
        print("FREED")
    print("OK")
"""

# typing.Deque built a real deque, past the stand-in (red team round 10, B1).
CRASHES["typing_deque_index_compares_a_freed_item"] = CRASHES[
    "deque_index_compares_a_freed_item"
].replace("from collections import deque", "from typing import Deque as deque")

_IN_SANDBOX = """
import sys
from sandboxes import make_sandbox
with make_sandbox("inline", timeout=10) as sb:
    sb.start({})
    ex = sb.run(sys.stdin.read())
print("RAN", ex.stdout, ex.error is None or ex.error.splitlines()[0])
"""


def _run(args: list[str], code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        input=textwrap.dedent(code),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


@pytest.mark.parametrize("name", sorted(CRASHES))
def test_it_reads_freed_memory_in_plain_python(name: str, tmp_path: Path) -> None:
    script = tmp_path / "snippet.py"
    script.write_text(textwrap.dedent(CRASHES[name]))
    out = _run([str(script)], "")
    assert out.returncode < 0 or "FREED" in out.stdout, f"{name}: no sign of the bug: {out}"


@pytest.mark.parametrize("name", sorted(CRASHES))
def test_it_runs_to_its_end_in_the_sandbox(name: str) -> None:
    out = _run(["-c", _IN_SANDBOX], CRASHES[name])
    assert out.returncode == 0 and "RAN" in out.stdout and "FREED" not in out.stdout, out
