"""Shared corpora for sandbox tests (data only, reused by every restricted backend's tests).

``BENIGN``: (id, code, expected value of the last expression) -- ordinary Python that a restricted
sandbox must run unchanged. Expected values are JSON-serialisable.

``ATTACKS``: (id, code) -- attempts to escape. An attack that works ends with the value
``"ESCAPED"`` (or prints it); a sandbox passes when the run has an error, or its value is not
``"ESCAPED"`` and ``"ESCAPED"`` is not in its output. Each attack reaches something real when
run without a policy (``SANDBOX_SPECIFIC`` lists the few that target the sandbox's own
machinery and so have nothing to reach in plain Python).
"""

from __future__ import annotations

from typing import Any

BENIGN: list[tuple[str, str, Any]] = [
    ("arithmetic", "x = 2 ** 10\ny = x // 3 + x % 7\ny", 343),
    (
        "array_module",
        """
import array, copy, struct
a = array.array("i", range(5))
a[0] = True
a.append(7)
a.insert(1, 9)
a.extend(x * 2 for x in range(2))
a.fromlist([3])
a += array.array("i", [4])
b = copy.deepcopy(a[1:4]) * 2
d = array.array("d", [1])
d[0] = 2
[a.tolist(), b.tolist(), type(b) is array.array, isinstance(a, array.array), d[0],
 struct.unpack("3i", bytes(a[:3])), repr(d)]
""",
        [
            [1, 9, 1, 2, 3, 4, 7, 0, 2, 3, 4],
            [9, 1, 2, 9, 1, 2],
            True,
            True,
            2.0,
            [1, 9, 1],
            "array('d', [2.0])",
        ],
    ),
    (
        "bytearray_methods",
        """
import copy
ba = bytearray(b"hello world")
ba[0] = 72
ba[1:3] = b"EL"
ba[::5] = (c for c in b"**!")
del ba[-1]
parts = ba.split(b"*")
[ba.decode(), type(ba[1:3]) is bytearray, isinstance(parts[1], bytearray), ba.find(b"o", 5),
 ba.count(111, 0, 100), ba.startswith(b"o", 4), 108 in ba, b"EL" in ba,
 (bytearray(b"%d") % 7).decode(), ba.upper().decode(), type(copy.copy(ba)) is bytearray,
 bytearray.fromhex("41 42").decode(), repr(bytearray(b"a")), (ba + b"!").decode()]
""",
        [
            "*ELlo*worl",
            True,
            True,
            7,
            2,
            True,
            True,
            True,
            "7",
            "*ELLO*WORL",
            True,
            "AB",
            "bytearray(b'a')",
            "*ELlo*worl!",
        ],
    ),
    (
        "list_item_stores",
        """
import operator
from collections import UserList
L = list(range(8))
L[::2] = (x * 10 for x in range(4))
L[1::2] = map(str, range(4))
i = 2
L[i], L[i + 1] = L[i + 1], L[i]
L[i * 2] += 1
operator.setitem(L, slice(None, 2), [None])
L.__setitem__(slice(0, None, 3), iter("abc"))
U = UserList(range(4))
U[::2] = iter("xy")
grid = [[0] * 2 for _ in range(2)]
grid[1][0] = 5
[L, list(U), grid]
""",
        [["a", "1", 10, "b", "2", 30, "c"], ["x", 1, "y", 3], [[0, 0], [5, 0]]],
    ),
    (
        "deque_and_groupby",
        """
import collections, itertools
q = collections.deque([1, 2, 3, 2], maxlen=6)
groups = [(k, list(g)) for k, g in itertools.groupby("aaabca")]
keys = [k for k, _ in itertools.groupby(range(7), key=lambda n: n // 3)]
it = itertools.groupby("aabb")
_, first = next(it)
_, second = next(it)
[q.index(2), q.index(2, 2), type(q + q).__name__, isinstance(q, collections.deque), groups, keys,
 list(first), list(second)]
""",
        [
            1,
            3,
            "deque",
            True,
            [["a", ["a", "a", "a"]], ["b", ["b"]], ["c", ["c"]], ["a", ["a"]]],
            [0, 1, 2],
            [],
            ["b", "b"],
        ],
    ),
    (
        "zoneinfo_zones",  # the time zones are bound read-only into local's cells
        """
import zoneinfo, datetime
zone = zoneinfo.ZoneInfo("Europe/London")
[isinstance(zone, zoneinfo.ZoneInfo), zone is zoneinfo.ZoneInfo("Europe/London"),
 datetime.datetime(2020, 6, 1, tzinfo=zone).utcoffset().total_seconds()]
""",
        [True, True, 3600.0],
    ),
    (
        "python_iterators",
        """
import itertools, operator
src = iter(range(10))
head = list(itertools.islice(src, 2))
[head, next(src), list(itertools.islice(range(20), 2, 15, 4)),
 list(itertools.zip_longest("ab", "xyz", fillvalue="-")),
 list(itertools.accumulate([1, 2, 3], operator.mul, initial=10)),
 list(iter(iter([1, 2, 0, 3]).__next__, 0))]
""",
        [[0, 1], 2, [2, 6, 10, 14], [["a", "x"], ["b", "y"], ["-", "z"]], [10, 10, 20, 60], [1, 2]],
    ),
    ("augassign_name", "n = 1\nfor i in range(5):\n    n += i\nn", 11),
    (
        "class_with_getattr",
        """
class Config:
    def __init__(self, **values):
        self.values = values
    def __getattr__(self, name):
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None
class Defaults(Config):
    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return "default"
c = Defaults(port=80, _token="t")
[c.port, c.host, c.__getattr__("_token"), hasattr(Config(), "x")]
""",
        [80, "default", "t", False],
    ),
    (
        "class_with_dunders",
        """
class Vec:
    def __init__(self, x, y):
        self.x, self.y = x, y
    def __repr__(self):
        return f"Vec({self.x}, {self.y})"
    def __eq__(self, other):
        return (self.x, self.y) == (other.x, other.y)
    def __add__(self, other):
        return Vec(self.x + other.x, self.y + other.y)
    def __len__(self):
        return 2
    def __iter__(self):
        yield self.x
        yield self.y
    def __hash__(self):
        return hash((self.x, self.y))
v = Vec(1, 2) + Vec(3, 4)
[repr(v), v == Vec(4, 6), len(v), list(v), len({v, Vec(4, 6)})]
""",
        ["Vec(4, 6)", True, 2, [4, 6], 1],
    ),
    (
        "context_manager_class",
        """
log = []
class Ctx:
    def __enter__(self):
        log.append("enter")
        return self
    def __exit__(self, kind, exc, tb):
        log.append(kind.__name__ if kind else "clean")
        return True
with Ctx() as c:
    raise ValueError("boom")
with Ctx():
    pass
log
""",
        ["enter", "ValueError", "enter", "clean"],
    ),
    (
        "super_zero_arg",
        """
class Base:
    def __init__(self, n):
        self.n = n
    def describe(self):
        return f"base {self.n}"
class Child(Base):
    def __init__(self, n):
        super().__init__(n * 2)
    def describe(self):
        return "child/" + super().describe()
Child(5).describe()
""",
        "child/base 10",
    ),
    (
        "generators",
        """
def fib():
    a, b = 0, 1
    while True:
        yield a
        a, b = b, a + b
def take(n, it):
    return [x for _, x in zip(range(n), it)]
def relay():
    got = yield from fib_limited()
    yield got
def fib_limited():
    yield 1
    return "done"
[take(8, fib()), list(relay())]
""",
        [[0, 1, 1, 2, 3, 5, 8, 13], [1, "done"]],
    ),
    (
        "closures_nonlocal",
        """
def counter():
    count = 0
    def bump():
        nonlocal count
        count += 1
        return count
    return bump
c = counter()
c(); c()
c()
""",
        3,
    ),
    (
        "comprehensions",
        """
words = ["apple", "banana", "cherry", "date"]
[
    [w.upper() for w in words if len(w) > 4],
    {w[0]: len(w) for w in words},
    sorted({len(w) for w in words}),
    sum(len(w) for w in words),
    [(i, j) for i in range(3) for j in range(i)],
]
""",
        [
            ["APPLE", "BANANA", "CHERRY"],
            {"a": 5, "b": 6, "c": 6, "d": 4},
            [4, 5, 6],
            21,
            [[1, 0], [2, 0], [2, 1]],
        ],
    ),
    (
        "fstrings_and_format",
        """
name, n, pi = "Ada", 3, 3.14159
data = {"k": "v"}
[
    f"{name!r} has {n:03d} items, pi={pi:.2f}",
    f"{name:>{n + 3}}|{data['k']}",
    "{} and {}".format("a", "b"),
    "{0}-{1}-{0}".format("x", "y"),
    "{who} is {age}".format(who="Bo", age=7),
    "{p[k]} {0:.1f}".format(2.25, p=data),
    "{n}".format_map({"n": 5}),
    "%s=%d" % ("x", 4),
    format(1234.5, ",.1f"),
]
""",
        [
            "'Ada' has 003 items, pi=3.14",
            "   Ada|v",
            "a and b",
            "x-y-x",
            "Bo is 7",
            "v 2.2",
            "5",
            "x=4",
            "1,234.5",
        ],
    ),
    (
        "format_own_attribute",
        """
class P:
    def __init__(self):
        self.x = 3
"x={0.x}".format(P())
""",
        "x=3",
    ),
    (
        "try_except_finally",
        """
out = []
try:
    try:
        1 / 0
    except ZeroDivisionError as e:
        out.append(type(e).__name__)
        raise ValueError("wrapped") from e
except ValueError as e:
    out.append(str(e))
    out.append(type(e.__cause__).__name__)
else:
    out.append("no")
finally:
    out.append("finally")
out
""",
        ["ZeroDivisionError", "wrapped", "ZeroDivisionError", "finally"],
    ),
    (
        "except_star",
        """
seen = []
try:
    raise ExceptionGroup("many", [ValueError("a"), TypeError("b"), ValueError("c")])
except* ValueError as group:
    seen.append(sorted(str(e) for e in group.exceptions))
except* TypeError as group:
    seen.append(len(group.exceptions))
seen
""",
        [["a", "c"], 1],
    ),
    (
        "match_statement",
        """
from dataclasses import dataclass
@dataclass
class Point:
    x: int
    y: int
def where(p):
    match p:
        case Point(x=0, y=0):
            return "origin"
        case Point(0, y):
            return f"y-axis {y}"
        case Point(x, 0) if x > 0:
            return f"x-axis {x}"
        case [a, b, *rest]:
            return f"seq {a} {b} {len(rest)}"
        case {"kind": kind, **others}:
            return f"map {kind} {sorted(others)}"
        case int(n) | float(n):
            return f"number {n}"
        case str() as s:
            return "str " + s
        case _:
            return "other"
[where(Point(0, 0)), where(Point(0, 5)), where(Point(3, 0)), where([1, 2, 3, 4]),
 where({"kind": "k", "a": 1}), where(7), where("hi"), where(None)]
""",
        [
            "origin",
            "y-axis 5",
            "x-axis 3",
            "seq 1 2 2",
            "map k ['a']",
            "number 7",
            "str hi",
            "other",
        ],
    ),
    (
        "decorators",
        """
import functools
def twice(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs) * 2
    return wrapper
@twice
def add(a, b):
    "Add numbers."
    return a + b
@functools.lru_cache(maxsize=None)
def fact(n):
    return 1 if n < 2 else n * fact(n - 1)
[add(2, 3), add.__name__, add.__doc__, fact(10)]
""",
        [10, "add", "Add numbers.", 3628800],
    ),
    (
        "dataclass_features",
        """
from dataclasses import dataclass, field, asdict, replace, fields
@dataclass(order=True)
class Item:
    name: str
    qty: int = 0
    tags: list = field(default_factory=list)
    def total(self) -> int:
        return self.qty * 2
a = Item("a", 2, ["x"])
b = replace(a, qty=5)
[asdict(b), a < b, [f.name for f in fields(Item)], b.total(), repr(a)]
""",
        [
            {"name": "a", "qty": 5, "tags": ["x"]},
            True,
            ["name", "qty", "tags"],
            10,
            "Item(name='a', qty=2, tags=['x'])",
        ],
    ),
    (
        "frozen_slots_dataclass",
        """
from dataclasses import dataclass
@dataclass(frozen=True, slots=True)
class P:
    x: int
    _hidden: int = 1
    def __post_init__(self):
        object.__setattr__(self, "x", self.x * 10)
p = P(2)
try:
    p.x = 5
    err = None
except Exception as e:
    err = type(e).__name__
[p.x, p._hidden, err]
""",
        [20, 1, "FrozenInstanceError"],
    ),
    (
        "property_and_private_state",
        """
class Account:
    def __init__(self):
        self._balance = 0
        self.__secret = "s"
    @property
    def balance(self):
        return self._balance
    @balance.setter
    def balance(self, value):
        if value < 0:
            raise ValueError("negative")
        self._balance = value
    def _helper(self):
        return self.__secret
    @classmethod
    def make(cls):
        return cls()
    @staticmethod
    def rate():
        return 0.5
acc = Account.make()
acc.balance = 10
acc._balance += 5
[acc.balance, acc._helper(), Account.rate(), acc._Account__secret]
""",
        [15, "s", 0.5, "s"],
    ),
    (
        "augassign_attr_item",
        """
class C:
    def __init__(self):
        self.n = 1
        self.items = [1, 2]
c = C()
c.n += 4
c.n *= 2
c.items += [3]
d = {"k": 1}
d["k"] += 10
grid = [[0] * 3 for _ in range(2)]
grid[1][2] -= 7
[c.n, c.items, d, grid]
""",
        [10, [1, 2, 3], {"k": 11}, [[0, 0, 0], [0, 0, -7]]],
    ),
    (
        "star_unpacking",
        """
first, *middle, last = range(6)
(a, b), c = (1, 2), 3
def f(*args, **kwargs):
    return len(args), sorted(kwargs)
merged = {**{"a": 1}, **{"b": 2}}
[first, middle, last, a + b + c, f(*[1, 2], **{"x": 1, "y": 2}), merged, [*"ab", *[1]]]
""",
        [0, [1, 2, 3, 4], 5, 6, [2, ["x", "y"]], {"a": 1, "b": 2}, ["a", "b", 1]],
    ),
    (
        "lambda_sorting",
        """
people = [("bo", 30), ("al", 25), ("cy", 35)]
square = lambda x: x * x
[sorted(people, key=lambda p: p[1])[0][0], list(map(square, [1, 2, 3])),
 max(people, key=lambda p: -p[1])[0]]
""",
        ["al", [1, 4, 9], "al"],
    ),
    (
        "global_statement",
        """
total = 0
def add(n):
    global total
    total += n
for i in range(4):
    add(i)
total
""",
        6,
    ),
    (
        "assert_del_walrus",
        """
data = [1, 2, 3, 4]
assert len(data) == 4, "length"
del data[0]
x = 5
del x
if (n := len(data)) > 2:
    res = n
try:
    x
except NameError as e:
    res = [res, e.name]
res
""",
        [3, "x"],
    ),
    (
        "type_name_isinstance",
        """
class MyError(Exception):
    pass
try:
    raise MyError("bad")
except Exception as exc:
    name = type(exc).__name__
    cls = exc.__class__.__name__
    e = exc
[name, cls, isinstance(e, Exception), issubclass(MyError, Exception), type(3) is int,
 isinstance(int, type), type(int) is type, callable(len), type(e).__qualname__]
""",
        ["MyError", "MyError", True, True, True, True, True, True, "MyError"],
    ),
    (
        "safe_builtins",
        """
[abs(-2), all([1, 1]), any([0, 1]), ascii("é"), bin(5), bool(0), list(bytearray(b"ab")),
 list(bytes([65])), chr(65), str(complex(1, 2)), dict(a=1), divmod(7, 2),
 list(enumerate("ab")), list(filter(None, [0, 1])), float("1.5"), format(3, "03"),
 sorted(frozenset([2, 1])), hash(1) == hash(1), hex(255), int("7"), len("abc"),
 list(map(str, [1])), max(1, 3), min(1, 3), next(iter([9])), oct(8), ord("a"), pow(2, 5, 7),
 list(range(2)), repr("x"), list(reversed([1, 2])), round(2.567, 2), sorted(set([2, 1])),
 [1, 2, 3][slice(1, None)], sum([1, 2]), tuple([1]) == (1,), list(zip("ab", "cd"))]
""",
        [
            2,
            True,
            True,
            "'\\xe9'",
            "0b101",
            False,
            [97, 98],
            [65],
            "A",
            "(1+2j)",
            {"a": 1},
            [3, 1],
            [[0, "a"], [1, "b"]],
            [1],
            1.5,
            "003",
            [1, 2],
            True,
            "0xff",
            7,
            3,
            ["1"],
            3,
            1,
            9,
            "0o10",
            97,
            4,
            [0, 1],
            "'x'",
            [2, 1],
            2.57,
            [1, 2],
            [2, 3],
            3,
            True,
            [["a", "c"], ["b", "d"]],
        ],
    ),
    (
        "getattr_family",
        """
class Box:
    def __init__(self):
        self.size = 3
        self._note = "n"
b = Box()
setattr(b, "color", "red")
delattr(b, "size")
[getattr(b, "color"), getattr(b, "size", "gone"), hasattr(b, "color"), hasattr(b, "size"),
 getattr(b, "_note"), sorted(vars(b)), "color" in dir(b)]
""",
        ["red", "gone", True, False, "n", ["_note", "color"], True],
    ),
    (
        "eval_expression",
        """
def scaled(v):
    factor = 3
    return eval("v * factor")
[eval("1 + 2 * 3"), eval("x + 1", {"x": 41}), scaled(5), eval("[i * i for i in range(4)]")]
""",
        [7, 42, 15, [0, 1, 4, 9]],
    ),
    (
        "imports_forms",
        """
import math
import collections.abc
import datetime as dt
from collections import Counter, defaultdict, namedtuple, OrderedDict, deque
from itertools import chain, combinations
import json, re, string
from collections.abc import Mapping
[math.sqrt(16), isinstance({}, collections.abc.Mapping), isinstance({}, Mapping),
 dt.date(2024, 1, 2).isoformat(), Counter("aab").most_common(1)[0][0],
 list(chain([1], [2])), len(list(combinations(range(4), 2))),
 json.loads(json.dumps({"a": [1, 2]})), re.findall(r"\\d+", "a1b22"), string.ascii_lowercase[:3]]
""",
        [4.0, True, True, "2024-01-02", "a", [1, 2], 6, {"a": [1, 2]}, ["1", "22"], "abc"],
    ),
    (
        "match_inherited_and_registered_classes",
        """
import abc, collections, dataclasses
@dataclasses.dataclass
class Base:
    x: int
@dataclasses.dataclass
class Point(Base):  # __match_args__ inherited fields: ('x', 'y')
    y: int = 0
class Pair(collections.namedtuple("Pair", "a b"), abc.ABC):
    pass
Pair.register(list)  # matching a registered type reads 'a' and 'b' from it
class Meters(int):
    pass
def kind(v):
    match v:
        case Point(x, y):
            return ["point", x, y]
        case Pair(a, b) if isinstance(v, tuple):
            return ["pair", a, b]
        case Pair():
            return "registered"
        case Meters(n):
            return ["meters", n]
class Table:
    match (1, 2):
        case tuple((a, b)):
            cells = a + b
[kind(Point(1, 2)), kind(Pair(3, 4)), kind([5]), kind(Meters(6)), Table.cells]
""",
        [["point", 1, 2], ["pair", 3, 4], "registered", ["meters", 6], 3],
    ),
    (
        "namedtuple_underscore_api",
        """
from collections import namedtuple
from typing import NamedTuple
P = namedtuple("P", "x y")
class Q(NamedTuple):
    a: int
    b: str = "z"
p = P(1, 2)
q = Q(5)
[p._replace(x=9)._asdict(), P._fields, list(P._make([3, 4])), q._replace(b="y")._asdict(),
 Q._field_defaults]
""",
        [{"x": 9, "y": 2}, ["x", "y"], [3, 4], {"a": 5, "b": "y"}, {"b": "z"}],
    ),
    (
        "enum_usage",
        """
import enum
class Color(enum.Enum):
    RED = 1
    GREEN = 2
class Perm(enum.IntFlag):
    R = 4
    W = 2
[Color.RED.name, Color(2).name, Color.GREEN.value, [c.name for c in Color],
 int(Perm.R | Perm.W), Color.RED._value_, Color["RED"] is Color.RED]
""",
        ["RED", "GREEN", 2, ["RED", "GREEN"], 6, 1, True],
    ),
    (
        "abc_and_typing",
        """
from abc import ABC, abstractmethod
from typing import Optional, Protocol, TypeVar, Generic
T = TypeVar("T")
class Shape(ABC):
    @abstractmethod
    def area(self) -> float: ...
class Sq(Shape):
    def __init__(self, s: float):
        self.s = s
    def area(self) -> float:
        return self.s ** 2
class Stack(Generic[T]):
    def __init__(self) -> None:
        self.items: list[T] = []
    def push(self, item: T) -> None:
        self.items.append(item)
def maybe(x: Optional[int] = None) -> int:
    return x or 0
s: Stack[int] = Stack()
s.push(3)
try:
    Shape()
    err = None
except TypeError:
    err = "abstract"
[Sq(3).area(), s.items, maybe(), err]
""",
        [9, [3], 0, "abstract"],
    ),
    (
        "copy_module",
        """
import copy
class Node:
    def __init__(self, v, kids=()):
        self.v = v
        self.kids = list(kids)
tree = Node(1, [Node(2), Node(3)])
clone = copy.deepcopy(tree)
clone.kids[0].v = 99
grid = [[1, 2], [3]]
g2 = copy.deepcopy(grid)
g2[0][0] = 0
shallow = copy.copy(tree)
[tree.kids[0].v, clone.kids[0].v, grid, g2, shallow.kids is tree.kids]
""",
        [2, 99, [[1, 2], [3]], [[0, 2], [3]], True],
    ),
    (
        "stdlib_tour",
        """
import statistics, fractions, decimal, heapq, bisect, textwrap, difflib, unicodedata
import hashlib, base64, random, time, operator, functools, itertools, uuid, string
h = [5, 1, 3]
heapq.heapify(h)
rng = random.Random(0)
random.seed(1)
r1 = random.random()
random.seed(1)
[statistics.mean([1, 2, 3]), str(fractions.Fraction(1, 3) * 3),
 str(decimal.Decimal("1.10") + decimal.Decimal("2.2")), heapq.heappop(h),
 bisect.bisect([1, 3, 5], 4), textwrap.shorten("hello big world", 12),
 round(difflib.SequenceMatcher(None, "abc", "abd").ratio(), 2), unicodedata.name("a"),
 hashlib.sha256(b"x").hexdigest()[:8], base64.b64encode(b"hi").decode(),
 rng.randint(1, 1) == 1, random.random() == r1, time.time() > 0,
 functools.reduce(operator.add, [1, 2, 3]), operator.itemgetter(1)([5, 6]),
 operator.attrgetter("real")(3), operator.methodcaller("upper")("a"),
 list(itertools.accumulate([1, 2, 3])), len(str(uuid.uuid4())),
 string.Template("$a!").substitute(a="hey")]
""",
        [
            2,
            "1",
            "3.30",
            1,
            2,
            "hello [...]",
            0.67,
            "LATIN SMALL LETTER A",
            "2d711642",
            "aGk=",
            True,
            True,
            True,
            6,
            6,
            3,
            "A",
            [1, 3, 6],
            36,
            "hey!",
        ],
    ),
    (
        "singledispatch",
        """
from functools import singledispatch
@singledispatch
def show(x):
    return "any"
@show.register
def _(x: int):
    return "int"
@show.register(list)
def _(x):
    return "list"
[show(1), show([]), show("s")]
""",
        ["int", "list", "any"],
    ),
    (
        "name_main_and_private_functions",
        """
def _helper(x):
    return x + 1
_cache = {}
_cache["a"] = _helper(1)
result = None
if __name__ == "__main__":
    result = _cache
result
""",
        {"a": 2},
    ),
    (
        "class_attributes_and_slots",
        """
class Counter:
    instances = 0
    __slots__ = ("value",)
    def __init__(self):
        Counter.instances += 1
        self.value = 0
class Plain:
    __match_args__ = ("a",)
    def __init__(self, a):
        self.a = a
Counter(); Counter()
match Plain(4):
    case Plain(a):
        got = a
[Counter.instances, Counter.__name__, got]
""",
        [2, "Counter", 4],
    ),
    (
        "init_subclass_registry",
        """
registry = []
class Plugin:
    def __init_subclass__(cls, name="", **kwargs):
        super().__init_subclass__(**kwargs)
        registry.append(name or cls.__name__)
class A(Plugin, name="alpha"):
    pass
class B(Plugin):
    pass
registry
""",
        ["alpha", "B"],
    ),
    (
        "exception_attributes",
        """
try:
    {}["missing"]
except KeyError as e:
    k = e.args[0]
try:
    int("x")
except ValueError as e:
    msg = str(e)
try:
    try:
        1 / 0
    except ZeroDivisionError:
        raise RuntimeError("second")
except RuntimeError as e:
    ctx = type(e.__context__).__name__
try:
    "s".nope
except AttributeError as e:
    attr = e.name
[k, msg, ctx, attr]
""",
        ["missing", "invalid literal for int() with base 10: 'x'", "ZeroDivisionError", "nope"],
    ),
    (
        "iterators_protocol",
        """
class Countdown:
    def __init__(self, n):
        self.n = n
    def __iter__(self):
        return self
    def __next__(self):
        if self.n <= 0:
            raise StopIteration
        self.n -= 1
        return self.n
it = iter([1, 2])
[list(Countdown(3)), next(it), next(it), next(it, "end")]
""",
        [[2, 1, 0], 1, 2, "end"],
    ),
    (
        "async_coroutine_driven_by_hand",
        """
async def double(x):
    return x * 2
async def main():
    return [await double(i) for i in range(3)]
coro = main()
try:
    coro.send(None)
except StopIteration as stop:
    result = stop.value
result
""",
        [0, 2, 4],
    ),
    (
        "time_sleep",
        "import time\nt0 = time.monotonic()\ntime.sleep(0.01)\ntime.monotonic() - t0 >= 0.009",
        True,
    ),
    (
        "pprint_captured",
        "import pprint\npprint.pprint({'b': 1, 'a': [1, 2]})\npprint.pformat([1, 2])",
        "[1, 2]",
    ),
    (
        "string_methods",
        """
s = "  Hello, World  "
[s.strip().lower(), s.split(","), "-".join(["a", "b"]), s.count("l"),
 "abc".replace("b", "x"), "x".center(5, "*"), "a1".isalnum(), "Ab".swapcase(),
 "{:>4}".format("z"), str.format("{}!", "hi"), str.upper("q")]
""",
        [
            "hello, world",
            ["  Hello", " World  "],
            "a-b",
            3,
            "axc",
            "**x**",
            True,
            "aB",
            "   z",
            "hi!",
            "Q",
        ],
    ),
    (
        "with_statement_suppress_user_exception",
        """
class Suppress:
    def __enter__(self):
        return "entered"
    def __exit__(self, *exc):
        return True
with Suppress() as s:
    raise KeyError("hidden")
s
""",
        "entered",
    ),
    (
        "generator_cleanup",
        """
events = []
def gen():
    try:
        yield 1
        yield 2
    except GeneratorExit:
        events.append("closed")
        raise
    finally:
        events.append("finally")
g = gen()
next(g)
g.close()
events
""",
        ["closed", "finally"],
    ),
    (
        "csv_in_memory_and_contextlib",
        """
import csv, io
from contextlib import contextmanager, suppress
rows = list(csv.DictReader(io.StringIO("name,n\\nab,1\\ncd,2\\n")))
out = io.StringIO()
csv.writer(out).writerow([r["name"] for r in rows])
@contextmanager
def tag(label):
    yield f"<{label}>"
with tag("t") as opened, suppress(KeyError):
    {}["missing"]
[sum(int(r["n"]) for r in rows), out.getvalue().strip(), opened]
""",
        [3, "ab,cd", "<t>"],
    ),
    (
        "star_import",
        "from math import *\n[floor(2.5), round(pi, 2)]",
        [2, 3.14],
    ),
    (
        "str_subclass_format_via_super",
        """
import collections
class S(str):
    def format(self, *args, **kwargs):
        return "[" + super().format(*args, **kwargs) + "]"
u = collections.UserString("{0.real}|{x}")
[S("{0}-{x}").format(1, x=2), S("{0.real}").format(3), u.format(4, x=5), "{0.imag}".format(2j)]
""",
        ["[1-2]", "[3]", "4|5", "2.0"],
    ),
]


