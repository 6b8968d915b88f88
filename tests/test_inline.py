"""The ``inline`` backend: restricted execution in this process, through ``make_sandbox``."""

from __future__ import annotations

import asyncio
import gc
import json
import random
import secrets
import subprocess
import sys
import textwrap
import threading
import time
import weakref
from collections.abc import Iterator

import pytest
from attacks import BENIGN

from sandboxes import Execution, make_sandbox
from sandboxes.base import Sandbox
from sandboxes.policy.control import OutsideCellError


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with make_sandbox("inline", timeout=5) as sandbox:
        yield sandbox


def _json(value: object) -> object:
    """Tuples become lists, as they would after crossing as JSON."""
    return json.loads(json.dumps(value))


@pytest.mark.parametrize("code, expected", [c[1:] for c in BENIGN], ids=[c[0] for c in BENIGN])
def test_ordinary_python_runs_unchanged(sb: Sandbox, code: str, expected: object) -> None:
    ex = sb.run(code)
    assert ex.error is None
    assert _json(ex.value) == expected


def test_print_is_captured(sb: Sandbox) -> None:
    ex = sb.run("print('a', 1)\nprint('b', end='')\nprint('c', file=None, flush=True)")
    assert ex.stdout == "a 1\nbc\n"
    assert ex.value is None


def test_value_is_the_last_expression_only(sb: Sandbox) -> None:
    assert sb.run("x = 2\nx * 21").value == 42
    assert sb.run("y = 3").value is None
    assert sb.run("if True:\n    5").value is None


def test_error_names_type_message_and_the_agents_line(sb: Sandbox) -> None:
    ex = sb.run("x = 1\ny = x / 0\nprint('never')")
    assert ex.error == "ZeroDivisionError: division by zero\n  at line 2: y = x / 0"
    assert ex.stdout == ""


def test_error_points_at_the_deepest_line_of_the_agents_code(sb: Sandbox) -> None:
    ex = sb.run("def f(n):\n    return 10 // n\n\nf(0)")
    assert (
        ex.error
        == "ZeroDivisionError: integer division or modulo by zero\n  at line 2: return 10 // n"
    )


def test_syntax_error_is_an_error_not_an_exception(sb: Sandbox) -> None:
    ex = sb.run("x = (1,")
    assert ex.error == "SyntaxError: '(' was never closed\n  at line 1: x = (1,"


def test_policy_violation_is_a_syntax_error_saying_why(sb: Sandbox) -> None:
    ex = sb.run("ok = 1\n(lambda: 0).__globals__")
    assert ex.error == (
        "SyntaxError: access to '__globals__' is not allowed in the sandbox: it exposes a "
        "function's globals or builtins, i.e. the whole host\n  at line 2: (lambda: 0).__globals__"
    )


def test_final_answer_stops_the_cell(sb: Sandbox) -> None:
    ex = sb.run("print('before')\nfinal_answer(7)\nprint('after')")
    assert (ex.is_final, ex.final_answer, ex.error) == (True, 7, None)
    assert ex.stdout == "before\n"


def test_final_answer_from_a_nested_function(sb: Sandbox) -> None:
    code = "def outer():\n    def inner():\n        final_answer({'k': [1]})\n    inner()\nouter()"
    ex = sb.run(code)
    assert (ex.is_final, ex.final_answer) == (True, {"k": [1]})


def test_final_answer_is_not_swallowed_by_except_exception(sb: Sandbox) -> None:
    ex = sb.run("try:\n    final_answer(3)\nexcept Exception:\n    print('caught')")
    assert (ex.is_final, ex.final_answer, ex.stdout) == (True, 3, "")


def test_final_answer_is_not_swallowed_by_except_base_exception(sb: Sandbox) -> None:
    ex = sb.run("try:\n    final_answer(4)\nexcept BaseException:\n    print('caught')")
    assert (ex.is_final, ex.final_answer, ex.stdout) == (True, 4, "")


def test_variables_persist_between_runs(sb: Sandbox) -> None:
    sb.run("import math\ncounter = 1\ndef bump():\n    global counter\n    counter += 1")
    sb.run("bump()")
    assert sb.run("counter, math.floor(2.5)").value == (2, 2)  # data, as every backend gives


def test_output_is_capped_with_a_visible_note() -> None:
    with make_sandbox("inline", max_output=50) as sb:
        ex = sb.run("print('a' * 200)")
    assert ex.stdout == "a" * 50 + "\n[output truncated: 151 more characters not shown]\n"


def test_imports_outside_the_allowed_set_fail_with_the_list() -> None:
    with make_sandbox("inline") as sb:
        ex = sb.run("import os")
    message, _, where = ex.error.partition("\n")
    assert message.startswith("ImportError: import of 'os' is not allowed; allowed modules: abc, ")
    assert "json, " in message and "math, " in message
    assert where == "  at line 1: import os"


def test_allowed_imports_extends_the_default_set() -> None:
    pytest.importorskip("numpy")
    with make_sandbox("inline") as sb:
        assert sb.run("import numpy").error.startswith("ImportError: import of 'numpy'")
    with make_sandbox("inline", allowed_imports=["numpy"]) as sb:
        ex = sb.run("import numpy as np\nimport math\nint(np.arange(4).sum()) + math.floor(0.5)")
    assert (ex.error, ex.value) == (None, 6)


