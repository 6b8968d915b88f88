"""The restricted execution policy: ordinary Python runs, escapes to the host do not.

``RestrictedPolicy`` is what ``sandboxes.worker.Runner`` calls: ``compile`` rewrites a parsed
cell with our RestrictedPython transformer (``transformer.py``; rules in ``rules.py``), and
``prepare`` gives a namespace safe builtins (``namespace.py``) and an ``__import__`` that hands
out read-only views of allowed modules (``modules.py``, with safe stand-ins in
``replacements.py``). The run-time guards (``guards.py``, ``control.py``, ``formatting.py``;
own-versus-host classes in ``classes.py``) are bound into the compiled code as constants
(``bindings.py``), out of reach of the code and of any library writing into its namespace;
``enter_cell``/``leave_cell`` tell them when the code may run at all.

Trade-off: loads of public attributes and all item access compile to native byte code, so
CPU-bound code runs at close to plain ``exec`` speed (bench/bench_inline.py). What needs a look
goes through Python-level guards: dunder and a few named attributes (``format``, ``obj``,
``tofile``...), dynamic ``getattr``, attribute stores and private names. For ``self.x = v`` and
``self._x`` the compiler emits ``type(self) in <cleared classes>`` first, so once the guard has
cleared a class its instances take the native path. The price of native public loads: a public
attribute that holds a module would be reachable unguarded; module views protect themselves,
and a test audits that no public attribute of the allowed modules' classes holds a module.
"""

from __future__ import annotations

import ast
import sys
import types
from collections.abc import Iterable
from typing import Any

from sandboxes.policy.bindings import bind
from sandboxes.policy.classes import TOKEN, install_copy_guard
from sandboxes.policy.control import install_coroutine_warning_guard
from sandboxes.policy.expressions import CODE_FILENAMES
from sandboxes.policy.modules import ModuleViews
from sandboxes.policy.namespace import make_guard_table, make_namespace
from sandboxes.policy.transformer import transform

__all__ = ["DEFAULT_ALLOWED_IMPORTS", "RestrictedPolicy"]

#: Modules any sandbox may import: computation, text and data handling; no files, processes,
#: network, interpreter internals or global state the host relies on (``io`` shows only
#: ``StringIO`` and ``BytesIO``; ``modules.RULES`` says what else each view hides).
DEFAULT_ALLOWED_IMPORTS: frozenset[str] = frozenset(
    {
        "abc",
        "array",
        "base64",
        "binascii",
        "bisect",
        "calendar",
        "cmath",
        "collections",
        "contextlib",
        "copy",
        "csv",
        "dataclasses",
        "datetime",
        "decimal",
        "difflib",
        "enum",
        "fractions",
        "functools",
        "graphlib",
        "hashlib",
        "heapq",
        "html",
        "io",
        "itertools",
        "json",
        "keyword",
        "math",
        "numbers",
        "operator",
        "pprint",
        "random",
        "re",
        "secrets",
        "statistics",
        "string",
        "struct",
        "textwrap",
        "time",
        "typing",
        "unicodedata",
        "uuid",
        "zoneinfo",
    }
)


class RestrictedPolicy:
    """Compiles cells under the sandbox's rules and prepares the namespaces they run in.

    All state is per instance (module views, the host objects the code has seen), so sandboxes
    in different threads do not share anything but the host's modules themselves.
    """

    def __init__(self, allowed_imports: Iterable[str] = (), *, cap_c_calls: bool = False) -> None:
        """``cap_c_calls``: refuse C calls that would run past any interrupt for long (a huge
        ``**``, ``math.factorial``, ``hashlib.pbkdf2_hmac``; ``caps.py``), for ``inline``, which
        cannot kill its worker as ``local`` does."""
        install_copy_guard()
        install_coroutine_warning_guard()
        self.allowed_imports = DEFAULT_ALLOWED_IMPORTS | frozenset(allowed_imports)
        self.cap_c_calls = cap_c_calls
        self._views = ModuleViews(self.allowed_imports)
        self._views.guards.cap_c_calls = cap_c_calls
        self._guards = make_guard_table(self._views)
        self._builtins, self._install = make_namespace(self._views, self.compile)

    def compile(
        self, tree: ast.Module | ast.Expression, filename: str, mode: str
    ) -> types.CodeType:
        """Transform and compile ``tree``; a policy violation is a ``SyntaxError`` saying why."""
        CODE_FILENAMES.add(filename)
        new, problems = transform(tree, self.cap_c_calls)
        if problems:
            lineno, col, message = problems[0]
            raise SyntaxError(message, (filename, lineno or None, col + 1, None))
        return bind(compile(new, filename, mode, dont_inherit=True), self._guards, TOKEN)

    def prepare(self, namespace: dict[str, Any]) -> None:
        """Install safe builtins; tools and ``print`` come after."""
        self._install(namespace)
        self._views.guards.namespace = namespace

    def enter_cell(self) -> None:
        """A cell starts, under its time limit: the code's functions may run until
        ``leave_cell``. Outside cells they refuse (``control.outside``)."""
        self._guards.on = True

    def leave_cell(self) -> None:
        self._guards.on = False
        self._guards.kept.clear()
        if self.cap_c_calls and self._views.viewed("sympy"):
            forget_host_cache_entries()

    def retire(self) -> None:
        """The sandbox is done with this policy: its guard table keeps only what a function of
        the code still reaches outside a cell (``on``, false, the refusal, and ``reraise``,
        which ends a generator's ``finally`` that the host's collector runs later), nothing of
        the sandbox. The table sits in ``co_consts`` of the code's code objects, which the garbage
        collector does not look into, so a table holding the guards kept every closed sandbox
        alive (namespace, classes, values) through any function the code had defined."""
        names = ("on", "outside", "not_implemented", "reraise")
        kept = {name: self._guards.__dict__[name] for name in names}
        self._guards.__dict__.clear()
        self._guards.__dict__.update(kept, on=False)


def forget_host_cache_entries() -> None:
    """Inline runs in the host's process, whose sympy caches are process-wide: an entry the
    code planted (a key of its objects, hashed to collide with a key the host computes later)
    made the host's ``Basic.__eq__`` call the code's ``_sympy_`` outside any cell (red team
    round 6, F8). So they hold nothing of a cell once it ends: the ``@cacheit`` functions'
    caches, and manualintegrate's. Other backends run the code in a process of its own."""
    cache = sys.modules.get("sympy.core.cache")
    if cache is not None:
        cache.clear_cache()
    integrals = sys.modules.get("sympy.integrals.manualintegrate")
    if integrals is not None:
        integrals._integral_cache.clear()