def lookup(key: str) -> str:
    """A plain tool: attacks try to reach its globals through the sandbox's wrapper."""
    return f"value of {key}"


#: Tools the sandbox is started with when running ``ATTACKS``.
TOOLS = {"lookup": lookup}

_OS = "__import__('os').getpid()"  # what an eval-based attack evaluates once it is out

# Pattern-matching attacks: ``attr(obj, name)`` reads an attribute through a pattern; the walk
# takes a running generator's frame up to the outermost (host) frame and its real builtins.
_FRAME_WALK = """
def walk():
    me = yield
    frame = attr(me, "gi_frame")
    while attr(frame, "f_back") is not None:
        frame = attr(frame, "f_back")
    yield attr(frame, "f_builtins")
gen = walk()
next(gen)
gen.send(gen)["__import__"]("os").name.replace("posix", "ESCAPED")
"""


def _walk_frames(reader: str) -> str:
    return reader + _FRAME_WALK


_KEYWORD_READER = """
def attr(obj, name):
    match obj:
        case object(gi_frame=value) if name == "gi_frame":
            return value
        case object(f_back=value) if name == "f_back":
            return value
        case object(f_builtins=value) if name == "f_builtins":
            return value
"""
_CLASS_BODY_READER = """
import abc
def attr(obj, name):
    class Reader(abc.ABC):
        __match_args__ = (name,)
    Reader.register(type(obj))
    match obj:
        case Reader(value):
            return value
"""
# A guard that reads __match_args__ once, before the interpreter reads it again, sees "nothing".
_DESCRIPTOR_READER = """
import abc
class Flip:
    def __init__(self, name):
        self.names, self.calls = (name, "nothing"), []
    def __get__(self, obj, owner=None):
        self.calls.append(1)
        return (self.names[len(self.calls) % 2],)
def attr(obj, name):
    class Reader(abc.ABC):
        __match_args__ = Flip(name)
    Reader.register(type(obj))
    for _ in range(2):
        match obj:
            case Reader(value):
                return value
"""
_DATACLASS_READER = """
import abc, dataclasses
def attr(obj, name):
    class Reader(abc.ABC):
        pass
    Reader.__annotations__[name] = int
    dataclasses.dataclass(Reader)
    Reader.register(type(obj))
    match obj:
        case Reader(value):
            return value
"""
_MAKE_DATACLASS_READER = """
import abc, dataclasses
class Base(abc.ABC):
    pass
def attr(obj, name):
    Reader = dataclasses.make_dataclass("Reader", [name], bases=(Base,))
    Reader.register(type(obj))
    match obj:
        case Reader(value):
            return value
"""
_INHERITED_DATACLASS_READER = """
import abc, dataclasses
@dataclasses.dataclass
class HasFrame(abc.ABC):  # a field the pattern may not read: no __match_args__ here
    gi_frame: object = None
@dataclasses.dataclass
class HasBack(abc.ABC):
    f_back: object = None
@dataclasses.dataclass
class HasBuiltins(abc.ABC):
    f_builtins: object = None
BASES = {"gi_frame": HasFrame, "f_back": HasBack, "f_builtins": HasBuiltins}
def attr(obj, name):
    @dataclasses.dataclass
    class Reader(BASES[name]):  # ...but the subclass's fields include it
        pass
    Reader.register(type(obj))
    match obj:
        case Reader(value):
            return value
"""
_NAMEDTUPLE_READER = """
import abc, collections
def attr(obj, name):
    class Reader(collections.namedtuple("Fields", [name]), abc.ABC):
        pass
    Reader.register(type(obj))
    match obj:
        case Reader(value):
            return value
"""
_TYPING_NAMEDTUPLE_READER = """
import abc, typing
def attr(obj, name):
    class Reader(typing.NamedTuple("Fields", [(name, object)]), abc.ABC):
        pass
    Reader.register(type(obj))
    match obj:
        case Reader(value):
            return value
"""
# A value pattern compares the subject with the attribute it names: the subject's __eq__ gets it.
_VALUE_PATTERN_WALK = """
class Spy:
    def __eq__(self, other):
        self.seen = other
        return False
def walk():
    me = yield
    spy = Spy()
    match spy:
        case me.gi_frame:
            pass
    frame = spy.seen
    while True:
        match spy:
            case frame.f_back:
                pass
        if spy.seen is None:
            break
        frame = spy.seen
    match spy:
        case frame.f_builtins:
            pass
    yield spy.seen
gen = walk()
next(gen)
gen.send(gen)["__import__"]("os").name.replace("posix", "ESCAPED")
"""