def test_numpy_data_science_code_runs() -> None:
    pytest.importorskip("numpy")
    code = """
import numpy as np
from numpy import linalg
a = np.arange(6, dtype=float).reshape(2, 3)
a[0, 0] = 5
a[a > 4] = -1
b = a @ np.eye(3)
inv = linalg.inv(np.array([[2.0, 0.0], [0.0, 4.0]]))
[a.tolist(), b.shape, a.T.shape, float(a.sum()), inv.tolist(),
 (a + np.array([1, 2, 3])).tolist(), str(a.dtype), np.linalg.norm([3, 4]).item()]
"""
    with make_sandbox("inline", allowed_imports=["numpy"]) as sb:
        ex = sb.run(code)
    assert ex.error is None
    assert _json(ex.value) == [
        [[-1.0, 1.0, 2.0], [3.0, 4.0, -1.0]],
        [2, 3],
        [3, 2],
        8.0,
        [[0.5, 0.0], [0.0, 0.25]],
        [[0.0, 3.0, 5.0], [4.0, 6.0, 2.0]],
        "float64",
        5.0,
    ]


def test_numpy_array_classes_work_as_usual() -> None:
    """numpy's classes taking a buffer are stand-ins in the sandbox (an object dtype over a
    buffer is refused): identity, subclassing and numeric buffers are as in plain Python."""
    pytest.importorskip("numpy")
    code = """
import numpy as np, numpy.typing as npt
class Tagged(np.ndarray):
    def __new__(cls, data, tag):
        obj = np.asarray(data).view(cls)
        obj.tag = tag
        return obj
    def __array_finalize__(self, obj):
        self.tag = getattr(obj, "tag", None)
class Raw(np.ndarray):
    pass
t = Tagged([1, 2], "t")
masked = np.ma.array([1, 2], mask=[0, 1])
records = np.rec.fromrecords([(1, "x")], dtype=[("n", int), ("s", object)])
[isinstance(np.zeros(1), np.ndarray), type(np.zeros(1)) is np.ndarray,
 np.zeros(1).__class__ == np.ndarray, issubclass(np.recarray, np.ndarray),
 type(masked.view(np.ndarray)) is np.ndarray, masked.baseclass is np.ndarray,
 (t * 2).tag, type(t).__name__, Raw((2,), "<u1", bytearray(b"ab")).tolist(),
 np.ndarray((2,), dtype="<u2", buffer=b"\\x01\\x00\\x02\\x00").tolist(),
 np.ndarray((2,), dtype=object).tolist(), records.s.tolist(),
 np.rec.fromstring(b"\\x05\\x00", dtype=[("a", "<u2")]).a.tolist(),
 npt.NDArray[np.float64] is not None]
"""
    with make_sandbox("inline", allowed_imports=["numpy"]) as sb:
        ex = sb.run(code)
    assert ex.error is None
    assert ex.value == [True] * 6 + [
        "t",
        "Tagged",
        [97, 98],
        [1, 2],
        [None, None],
        ["x"],
        [5],
        True,
    ]


_LIBRARIES = ["numpy", "pandas", "sympy"]