#: An array store whose value's __index__ shrinks the array (red team round 5, F0).
_SHRINKING_VALUE = """
import array
a = array.array("q", [0] * 64)
class Shrink:
    def __index__(self):
        del a[8:]
        return 7
a[13] = Shrink()
"ESCAPED" if len(a) == 8 else None
"""
#: A bytearray store whose key's __index__ grows the bytearray (red team round 6, F1).
_GROWING_KEY = """
ba = bytearray(b"A" * 50)
class Grow:
    def __index__(self):
        ba.extend(b"x" * 100000)
        return 20
ba[Grow()] = 0x42
"ESCAPED" if ba[20] != 0x42 else None
"""

ATTACKS: list[tuple[str, str]] = [
    # --- the class hierarchy: object.__subclasses__() lists os._wrap_close -------------------
    (
        "subclasses_walk",
        """
for cls in ().__class__.__base__.__subclasses__():
    if cls.__name__ == "_wrap_close":
        cls.__init__.__globals__["getpid"]()
        result = "ESCAPED"
result
""",
    ),
    (
        "object_subclasses_direct",
        """
found = [c for c in object.__subclasses__() if c.__name__ == "_wrap_close"]
found[0].__init__.__globals__["getpid"]()
"ESCAPED"
""",
    ),
    (
        "mro_walk",
        """
base = int.__mro__[-1]
found = [c for c in base.__subclasses__() if c.__name__ == "_wrap_close"]
found[0].__init__.__globals__["getpid"]() and "ESCAPED"
""",
    ),
    (
        "type_subclasses_unbound",
        """
found = [c for c in type.__subclasses__(object) if c.__name__ == "_wrap_close"]
found[0].__init__.__globals__["getpid"]() and "ESCAPED"
""",
    ),
    (
        "getattr_dynamic_subclasses",
        """
base = getattr(getattr((), "__cl" + "ass__"), "__ba" + "se__")
subs = getattr(base, "__subcl" + "asses__")()
init = getattr([c for c in subs if c.__name__ == "_wrap_close"][0], "__init__")
getattr(init, "__glo" + "bals__")["getpid"]() and "ESCAPED"
""",
    ),
    (
        "vars_of_type_dict",
        """
subs = vars(type)["__subclasses__"](object)
w = [c for c in subs if c.__name__ == "_wrap_close"][0]
vars(w)["__init__"].__globals__["getpid"]() and "ESCAPED"
""",
    ),
    (
        "class_mro_method",
        """
base = type.mro(int)[-1]
w = [c for c in base.__subclasses__() if c.__name__ == "_wrap_close"][0]
w.__init__.__globals__["getpid"]() and "ESCAPED"
""",
    ),
    # --- globals and builtins of functions ----------------------------------------------------
    (
        "lambda_globals",
        """
b = (lambda: 0).__globals__["__builtins__"]
imp = b["__import__"] if isinstance(b, dict) else b.__import__
imp("os").getpid() and "ESCAPED"
""",
    ),
    (
        "function_globals_getattr",
        """
def f():
    pass
g = getattr(f, "__glob" + "als__")
b = g["__builtins__"]
(b["__import__"] if isinstance(b, dict) else b.__import__)("os").getpid() and "ESCAPED"
""",
    ),
    (
        "function_builtins_attribute",
        """
def f():
    pass
getattr(f, "__builtins__")["__import__"]("os").getpid() and "ESCAPED"
""",
    ),
    (
        "tool_closure_globals",
        """
real = lookup.__closure__[0].cell_contents
real.__globals__["__builtins__"]["__import__"]("os").getpid() and "ESCAPED"
""",
    ),
    (
        "tool_wrapped_or_closure_dynamic",
        """
cells = getattr(lookup, "__clo" + "sure__")
fn = cells[0].cell_contents
getattr(fn, "__glo" + "bals__")["__builtins__"]["__import__"]("os").getpid() and "ESCAPED"
""",
    ),
    (
        "final_answer_func_globals",
        'final_answer.__func__.__globals__["os"].getpid() and "ESCAPED"',
    ),
    (
        "final_answer_self",
        'getattr(final_answer, "__self__").__class__.run.__globals__["os"].getpid() and "ESCAPED"',
    ),
    (
        "print_func_globals",
        'getattr(getattr(print, "__func__"), "__globals__")["os"].getpid() and "ESCAPED"',
    ),
    (
        "builtin_method_self_is_builtins_module",
        'getattr(len, "__self__").__import__("os").getpid() and "ESCAPED"',
    ),
    (
        "dunder_method_self",
        """
m = getattr("", "__mod__")
getattr(len, "__se" + "lf__").__import__("os").getpid() and m and "ESCAPED"
""",
    ),
    (
        "property_fget_globals",
        """
class A:
    @property
    def p(self):
        return 1
b = A.p.fget.__globals__["__builtins__"]
(b["__import__"] if isinstance(b, dict) else b.__import__)("os").getpid() and "ESCAPED"
""",
    ),
    (
        "classmethod_func_globals",
        """
class A:
    @classmethod
    def m(cls):
        return cls
b = getattr(A.m, "__func__").__globals__["__builtins__"]
(b["__import__"] if isinstance(b, dict) else b.__import__)("os").getpid() and "ESCAPED"
""",
    ),
    (
        "function_defaults_poison",
        """
import json
json.dumps.__kwdefaults__ = {"cls": None}
def f(x=1):
    return x
f.__defaults__ = ("ESCAPED",)
f()
""",
    ),
    # --- frames: generators, coroutines, async generators, tracebacks -------------------------
    (
        "generator_frame_back",
        """
def g():
    yield gen.gi_frame.f_back.f_back.f_globals["os"].getpid()
gen = g()
next(gen) and "ESCAPED"
""",
    ),
    (
        "generator_frame_builtins",
        """
def g():
    yield 1
gen = g()
gen.gi_frame.f_builtins["__import__"]("os").getpid() and "ESCAPED"
""",
    ),
    (
        "generator_frame_getattr",
        """
def g():
    yield 1
gen = g()
frame = getattr(gen, "gi_" + "frame")
getattr(frame, "f_" + "builtins")["__import__"]("os").getpid() and "ESCAPED"
""",
    ),
    (
        "coroutine_frame",
        """
async def c():
    pass
co = c()
b = co.cr_frame.f_globals["__builtins__"]
co.close()
(b["__import__"] if isinstance(b, dict) else b.__import__)("os").getpid() and "ESCAPED"
""",
    ),
    (
        "async_generator_frame",
        """
async def ag():
    yield 1
gen = ag()
gen.ag_frame.f_builtins["__import__"]("os").getpid() and "ESCAPED"
""",
    ),
    (
        "traceback_frame",
        """
try:
    1 / 0
except Exception as e:
    frame = e.__traceback__.tb_frame
frame.f_back.f_globals["os"].getpid() and "ESCAPED"
""",
    ),
    (
        "traceback_getattr",
        """
try:
    1 / 0
except Exception as e:
    tb = getattr(e, "__trace" + "back__")
getattr(tb, "tb_frame").f_builtins["__import__"]("os").getpid() and "ESCAPED"
""",
    ),
    (
        "traceback_via_with_exit",
        """
class Grab:
    def __enter__(self):
        return self
    def __exit__(self, kind, exc, tb):
        self.tb = tb
        return True
g = Grab()
with g:
    1 / 0
getattr(g.tb, "tb_frame").f_builtins["__import__"]("os").getpid() and "ESCAPED"
""",
    ),
    (
        "decorator_captures_frame",
        """
def grab(fn):
    try:
        raise RuntimeError
    except RuntimeError as e:
        fn.frame = e.__traceback__.tb_frame
    return fn
@grab
def f():
    pass
f.frame.f_back.f_back.f_globals["os"].getpid() and "ESCAPED"
""",
    ),
    (
        "generator_code_object",
        """
def g():
    yield 1
code = g().gi_code
code.co_consts and code.co_names is not None and "ESCAPED"
""",
    ),
    # --- format strings -----------------------------------------------------------------------
    (
        "str_format_globals",
        """
def f():
    pass
text = "{0.__globals__}".format(f)
"ESCAPED" if "__builtins__" in text else text
""",
    ),
    (
        "str_format_subclasses",
        """
text = "{0.__class__.__base__.__subclasses__}".format(0)
"ESCAPED" if "subclasses" in text else text
""",
    ),
    (
        "format_map_globals",
        """
def f():
    pass
class A:
    def __init__(self):
        pass
text = "{x.__init__.__globals__}".format_map({"x": A})
"ESCAPED" if "__builtins__" in text else text
""",
    ),
    (
        "unbound_str_format",
        """
def f():
    pass
text = str.format("{0.__globals__[__builtins__]}", f)
"ESCAPED" if "builtins" in text else text
""",
    ),
    (
        "format_method_via_getattr",
        """
def f():
    pass
fmt = getattr("{0.__globals__}", "format")
"ESCAPED" if "__builtins__" in fmt(f) else "no"
""",
    ),
    (
        "format_via_methodcaller",
        """
import operator
def f():
    pass
text = operator.methodcaller("format", f)("{0.__globals__}")
"ESCAPED" if "__builtins__" in text else text
""",
    ),
    (
        "fstring_attribute",
        """
def f():
    pass
text = f"{f.__globals__}"
"ESCAPED" if "__builtins__" in text else text
""",
    ),
    (
        "string_formatter",
        """
import string
def f():
    pass
text = string.Formatter().format("{0.__globals__}", f)
"ESCAPED" if "__builtins__" in text else text
""",
    ),
    (
        "string_formatter_get_field",
        """
import string
def f():
    pass
g = string.Formatter().get_field("0.__globals__", (f,), {})[0]
b = g["__builtins__"]
(b["__import__"] if isinstance(b, dict) else b.__import__)("os").getpid() and "ESCAPED"
""",
    ),
    (
        "format_nested_spec",
        """
def f():
    pass
text = "{0:{1.__globals__[__name__]:.0}}".format("x", f)
"ESCAPED" if text == "x" else text
""",
    ),
    # --- recovering builtins, globals, eval -----------------------------------------------------
    ("globals_builtins", 'globals()["__builtins__"].__import__("os").getpid() and "ESCAPED"'),
    ("locals_builtins", 'locals()["__builtins__"].__import__("os").getpid() and "ESCAPED"'),
    ("vars_no_argument", 'vars()["__builtins__"].__import__("os").getpid() and "ESCAPED"'),
    ("builtins_name", '__builtins__.__import__("os").getpid() and "ESCAPED"'),
    ("dunder_import_name", '__import__("os").getpid() and "ESCAPED"'),
    ("eval_import", f'eval("{_OS}") and "ESCAPED"'),
    (
        "eval_subclasses",
        'eval("[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '
        "'_wrap_close'][0].__init__.__globals__['getpid']()\") and \"ESCAPED\"",
    ),
    (
        "eval_with_forged_guards",
        """
def f():
    pass
g = eval("f.__globals__", {"f": f, "__sb_getattr__": getattr, "__sb_ok__": None})
b = g["__builtins__"]
(b["__import__"] if isinstance(b, dict) else b.__import__)("os").getpid() and "ESCAPED"
""",
    ),
    (
        "eval_with_forged_locals",
        """
def f():
    pass
g = eval("getattr(f, '__glo' + 'bals__')", None, {"f": f, "getattr": getattr,
                                                   "__sb_getattr__": getattr})
b = g["__builtins__"]
(b["__import__"] if isinstance(b, dict) else b.__import__)("os").getpid() and "ESCAPED"
""",
    ),
    (
        "eval_from_host_callback",
        f"""
import difflib
sm = difflib.SequenceMatcher(eval, "", ["{_OS} and 'ESCAPED'"])
"ESCAPED" if sm.bjunk else "no"
""",
    ),
    ("exec_string", 'exec("import os; os.getpid()")\n"ESCAPED"'),
    ("compile_code_object", f'eval(compile("{_OS}", "x", "eval")) and "ESCAPED"'),
    (
        "help_license_objects",
        """
init = getattr(getattr(license, "__class__"), "__init__")
getattr(init, "__glo" + "bals__")["sys"].modules["os"].getpid() and "ESCAPED"
""",
    ),
    (
        "quit_object",
        "call = quit.__class__.__call__\n"
        'getattr(call, "__globals__")["sys"].modules["os"].getpid() and "ESCAPED"',
    ),
    # --- imports and foreign modules behind allowed ones ----------------------------------------
    ("import_os", 'import os\nos.getpid() and "ESCAPED"'),
    ("import_sys", 'import sys\nsys.modules["os"].getpid() and "ESCAPED"'),
    ("import_subprocess", 'import subprocess\nsubprocess.run(["true"]) and "ESCAPED"'),
    ("import_builtins", 'import builtins\nbuiltins.__import__("os").getpid() and "ESCAPED"'),
    ("import_io_open", 'import io\nio.open("/etc/hostname").read() and "ESCAPED"'),
    ("io_fileio", 'import io\nio.FileIO("/etc/hostname").read() and "ESCAPED"'),
    (
        "io_class_hierarchy_to_fileio",
        """
import io
base = io.StringIO.__mro__[-2]
fileio = [c for c in base.__subclasses__() if c.__name__ == "_RawIOBase"][0].__subclasses__()[0]
fileio("/etc/hostname").read() and "ESCAPED"
""",
    ),
    ("contextlib_redirect", 'import contextlib\ncontextlib.redirect_stdout and "ESCAPED"'),
    ("import_importlib", 'import importlib\nimportlib.import_module("os").getpid() and "ESCAPED"'),
    ("import_pickle", 'import pickle\npickle.loads(pickle.dumps(1)) and "ESCAPED"'),
    ("import_gc", 'import gc\ngc.get_objects() and "ESCAPED"'),
    ("import_os_path", 'import os.path\nos.getpid() and "ESCAPED"'),
    ("from_os_import", 'from os import getpid\ngetpid() and "ESCAPED"'),
    ("json_codecs", 'import json\njson.codecs.sys.modules["os"].getpid() and "ESCAPED"'),
    (
        "from_json_import_codecs",
        'from json import codecs\ncodecs.sys.modules["os"].getpid() and "ESCAPED"',
    ),
    (
        "json_decoder_re_sys",
        'import json\njson.decoder.re.enum.sys.modules["os"].getpid() and "ESCAPED"',
    ),
    ("datetime_sys", 'import datetime\ndatetime.sys.modules["os"].getpid() and "ESCAPED"'),
    ("random_private_os", 'import random\nrandom._os.getpid() and "ESCAPED"'),
    (
        "random_private_os_getattr",
        'import random\ngetattr(random, "_" + "os").getpid() and "ESCAPED"',
    ),
    ("re_enum_sys", 'import re\nre.enum.sys.modules["os"].getpid() and "ESCAPED"'),
    (
        "collections_sys",
        'import collections\ncollections._sys.modules["os"].getpid() and "ESCAPED"',
    ),
    (
        "textwrap_re_enum_sys",
        'import textwrap\ntextwrap.re.enum.sys.modules["os"].getpid() and "ESCAPED"',
    ),
    ("typing_sys", 'import typing\ntyping.sys.modules["os"].getpid() and "ESCAPED"'),
    ("dataclasses_sys", 'import dataclasses\ndataclasses.sys.modules["os"].getpid() and "ESCAPED"'),
    ("enum_sys", 'import enum\nenum.sys.modules["os"].getpid() and "ESCAPED"'),
    ("uuid_os", 'import uuid\nuuid.os.getpid() and "ESCAPED"'),
    ("calendar_sys", 'import calendar\ncalendar.sys.modules["os"].getpid() and "ESCAPED"'),
    ("statistics_sys", 'import statistics\nstatistics.sys.modules["os"].getpid() and "ESCAPED"'),
    ("json_tool_submodule", 'import json.tool\njson.tool.sys.modules["os"].getpid() and "ESCAPED"'),
    ("module_loader", 'import json\njson.__loader__.get_data("/etc/hostname") and "ESCAPED"'),
    (
        "module_spec_loader",
        'import json\nspec = getattr(json, "__sp" + "ec__")\n'
        'spec.loader.get_data("/etc/hostname") and "ESCAPED"',
    ),
    (
        "module_dict",
        'import json\njson.__dict__["codecs"].sys.modules["os"].getpid() and "ESCAPED"',
    ),
    (
        "vars_of_module",
        'import json\nvars(json)["codecs"].sys.modules["os"].getpid() and "ESCAPED"',
    ),
    ("from_import_private", 'from random import _os\n_os.getpid() and "ESCAPED"'),
    (
        "attribute_error_obj_module",
        """
import json
try:
    json.no_such_name
except AttributeError as e:
    m = e.obj if e.__context__ is None else e.__context__.obj
m.codecs.sys.modules["os"].getpid() and "ESCAPED"
""",
    ),
    # --- functools / operator / typing / dataclasses tricks -------------------------------------
    (
        "operator_attrgetter",
        """
import operator
def f():
    pass
b = operator.attrgetter("__globals__")(f)["__builtins__"]
(b["__import__"] if isinstance(b, dict) else b.__import__)("os").getpid() and "ESCAPED"
""",
    ),
    (
        "operator_methodcaller_subclasses",
        """
import operator
subs = operator.methodcaller("__subclasses__")(object)
w = [c for c in subs if c.__name__ == "_wrap_close"][0]
operator.attrgetter("__init__.__globals__")(w)["getpid"]() and "ESCAPED"
""",
    ),
    (
        "functools_reduce_getattr",
        """
import functools
def f():
    pass
g = functools.reduce(getattr, ["__globals__"], f)
b = g["__builtins__"]
(b["__import__"] if isinstance(b, dict) else b.__import__)("os").getpid() and "ESCAPED"
""",
    ),
    (
        "functools_partial_getattr",
        """
import functools
def f():
    pass
g = functools.partial(getattr, f)("__globals__")
b = g["__builtins__"]
(b["__import__"] if isinstance(b, dict) else b.__import__)("os").getpid() and "ESCAPED"
""",
    ),
    (
        "map_getattr",
        """
def f():
    pass
g = list(map(getattr, [f], ["__globals__"]))[0]
b = g["__builtins__"]
(b["__import__"] if isinstance(b, dict) else b.__import__)("os").getpid() and "ESCAPED"
""",
    ),
    (
        "functools_update_wrapper_copies_globals",
        """
import functools
class Box:
    pass
box = Box()
functools.update_wrapper(box, lambda: 0, assigned=("__globals__",), updated=())
b = vars(box)["__globals__"]["__builtins__"]
(b["__import__"] if isinstance(b, dict) else b.__import__)("os").getpid() and "ESCAPED"
""",
    ),
    (
        "typing_get_type_hints_eval",
        f"""
import typing
def f(x: "{_OS}"):
    pass
typing.get_type_hints(f) and "ESCAPED"
""",
    ),
    (
        "singledispatch_annotation_eval",
        """
import functools
@functools.singledispatch
def show(x):
    return x
def handler(x: "[int for _ in [().__class__.__base__.__subclasses__()]][0]"):
    return "ESCAPED"
show.register(handler)
show(1)
""",
    ),
    (
        "singledispatch_forward_ref",
        """
import functools, typing
marks = []
@functools.singledispatch
def show(x):
    return x
def handler(x: typing.List["[marks.append(().__class__.__base__), int][1]"]):
    pass
try:
    show.register(handler)
except TypeError:
    pass
"ESCAPED" if marks else "no"
""",
    ),
    # --- reduce-style reconstruction writing to host classes ------------------------------------
    (
        "copy_reduce_poisons_host_class",
        """
import copy, json
class R:
    def __reduce_ex__(self, proto):
        return (lambda: json.JSONEncoder, (), (None, {"encode": lambda self, o: "ESCAPED"}))
copy.copy(R())
json.dumps(1)
""",
    ),
    (
        "copy_reduce_from_instance_dict",
        """
import copy, json
class R:
    pass
r = R()
vars(r)["__reduce_ex__"] = lambda proto: (
    lambda: json.JSONEncoder, (), (None, {"encode": lambda self, o: "ESCAPED"}))
copy.copy(r)
json.dumps(1)
""",
    ),
    (
        "dataclasses_asdict_reduce",
        """
import dataclasses, json
@dataclasses.dataclass
class D:
    x: object
class R:
    pass
r = R()
vars(r)["__reduce_ex__"] = lambda proto: (
    lambda: json.JSONEncoder, (), (None, {"encode": lambda self, o: "ESCAPED"}))
dataclasses.asdict(D(r))
json.dumps(1)
""",
    ),
    (
        "copy_new_returns_host_class",
        """
import copy, json
class S:
    __slots__ = ("encode",)
    armed = False
    def __new__(cls):
        return json.JSONEncoder if S.armed else object.__new__(cls)
s = S()
s.encode = lambda self, o: "ESCAPED"
S.armed = True
copy.copy(s)
json.dumps(1)
""",
    ),
    (
        "abcmeta_namespace_reduce",
        """
import abc, copy, json
poison = lambda self, p: (lambda: json.JSONEncoder, (), (None, {"encode": lambda s, o: "ESCAPED"}))
X = abc.ABCMeta("X", (), {"__reduce_ex__": poison})
copy.copy(X())
json.dumps(1)
""",
    ),
    # --- type() with three arguments and metaclasses --------------------------------------------
    (
        "type_three_args",
        """
import copy, json
poison = lambda self, p: (lambda: json.JSONEncoder, (), (None, {"encode": lambda s, o: "ESCAPED"}))
X = type("X", (), {"__reduce_ex__": poison})
copy.copy(X())
json.dumps(1)
""",
    ),
    (
        "type_of_type_three_args",
        """
import copy, json
poison = lambda self, p: (lambda: json.JSONEncoder, (), (None, {"encode": lambda s, o: "ESCAPED"}))
X = int.__class__("X", (), {"__reduce_ex__": poison})
copy.copy(X())
json.dumps(1)
""",
    ),
    (
        "metaclass_of_abc_three_args",
        """
import abc, copy, json
poison = lambda self, p: (lambda: json.JSONEncoder, (), (None, {"encode": lambda s, o: "ESCAPED"}))
X = type(abc.ABC)("X", (), {"__reduce_ex__": poison})
copy.copy(X())
json.dumps(1)
""",
    ),
    (
        "custom_metaclass",
        """
import copy, json
poison = lambda self, p: (lambda: json.JSONEncoder, (), (None, {"encode": lambda s, o: "ESCAPED"}))
class Meta(type):
    def __new__(mcs, name, bases, ns):
        ns = dict(ns)
        ns["__reduce_ex__"] = poison
        return super().__new__(mcs, name, bases, ns)
class X(metaclass=Meta):
    pass
copy.copy(X())
json.dumps(1)
""",
    ),
    # --- pattern matching -----------------------------------------------------------------------
    (
        "match_keyword_globals",
        """
f = lambda: 0
match f:
    case object(__globals__=g):
        b = g["__builtins__"]
(b["__import__"] if isinstance(b, dict) else b.__import__)("os").getpid() and "ESCAPED"
""",
    ),
    (
        "match_args_with_abc_register",
        """
import abc
class E(abc.ABC):
    __match_args__ = ("__globals__",)
E.register(type(lambda: 0))
match (lambda: 0):
    case E(g):
        b = g["__builtins__"]
(b["__import__"] if isinstance(b, dict) else b.__import__)("os").getpid() and "ESCAPED"
""",
    ),
    (
        "match_args_from_make_dataclass",
        """
import abc, dataclasses
D = dataclasses.make_dataclass("D", ["__globals__"], bases=(abc.ABC,))
D.register(type(lambda: 0))
match (lambda: 0):
    case D(g):
        b = g["__builtins__"]
(b["__import__"] if isinstance(b, dict) else b.__import__)("os").getpid() and "ESCAPED"
""",
    ),
    # Patterns read attributes natively: by the keyword names of a class pattern, the dotted
    # names of a value pattern, and the names in the class's __match_args__ (however it got
    # them: a descriptor, a dataclass field, make_dataclass), from any subject that passes
    # isinstance (an own ABC registered with the generator or frame type). Each reads a running
    # generator's frame and walks f_back up to the host's frames and their real builtins.
    ("match_keyword_reads_frames", _walk_frames(_KEYWORD_READER)),
    ("match_value_pattern_leaks_frames", _VALUE_PATTERN_WALK),
    ("match_args_in_class_body", _walk_frames(_CLASS_BODY_READER)),
    ("match_args_descriptor_changes_between_reads", _walk_frames(_DESCRIPTOR_READER)),
    ("match_args_from_dataclass_annotations", _walk_frames(_DATACLASS_READER)),
    ("match_args_from_make_dataclass_own_base", _walk_frames(_MAKE_DATACLASS_READER)),
    (
        "match_args_guarded_name_on_str_subclass",
        """
import abc
class Fmt(abc.ABC):
    __match_args__ = ("format",)
Fmt.register(str)
match "{0.__globals__[__builtins__].__dict__[open]}":
    case Fmt(fmt):
        pass
"ESCAPED" if "built-in function open" in fmt(lambda: 0) else None
""",
    ),
    # __match_args__ the class got from a base: a dataclass subclass (its fields include the
    # base's, which got none), a namedtuple base, a typing.NamedTuple base.
    ("match_args_inherited_by_dataclass_subclass", _walk_frames(_INHERITED_DATACLASS_READER)),
    ("match_args_inherited_from_namedtuple", _walk_frames(_NAMEDTUPLE_READER)),
    ("match_args_inherited_from_typing_namedtuple", _walk_frames(_TYPING_NAMEDTUPLE_READER)),
    (
        "match_args_inherited_reads_frame_globals",
        """
import abc, dataclasses, heapq
@dataclasses.dataclass
class HasFrame(abc.ABC):
    gi_frame: object = None
@dataclasses.dataclass
class GenView(HasFrame):
    pass
@dataclasses.dataclass
class HasGlobals(abc.ABC):
    f_globals: object = None
@dataclasses.dataclass
class FrameView(HasGlobals):
    pass
g = heapq.merge([1], [2])
next(g)
GenView.register(type(g))
match g:
    case GenView(frame):
        pass
FrameView.register(type(frame))
match frame:
    case FrameView(host_globals):
        pass
host_globals["__builtins__"]["__import__"]("os").name.replace("posix", "ESCAPED")
""",
    ),
    # __init__ re-initialises an existing object: typing's cached alias, shared by the host.
    (
        "reinit_host_object_by_class_init",
        "import typing\nalias = typing.List[int]\ntype(alias).__init__(alias, dict, (str, str))\n"
        "'ESCAPED' if typing.List[int].__origin__ is dict else None",
    ),
    (
        "reinit_host_object_by_bound_init",
        "import typing\nalias = typing.List[int]\nalias.__init__(dict, (str, str))\n"
        "'ESCAPED' if typing.List[int].__origin__ is dict else None",
    ),
    (
        "reinit_host_object_by_super_init",
        "import typing\nalias = typing.List[int]\nsuper(type(alias), alias).__init__(dict)\n"
        "'ESCAPED' if typing.List[int].__origin__ is dict else None",
    ),
    # Decorators and context managers that write on host objects or process state.
    (
        "typing_runtime_checkable_on_host_protocol",
        "import typing\ntyping.runtime_checkable(typing.Protocol)\n"
        "class Anything(typing.Protocol):\n    pass\n"
        "'ESCAPED' if isinstance(1, Anything) else None",
    ),
    (
        "typing_final_on_host_class",
        "import typing, json\ntyping.final(json.JSONDecoder)\n"
        "'ESCAPED' if getattr(json.JSONDecoder, '__final__', False) else None",
    ),
    (
        "abc_abstractmethod_on_host_function",
        "import abc, json\nabc.abstractmethod(json.dumps)\n"
        "'ESCAPED' if getattr(json.dumps, '__isabstractmethod__', False) else None",
    ),
    (
        "calendar_different_locale_changes_process_locale",
        "import calendar\ncalendar.different_locale('C.UTF-8').__enter__()\nimport locale\n"
        "'ESCAPED' if locale.setlocale(locale.LC_TIME) == 'C.UTF-8' else None",
    ),
    # --- poisoning the host through module views and host classes -------------------------------
    (
        "module_attribute_assignment",
        """
import json
json.dumps = lambda *a, **k: "ESCAPED"
import json as again
again.dumps(1)
""",
    ),
    ("setattr_on_module", 'import math\nsetattr(math, "pi", "ESCAPED")\nimport math as m2\nm2.pi'),
    (
        "object_setattr_on_module",
        """
import json
object.__setattr__(json, "dumps", lambda *a, **k: "ESCAPED")
import json as again
again.dumps(1)
""",
    ),
    (
        "host_class_attribute_assignment",
        """
import json
json.JSONEncoder.encode = lambda self, o: "ESCAPED"
json.dumps(1)
""",
    ),
    (
        "type_setattr_on_host_class",
        """
import json
type.__setattr__(json.JSONEncoder, "encode", lambda self, o: "ESCAPED")
json.dumps(1)
""",
    ),
    (
        "dataclass_decorates_host_class",
        """
import dataclasses, json
dataclasses.dataclass(json.JSONEncoder)
"ESCAPED" if json.JSONEncoder() == json.JSONEncoder() else "no"
""",
    ),
    (
        "abc_register_on_host_abc",
        """
import collections.abc
collections.abc.Sequence.register(dict)
"ESCAPED" if isinstance({}, collections.abc.Sequence) else "no"
""",
    ),
    (
        "abcmeta_register_unbound",
        """
import abc, collections.abc
abc.ABCMeta.register(collections.abc.Sequence, dict)
"ESCAPED" if isinstance({}, collections.abc.Sequence) else "no"
""",
    ),
    (
        "mro_entries_smuggles_metaclass",
        """
import abc, copy, json
poison = lambda self, p: (lambda: json.JSONEncoder, (), (None, {"encode": lambda s, o: "ESCAPED"}))
class Smuggle:
    def __mro_entries__(self, bases):
        return (abc.ABCMeta,)
class Meta(Smuggle()):
    pass
X = Meta("X", (), {"__reduce_ex__": poison})
copy.copy(X())
json.dumps(1)
""",
    ),
    (
        "view_reinit",
        """
import json
type(json).__init__(json, "json", "", lambda name: "ESCAPED", lambda: [])
json.anything
""",
    ),
    (
        "copy_state_swaps_class",
        """
import copy, json
class X:
    pass
x = X()
vars(x)["__getstate__"] = lambda: (None, {"__class__": json.JSONEncoder})
type(copy.copy(x)).__name__ == "JSONEncoder" and "ESCAPED"
""",
    ),
    (
        "eval_leaks_guard_caches",
        """
g = {}
eval("1", g)
g["__sb_pure_types__"].add(type(lambda: 0))
"ESCAPED"
""",
    ),
    (
        "class_assignment",
        """
class Mine:
    pass
m = Mine()
m.__class__ = type(lambda: 0)
"ESCAPED"
""",
    ),
    (
        "subclass_host_class_private",
        """
import random
class R(random.Random):
    pass
getattr(R()._randbelow, "__func__").__globals__["_os"].getpid() and "ESCAPED"
""",
    ),
    (
        "super_private_of_host_class",
        """
import random
class R(random.Random):
    def leak(self):
        return super()._randbelow
getattr(R().leak(), "__func__").__globals__["_os"].getpid() and "ESCAPED"
""",
    ),
    (
        "pprint_printer_stream_file",
        """
import pprint
class P(pprint.PrettyPrinter):
    pass
stream = P()._stream
raw = getattr(getattr(stream, "buffer", stream), "raw", getattr(stream, "buffer", stream))
type(raw)("/etc/hostname").read() and "ESCAPED"
""",
    ),
    (
        "class_body_shadows_guard",
        """
class X:
    __sb_getattr__ = getattr
    leak = (lambda: 0).__globals__
b = X.leak["__builtins__"]
(b["__import__"] if isinstance(b, dict) else b.__import__)("os").getpid() and "ESCAPED"
""",
    ),
    # --- re-exports of what a rule denies or replaces; shared objects with mutating methods ---
    (
        "contextlib_wraps_is_functools_wraps",
        """
import contextlib, json
class Box:
    pass
box = Box()
contextlib.wraps(json.dumps, assigned=("__globals__",), updated=())(box)
g = vars(box)["__globals__"]
g["codecs"].sys.modules["os"].getpid() and "ESCAPED"
""",
    ),
    (
        "calendar_shared_instance",
        """
import calendar
calendar.c.setfirstweekday(6)
"ESCAPED" if calendar.firstweekday() == 6 else "no"
""",
    ),
    (
        "calendar_prweek_host_stdout",
        'import calendar\ncallable(calendar.prweek) and "ESCAPED"',
    ),
    ("time_clock_settime", 'import time\n"ESCAPED" if callable(time.clock_settime) else "no"'),
    (
        "super_format_of_str_subclass",
        """
class S(str):
    def fmt(self, *args):
        return super().format(*args)
def f():
    pass
text = S("{0.__globals__}").fmt(f)
"ESCAPED" if "__builtins__" in text else text
""",
    ),
    (
        "userstring_format_delegates",
        """
import collections
def f():
    pass
text = collections.UserString("{0.__globals__}").format(f)
"ESCAPED" if "__builtins__" in text else text
""",
    ),
    # --- host ABCs: isinstance() answers come from their registries and their subclasses ----
    (
        "typing_alias_register_poisons_host_abc",
        """
import collections.abc, typing
typing.Sequence.register(dict)
"ESCAPED" if isinstance({}, collections.abc.Sequence) else "no"
""",
    ),
    (
        "own_abc_register_poisons_host_abc",
        """
import collections.abc
class Mine(collections.abc.Sequence):
    pass
Mine.register(dict)
"ESCAPED" if isinstance({}, collections.abc.Sequence) else "no"
""",
    ),
    (
        "own_subclasshook_poisons_host_abc",
        """
import collections.abc
class Mine(collections.abc.Mapping):
    @classmethod
    def __subclasshook__(cls, other):
        return True
"ESCAPED" if isinstance(1, collections.abc.Mapping) else "no"
""",
    ),
    # --- mutable tables the host's classes and functions hold ----------------------------------
    (
        "textwrap_class_table_poisons_host",
        """
import textwrap
textwrap.TextWrapper.unicode_whitespace_trans[ord("a")] = ord("X")
"ESCAPED" if textwrap.fill("banana") != "banana" else "no"
""",
    ),
    (
        "calendar_class_list_poisons_host",
        """
import calendar
calendar.HTMLCalendar.cssclasses[0] = "ESCAPED"
"ESCAPED" if "ESCAPED" in calendar.HTMLCalendar().formatmonth(2024, 1) else "no"
""",
    ),
    (
        "host_function_annotations_poison",
        """
import json
json.dumps.__annotations__["poisoned"] = int
"ESCAPED" if "poisoned" in json.dumps.__annotations__ else "no"
""",
    ),
    # --- already blocked, kept against regressions: other spellings of the same doors ---------
    (
        "nfkc_normalised_dunder",
        """
import json
g = json.dumps.__\uff47\uff4c\uff4f\uff42\uff41\uff4c\uff53__
g["codecs"].sys.modules["os"].getpid() and "ESCAPED"
""",
    ),
    (
        "contextmanager_generator_frame",
        """
import contextlib
@contextlib.contextmanager
def cm():
    yield 1
manager = cm()
manager.gen.gi_frame.f_builtins["__import__"]("os").getpid() and "ESCAPED"
""",
    ),
    (
        "format_map_missing_hands_out_host_function",
        """
import json
class Lookup(dict):
    def __missing__(self, key):
        return json.dumps
text = "{anything.__globals__[codecs].sys.modules[os]}".format_map(Lookup())
"ESCAPED" if "module 'os'" in text else text
""",
    ),
    # --- the sandbox's own machinery (nothing to reach in plain Python) --------------------------
    (
        "view_resolver",
        'import json\njson._sb_resolve("codecs").sys.modules["os"].getpid() and "ESCAPED"',
    ),
    (
        "view_object_getattribute",
        'import json\nresolve = object.__getattribute__(json, "_sb_resolve")\n'
        'resolve("codecs").sys.modules["os"].getpid() and "ESCAPED"',
    ),
    (
        "view_subclass",
        """
import json
class V(type(json)):
    pass
v = V.__new__(V)
v._sb_resolve("codecs").sys.modules["os"].getpid() and "ESCAPED"
""",
    ),
    (
        "view_getattr_hook",
        'import json\ncodecs = type(json).__getattr__(json, "codecs")\n'
        'codecs.sys.modules["os"].getpid() and "ESCAPED"',
    ),
    ("guard_rebinding", '__sb_getattr__ = getattr\n(lambda: 0).__globals__\n"ESCAPED"'),
    # The guards are constants bound into the compiled code: a marker string the code wrote
    # itself would be bound to them too.
    ("forged_guard_marker", 'g = "\\x00sb:guards"\ng.read and "ESCAPED"'),
    (
        "guard_cache_poisoning",
        """
class Mine:
    pass
__sb_own_types__.add(type(lambda: 0))
f = lambda: 0
f._x = 1
"ESCAPED"
""",
    ),
    # typing's aliases forward unknown names to __origin__ with a real getattr: a subclass of
    # the code's (_root=True passes typing's check) read private names of any object.
    (
        "typing_alias_subclass_getattr_reads_private_names",
        "import typing, random\n"
        "class Door(typing.List[int].__class__, _root=True):\n    pass\n"
        "below = Door(random.Random(1), (int,)).__getattr__('_randbelow')\n"
        "'ESCAPED' if below(10) >= 0 else None",
    ),
    # CPython's array checks the index, then calls the value's __index__, then stores through
    # the buffer as it is by then: shrunk, the store lands past the array's end (red team 5, F0:
    # aimed at a neighbouring list's item pointer, a fake bytearray over all memory). Shrunk to
    # 8 items the buffer keeps room for 15, so here the stray store stays in the allocation.
    ("array_setitem_index_shrinks_the_array", _SHRINKING_VALUE),
    # append converts twice, around a resize to the size read before the first conversion: the
    # array grows to 65 items over memory nobody wrote (stale heap contents become its items).
    (
        "array_append_index_shrinks_the_array",
        """
import array
a = array.array("q", [0] * 64)
calls = []
class Shrink:
    def __index__(self):
        calls.append(1)
        if len(calls) == 1:
            del a[8:]
        return 7
a.append(Shrink())
"ESCAPED" if len(a) == 65 else None
""",
    ),
    # bytearray's item store reads its buffer pointer, then converts the key with __index__, then
    # stores through the pointer: a key that grows the bytearray (realloc) sends the byte into
    # the freed old buffer (red team 6, F1: aimed at a new bytearray's size, all of memory).
    ("bytearray_setitem_key_index_moves_the_buffer", _GROWING_KEY),
    # The real class inside a module's tuple (red team round 8, B2): its instances have every
    # C method of bytearray back. Classes in tuples, __args__ and annotations are shown as the
    # stand-ins, as classes everywhere else are.
    (
        "real_bytearray_from_a_module_tuple",
        "import base64\n" + _GROWING_KEY.replace("bytearray(", "base64.bytes_types[1]("),
    ),
    # find/count/startswith/in take pointer and size, then convert start or the byte with
    # __index__: a start that clears the bytearray searches the freed buffer (F2: a read
    # oracle over the heap). The freed block keeps the text past its first word.
    (
        "bytearray_find_start_index_frees_the_buffer",
        """
ba = bytearray(b"." * 100 + b"QUARTZ" + b"." * 94)
class Clear:
    def __index__(self):
        ba.clear()
        return 0
"ESCAPED" if ba.find(b"QUARTZ", Clear()) == 100 else None
""",
    ),
    # An extended-slice store fixes the slice's length, then runs the value's iterator, which
    # shrinks the list: the items are written past its end (F3: object pointers over the heap;
    # here the list keeps its allocation, so the stray items stay inside it).
    (
        "list_extended_slice_store_iterator_shrinks_the_list",
        """
L = list(range(10))
def values():
    del L[5:]
    yield from range(5)
L[::2] = values()
"ESCAPED" if len(L) == 5 else None
""",
    ),
    # A member of a host enum is one object for the whole process: a public attribute set on it
    # stays for every later user (red team round 7, B1; sympy's Q.positive.handler and domains,
    # numpy's cached finfo likewise).
    (
        "host_enum_member_attribute_outlives_the_sandbox",
        """
import re
re.RegexFlag.IGNORECASE.note = "set by the sandbox"
"ESCAPED" if re.I.note == "set by the sandbox" else None
""",
    ),
    # The first item-store rewrite tested a name key before the value was made: a walrus in
    # the value rebound the key to an extended slice after the test (red team round 8, B1).
    (
        "item_store_key_rebound_by_its_value",
        """
L = list(range(10))
def values():
    del L[5:]
    yield from range(5)
k = 0
L[k] = ((k := slice(None, None, 2)), values())[1]
"ESCAPED" if len(L) == 5 else None
""",
    ),
    # A host class as a class-body dunder: called as the hook, functools.partial made a truthy
    # object, so the instance equalled anything in the host's typing cache (round 8, B4).
    (
        "dunder_bound_to_a_host_class",
        "import functools\nclass K:\n    __eq__ = functools.partial\n"
        "    __hash__ = object.__hash__\n'ESCAPED' if K() == int else None",
    ),
    # A Struct subclass's instance is the code's own, so re-initialising it was allowed: its
    # live iter_unpack then reads the new size from the old 64-byte buffer (F4: host heap).
    (
        "struct_subclass_reinit_under_iter_unpack",
        """
import struct
class S(struct.Struct):
    pass
s = S("4s")
it = s.iter_unpack(bytes(64))
s.__init__("100s")
"ESCAPED" if len(next(it)[0]) == 100 else None
""",
    ),
    # A str subclass answers the checks' own questions (startswith) and the host's dict lookups
    # (__hash__/__eq__): make_dataclass's namespace defined a host callable as the finaliser the
    # host's gc ran after the cell (red team 5, F11). Names are checked as exact copies.
    (
        "make_dataclass_namespace_str_subclass_defines_a_dunder",
        """
import dataclasses, functools, time
class Key(str):
    def startswith(self, *prefix):
        return False
    def __hash__(self):
        return str.__hash__(self)
nap = functools.partial(time.sleep, 0.3)
D = dataclasses.make_dataclass("D", [], init=False, namespace={Key("__del__"): nap})
start = time.monotonic()
x = D()
del x  # the finaliser is the host's time.sleep: 0.3 s
"ESCAPED" if time.monotonic() - start > 0.25 else None
""",
    ),
    (
        "enum_functional_api_str_subclass_member_name",
        """
import enum
class Key(str):
    def startswith(self, *prefix):
        return False
E = enum.Enum("E", {Key("_private"): 1})
"ESCAPED" if [m.name for m in E] == ["_private"] else None
""",
    ),
    # copy applies a __reduce_ex__'s state to whatever its callable returns: a host instance the
    # write guard protects (red team 5, F14: the host's calendars printed "PWNED" after the cell).
    (
        "copy_state_onto_a_host_instance",
        """
import calendar, copy, dataclasses
class Key(str):
    def startswith(self, *prefix):
        return False
    def __hash__(self):
        return str.__hash__(self)
def reduce_ex(self, protocol):
    return (lambda: calendar.month_name, (), {"format": "ESCAPED %B"})
Carrier = dataclasses.make_dataclass("Carrier", [], namespace={Key("__reduce_ex__"): reduce_ex})
copy.copy(Carrier())
calendar.month_name[1][:7]
""",
    ),
    (
        "copy_state_onto_a_host_instance_from_an_instance_reduce",
        """
import calendar, copy
class Carrier:
    pass
c = Carrier()
state = {"format": "ESCAPED %B"}
vars(c)["__reduce_ex__"] = lambda protocol: (lambda: calendar.month_name, (), state)
copy.copy(c)
calendar.month_name[1][:7]
""",
    ),
]