#: pandas and sympy as an agent writes them: strings parsed as math, expressions, dispatch by name.
_DATA_CODE = [
    ("import sympy as sp\nx = sp.symbols('x')\n[int(r) for r in sp.solve(x**2 - 4, x)]", [-2, 2]),
    ("import sympy as sp\nstr(sp.sympify('x**2 + 2*x + 1').factor())", "(x + 1)**2"),
    ("import sympy as sp\nstr(sp.simplify('sin(x)**2 + cos(x)**2'))", "1"),
    ("import sympy as sp\nstr(sp.integrate('exp(-x**2)', ('x', '-oo', 'oo')))", "sqrt(pi)"),
    ("import sympy as sp\nstr(sp.S('1/3') + sp.Rational(1, 6))", "1/2"),
    (
        "import sympy as sp\nx = sp.Symbol('x')\nstr(sp.diff(sp.sympify('sqrt(x) + Abs(3)'), x))",
        "1/(2*sqrt(x))",
    ),
    ("import sympy as sp\nstr(sp.sympify('f(x) + g', locals={'f': sp.Function('f')}))", "g + f(x)"),
    ("import sympy as sp\nstr(sp.sympify('x + x', evaluate=False))", "x + x"),
    ("import sympy as sp\nsp.latex(sp.sympify('alpha**2'))", "\\alpha^{2}"),
    ("import sympy as sp\nsp.pprint(sp.sympify('x**2'), use_unicode=False)", None),
    (
        "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2, 3], 'b': [4, 5, 6]})\n"
        "df.query('a > 1 and b < 6')['a'].tolist()",
        [2],
    ),
    (
        "import pandas as pd\nlo = 2\npd.DataFrame({'a': [1, 2, 3]}).query('a >= @lo').a.tolist()",
        [2, 3],
    ),
    (
        "import pandas as pd\npd.DataFrame({'a': [1, 2], 'b': [3, 4]}).eval('a + b').tolist()",
        [4, 6],
    ),
    ("import pandas as pd\nk = 5\npd.eval('k + 1')", 6),
    (
        "import pandas as pd, functools\ndf = pd.DataFrame({'a': [1, 2, 3]})\nlo = 1\n"
        "def between(low):\n    high = 3\n"
        "    return df.query('a > @low and a < @high').a.tolist()\n"
        "[between(1), list(map(pd.eval, ['lo + 1'])),\n"
        " functools.partial(df.eval, 'a + @lo')().tolist(),\n"
        " pd.eval('z * 2', local_dict={'z': 4}, global_dict={})]",
        [[2], [2], [2, 3, 4], 8],
    ),
    (
        "import pandas as pd\ndf = pd.DataFrame({'g': ['x', 'x', 'y'], 'v': [1, 2, 3]})\n"
        "df.groupby('g')['v'].agg('sum').to_dict()",
        {"x": 3, "y": 3},
    ),
    ("import pandas as pd\npd.DataFrame({'a': [1, 4]}).agg(['sum', 'max'])['a'].tolist()", [5, 4]),
    ("import pandas as pd\npd.Series([1, 4]).transform('sqrt').tolist()", [1.0, 2.0]),
    (
        "import pandas as pd\nd = pd.DataFrame({'g': ['a', 'a', 'b'], 'v': [1, 2, 3]})\n"
        "[d.pivot_table(index='g', values='v', aggfunc='sum')['v'].tolist(),\n"
        " d.groupby('g').agg(total=('v', 'sum'))['total'].tolist(),\n"
        " pd.pivot_table(d, index='g', values='v', aggfunc='max')['v'].tolist(),\n"
        " pd.crosstab(d.g, d.v).values.sum().item()]",
        [[3, 3], [3, 3], [2, 3], 3],
    ),
    ("import pandas as pd\npd.DataFrame({'a': [1, 2]}).to_csv(index=False)", "a\n1\n2\n"),
    (
        "import pandas as pd\nd = pd.DataFrame({'x': [1.25], 'y': ['p']})\n"
        "[d.to_latex(formatters={'x': '{:.1f}', 'y': '<{}>'}).splitlines()[4],\n"
        " d.to_string(float_format='{:.3f}'), d.to_string(float_format='%.2f'),\n"
        " d.to_latex(float_format='{:.2f}').splitlines()[4]]",
        [
            "0 & 1.2 & <p> \\\\",
            "      x  y\n0 1.250  p",
            "     x  y\n0 1.25  p",
            "0 & 1.25 & p \\\\",
        ],
    ),
    (
        "import pandas as pd\nclass Frame(pd.DataFrame):\n    pass\n"
        "Frame({'a': [1]}).to_csv(index=False)",
        "a\n1\n",
    ),
]


@pytest.mark.parametrize("backend", ["inline", "local"])
def test_pandas_and_sympy_code_runs(backend: str) -> None:
    for library in _LIBRARIES:
        pytest.importorskip(library)
    with make_sandbox(backend, timeout=60, allowed_imports=_LIBRARIES) as sb:
        for code, expected in _DATA_CODE:
            ex = sb.run(code)
            assert ex.error is None, (code, ex.error)
            assert _json(ex.value) == _json(expected), code
        assert sb.run("import sympy as sp\nsp.pprint(sp.Symbol('y'))").stdout == "y\n"
        described = sb.run("import pandas as pd\npd.describe_option('display.max_rows')").stdout
        assert described.startswith("display.max_rows : int")


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("import sympy\nsympy.test", "AttributeError: 'sympy.test' is not available"),
        ("import sympy\nsympy.sympify('open(1)')", "PermissionError: sympy expression: the name"),
        ("import sympy\nsympy.sympify('x.func')", "PermissionError: sympy expression: Attribute"),
        ("import pandas as pd\npd.DataFrame().plot", "AttributeError: 'plot' of 'DataFrame'"),
        ("import pandas as pd\npd.Series([1]).apply('__class__')", "PermissionError: apply()"),
        ("import pandas as pd\npd.read_iceberg", "AttributeError: 'pandas.read_iceberg' is not"),
        (
            "import pandas as pd\npd.DataFrame({'g': [1], 'v': [2]})"
            ".pivot_table(index='g', values='v', aggfunc='_selected_obj')",
            "PermissionError: pivot_table()",
        ),
        (
            "import pandas as pd\nd = pd.DataFrame({'g': [1], 'v': [2]})\n"
            "pd.crosstab(d.g, d.v, values=d.v, aggfunc='_selected_obj')",
            "PermissionError: crosstab()",
        ),
        (
            "import pandas as pd\npd.DataFrame({'g': [1], 'v': [2]}).groupby('g')"
            ".agg(x=('v', '_selected_obj'))",
            "PermissionError: agg()",
        ),
        ("import pandas as pd\npd.DataFrame().to_iceberg", "AttributeError: 'to_iceberg' of"),
    ],
)
def test_library_features_that_escape_say_why(code: str, error: str) -> None:
    for library in _LIBRARIES:
        pytest.importorskip(library)
    with make_sandbox("inline", allowed_imports=_LIBRARIES) as sb:
        assert sb.run(code).error.startswith(error)


def test_host_sympy_parses_as_before_after_a_sandbox_used_it() -> None:
    """The parser check applies to parses the code starts, not to the host's own."""
    sympy = pytest.importorskip("sympy")
    with make_sandbox("inline", allowed_imports=["sympy"]) as sb:
        assert sb.run("import sympy\nsympy.sympify('x._name')").error is not None
    assert str(sympy.sympify("x.name")) == "x"


def test_timeout_interrupts_and_the_next_run_keeps_the_variables() -> None:
    with make_sandbox("inline", timeout=0.5) as sb:
        sb.run("x = 41")
        ex = sb.run("while True:\n    pass")
        assert ex.error == "TimeoutError: the code ran longer than 0.5 s and was interrupted"
        assert sb.run("x + 1").value == 42


@pytest.mark.parametrize(
    "code",
    [
        "while True:\n    try:\n        while True:\n            pass\n"
        "    except BaseException:\n        pass",
        "while True:\n    try:\n        while True:\n            pass\n    except:\n        pass",
        "while True:\n    try:\n        while True:\n            pass\n"
        "    except* BaseException:\n        pass",
        "class Quiet:\n    def __enter__(self):\n        return self\n"
        "    def __exit__(self, *exc):\n        return True\n"
        "while True:\n    with Quiet():\n        while True:\n            pass",
    ],
    ids=["except_base_exception", "bare_except", "except_star", "exit_returns_true"],
)
def test_timeout_cannot_be_swallowed(code: str) -> None:
    with make_sandbox("inline", timeout=0.3) as sb:
        ex = sb.run(code)
    assert ex.error == "TimeoutError: the code ran longer than 0.3 s and was interrupted"


_OUTRUNS_ONE_INTERRUPT = {
    "loop_in_exit": "class Stuck:\n    def __enter__(self):\n        return self\n"
    "    def __exit__(self, *exc):\n        while True:\n            pass\n"
    "with Stuck():\n    while True:\n        pass",
    "loop_in_finally": "try:\n    while True:\n        pass\nfinally:\n    while True:\n"
    "        pass",
    "nested_finally": "def f():\n    try:\n        while True:\n            pass\n"
    "    finally:\n        while True:\n            pass\n"
    "try:\n    f()\nfinally:\n    while True:\n        pass",
}


@pytest.mark.parametrize("backend", ["inline", "local"])
@pytest.mark.parametrize("code", _OUTRUNS_ONE_INTERRUPT.values(), ids=_OUTRUNS_ONE_INTERRUPT)
def test_code_that_catches_the_interrupt_on_its_way_out_is_interrupted_again(
    backend: str, code: str
) -> None:
    """The interrupt repeats until the cell ends, so the sandbox (and its state) survives."""
    with make_sandbox(backend, timeout=0.3) as sb:
        sb.run("kept = 1")
        results: list[Execution] = []
        thread = threading.Thread(target=lambda: results.append(sb.run(code)), daemon=True)
        thread.start()
        thread.join(30)
        assert results, "the cell still runs 30 s after its 0.3 s timeout"
        timed_out = "TimeoutError: the code ran longer than 0.3 s and was interrupted"
        assert results[0].error == timed_out
        assert sb.run("kept").value == 1


def test_decimal_context_changes_stay_inside_the_sandbox() -> None:
    import decimal

    with make_sandbox("inline") as sb:
        sb.run("import decimal\ndecimal.getcontext().prec = 3")
        assert sb.run("decimal.Decimal(1) / 7").value == "Decimal('0.143')"
        assert decimal.getcontext().prec == 28
        assert str(decimal.Decimal(1) / 7) == "0.1428571428571428571428571429"
        sb.start()  # a fresh namespace gets a fresh context
        assert sb.run("import decimal\ndecimal.getcontext().prec").value == 28


def test_time_sleep_is_interrupted_by_the_timeout() -> None:
    with make_sandbox("inline", timeout=0.3) as sb:
        ex = sb.run("import time\ntime.sleep(5)\nprint('woke up')")
    assert ex.error == "TimeoutError: the code ran longer than 0.3 s and was interrupted"
    assert ex.stdout == ""


def test_runs_from_a_non_main_thread() -> None:
    results: list[Execution] = []
    with make_sandbox("inline", timeout=0.5) as sb:
        thread = threading.Thread(
            target=lambda: results.extend([sb.run("while True:\n    pass"), sb.run("6 * 7")])
        )
        thread.start()
        thread.join()
    assert results[0].error == "TimeoutError: the code ran longer than 0.5 s and was interrupted"
    assert results[1].value == 42


async def test_runs_inside_a_running_event_loop() -> None:
    with make_sandbox("inline", timeout=0.5) as sb:
        ex = sb.run("import json\njson.dumps({'a': 1})")
        timed_out = sb.run("while True:\n    pass")
    assert asyncio.get_running_loop().is_running()
    assert ex.value == '{"a": 1}'
    assert timed_out.error.startswith("TimeoutError")


def test_tools_are_callable(sb: Sandbox) -> None:
    calls: list[tuple[str, int]] = []

    def get_weather(city: str, days: int = 1) -> str:
        """Weather for a city."""
        calls.append((city, days))
        return f"sunny in {city}"

    sb.start(tools={"get_weather": get_weather})
    ex = sb.run("print(get_weather('Paris', days=2))\nget_weather.__name__")
    assert (ex.error, ex.stdout, ex.value) == (None, "sunny in Paris\n", "get_weather")
    assert calls == [("Paris", 2)]