#: Attacks aimed at the sandbox's own machinery: in plain Python they have nothing to reach.
SANDBOX_SPECIFIC: frozenset[str] = frozenset(
    {
        "class_assignment",
        "view_resolver",
        "view_object_getattribute",
        "view_subclass",
        "view_getattr_hook",
        "view_reinit",
        "eval_leaks_guard_caches",
        "guard_cache_poisoning",
        "forged_guard_marker",
    }
)

# numpy trusts __array_interface__["data"] as a raw pointer: any object the code can make answer
# that name turns np.asarray(obj) into a read (or write) of any address; here, bytes data.
_IFACE = "{'data': (id(b'xyzw') + 32, True), 'shape': (4,), 'typestr': '|u1', 'version': 3}"
_READ = "\nimport numpy as np\nbytes(np.asarray(x)) == b'xyzw' and 'ESCAPED'"


def _memory(setup: str) -> str:
    return setup.replace("IFACE", _IFACE) + _READ


# What sympy's parser evaluates once it runs a string without a check.
_OSNAME = "__import__('os').name.replace('posix', 'ESCAPED')"

# Source for a real exec() (no guards): os's globals through object.__subclasses__().
_UNGUARDED = (
    "escaped = [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == "
    "'_wrap_close'][0].__init__.__globals__['name'].replace('posix', 'ESCAPED')"
)

# An array with an object dtype over bytes the code wrote: its items are the objects at the
# addresses it chose. ``object_at`` is built by each attack its own way; then a fake bytearray
# header gives all memory, and json.dumps' globals the real builtins.
_OBJECT_AT_CHAIN = """
import json
fake = struct.pack("<QQqqQQQ", 2**40, id(bytearray), 2**62, 2**62, 0, 0, 0)
memory = object_at(id(fake) + 32)
def read_pointer(address):
    return struct.unpack("<Q", bytes(memory[address:address + 8]))[0]
host_globals = object_at(read_pointer(id(json.dumps) + 16))
host_globals["__builtins__"]["__import__"]("os").name.replace("posix", "ESCAPED")
"""


def _object_at(item: str, setup: str = "") -> str:
    """``object_at(address)`` returning ``item``, evaluated over ``cell``, 8 bytes holding it."""
    return (
        f"import numpy as np, struct\n{setup}def object_at(address):\n"
        f"    cell = bytearray(struct.pack('<Q', address))\n    return {item}\n" + _OBJECT_AT_CHAIN
    )


_LATEX_CELLS = (
    "import json, pandas as pd\n"
    "df = pd.DataFrame({'a': [json.JSONDecoder()]})\n"
    "_TPL = '{0.decode.__globals__[re].enum.sys.modules[os].name}'\n"
)


_AGG_WRITES = (
    "import io, numpy as np, pandas as pd\nbuf = io.BytesIO()\ntry:\n"
    "    pd.DataFrame({'a': [1]}).agg(SPEC, 0, buf)\nexcept AssertionError:  # after the write\n"
    "    pass\n'ESCAPED' if buf.getvalue() else None"
)


def _pointer_written(write: str) -> str:
    """``object_at(address)``: ``write`` puts ``address`` into the memory of ``cells``, an
    object array, as raw bytes; its item is then the object there."""
    return (
        "import numpy as np, struct, io\ncells = np.array([None], dtype=object)\n"
        f"def object_at(address):\n    {write}\n    return cells[0]\n" + _OBJECT_AT_CHAIN
    )


#: What a sandbox for ``LIBRARY_ATTACKS`` allows (third-party: the dev extras install them).
LIBRARIES = ["numpy", "pandas", "sympy", "mpmath"]