@pytest.mark.parametrize(
    "code",
    [
        "get_weather.__closure__",
        "get_weather.__wrapped__",
        "get_weather.__globals__",
        "getattr(get_weather, '__clo' + 'sure__')",
        "[c for c in (get_weather.__code__.co_consts or ())]",
        "get_weather.tool_secret",
    ],
)
def test_the_tool_object_is_unreachable(sb: Sandbox, code: str) -> None:
    class WeatherTool:
        tool_secret = "s3cr3t"

        def __call__(self, city: str) -> str:
            return city

    sb.start(tools={"get_weather": WeatherTool()})
    ex = sb.run(code)
    assert ex.error is not None
    assert "s3cr3t" not in str(ex.value) and "WeatherTool" not in str(ex.value)


def test_random_seed_stays_inside_the_sandbox(sb: Sandbox) -> None:
    host_state = random.getstate()
    ex = sb.run(
        "import random\nrandom.seed(7)\na = random.random()\nrandom.seed(7)\na == random.random()"
    )
    assert ex.value is True
    assert random.getstate() == host_state


def test_numpy_random_seed_stays_inside_the_sandbox() -> None:
    np = pytest.importorskip("numpy")
    host_state = np.random.get_state()[1].tolist()
    with make_sandbox("inline", allowed_imports=["numpy"]) as sb:
        ex = sb.run("import numpy as np\nnp.random.seed(3)\nnp.random.randint(0, 10**9)")
    assert ex.value == np.random.RandomState(3).randint(0, 10**9)
    assert np.random.get_state()[1].tolist() == host_state


def test_sandboxes_do_not_share_module_views() -> None:
    with make_sandbox("inline") as one, make_sandbox("inline") as two:
        one.run("import random\nrandom.seed(1)")
        two.run("import random\nrandom.seed(2)")
        first, second = one.run("random.random()").value, two.run("random.random()").value
    assert first == random.Random(1).random()
    assert second == random.Random(2).random()


def test_close_forgets_the_namespace(sb: Sandbox) -> None:
    sb.run("x = 1")
    sb.close()
    assert sb.run("x").error == "NameError: name 'x' is not defined\n  at line 1: x"


@pytest.mark.parametrize("backend", ["inline", "local"])
def test_values_are_data_made_while_the_time_limit_holds(backend: str) -> None:
    """The code's ``__repr__`` runs inside the run's time limit, never later in the host."""
    stuck = "class Stuck:\n    def __repr__(self):\n        while True:\n            pass\n"
    with make_sandbox(backend, timeout=0.5) as sb:
        sb.run(stuck + "class Shown:\n    def __repr__(self):\n        return 'shown'")
        assert sb.run("[Shown(), (1, 2), {'k': None}]").value == ["shown", (1, 2), {"k": None}]
        timed_out = "TimeoutError: the code ran longer than 0.5 s and was interrupted"
        assert sb.run("Stuck()").error == timed_out
        ex = sb.run("final_answer([Stuck()])")
        assert ex.error == timed_out and not ex.is_final
        assert sb.run("'still here'").value == "still here"


def test_agent_with_a_value_whose_repr_never_returns_goes_on() -> None:
    from codeact import CodeAgent, ScriptedModel

    replies = [
        "```python\nclass X:\n    def __repr__(self):\n        while True:\n"
        "            pass\nX()\n```",
        "```python\nfinal_answer(1)\n```",
    ]
    agent = CodeAgent(ScriptedModel(replies), sandbox="inline", sandbox_options={"timeout": 0.5})
    result = agent.run("task")
    assert result.output == 1
    assert "TimeoutError" in result.steps[0].observation


_LEFT_SUSPENDED = {
    "finally": "def g():\n    try:\n        yield 1\n    finally:\n        while True:\n"
    "            pass\n",
    "except": "def g():\n    try:\n        yield 1\n    except BaseException:\n"
    "        while True:\n            pass\n",
    "exit": "class Stuck:\n    def __enter__(self):\n        return self\n"
    "    def __exit__(self, *exc):\n        while True:\n            pass\n"
    "def g():\n    with Stuck():\n        yield 1\n",
}


@pytest.mark.parametrize("backend", ["inline", "local"])
@pytest.mark.parametrize("shape", _LEFT_SUSPENDED.values(), ids=_LEFT_SUSPENDED)
def test_a_generator_closed_outside_a_cell_runs_none_of_its_cleanup(
    backend: str, shape: str
) -> None:
    """A fresh namespace (or the host's GC) closes a suspended generator where no time limit
    holds: its ``finally``/``except``/``__exit__`` must not run there (they would loop forever)."""
    with make_sandbox(backend, timeout=5) as sb:
        assert sb.run(shape + "it = g()\nnext(it)").value == 1
        done = threading.Event()
        thread = threading.Thread(target=lambda: (sb.start(), gc.collect(), done.set()))
        thread.daemon = True
        thread.start()
        assert done.wait(4), "closing the generator ran its endless cleanup"
        # Allocating makes the collector run inside this cell (in a worker: its first chance).
        ex = sb.run("junk = [[] for _ in range(300_000)]\n1 + 1")
        assert (ex.error, ex.value) == (None, 2)