#: Attacks for a sandbox started with ``allowed_imports=LIBRARIES``.
LIBRARY_ATTACKS: list[tuple[str, str]] = [
    # Process-wide switches no rule had denied (red team round 11, B5, B6): the generator every
    # sympy function draws from, and how every tensor product prints.
    (
        "sympy_random_seed_is_process_wide",
        "import sympy.core.random as r\nr.seed(42)\nfirst = r.random()\nr.seed(42)\n"
        "'ESCAPED' if r.random() == first else None",
    ),
    (
        "sympy_combined_tensor_printing_is_process_wide",
        "import sympy.physics.quantum.tensorproduct as tp\ntp.combined_tensor_printing(True)\n"
        "'ESCAPED' if tp._combined_printing else None",
    ),
    # sympy's sieve hands out real array.array slices, whose item store converts the value
    # after the bounds check (red team round 10, B2; round 5's F0 on a library's array).
    (
        "sympy_sieve_slice_is_a_real_array",
        _SHRINKING_VALUE.replace(
            'import array\na = array.array("q", [0] * 64)', "import sympy\na = sympy.sieve[1:70]"
        ),
    ),
    # A read-only view of a host array could be made writable again (flags.writeable = True):
    # the code gets read-only copies (red team round 9, B1: Polynomial.domain).
    (
        "numpy_host_table_view_made_writable",
        "import numpy as np\nd = np.polynomial.Polynomial.domain\nd.flags.writeable = True\n"
        "d[0] = 7\n'ESCAPED' if np.polynomial.Polynomial.domain[0] == 7 else None",
    ),
    # A Cython method of numpy's (module _cython_3_x, outside the reviewed libraries' names)
    # took attributes for the whole process (B4).
    (
        "numpy_cython_method_attribute",
        "import numpy as np\nnp.random.Generator.integers.note = 'set'\n"
        "'ESCAPED' if getattr(np.random.Generator.integers, 'note', None) == 'set' else None",
    ),
    # A domain's elements are one object each for the process: QQ.one set to 2 made every host
    # rational computation wrong (red team round 8, B3).
    (
        "sympy_domain_element_attribute",
        "import sympy\nsympy.QQ.one.numerator = 2\n'ESCAPED' if str(sympy.QQ.one) == '2' else None",
    ),
    # Printer's class-level settings are every later latex()'s (B5).
    (
        "sympy_printer_global_settings",
        "import sympy\nfrom sympy.printing.latex import LatexPrinter\nx = sympy.Symbol('x')\n"
        "LatexPrinter.set_global_settings(symbol_names={x: 'ESC'})\n"
        "'ESCAPED' if 'ESC' in sympy.latex(x) else None",
    ),
    # A context manager over sympy's global assumptions, entered and never exited (B7: in a
    # generator the code abandons): every later ask() of the process uses them.
    (
        "sympy_assuming_entered_never_exited",
        "import sympy\nx = sympy.Symbol('x')\ncm = sympy.assuming(sympy.Q.positive(x))\n"
        "cm.__enter__()\n'ESCAPED' if sympy.ask(sympy.Q.positive(x)) else None",
    ),
    # np.finfo(t) is cached per type: its eps is the tolerance of every matrix_rank, pinv and
    # lstsq in the process (red team round 7, B1).
    (
        "numpy_cached_finfo_attribute",
        "import numpy as np\nnp.finfo(np.float64).eps = 0.25\n"
        "'ESCAPED' if np.finfo(np.float64).eps == 0.25 else None",
    ),
    # The check read "sum"; pandas' getattr(df, name) hashed the code's str subclass as
    # "_repr_html_" and called that (red team 5, F11: to_pickle wrote a file the same way).
    (
        "pandas_agg_str_subclass_hashes_as_another_method",
        """
import pandas as pd
class Name(str):
    def __hash__(self):
        return hash("_repr_html_")
    def __eq__(self, other):
        return str.__eq__("_repr_html_", other) or str.__eq__(str(self), other)
out = pd.DataFrame({"a": [1, 2]}).agg(Name("sum"))
"ESCAPED" if isinstance(out, str) and out.startswith("<div>") else None
""",
    ),
    # An array's layout set in place under a live iterator or subscript (red team round 6): the
    # iterator keeps the old element size, so a wider dtype writes past the array's bytes.
    (
        "numpy_flatiter_writes_past_an_array_after_dtype_set",
        "import numpy as np\n"
        "base = np.zeros(48, dtype=np.uint8)\n"
        "a = base[:16]\n"
        "it = a.flat\n"
        "a.dtype = np.dtype('S16')\n"
        "it[15] = b'ESCAPED_PAST_END'\n"
        "'E' + bytes(base[16:22]).decode() if base[16] else 'held'  # bytes past a[0:16]",
    ),
    # The other way round: an object array's pointers written as bytes.
    (
        "numpy_object_memory_through_memoryview_cast",
        _pointer_written("cells.data.cast('B')[0:8] = struct.pack('<Q', address)"),
    ),
    (
        "numpy_object_memory_through_struct_pack_into",
        _pointer_written("struct.pack_into('<Q', cells, 0, address)"),
    ),
    (
        "numpy_object_memory_through_struct_method",
        _pointer_written("struct.Struct('<Q').pack_into(cells, 0, address)"),
    ),
    (
        "numpy_object_memory_through_bytesio_readinto",
        _pointer_written("io.BytesIO(struct.pack('<Q', address)).readinto(cells)"),
    ),
    (
        "numpy_object_memory_through_frombuffer",
        _pointer_written("np.frombuffer(cells, dtype='<u8')[0] = address"),
    ),
    (
        "numpy_object_memory_through_ndarray_buffer",
        _pointer_written("np.ndarray((1,), '<u8', buffer=cells)[0] = address"),
    ),
    (
        "numpy_object_memory_through_chararray_buffer",
        _pointer_written(
            "np.char.chararray((1,), itemsize=8, buffer=cells)[0] = struct.pack('<Q', address)"
        ),
    ),
    # Host code storing attributes under names the code chose (namesinks.py): a dunder there is
    # a protocol numpy looks up on the instance, here a pointer to bytes the code picked.
    (
        "sympy_function_keywords_define_array_interface",
        _memory(
            "import sympy\nF = sympy.Function('F', __array_interface__=property(lambda s: IFACE))"
            "\nx = F(1)"
        ),
    ),
    (
        "sympy_function_dict_defines_array_interface",
        _memory(
            "import sympy\nF = sympy.Function('F', __dict__={'__array_interface__': "
            "property(lambda s: IFACE)})\nx = F(1)"
        ),
    ),
    (
        "sympy_symbols_cls_function_keywords_define_array_interface",
        _memory(
            "import sympy\nF = sympy.symbols('F', cls=sympy.Function, "
            "__array_interface__=property(lambda s: IFACE))\nx = F(1)"
        ),
    ),
    (
        "pandas_base_indexer_keywords_define_array_interface",
        _memory("import pandas as pd\nx = pd.api.indexers.BaseIndexer(__array_interface__=IFACE)"),
    ),
    (
        "pandas_series_label_answers_array_interface",
        _memory("import pandas as pd\nx = pd.Series({'__array_interface__': IFACE})"),
    ),
    (
        "numpy_poly1d_copies_an_instance_dict_with_array_interface",
        _memory(
            "import numpy as np\n"
            "class P(np.poly1d):\n    pass\np = P([1, 2])\n"
            "vars(p)['__array_interface__'] = IFACE\nx = np.poly1d(p)"
        ),
    ),
    (
        "sympy_register_handler_adds_a_host_predicate",
        "from sympy.assumptions import Q, ask\nfrom sympy.assumptions.ask import register_handler"
        "\nregister_handler('sb_probe', lambda *a: True)\n"
        "import sympy\n'ESCAPED' if hasattr(sympy.Q, 'sb_probe') else None",
    ),
    # Host metaclasses that register the classes they build (metaclasses.py).
    (
        "sympy_singleton_metaclass_registers_in_the_host_registry",
        "import sympy\nfrom sympy.core.singleton import Singleton\n"
        "class SbProbe(sympy.Expr, metaclass=Singleton):\n    pass\n"
        "'ESCAPED' if hasattr(sympy.S, 'SbProbe') else None",
    ),
    (
        "sympy_option_metaclass_registers_a_host_option",
        "from sympy.polys.polyoptions import Option, OptionType, Options\n"
        "class SbProbe(Option, metaclass=OptionType):\n"
        "    option = 'sb_probe'\n    requires = []\n    excludes = []\n"
        "'ESCAPED' if hasattr(Options, 'sb_probe') else None",
    ),
    (
        "sympy_option_base_brings_its_registering_metaclass",
        "from sympy.polys.polyoptions import Domain, Options\n"
        "class SbDomain(Domain):\n    option = 'sb_probe_domain'\n"
        "'ESCAPED' if hasattr(Options, 'sb_probe_domain') else None",
    ),
    # Host state reached through objects and registries the libraries share.
    (
        "mpmath_host_context_through_a_sympy_float",
        "import sympy\nsympy.Float(1.5).num.context.dps = 3\n"
        "'ESCAPED' if sympy.Float(2.5).num.context.dps == 3 else None",
    ),
    (
        "sympy_singleton_registry_register",
        "import sympy\nsympy.S.register(sympy.core.numbers.Zero)\n'ESCAPED'",
    ),
    (
        "sympy_relational_operator_table",
        "import sympy\nsympy.Rel.ValidRelationOperator['=='] = sympy.StrictLessThan\n"
        "'ESCAPED' if sympy.Rel(1, 2, '==', evaluate=False).func is sympy.StrictLessThan else None",
    ),
    (
        "pandas_eng_float_format_is_process_wide",
        "import pandas as pd\npd.set_eng_float_format(accuracy=1, use_eng_prefix=True)\n"
        "'ESCAPED' if 'k' in pd.DataFrame({'a': [1234.5]}).to_string() else None",
    ),
    (
        "numpy_polynomial_printstyle_is_process_wide",
        "import numpy as np\nnp.polynomial.set_default_printstyle('ascii')\n"
        "'ESCAPED' if '\u00b7' not in str(np.polynomial.Polynomial([1, 2])) else None",
    ),
    (
        "numpy_masked_print_option_is_process_wide",
        "import numpy as np\nnp.ma.masked_print_option.set_display('ESCAPED')\nstr(np.ma.masked)",
    ),
    (  # init_printing is denied; init_vprinting calls it (F13)
        "sympy_init_vprinting_is_process_wide",
        "import sympy\nfrom sympy.physics.vector import init_vprinting\n"
        "init_vprinting(pretty_print=False, order='rev-lex')\nx = sympy.Symbol('x')\n"
        "'ESCAPED' if sympy.sstr(x**2 + x + 1) == '1 + x + x**2' else None",
    ),
    (
        "sympy_pretty_unicode_is_process_wide",
        "from sympy.printing.pretty.pretty_symbology import pretty_use_unicode\n"
        "pretty_use_unicode(False)\n'ESCAPED' if pretty_use_unicode() is False else None",
    ),
    (
        "sympy_quantum_gates_normalization_is_process_wide",
        "from sympy.physics.quantum.gate import normalized, H\nnormalized(False)\n"
        "'ESCAPED' if 'sqrt' not in str(H(0).get_target_matrix()) else None",
    ),
    # Format strings pandas' writers apply with the real str.format to each cell.
    (
        "pandas_to_latex_formatters_read_globals",
        _LATEX_CELLS + "'ESCAPED' if 'posix' in df.to_latex(formatters={'a': _TPL}) else None",
    ),
    (
        "pandas_series_to_latex_formatters_read_globals",
        _LATEX_CELLS + "'ESCAPED' if 'posix' in df.a.to_latex(formatters={'a': _TPL}) else None",
    ),
    (
        "pandas_to_latex_formatter_str_subclass_hides_its_brace",
        _LATEX_CELLS + "class Template(str):\n    def __contains__(self, item):\n"
        "        return False\n"
        "'ESCAPED' if 'posix' in df.to_latex(formatters={'a': Template(_TPL)}) else None",
    ),
    # Names resolved in the caller's frame, when the caller is host code calling back.
    (
        "pandas_eval_called_back_reads_host_globals",
        "import contextlib, pandas as pd\n"
        "sys = contextlib.contextmanager(pd.eval)('sys').gen\n"
        "sys.modules['os'].name.replace('posix', 'ESCAPED')",
    ),
    (
        "pandas_frame_eval_called_back_reads_host_globals",
        "import contextlib, pandas as pd\n"
        "df = pd.DataFrame({'a': [1]})\n"
        "sys = contextlib.contextmanager(df.eval)('@sys').gen\n"
        "sys.modules['os'].name.replace('posix', 'ESCAPED')",
    ),
    (
        "pandas_query_called_back_reads_host_globals",
        "import contextlib, pandas as pd\n"
        "df = pd.DataFrame({'a': [1]})\n"
        "rows = contextlib.contextmanager(df.query)('a < @sys.maxsize').gen  # contextlib's sys\n"
        "'ESCAPED' if len(rows) == 1 else None",
    ),
    (
        "sympy_vring_writes_host_globals",
        "import contextlib, sympy\n"
        "contextlib.contextmanager(sympy.vring)('ESCAPED', sympy.ZZ)\n"
        "str(contextlib.ESCAPED)",
    ),
    # Object dtypes over a buffer: every constructor and every way to reach it.
    (
        "numpy_object_array_over_buffer",
        _object_at("np.ndarray((1,), dtype=object, buffer=cell)[0]"),
    ),
    ("numpy_object_array_by_new", _object_at("np.ndarray.__new__(np.ndarray, (1,), 'O', cell)[0]")),
    ("numpy_object_array_by_type_of_array", _object_at("type(np.zeros(1))((1,), object, cell)[0]")),
    (
        "numpy_object_array_by_subclass_new",
        _object_at(
            "Cells(cell)[0]",
            "class Cells(np.ndarray):\n    def __new__(cls, cell):\n"
            "        return super().__new__(cls, (1,), object, cell)\n",
        ),
    ),
    (
        "numpy_object_array_by_subclass_finalize",
        _object_at(
            "Cells((1,), object, cell).first",
            "class Cells(np.ndarray):\n    def __array_finalize__(self, obj):\n"
            "        self.first = self[0] if self.shape == (1,) else None\n",
        ),
    ),
    (
        "numpy_object_array_by_partial",
        _object_at("functools.partial(np.ndarray, (1,), object)(cell)[0]", "import functools\n"),
    ),
    (
        "numpy_object_array_by_ndarray_alias",
        _object_at("npt.NDArray((1,), object, cell)[0]", "import numpy.typing as npt\n"),
    ),
    (
        "numpy_object_array_by_baseclass",
        _object_at("np.ma.array([1]).baseclass((1,), object, cell)[0]"),
    ),
    (
        "numpy_object_records_over_buffer",
        _object_at("np.recarray((1,), formats=['O'], buf=cell)[0][0]"),
    ),
    (
        "numpy_object_records_by_subclass",
        _object_at(
            "Rows((1,), [('o', object)], cell)[0][0]", "class Rows(np.recarray):\n    pass\n"
        ),
    ),
    (
        "numpy_object_records_fromstring",
        _object_at("np.rec.fromstring(bytes(cell), dtype=[('o', 'O')])[0][0]"),
    ),
    (
        "numpy_object_records_array_of_bytes",
        _object_at("np.rec.array(bytes(cell), dtype=[('o', 'O')])[0][0]"),
    ),
    (
        "numpy_object_masked_records_over_buffer",
        _object_at(
            "mr.MaskedRecords((1,), dtype=[('o', object)], buf=cell).filled()[0][0]",
            "import numpy.ma.mrecords as mr\n",
        ),
    ),
    (
        "pandas_api_typing_json_reader_reads_host_files",
        "import pandas.api.typing as t\n"
        "r = t.JsonReader('/etc/passwd', orient=None, typ='frame', dtype=True, "
        "convert_axes=True, convert_dates=True, keep_default_dates=True, precise_float=False, "
        "date_unit=None, encoding='utf-8', lines=False, chunksize=None, compression='infer', "
        "nrows=None)\n'ESCAPED' if r.data.startswith('root:') else None",
    ),
    (
        "pandas_api_typing_stata_reader_opens_host_files",
        "from pandas.api.typing import StataReader\n"
        "try:\n    StataReader('/etc/passwd').read()\n    result = None\n"
        "except FileNotFoundError:\n    result = None\n"
        "except Exception:  # it opened the file and could not parse it\n"
        "    result = 'ESCAPED'\nresult",
    ),
    # pandas looks a method name up in any list-like of function specs: to_pickle writes.
    (
        "pandas_agg_method_names_in_an_ndarray",
        _AGG_WRITES.replace("SPEC", "np.array(['to_pickle'])"),
    ),
    ("pandas_agg_method_names_in_an_index", _AGG_WRITES.replace("SPEC", "pd.Index(['to_pickle'])")),
    (
        "numpy_mrecords_openfile_reads_host_files",
        "import numpy.ma.mrecords as mr\n"
        "'ESCAPED' if mr.openfile('/etc/passwd').read(5) == 'root:' else None",
    ),
    ("array_interface_class_body", _memory("class X:\n    __array_interface__ = IFACE\nx = X()")),
    (
        "array_interface_property",
        _memory(
            "class X:\n    @property\n    def __array_interface__(self):\n"
            "        return IFACE\nx = X()"
        ),
    ),
    (
        "array_interface_getattr_hook",
        _memory(
            "class X:\n    def __getattr__(self, name):\n"
            "        if name == '__array_interface__':\n            return IFACE\n"
            "        raise AttributeError(name)\nx = X()"
        ),
    ),
    (
        "array_interface_instance_dict",
        _memory("class X:\n    pass\nx = X()\nvars(x)['__array_interface__'] = IFACE"),
    ),
    (
        "array_interface_dict_update",
        _memory("class X:\n    pass\nx = X()\nx.__dict__.update({'__array_interface__': IFACE})"),
    ),
    (
        "array_interface_unbound_dict_update",
        _memory(
            "class X:\n    pass\nx = X()\ndict.update(vars(x), {'__array_interface__': IFACE})"
        ),
    ),
    (
        "array_interface_super_setattr",
        _memory(
            "class X:\n    def poke(self):\n"
            "        super().__setattr__('__array_interface__', IFACE)\nx = X()\nx.poke()"
        ),
    ),
    (
        "array_interface_bound_setattr",
        _memory("class X:\n    pass\nx = X()\nx.__setattr__('__array_interface__', IFACE)"),
    ),
    (
        "array_interface_abcmeta_call",
        _memory("import abc\nX = abc.ABCMeta('X', (), {'__array_interface__': IFACE})\nx = X()"),
    ),
    (
        "array_interface_type_of_abc",
        _memory("import abc\nX = type(abc.ABC)('X', (), {'__array_interface__': IFACE})\nx = X()"),
    ),
    (
        "array_interface_enum_functional",
        _memory(
            "import enum\nE = enum.Enum('E', [('__array_interface__', IFACE), ('A', 1)])\nx = E.A"
        ),
    ),
    (
        "array_interface_enum_via_other_module",
        _memory(
            "import uuid\nE = uuid.Enum('E', [('__array_interface__', IFACE), ('A', 1)])\nx = E.A"
        ),
    ),
    (
        "array_interface_getstate_copy",
        _memory(
            "import copy\nclass X:\n    def __getstate__(self):\n"
            "        return {'__array_interface__': IFACE}\nx = copy.copy(X())"
        ),
    ),
    (
        "array_interface_init_subclass_setattr",
        _memory(
            "class B:\n    def __init_subclass__(cls):\n"
            "        setattr(cls, '__array_interface__', IFACE)\nclass X(B):\n    pass\nx = X()"
        ),
    ),
    (
        "numpy_resize_without_refcheck",
        "import numpy as np\na = np.zeros(10)\nview = a[:]\na.resize(10**6, refcheck=False)\n"
        "view.sum() is not None and 'ESCAPED'",
    ),
    (
        "numpy_global_rng_seed",
        "import numpy as np\nnp.random.seed(12345)\n"
        "np.random.mtrand._rand.get_state()[1][0] == 12345 and 'ESCAPED'",
    ),
    ("numpy_save_load", 'import numpy as np\nnp.save("/tmp/x.npy", np.arange(3))\n"ESCAPED"'),
    (
        "numpy_load_pickle",
        """
import numpy as np
np.save("/tmp/sandbox-attack.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
np.load("/tmp/sandbox-attack.npy", allow_pickle=True)[0]["a"] == 1 and "ESCAPED"
""",
    ),
    (
        "numpy_fromfile",
        'import numpy as np\nnp.fromfile("/etc/hostname", dtype="u1").size and "ESCAPED"',
    ),
    ("numpy_tofile", 'import numpy as np\nnp.arange(3).tofile("/tmp/sandbox-x.bin")\n"ESCAPED"'),
    ("numpy_ctypes", 'import numpy as np\nnp.arange(3).ctypes.data and "ESCAPED"'),
    ("numpy_ctypeslib", 'import numpy.ctypeslib\n"ESCAPED"'),
    (
        "numpy_as_strided",
        "import numpy as np\n"
        'np.lib.stride_tricks.as_strided(np.zeros(1), (16,), (8,)).size and "ESCAPED"',
    ),
    ("numpy_lib_format", 'from numpy.lib import format\nformat.open_memmap and "ESCAPED"'),
    ("numpy_testing", 'import numpy as np\nnp.testing and "ESCAPED"'),
    (
        "numpy_loadtxt",
        'import numpy as np\nnp.loadtxt("/etc/hostname", dtype=str).size and "ESCAPED"',
    ),
    ("numpy_memmap", 'import numpy as np\nnp.memmap("/etc/hostname", mode="r").size and "ESCAPED"'),
    ("numpy_core_internals", 'import numpy as np\nnp.core.multiarray and "ESCAPED"'),
    ("numpy_private_core", 'import numpy as np\nnp._core.multiarray and "ESCAPED"'),
    (
        "numpy_ma_core_builtins",
        'import numpy as np\nnp.ma.core.builtins.open("/etc/hostname").read() and "ESCAPED"',
    ),
    (
        "numpy_ma_core_inspect",
        'import numpy.ma.core\nnumpy.ma.core.inspect.sys.modules["os"].getpid() and "ESCAPED"',
    ),
    # pandas and sympy evaluate strings as code, and lend their methods to subclasses
    ("sympy_sympify_eval", f"import sympy\nsympy.sympify({_OSNAME!r})"),
    ("sympy_S_eval", f"import sympy\nsympy.S({_OSNAME!r})"),
    ("sympy_sympify_unevaluated", f"import sympy\nsympy.sympify({_OSNAME!r}, evaluate=False)"),
    ("sympy_builtin_eval_in_string", "import sympy\nsympy.sympify(\"eval('1') and 'ESCAPED'\")"),
    ("sympy_sympify_inside_a_list", f"import sympy\nsympy.sympify([{_OSNAME!r}])[0]"),
    (
        "pandas_eval_function_globals",
        "import pandas as pd\n"
        "df = pd.DataFrame({'a': [1]})\n"
        "g = df.eval('a.__class__.__init__.__globals__')\n"
        "'ESCAPED' if 'np' in g else None",
    ),
    (
        "pandas_eval_unbound",
        "import pandas as pd\n"
        "df = pd.DataFrame({'a': [1]})\n"
        "g = pd.DataFrame.eval(df, 'a.__class__.__init__.__globals__')\n"
        "'ESCAPED' if 'np' in g else None",
    ),
    (
        "pandas_top_level_eval_subclasses",
        "import pandas as pd\n"
        "'ESCAPED' if len(pd.eval('(1).__class__.__base__.__subclasses__()')) > 50 else None",
    ),
    (
        "pandas_eval_imported_by_name",
        "from pandas import eval as ev\n"
        "'ESCAPED' if len(ev('(1).__class__.__base__.__subclasses__()')) > 50 else None",
    ),
    (
        "pandas_query_globals",
        "import pandas as pd\n"
        "df = pd.DataFrame({'a': [1, 2]})\n"
        "r = df.query(\"a.__class__.__init__.__globals__['np'].ones(2) == 1\")\n"
        "'ESCAPED' if len(r) == 2 else None",
    ),
    (
        "pandas_agg_getattribute",
        "import pandas as pd\n"
        "'ESCAPED' if pd.Series([1]).agg('__getattribute__', 0, '_mgr') is not None else None",
    ),
    (
        "pandas_styler_jinja",
        "import pandas as pd\n"
        "env = type(pd.DataFrame().style).env\n"
        "t = \"{{ cycler.__init__.__globals__.os.name.replace('posix', 'ESCAPED') }}\"\n"
        "env.from_string(t).render()",
    ),
    (
        "pandas_own_subclass_writes_files",
        "import pandas as pd\n"
        "class D(pd.DataFrame):\n"
        "    pass\n"
        "D({'a': [1]}).to_csv('codeact_escape.csv')\n"
        "'ESCAPED'",
    ),
    (
        "pandas_register_accessor",
        "import pandas as pd\n"
        "class Acc:\n"
        "    def __init__(self, obj):\n"
        "        self.obj = obj\n"
        "pd.api.extensions.register_dataframe_accessor('pwn')(Acc)\n"
        "'ESCAPED' if hasattr(pd.DataFrame({'a': [1]}), 'pwn') else None",
    ),
    (
        "pandas_eval_writes_files",
        "import pandas as pd\n"
        "pd.DataFrame({'a': [1]}).eval(\"a.to_csv('codeact_escape_eval.csv')\")\n"
        "'ESCAPED'",
    ),
    (
        "pandas_agg_by_name_writes_files",
        "import pandas as pd\n"
        "try:\n"
        "    pd.Series([1]).agg('to_csv', 0, 'codeact_escape_agg.csv')\n"
        "except AssertionError:\n"
        "    pass\n"
        "open('codeact_escape_agg.csv').read() and 'ESCAPED'",
    ),
    (
        "pandas_eval_reads_raw_memory",
        "import pandas as pd\npd.DataFrame({'a': [1]}).eval('a.values.ctypes.data') and 'ESCAPED'",
    ),
    (
        "numpy_own_subclass_writes_files",
        "import numpy as np\n"
        "class A(np.ndarray):\n"
        "    pass\n"
        "np.zeros(2).view(A).tofile('codeact_escape.bin')\n"
        "'ESCAPED'",
    ),
    (
        "pandas_test_suite_file_helper",
        "import pandas.tests.series.methods.test_to_csv as t\n"
        "with t.get_handle('codeact_escape_tests.txt', 'w') as h:\n"
        "    h.handle.write('ESCAPED')\n"
        "with t.get_handle('codeact_escape_tests.txt', 'r') as h:\n"
        "    text = h.handle.read()\n"
        "text",
    ),
    (
        "sympy_reexported_import_module",
        "import sympy.core.cache as c\nc.import_module('os').name.replace('posix', 'ESCAPED')",
    ),
    (
        "sympy_reexported_pathlib",
        "import sympy.logic.utilities.dimacs as d\n"
        "d.Path('codeact_escape_path.txt').write_text('ESCAPED')\n"
        "d.Path('codeact_escape_path.txt').read_text()",
    ),
    (
        "sympy_saved_host_stdout",
        "import sympy.strategies.core as c\n'ESCAPED' if c.stdout.fileno() >= 0 else None",
    ),
    (
        "sympy_dimacs_load_file",
        "import sympy.logic.utilities.dimacs as d\n"
        "try:\n"
        "    d.load_file('/nonexistent-codeact')\n"
        "except FileNotFoundError:\n"
        "    print('ESCAPED')",
    ),
    (
        "sympy_read_qasm_file",
        "import sympy.physics.quantum.qasm as q\n"
        "try:\n"
        "    q.read_qasm_file('/nonexistent-codeact')\n"
        "except FileNotFoundError:\n"
        "    print('ESCAPED')",
    ),
    (
        "pandas_option_context_left_entered",
        "import pandas as pd\n"
        "cm = pd.option_context('display.max_rows', 3)\n"
        "cm.__enter__()\n"
        "'ESCAPED' if pd.get_option('display.max_rows') == 3 else None",
    ),
    # Libraries that eval strings, unpickle, import by name, walk frames or keep callbacks.
    (
        "cython_function_globals",
        """
import numpy as np
b = np.random.default_rng.func_globals["__builtins__"]
run, found = (b["exec"] if isinstance(b, dict) else getattr(b, "exec")), {}
run(UNGUARDED, found)  # the real exec: no guard on any attribute
found["escaped"]
""".replace("UNGUARDED", repr(_UNGUARDED)),
    ),
    (
        "cython_fused_function_globals_by_getattr",
        """
import pandas.core.frame as f
b = getattr(f.duplicated, "func_" + "globals")["__builtins__"]
run, found = (b["exec"] if isinstance(b, dict) else getattr(b, "exec")), {}
run(UNGUARDED, found)  # the real exec: no guard on any attribute
found["escaped"]
""".replace("UNGUARDED", repr(_UNGUARDED)),
    ),
    (
        "pandas_eval_level_reads_host_frames",
        """
import pandas as pd
df = pd.DataFrame({"a": [1]})
found = None
for level in range(1, 12):
    try:
        found = df.eval("@self", level=level)
    except Exception:
        continue
    if type(found).__name__ == "Runner":
        break
"ESCAPED" if type(found).__name__ == "Runner" else None
""",
    ),
    (
        "pandas_query_level_reads_host_frames",
        """
import pandas as pd
df = pd.DataFrame({"a": [1]})
names = []
for level in range(1, 12):
    try:
        df.query("a == @self", level=level)
    except Exception as e:
        names.append(type(e).__name__)
    else:
        names.append("found")
"ESCAPED" if "found" in names else None
""",
    ),
    (
        "pandas_pickle_compat_loads",
        'import pandas as pd\npd.compat.pickle_compat.loads(b"cbuiltins\\neval\\n(V'
        "__import__('os').name.replace('posix','ESCAPED')\\ntR.\")",
    ),
    (
        "pandas_reexported_import_optional_dependency",
        "import pandas.core.frame as f\n"
        "f.import_optional_dependency('os').name.replace('posix', 'ESCAPED')",
    ),
    (
        "sympy_lazy_function_imports_anything",
        "import sympy.core.cache as c\nc.lazy_function('os', 'getcwd')() and 'ESCAPED'",
    ),
    (
        "sympy_var_through_a_host_frame",
        """
import sympy, pandas as pd
import pandas.core.algorithms as alg
pd.Series(["np"]).apply(sympy.var)  # sympy writes into the calling frame's globals: pandas'
"ESCAPED" if type(alg.np).__name__ == "Symbol" else None
""",
    ),
    (
        "sympy_host_singledispatch_register",
        'import sympy\nsympy.shape.register(int)(lambda x: "ESCAPED")\nsympy.shape(1)',
    ),
    (
        "sympy_dispatch_global_registry",
        """
from sympy import Eq, Integer
from sympy.multipledispatch import dispatch
@dispatch(Integer, Integer)
def _eval_is_eq(lhs, rhs):
    return True
"ESCAPED" if Eq(Integer(1), Integer(2)) == True else None
""",
    ),
    (
        "sympy_dispatcher_registry_add",
        """
from sympy import Interval, FiniteSet
import sympy.sets.handlers.union as u
u.union_sets.add((Interval, FiniteSet), lambda a, b: FiniteSet(99))
"ESCAPED" if Interval(0, 1).union(FiniteSet(5)) == FiniteSet(99) else None
""",
    ),
    (
        "mpmath_identify_evals_with_real_builtins",
        """
import mpmath
try:
    mpmath.identify(1, ["int(__import__('os').name.replace('posix', 'ESCAPED'))"])
except ValueError as e:
    print(e)
""",
    ),
    # The function mpmath.identify is replaced, but every context has it as a method (F8): the
    # sandbox's own mp, the host's fp, the class's function.
    *[
        (
            f"mpmath_{name}_identify_evals_with_real_builtins",
            f"import mpmath\ntry:\n    {call}1, [\"int(__import__('os').name.replace('posix', "
            "'ESCAPED'))\"])\nexcept ValueError as e:\n    print(e)",
        )
        for name, call in (
            ("context", "mpmath.mp.identify("),
            ("host_fp_context", "getattr(mpmath.fp, 'identify')("),
            ("context_class", "type(mpmath.mp).identify(mpmath.mp, "),
        )
    ],
    # lambdify is denied, but nsolve runs it: the printer pastes what the code named into the
    # source lambdify execs with the real builtins (F12).
    (
        "sympy_nsolve_execs_a_function_name",
        "import sympy\nx = sympy.Symbol('x')\nF = sympy.Function(\"(lambda *a: int(__import__("
        "'os').name.replace('posix', 'ESCAPED')))\")\ntry:\n    sympy.nsolve(F(x) - x, x, 1)\n"
        "except ValueError as e:\n    print(e)",
    ),
    (
        "sympy_nsolve_execs_a_print_method",
        """
import sympy
class F(sympy.Function):
    def _mpmathcode(self, printer):
        return "int(__import__('os').name.replace('posix', 'ESCAPED'))"
x = sympy.Symbol('x')
try:
    sympy.nsolve(F(x) - x, x, 1)
except ValueError as e:
    print(e)
""",
    ),
    (
        "pandas_to_xml_writes_files",
        "import pandas as pd\n"
        "pd.DataFrame({'a': [1]}).to_xml(path_or_buffer='codeact_escape.xml', parser='etree')\n"
        "'ESCAPED'",
    ),
    # Libraries that write into their caller's namespace (sympy.var, any name, any Basic or
    # FunctionClass object) must not be able to replace what the compiled code calls.
    (
        "sympy_var_replaces_the_timeout_guard",
        """
import sympy
class Nop(sympy.Symbol):
    def __call__(self, *args):
        return None
sympy.var("__sb_reraise__", cls=Nop)
try:
    final_answer("caught")
except BaseException:
    print("ESCAPED")
""",
    ),
    (
        "sympy_var_replaces_the_write_guard",
        """
import json, sympy
class Same(sympy.Symbol):
    def __call__(self, obj, name):
        return obj
sympy.var("__sb_write__", cls=Same)
json.JSONEncoder.item_separator = "ESCAPED"
print(json.dumps([1, 2]))
""",
    ),
    (
        "sympy_var_replaces_the_pattern_guard",
        """
import sympy
class Same(sympy.Symbol):
    def __call__(self, cls):
        return cls
sympy.var("__sb_matchcls__", cls=Same)
"""
        + _walk_frames(_CLASS_BODY_READER),
    ),
    (
        "sympy_global_evaluate_off",
        "import sympy\n"
        "cm = sympy.evaluate(False)\n"
        "cm.__enter__()\n"
        "'ESCAPED' if str(sympy.Integer(1) + 1) == '1 + 1' else None",
    ),
    (
        "sympy_global_mpmath_precision",
        "import sympy.core.evalf as e\n"
        "cm = e.workprec(10)\n"
        "cm.__enter__()\n"
        "'ESCAPED' if e.mp.prec == 10 else None",
    ),
    # Arrayterator.__getattr__ is getattr(self.var, name), and an own subclass sets var.
    (
        "numpy_arrayterator_subclass_getattr_reads_dunders",
        "import numpy as np, json\n"
        "class Door(np.lib.Arrayterator):\n    pass\n"
        "door = Door(np.zeros(1))\n"
        "door.var = json.dumps\n"
        "g = door.__getattr__('__globals__')\n"
        "'ESCAPED' if g['codecs'].sys.modules['os'].getpid() else None",
    ),
    # pandas' internals trust their arguments: take_nd reads past the array (any address with a
    # far index), buffer_to_ndarray builds an array over any address, lapack_lite runs LAPACK
    # with the code's sizes (a heap overflow). Only the public submodules open.
    (
        "pandas_take_nd_reads_past_the_array",
        "from pandas.core.array_algos.take import take_nd\nimport numpy as np\n"
        "past_the_end = take_nd(np.arange(1), np.array([1], dtype=np.intp))\n'ESCAPED'",
    ),
    (
        "pandas_take_nd_as_an_attribute",
        "import pandas as pd, numpy as np\n"
        "take_nd = pd.core.array_algos.take.take_nd\n"
        "take_nd(np.arange(1), np.array([1], dtype=np.intp))\n'ESCAPED'",
    ),
    (
        "pandas_interchange_buffer_over_any_address",
        """
from pandas.core.interchange.from_dataframe import buffer_to_ndarray
from pandas.core.interchange.dataframe_protocol import DtypeKind
class Buf:
    def __init__(self, ptr, size):
        self.ptr, self.bufsize = ptr, size
held = object()
words = buffer_to_ndarray(Buf(id(held), 8), (DtypeKind.UINT, 64, "L", "="), length=1)
"ESCAPED" if int(words[0]) >= 1 else None  # held's reference count, read from its memory
""",
    ),
    (
        "numpy_lapack_lite_unchecked_sizes",
        "import numpy as np\nfrom numpy.linalg import lapack_lite\n"
        "lapack_lite.dgeqrf(4000, 4000, np.ones(4), 4000, np.zeros(1), np.zeros(1), -1, 0)\n"
        "'ESCAPED'",
    ),
    # sympy's cache registry is the host's: its clear_cache() follows each entry's __wrapped__
    # (an entry of the code's whose __wrapped__ is itself hangs the host).
    (
        "sympy_cache_registry_takes_the_codes_object",
        "from sympy.core.cache import CACHE\nclass Loop:\n    pass\nloop = Loop()\n"
        "CACHE.append(loop)\n'ESCAPED' if CACHE[-1] is loop else None",
    ),
    # Host state in containers the libraries keep at module and class level, and the functions
    # that write it (red team round 4, a01-a14): each changes what the host's own calls answer.
    (
        "sympy_global_assumptions_set_subclass",
        "import sympy\nfrom sympy.assumptions import global_assumptions\n"
        "x = sympy.Symbol('x_a01')\nglobal_assumptions.add(sympy.Q.positive(x))\n"
        "'ESCAPED' if sympy.ask(sympy.Q.positive(x)) else None",
    ),
    (
        "sympy_fancysets_defaultdict_table",
        "import sympy\nfrom sympy.sets.fancysets import tfn\n"
        "tfn[True] = sympy.S.false\ntfn[sympy.S.true] = sympy.S.false\n"
        "'ESCAPED' if sympy.Range(5).contains(2) == sympy.S.false else None",
    ),
    (
        "sympy_default_assumptions_dict_subclass",
        "import sympy\nsympy.Add.default_assumptions['zero'] = True\n"
        "'ESCAPED' if sympy.Add.default_assumptions.get('zero') is True "
        "and (sympy.Symbol('y_a03') + 1).is_zero else None",
    ),
    (
        "sympy_predicate_handler_dispatcher_add",
        """
import sympy
def yes(expr, assumptions):
    return True
sympy.Q.positive.handler.add((sympy.Symbol,), yes)
"ESCAPED" if sympy.ask(sympy.Q.positive(sympy.Symbol("x_a04"))) else None
""",
    ),
    (
        "sympy_predicate_handler_dispatcher_funcs",
        """
import sympy
def yes(expr, assumptions):
    return True
sympy.Q.positive.handler.funcs[(sympy.Symbol,)] = yes
"ESCAPED" if sympy.ask(sympy.Q.positive(sympy.Symbol("x_a04b"))) else None
""",
    ),
    (
        "sympy_predicate_handler_dispatcher_register",
        """
import sympy
@sympy.Q.positive.handler.register(sympy.Symbol)
def yes(expr, assumptions):
    return True
"ESCAPED" if sympy.ask(sympy.Q.positive(sympy.Symbol("x_a04c"))) else None
""",
    ),
    (
        "sympy_class_fact_registry_multiregister",
        """
import sympy
from sympy.assumptions.sathandlers import class_fact_registry
def facts(expr):
    return {sympy.Q.positive(expr)}
class_fact_registry.multiregister(sympy.Symbol)(facts)
"ESCAPED" if sympy.ask(sympy.Q.positive(sympy.Symbol("x_sat"))) else None
""",
    ),
    (
        "sympy_class_fact_registry_table_item_store",
        "import sympy\nfrom sympy.assumptions.sathandlers import class_fact_registry as r\n"
        "before = len(r.singlefacts[sympy.Mul])\n"
        "r.singlefacts[sympy.Mul] = r.singlefacts[sympy.Mul] | frozenset([len])\n"
        "'ESCAPED' if len(r.singlefacts[sympy.Mul]) > before else None",
    ),
    (
        "numpy_function_annotations_of_a_dispatcher",
        "import numpy as np\nnp.sum.__annotations__['ESCAPED'] = 1\n"
        "'ESCAPED' if 'ESCAPED' in np.sum.__annotations__ else None",
    ),
    (
        "sympy_add_dispatch_register_handlerclass",
        """
import sympy
from sympy.core.add import add
class Mine(sympy.Expr):
    pass
add.register_handlerclass((sympy.Add, Mine), Mine)  # host add() of an Add and a Mine: Mine's
"ESCAPED" if add.dispatch(frozenset({sympy.Add, Mine})) is Mine else None
""",
    ),
    (
        "sympy_polyconfig_setup_is_process_wide",
        "import sympy\nfrom sympy.polys import polyconfig\n"
        "polyconfig.setup('GF_FACTOR_METHOD', 'none')\nx = sympy.Symbol('x')\n"
        "try:\n    sympy.factor(x**2 + 1, modulus=5)\nexcept KeyError:\n    print('ESCAPED')",
    ),
    (
        "sympy_seterr_is_process_wide",
        "import sympy\nfrom sympy.core.numbers import seterr\nseterr(divide=True)\n"
        "try:\n    sympy.S.Zero / sympy.S.Zero\nexcept ValueError:\n    print('ESCAPED')",
    ),
    (
        "sympy_units_global_scale_factor_is_process_wide",
        "from sympy.physics import units\n"
        "units.kilometer.set_global_relative_scale_factor(7, units.meter)\n"
        "'ESCAPED' if units.convert_to(units.kilometer, units.meter) == 7 * units.meter else None",
    ),
    (
        "sympy_unit_system_quantity_table_is_process_wide",
        "from sympy.physics import units\nfrom sympy.physics.units.systems.si import SI\n"
        "SI.set_quantity_scale_factor(units.kilometer, 7 * units.meter)\n"
        "'ESCAPED' if SI.get_quantity_scale_factor(units.kilometer) == 7 else None",
    ),
    (
        "sympy_tensor_manager_commutation_is_process_wide",
        "from sympy.tensor.tensor import TensorManager\nTensorManager.set_comm(0, 1, 1)\n"
        "'ESCAPED' if TensorManager.get_comm(0, 1) == 1 else None",
    ),
    (
        "numpy_polynomial_class_domain_array",
        "import numpy as np\nnp.polynomial.Polynomial.domain[:] = [5, 7]\n"
        "'ESCAPED' if np.polynomial.Polynomial([0, 1])(6) != 6 else None",
    ),
]