def test_a_generator_closed_inside_a_cell_cleans_up_as_usual(sb: Sandbox) -> None:
    code = (
        "def g():\n    try:\n        yield 1\n    except GeneratorExit:\n        print('exit')\n"
        "        raise\n    finally:\n        print('clean')\n"
        "it = g()\nnext(it)\nit.close()\nfor v in g():\n    break\ndel v"
    )
    ex = sb.run(code)
    assert ex.error is None and ex.stdout == "exit\nclean\nexit\nclean\n"


_STUCK_MAKING_THE_ERROR = {
    "exception_str": "class E(Exception):\n    def __str__(self):\n        while True:\n"
    "            pass\nraise E()",
    "syntax_error_lineno": "class E(SyntaxError):\n    @property\n    def lineno(self):\n"
    "        while True:\n            pass\nraise E('x')",
    "value_repr_calls_final_answer": "class X:\n    def __repr__(self):\n"
    "        final_answer(self)\nX()",
}


@pytest.mark.parametrize("backend", ["inline", "local"])
@pytest.mark.parametrize("code", _STUCK_MAKING_THE_ERROR.values(), ids=_STUCK_MAKING_THE_ERROR)
def test_the_result_is_made_while_the_time_limit_holds(backend: str, code: str) -> None:
    """An exception's ``__str__``, a ``SyntaxError``'s ``lineno``: the code's own, run while the
    host makes the error message, inside the time limit (or they would hang the host)."""
    with make_sandbox(backend, timeout=0.5) as sb:
        ex = sb.run(code)
        assert ex.error is not None and not ex.is_final
        assert ex.error.startswith(("TimeoutError", "RuntimeError: final_answer() cannot"))
        assert sb.run("1 + 1").value == 2


def test_an_error_whose_message_fails_still_reports_its_type(sb: Sandbox) -> None:
    ex = sb.run(
        "class Odd(Exception):\n    def __str__(self):\n        raise ValueError\nraise Odd"
    )
    assert ex.error == "Odd: (no message)"


def test_the_codes_functions_refuse_to_run_after_its_cell(sb: Sandbox) -> None:
    """What the host holds of the code after a cell (here taken from the namespace; in real life
    kept by a cache, a finaliser, a callback) no longer runs: there is no time limit there."""
    sb.run(
        "def f():\n    return ''.join(['ran'])\n"
        "def leaf(a, b):\n    return a + b\n"
        "class K:\n    def __eq__(self, other):\n        return True\nk = K()"
    )
    namespace = sb._runner.namespace  # type: ignore[attr-defined]
    with pytest.raises(OutsideCellError):
        namespace["f"]()
    assert (namespace["k"] == 1) is False  # comparisons fall back to identity instead of failing
    with pytest.raises(OutsideCellError):  # leaves too: one big-integer expression is hours
        namespace["leaf"](1, 2)
    assert sb.run("f(), k == 1").value == ("ran", True)


def test_tools_get_data_and_return_data(sb: Sandbox) -> None:
    got: list[object] = []

    def keep(*args: object, **kwargs: object) -> dict[str, object]:
        """Keeps what it gets."""
        got.append((args, kwargs))
        return {"n": 1, "obj": object()}

    sb.start({"keep": keep})
    ex = sb.run(
        "class P:\n    def __repr__(self):\n        return 'P()'\n"
        "r = keep([1, (2, 3)], P(), k={'a': P()})\n[r['n'], r['obj'].startswith('<object')]"
    )
    assert ex.value == [1, True]
    assert got == [(([1, [2, 3]], "P()"), {"k": {"a": "P()"}})]


def test_tool_errors_carry_no_host_objects(sb: Sandbox) -> None:
    def fail() -> None:
        """Fails with a host object in its error."""
        raise KeyError(object())

    sb.start({"fail": fail})
    ex = sb.run(
        "try:\n    fail()\nexcept KeyError as e:\n    error = e\n"
        "[type(error).__name__, error.args[0].startswith('<object'), error.__context__]"
    )
    assert ex.value == ["KeyError", True, None]


def test_a_tool_running_code_in_its_own_sandbox_is_refused() -> None:
    with make_sandbox("inline") as sb:

        def nested() -> int:
            """Run code in the same sandbox."""
            return sb.run("1").value

        sb.start({"nested": nested})
        ex = sb.run("kept = 5\nnested()")
        assert ex.error.startswith("SandboxError: a tool of this sandbox used the sandbox itself")
        assert sb.run("kept").value == 5