#: Code that leaves something for the host to run after the cell, outside its time limit: a
#: finaliser, a callback a library keeps, a key in a host cache, a tool argument kept alive.
#: The sandbox is started with the tool ``mark``; an attack works when ``mark("ESCAPED")`` is
#: called after the cell, once ``after_cell`` has done what a host does later (collect garbage,
#: use its caches, look at what its tools were given) and the sandbox was closed.
AFTER_CELL: list[tuple[str, str]] = [
    # An instance of a functools.partial subclass of the code's bound to a dunder: host C code
    # the host calls later, when typing's cache (or struct's) compares keys.
    (
        "partial_subclass_eq_in_host_cache",
        """
import functools, itertools, typing
class Later(functools.partial):
    pass
try:
    class Key:
        def __call__(self):  # typing takes any callable for a type
            pass
        __hash__ = Later(hash, int)
        __eq__ = Later(next, map(mark, itertools.repeat("ESCAPED")))  # marks, then None
    typing.Optional[Key()]
except TypeError:
    pass
""",
    ),
    # Host callables (the tool itself, partials, a generator's step) where the host calls them
    # later: ExitStack callbacks and closing() in an abandoned generator, a host finaliser
    # calling close, a dunder of the code's class.
    (
        "exit_stack_host_callback_in_abandoned_generator",
        """
import contextlib
def steps():
    with contextlib.ExitStack() as stack:
        stack.callback(mark, "ESCAPED")
        yield 1
left = steps()
next(left)
""",
    ),
    (
        "closing_calls_a_host_callable_in_abandoned_generator",
        """
import contextlib, functools
class Thing:
    pass
thing = Thing()
thing.close = functools.partial(mark, "ESCAPED")
def steps():
    with contextlib.closing(thing):
        yield 1
left = steps()
next(left)
""",
    ),
    (
        "io_subclass_close_is_a_host_callable",
        """
import io, functools
class Log(io.StringIO):
    close = functools.partial(mark, "ESCAPED")
log = Log()
log.me = log
del log
""",
    ),
    (
        "io_subclass_instance_close_is_a_host_callable",
        """
import io, functools
class Log(io.StringIO):
    pass
log = Log()
log.close = functools.partial(mark, "ESCAPED")
log.me = log
del log
""",
    ),
    (
        "io_subclass_close_is_a_generator_step",
        """
import io
class Log(io.StringIO):
    close = (mark("ESCAPED") for _ in [1]).__next__  # the code's loop, with no check
log = Log()
log.me = log
del log
""",
    ),
    (
        "io_subclass_close_at_collection",
        """
import io
class Log(io.StringIO):
    def close(self):
        mark("ESCAPED")
log = Log()
log.me = log  # a cycle: only the garbage collector frees it, and it calls close()
del log
""",
    ),
    (
        "exit_stack_callback_in_abandoned_generator",
        """
import contextlib
def report():
    mark("ESCAPED")
def steps():
    with contextlib.ExitStack() as stack:
        stack.callback(report)
        yield 1
        yield 2
left = steps()
next(left)  # suspended inside the with: closing it later runs the stack's callbacks
""",
    ),
    (
        "generator_finally_after_close",
        """
def steps():
    try:
        yield 1
    finally:
        mark("ESCAPED")
left = steps()
next(left)
""",
    ),
    (
        "host_cache_calls_eq_later",
        """
import typing
class Key:
    def __call__(self):  # typing takes any callable for a type
        pass
    def __hash__(self):
        return hash(int)
    def __eq__(self, other):
        mark("ESCAPED")
        return False
typing.Optional[Key()]  # cached by typing, compared with the host's own keys later
""",
    ),
    (
        "tool_keeps_the_codes_object",
        """
class Shout:
    def __repr__(self):
        mark("ESCAPED")
        return "Shout()"
mark(Shout())  # a tool that logs its arguments later would run Shout.__repr__
""",
    ),
    (
        "resumed_generator_after_cell",
        """
def steps():
    yield 1
    mark("ESCAPED")
    yield 2
left = steps()
next(left)
mark(left)  # a tool that keeps what it gets and iterates it later
""",
    ),
]