def test_runs_from_two_threads_take_turns() -> None:
    with make_sandbox("inline") as sb:
        sb.start({"pause": lambda: time.sleep(0.2)})
        results: list[Execution] = []
        code = "before = 1\npause()\nfinal_answer(before)"
        threads = [threading.Thread(target=lambda: results.append(sb.run(code))) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert [(ex.error, ex.final_answer) for ex in results] == [(None, 1), (None, 1)]


@pytest.mark.parametrize("backend", ["inline", "local"])
def test_from_import_binds_the_names_before_a_missing_one(backend: str) -> None:
    with make_sandbox(backend) as sb:
        ex = sb.run(
            "try:\n    from math import pi, tau, nope\nexcept ImportError as e:\n"
            "    error = str(e)\n[round(pi, 2), round(tau, 2), error]"
        )
        assert ex.value == [3.14, 6.28, "cannot import name 'nope' from 'math'"]
        ex = sb.run("from string import ascii_letters, Formatter")
        assert ex.error is not None and ex.error.startswith(
            "ImportError: cannot import name 'Formatter' from 'string' ('string.Formatter' is "
            "not available in the sandbox"
        )
        assert sb.run("ascii_letters[:3]").value == "abc"


@pytest.mark.parametrize("backend", ["inline", "local"])
def test_sympy_and_mpmath_as_data_science_code_uses_them(backend: str) -> None:
    """``from sympy import plot`` imports (calling it refuses), ``mpmath.mp.dps`` is the
    sandbox's own precision, ``sympy.pprint`` draws with Unicode."""
    mpmath = pytest.importorskip("mpmath")
    pytest.importorskip("sympy")
    with make_sandbox(backend, timeout=30, allowed_imports=["sympy", "mpmath"]) as sb:
        ex = sb.run(
            "from sympy import plot, symbols, sqrt, pprint\nx = symbols('x')\npprint(sqrt(x))\n"
            "try:\n    plot(x)\nexcept PermissionError as e:\n    refused = str(e)\nrefused"
        )
        assert (ex.stdout, ex.error) == ("√x\n", None)
        assert ex.value.startswith("plot(): plots are not available in the sandbox")
        assert sb.run("import mpmath\nmpmath.mp.dps = 30\nstr(mpmath.sqrt(2))").value == (
            "1.41421356237309504880168872421"
        )
        ex = sb.run(
            "from mpmath import mp, mpf, workdps\nwith workdps(5):\n    a = str(mpf(1) / 3)"
        )
        assert (ex.error, sb.run("a, mp.dps").value) == (None, ("0.33333", 30))
    assert mpmath.mp.dps == 15  # the host's precision, whatever the sandbox set


@pytest.mark.parametrize("backend", ["inline", "local"])
def test_what_libraries_print_is_in_the_output(backend: str) -> None:
    pytest.importorskip("pandas")
    with make_sandbox(backend, timeout=30, allowed_imports=["pandas"]) as sb:
        ex = sb.run("import pandas as pd\npd.DataFrame({'col': [1, 2]}).info()")
    assert ex.error is None and "RangeIndex: 2 entries" in ex.stdout and " col " in ex.stdout


def test_library_output_of_a_host_thread_stays_on_the_host(
    sb: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """The code's ``sys.stdout`` is per context: the host's other threads print as before."""
    started, done = threading.Event(), threading.Event()

    def host_prints() -> None:
        started.wait(5)
        sys.stdout.write("host line\n")
        done.set()

    def go() -> None:
        """Lets the host thread print, and waits for it."""
        started.set()
        done.wait(5)

    sb.start({"go": go})
    thread = threading.Thread(target=host_prints)
    thread.start()
    ex = sb.run("go()\nprint('cell line')")
    thread.join(5)
    assert ex.stdout == "cell line\n"
    assert capsys.readouterr().out == "host line\n"


def test_a_tool_prints_to_the_hosts_output(sb: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    def chatty() -> int:
        """Prints on the host, as it would under local."""
        print("from the tool")
        return 1

    sb.start({"chatty": chatty})
    ex = sb.run("print('from the code')\nchatty()")
    assert (ex.stdout, ex.value) == ("from the code\n", 1)
    assert capsys.readouterr().out == "from the tool\n"


def test_timeouts_need_no_thread_per_cell() -> None:
    """One watchdog times every cell: the threads seen from inside two cells are the same."""
    with make_sandbox("inline", timeout=5) as sb:
        sb.start({"threads": lambda: sorted(t.ident for t in threading.enumerate())})
        first, second = sb.run("threads()").value, sb.run("threads()").value
    assert first == second


def test_cells_of_many_sandboxes_overrunning_at_once_are_all_interrupted() -> None:
    results: list[Execution] = []
    boxes = [make_sandbox("inline", timeout=0.3) for _ in range(4)]
    threads = [
        threading.Thread(target=lambda b=b: results.append(b.run("while True:\n    pass")))
        for b in boxes
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [ex.error for ex in results] == [
        "TimeoutError: the code ran longer than 0.3 s and was interrupted"
    ] * 4
    assert [b.run("1 + 1").value for b in boxes] == [2] * 4


def test_a_kept_routed_stream_leads_nowhere_but_the_cells_output(sb: Sandbox) -> None:
    """A library imported during a cell keeps ``sys.stdout`` (the routing stand-in); what the
    code can do with it is write to its own output: the host's stream is a private name."""
    from sandboxes.worker import _Routed

    kept = _Routed(sys.stdout)
    sb.start({"kept": lambda: None})
    sb._runner.namespace["kept"] = kept  # type: ignore[attr-defined]  # as a module gives it
    ex = sb.run("kept.write('mine\\n')\nkept._stream")
    assert ex.stdout == "mine\n"
    assert ex.error is not None and "private names" in ex.error


_DECIMAL_AFTER_START = """
import sys
from sandboxes import make_sandbox
assert "decimal" not in sys.modules
sb = make_sandbox("inline")
sb.start({})
import decimal
decimal.getcontext()  # the host's context, made after start()
first = sb.run("import decimal\\ndecimal.getcontext().prec = 3")
second = sb.run("import decimal\\ndecimal.getcontext().prec")
print(first.error, second.value, decimal.getcontext().prec)
"""


def test_decimal_imported_after_start_keeps_its_context_apart_from_the_hosts() -> None:
    import subprocess

    out = subprocess.run(
        [sys.executable, "-c", _DECIMAL_AFTER_START], capture_output=True, text=True, timeout=60
    )
    assert out.stdout.split() == ["None", "3", "28"], out.stderr


def test_a_repeated_cell_is_compiled_once_per_session() -> None:
    """The runner keeps a session's compiled cells by source text: a cell run again skips the
    policy's compile and still runs against the namespace as it is now; ``start`` drops them."""
    from sandboxes.policy import RestrictedPolicy
    from sandboxes.worker import Runner

    compiled: list[str] = []

    class CountingPolicy(RestrictedPolicy):
        def compile(self, tree, filename, mode):  # type: ignore[no-untyped-def]
            compiled.append(mode)
            return super().compile(tree, filename, mode)

    runner = Runner(CountingPolicy())
    cell = "counts.append(len(counts))\nlen(counts)"
    for session in range(2):
        runner.start()
        runner.run("counts = []", timeout=5)
        before = len(compiled)
        assert [runner.run(cell, timeout=5)["value"] for _ in range(3)] == [1, 2, 3]
        assert compiled[before:] == ["exec", "eval"], f"session {session}"
    assert runner.run("1 +", timeout=5)["error"].startswith("SyntaxError")
    assert runner.run("1 +", timeout=5)["error"].startswith("SyntaxError")


@pytest.mark.parametrize("ending", ["close", "drop"])
def test_a_finished_sandbox_leaves_nothing_of_its_code_alive(ending: str) -> None:
    """The guard table sits in the code objects' constants, which the garbage collector does
    not traverse: while it held the guards, every function the code defined kept its whole
    sandbox (namespace, classes, values) alive for good, closed or not."""
    name = "Kept" + secrets.token_hex(4)
    code = f"class {name}:\n    pass\ndef f():\n    return 1\nvalue = {name}()\nbig = [0] * 100_000"
    sandbox = make_sandbox("inline")
    sandbox.start({})
    assert sandbox.run(code).error is None
    gc.collect()
    (cls,) = [o for o in gc.get_objects() if isinstance(o, type) and o.__name__ == name]
    kept = weakref.ref(cls)
    del cls
    if ending == "close":
        sandbox.close()
    del sandbox
    gc.collect()
    assert kept() is None


def test_a_closed_inline_sandbox_starts_again() -> None:
    sandbox = make_sandbox("inline")
    sandbox.start({})
    assert sandbox.run("def f():\n    return 1\nf()").value == 1
    sandbox.close()
    assert sandbox.run("def g():\n    return 2\ng()").value == 2
    sandbox.close()


def test_a_generator_the_host_collects_after_close_ends_quietly() -> None:
    """A generator suspended in ``try``/``finally`` is finalised by the host's collector after
    ``close()``: its ``finally`` still meets the ``reraise`` guard, which ends it, instead of
    an error printed on the host's stderr under a name the code chose (red team round 6)."""
    script = textwrap.dedent(
        """
        import gc
        from sandboxes import make_sandbox
        sb = make_sandbox("inline")
        sb.start({})
        sb.run("def NAMED_BY_THE_CODE():\\n    try:\\n        yield 1\\n    finally:\\n"
               "        pass\\nkeep = NAMED_BY_THE_CODE()\\nnext(keep)")
        sb.close()
        gc.collect()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert "NAMED_BY_THE_CODE" not in done.stderr, done.stderr


@pytest.mark.parametrize(
    "code, error",
    [
        ("raise KeyboardInterrupt('bye')", "KeyboardInterrupt: bye"),
        ("class Own(KeyboardInterrupt):\n    pass\nraise Own('mine')", "Own: mine"),
        ("raise SystemExit(3)", "SystemExit: 3"),
        ("raise GeneratorExit('gone')", "GeneratorExit: gone"),
    ],
)
def test_the_codes_own_base_exceptions_are_the_cells_error(
    sb: Sandbox, code: str, error: str
) -> None:
    """Only a real Ctrl-C leaves run() as KeyboardInterrupt; one the code raises (of its own
    class too) must not stop the host's loop nor hand the host its object (red team 5, F7)."""
    ex = sb.run(code)
    assert ex.error is not None and ex.error.startswith(error), ex
    assert sb.run("1 + 1").value == 2


def test_a_real_ctrl_c_during_a_cell_leaves_run_as_keyboard_interrupt(sb: Sandbox) -> None:
    import os
    import signal

    assert threading.current_thread() is threading.main_thread()
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            sb.run("import time\ntime.sleep(5)")
    finally:
        timer.join()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the host's again
    assert sb.run("1 + 1").value == 2