def after_cell(received: list[Any]) -> None:
    """What a host does after a cell, where what the code left behind would run: collect
    garbage, look up its typing cache, show and iterate the values its tools were given."""
    import gc
    import typing

    gc.collect()
    typing.Optional[int]  # noqa: UP045 (the spelling that reaches the cache)
    for value in received:
        repr(value)
        if hasattr(value, "__next__"):
            next(value, None)


#: Library calls that write to ``sys.stdout``/``sys.stderr`` (or a stream they kept from import
#: time) instead of where ``print`` goes. Run with ``allowed_imports=LIBRARIES``; an attack works
#: when ``ESCAPED`` reaches the host's own stdout or stderr (the user's terminal under ``inline``,
#: the protocol's stream in a worker).
HOST_OUTPUT: list[tuple[str, str]] = [
    ("pandas_info", "import pandas as pd\npd.DataFrame({'ESCAPED': [1]}).info()"),
    (
        "sympy_vprint",
        "import sympy\nfrom sympy.physics.vector import vprint\nvprint(sympy.Symbol('ESCAPED'))",
    ),
    (
        "sympy_strategies_debug_kept_stream",
        "import sympy, sympy.strategies as st\nst.debug(lambda e: e + 1)(sympy.Symbol('ESCAPED'))",
    ),
    (
        "unraisable_error_of_a_generator",  # printed by sys.unraisablehook, to sys.stderr
        """
def steps():
    try:
        yield 1
    finally:
        raise ValueError("ESCAPED")
left = steps()
next(left)
del left
""",
    ),
]


#: C calls that never return to the interpreter for minutes, so no interrupt reaches them: the
#: host hangs where it cannot kill a worker (``inline``). An attack works when a run with a
#: 0.5 s time limit has not returned after 3 s. ``local`` and ``docker`` kill the worker
#: instead (their tests); the inline sandbox refuses these calls by their arguments.
UNINTERRUPTIBLE: list[tuple[str, str]] = [
    ("huge_power_operator", "10**10**8"),
    ("huge_power_of_a_variable", "n = 10**8\n7**n"),
    ("huge_power_builtin", "pow(7, 10**9)"),
    ("huge_power_in_place", "x = 10\nx **= 10**8"),
    ("huge_modular_power", "pow(3, 2**60000, 2**60000 + 1)"),
    ("huge_fraction_power", "from fractions import Fraction\nFraction(3, 2) ** 10**8"),
    ("huge_factorial", "import math\nmath.factorial(10**7)"),
    ("huge_binomial", "import math\nmath.comb(10**7, 5 * 10**6)"),
    ("huge_pbkdf2", "import hashlib\nhashlib.pbkdf2_hmac('sha256', b'p', b's', 10**9)"),
    ("huge_scrypt", "import hashlib\nhashlib.scrypt(b'p', salt=b's', n=2**14, r=8, p=2**12)"),
]


#: Code that abuses the worker itself from inside (its channel, fd 3 of the cell process; the
#: supervisor; threads and processes left behind), run unrestricted where the container is the
#: boundary (``docker``). Each entry is (id, code, error): the run must return promptly, ``error``
#: a fragment of its error (``None``: no error, and the sandbox's variables are kept), and
#: ``FORGED`` must reach the host neither from this run nor from the next, which must work. An
#: attack works when the run raises or hangs, when ``FORGED`` gets through, or when the next
#: run fails.
_NEXT_RUN_ID = """
import json, os, sys, threading, time
frame = sys._getframe()
while frame.f_code.co_name != "serve_cells":  # the worker's loop knows this run's id
    frame = frame.f_back
forged = {"op": "done", "id": frame.f_locals["message"]["id"] + 1, "stdout": "FORGED\\n",
          "value": "FORGED", "error": None, "is_final": True, "final_answer": "FORGED"}
def answer_the_next_run():
    time.sleep(1)  # this run is over and the next one is pending by now
    os.write(3, (json.dumps(forged) + "\\n").encode())
"""
WORKER_ABUSE: list[tuple[str, str, str | None]] = [
    (
        "line_over_the_hosts_cap",  # the supervisor forwards it; the host stops reading at 8 MB
        "import json, os, time\n"
        "done = {'op': 'done', 'id': 0, 'stdout': 'FORGED' * (2 << 20), 'error': None}\n"
        "os.write(3, (json.dumps(done) + '\\n').encode())\n"
        "time.sleep(3)",
        "longer than",
    ),
    (
        # Ends at the run's deadline: as a tool result the host cannot send ('made tool calls
        # without taking their results'), or as a timeout when the worker's channel clogs first.
        "tool_calls_whose_results_are_never_read",
        "import os\n"
        'call = b\'{"op":"tool_call","id":1,"name":"lookup","args":["k"],"kwargs":{}}\\n\'\n'
        "while True:\n"
        "    os.write(3, call * 1000)",
        "was restarted",
    ),
    (
        "thread_left_behind_answers_the_next_run",
        _NEXT_RUN_ID + "threading.Thread(target=answer_the_next_run, daemon=True).start()",
        "left 1 thread running",
    ),
    (
        "process_left_behind_answers_the_next_run",
        _NEXT_RUN_ID + "if os.fork() == 0:\n    answer_the_next_run()\n    os._exit(0)",
        None,
    ),
    (
        "signals_to_the_supervisor",  # pid 1: SIGINT would be a KeyboardInterrupt there
        "import os, signal, time\n"
        "for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):\n"
        "    os.kill(1, sig)\n"
        "time.sleep(0.5)",
        None,
    ),
]
