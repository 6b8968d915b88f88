"""Compile-time rules: which syntax the agent's code may use, and where run-time guards go.

Ordinary Python compiles to ordinary byte code. Only what can be dangerous is rewritten, into
calls of the sandbox's guard table ``G`` (a constant bound into the code, see ``bindings``):

* ``obj.name`` stays a native attribute load when ``rules.native_reason`` allows it; private,
  dunder and guarded names become ``G.read(obj, "name")``;
* every attribute store or delete becomes ``G.write(obj, "name").name = value``, so the guard
  can refuse writes to host classes, functions and modules;
* when ``obj`` is a plain name (``self``), stores and private loads first test
  ``G.type(obj) in G.own_types`` (or ``G.pure_types``): classes the guards have cleared take the
  native path, the rest the guard;
* ``with`` items, ``except`` handlers and ``finally`` blocks get a guard each (timeouts cannot be
  swallowed), class bodies a mark (the class is the code's own); the sandbox's
  ``__build_class__`` checks metaclasses, bases and ``__match_args__``;
* every function and lambda starts with ``if not G.on: G.outside()`` (generators check again
  where they resume; comparisons answer ``NotImplemented``), so nothing the code defined runs
  outside one of its cells: not even a leaf, whose one big-integer expression can be hours of C;
* with ``cap_c_calls`` (``inline``), ``a ** b`` becomes ``G.pow(a, b)`` unless ``b`` is a small
  constant (``caps.py``).

Names that can only mean an escape (``__globals__``, ``gi_frame``, ...) are rejected here with a
``SyntaxError`` that says why; the same names are refused at run time for ``getattr``.
"""

from __future__ import annotations

import ast
from typing import Any

from RestrictedPython.transformer import RestrictingNodeTransformer

from sandboxes.policy.bindings import GUARDS, MARK_PREFIX, TOKEN
from sandboxes.policy.rules import (
    CLASS_BODY_FORBIDDEN,
    GUARDED_ATTRS,
    RESERVED_PREFIX,
    WRITABLE_DUNDERS,
    is_dunder,
    native_reason,
    never_reason,
)

OWN_MARK = "__sb_own__"
#: Methods that answer ``NotImplemented`` when called outside the sandbox's cells (a host cache
#: comparing keys later then falls back to identity instead of failing).
_COMPARISONS = frozenset({"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"})

#: Dunder names the code may read as plain names.
_READABLE_DUNDER_NAMES = frozenset({"__name__"})


def _name(id_: str, ctx: ast.expr_context | None = None) -> ast.Name:
    return ast.Name(id=id_, ctx=ctx or ast.Load())


def _guard(attr: str) -> ast.Attribute:
    """``G.attr``: a guard of the sandbox's table (``bindings``), bound as a constant."""
    return ast.Attribute(value=ast.Constant(GUARDS), attr=attr, ctx=ast.Load())


def _call(guard: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=_guard(guard), args=list(args), keywords=[])


def _kept_operands(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.stmt]:
    """``G.kept[G.id(x)] = x`` for both operands of a comparison method: they live until the
    cell ends. C code comparing items it holds no reference to (CPython 3.11's list ordering,
    gh-120298) used them after the code's ``__lt__`` had freed one, clearing the list, and
    called the freed object's ``__gt__`` (red team round 7, F1). Two native stores, no call."""
    params = [*node.args.posonlyargs, *node.args.args][:2]
    if len(params) < 2:
        return []
    kept = []
    for param in params:
        slot = ast.Subscript(_guard("kept"), _call("id", _name(param.arg)), ast.Store())
        store = ast.Assign(targets=[slot], value=_name(param.arg))
        kept.append(ast.fix_missing_locations(ast.copy_location(store, node)))
    return kept


def _plain_key(key: ast.expr) -> bool:
    """A key no store turns into an extended slice: a constant, a slice of step 1."""
    if isinstance(key, ast.Slice):
        step = key.step
        return step is None or (
            isinstance(step, ast.Constant) and type(step.value) is int and step.value == 1
        )
    return isinstance(key, ast.Constant)


def _slice_parts(key: ast.Slice) -> tuple[ast.expr | None, ...]:
    return key.lower, key.upper, key.step


def _not_slice(key: ast.Name) -> ast.expr:
    """``G.type(k) is not G.slice``: nothing of the code's runs between this test and the load
    of ``k`` that follows it (``k.__class__`` may be a property of the code's, rebinding ``k``)."""
    return ast.Compare(_call("type", _name(key.id)), [ast.IsNot()], [_guard("slice")])


def _in_cell_check(node: ast.AST, outside: ast.stmt | None = None) -> ast.stmt:
    """``if not G.on: G.outside()``: code the sandbox defined, entered or resumed outside one of
    its cells (no time limit holds there), stops before it does anything."""
    body = outside or ast.Expr(_call("outside"))
    check = ast.If(test=ast.UnaryOp(ast.Not(), _guard("on")), body=[body], orelse=[])
    line, col = getattr(node, "lineno", 1), getattr(node, "col_offset", 0)
    for part in ast.walk(check):
        if "lineno" in part._attributes:
            part.lineno, part.end_lineno, part.col_offset, part.end_col_offset = (
                line,
                line,
                col,
                col,
            )
    return check


class PolicyTransformer(RestrictingNodeTransformer):
    """RestrictedPython's transformer with our rules; unknown node types stay rejected."""

    def __init__(self, cap_c_calls: bool = False) -> None:
        super().__init__()
        self.cap_c_calls = cap_c_calls  # ``caps``: powers go through G.pow (inline)
        self.problems: list[tuple[int, int, str]] = []
        self._classes: list[str] = []  # enclosing class names, for private name mangling
        self._scopes: list[str] = ["module"]  # "module" | "class" | "function"
        self._resumes: list[bool] = []  # per enclosing function: it has a yield or an await
        self._patterns = 0  # class patterns numbered for their hidden names (visit_Match)

    # --- errors -----------------------------------------------------------------------------

    def error(self, node: ast.AST, info: str) -> None:
        self.problems.append(
            (getattr(node, "lineno", 0) or 0, getattr(node, "col_offset", 0), info)
        )
        self.errors.append(info)

    def not_allowed(self, node: ast.AST) -> None:
        self.error(node, f"{type(node).__name__} is not supported in the sandbox")

    # --- names ------------------------------------------------------------------------------

    def check_name(
        self, node: ast.AST, name: str | None, allow_magic_methods: bool = False
    ) -> None:
        """Reserved and dunder names are off limits; private ``_names`` are the code's own."""
        if name is None:
            return
        if name.startswith(RESERVED_PREFIX):
            self.error(node, f"'{name}' is reserved for the sandbox's guards")
        elif is_dunder(name):
            self.error(
                node,
                f"'{name}' cannot be used as a name: names that start and end with '__' are "
                "reserved for the interpreter (dunder methods may be defined in classes)",
            )

    def _check_class_dunder(self, node: ast.AST, name: str) -> None:
        """A dunder name bound directly in a class body (a method or class attribute)."""
        if name.startswith(RESERVED_PREFIX):
            self.error(node, f"'{name}' is reserved for the sandbox's guards")
        elif name in CLASS_BODY_FORBIDDEN:
            self.error(
                node,
                f"defining '{name}' is not allowed in the sandbox: {CLASS_BODY_FORBIDDEN[name]}",
            )

    def _check_binding(self, node: ast.AST, name: str) -> None:
        if is_dunder(name) and self._scopes[-1] == "class":
            self._check_class_dunder(node, name)
        else:
            self.check_name(node, name)

    def visit_Name(self, node: ast.Name) -> Any:
        if isinstance(node.ctx, ast.Load):
            if node.id not in _READABLE_DUNDER_NAMES:
                self.check_name(node, node.id)
        else:
            self._check_binding(node, node.id)
        return node

    def visit_arg(self, node: ast.arg) -> Any:
        self.check_name(node, node.arg)
        return self.node_contents_visit(node)

    def visit_arguments(self, node: ast.arguments) -> Any:
        return self.node_contents_visit(node)

    def visit_Global(self, node: ast.Global) -> Any:
        for name in node.names:
            self.check_name(node, name)
        return node

    def visit_Nonlocal(self, node: ast.Nonlocal) -> Any:
        for name in node.names:
            self.check_name(node, name)
        return node

    # --- attributes ---------------------------------------------------------------------------

    def _mangled(self, attr: str) -> str:
        """The name Python itself would look up for ``obj.__private`` inside a class."""
        if not self._classes or not attr.startswith("__") or attr.endswith("__"):
            return attr
        owner = self._classes[-1].lstrip("_")
        return f"_{owner}{attr}" if owner else attr

    def _check_attr(self, node: ast.AST, attr: str) -> bool:
        reason = never_reason(attr)
        if reason:
            self.error(node, f"access to '{attr}' is not allowed in the sandbox: {reason}")
            return False
        return True

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        node = self.node_contents_visit(node)
        attr = node.attr
        if not self._check_attr(node, attr):
            return node
        name = ast.Constant(self._mangled(attr))
        if isinstance(node.ctx, ast.Load):
            if native_reason(attr) is None:
                return node  # the fast path: a native attribute load
            guarded = ast.copy_location(_call("read", node.value, name), node)
            if isinstance(node.value, ast.Name) and not is_dunder(attr):
                # self._x: native once the guard has cleared the class of self.
                test = self._cleared(node.value, "pure_types")
                return ast.copy_location(ast.IfExp(test, node, guarded), node)
            return guarded
        if is_dunder(attr) and attr not in WRITABLE_DUNDERS:
            self.error(node, f"assigning or deleting '{attr}' is not allowed in the sandbox")
            return node
        target: ast.expr = _call("write", node.value, name)
        if isinstance(node.value, ast.Name) and not is_dunder(attr):
            cleared = "pure_types" if attr.startswith("_") else "own_types"
            obj = _name(node.value.id)
            target = ast.IfExp(self._cleared(node.value, cleared), obj, target)
        node.value = ast.copy_location(target, node.value)
        return node

    @staticmethod
    def _cleared(obj: ast.Name, cache: str) -> ast.expr:
        """``type(obj) in cache``: the guards' record of classes cleared for native access."""
        return ast.Compare(_call("type", _name(obj.id)), [ast.In()], [_guard(cache)])

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        node = self.node_contents_visit(node)  # items are not attributes: native
        if isinstance(node.ctx, ast.Store) and not _plain_key(node.slice):
            node.slice = self._target_key(node, node.value, node.slice)
        return node

    # An extended-slice store into a list (``L[::2] = values``) runs the code's iterator after
    # the list fixed its sizes (``reentrancy``): stores whose key may be a slice go through the
    # guards, which hand the list a list. Plain keys (constants, slices of step 1) stay native.

    def _target_key(self, node: ast.AST, target: ast.expr, key: ast.expr) -> ast.expr:
        """The key of an item store checked where the value is not in sight (unpacking, loops,
        ``with``, augmented assignment, a name key after its value was made): no extended slice
        of a list."""
        if isinstance(key, ast.Slice):
            key = _call("slice", *(part or ast.Constant(None) for part in _slice_parts(key)))
        if isinstance(target, ast.Name):
            checked = _call("item_key", _name(target.id), key)
        else:
            checked = _call("target_key", key)
        if isinstance(key, ast.Name):
            checked = ast.IfExp(_not_slice(key), key, checked)
        return ast.copy_location(checked, node)

    def _item_store(self, node: ast.Assign, target: ast.Subscript) -> ast.stmt:
        """``x[k] = v``: native when ``k`` is plain; when a name and ``x`` a name, native with the
        key checked where Python evaluates it, after the value (a test before the value let the
        value rebind ``k``: red team round 8, B1); else through ``G.store``, whose arguments
        are evaluated in Python's order (value, target, key) and are what it stores."""
        key = target.slice
        if _plain_key(key):
            return node
        if isinstance(key, ast.Name) and isinstance(target.value, ast.Name):
            target.slice = self._target_key(target, target.value, key)
            return node
        if isinstance(key, ast.Slice):
            key = _call("slice", *(part or ast.Constant(None) for part in _slice_parts(key)))
        stored = ast.Expr(_call("store", node.value, target.value, key))
        return ast.fix_missing_locations(ast.copy_location(stored, node))

    # --- calls, loops, assignments: native ------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> Any:
        return self.node_contents_visit(node)

    def visit_For(self, node: ast.For) -> Any:
        return self.node_contents_visit(node)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> Any:
        return self.node_contents_visit(node)

    def visit_comprehension(self, node: ast.comprehension) -> Any:
        return self.node_contents_visit(node)

    def visit_Assign(self, node: ast.Assign) -> Any:
        target = node.targets[0]
        if len(node.targets) == 1 and isinstance(target, ast.Subscript):
            node.value = self.visit(node.value)
            target.value = self.visit(target.value)
            target.slice = self.visit(target.slice)
            return self._item_store(node, target)
        return self.node_contents_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> Any:
        return self.node_contents_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        target = node.target
        if isinstance(target, ast.Attribute) and target.attr in GUARDED_ATTRS:
            self.error(
                node,
                f"augmented assignment to '.{target.attr}' is not supported in the sandbox; "
                f"write 'x.{target.attr} = x.{target.attr} + ...' instead",
            )
        node = self.node_contents_visit(node)
        if not (self.cap_c_calls and isinstance(node.op, ast.Pow)) or _small_power(node.value):
            return node
        if not isinstance(node.target, ast.Name):
            self.error(
                node,
                "'**=' on an attribute or item is not supported in the inline sandbox; "
                "write 'x.a = x.a ** n' instead",
            )
            return node
        power = _call("ipow", _name(node.target.id), node.value)
        assign = ast.Assign(targets=[_name(node.target.id, ast.Store())], value=power)
        return ast.copy_location(assign, node)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.node_contents_visit(node)
        if self.cap_c_calls and isinstance(node.op, ast.Pow) and not _small_power(node.right):
            return ast.copy_location(_call("pow", node.left, node.right), node)
        return node

    # --- functions and classes ----------------------------------------------------------------

    def _check_type_params(self, node: ast.AST) -> None:
        if getattr(node, "type_params", None):  # Python 3.12+: not reviewed yet
            self.error(node, "type parameter syntax is not supported in the sandbox")

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> Any:
        self._check_binding(node, node.name)
        self._check_type_params(node)
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        node.args = self.visit(node.args)
        if node.returns is not None:
            node.returns = self.visit(node.returns)
        method = self._scopes[-1] == "class"
        self._scopes.append("function")
        self._resumes.append(False)
        try:
            body = self._visit_body(node.body)
        finally:
            self._scopes.pop()
            resumes = self._resumes.pop()
        if resumes:
            body = _check_resumptions(body)
        # Every function checks, leaves too: one expression of a leaf (``return x * x * x`` on
        # big integers) can be hours of C, and a host registry may call it after the cell.
        comparison = method and node.name in _COMPARISONS and not resumes
        docstring = body[:1] if body and _is_docstring(body[0]) else []
        outside = ast.Return(_guard("not_implemented")) if comparison else None
        check = _in_cell_check(node, outside and ast.copy_location(outside, node))
        kept = _kept_operands(node) if method and node.name in _COMPARISONS else []
        node.body = docstring + [check] + kept + body[len(docstring) :]
        return node

    def _native(self, node: ast.AST) -> Any:
        return self.node_contents_visit(node)

    visit_While = visit_Starred = visit_Compare = _native

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> Any:
        """A generator expression runs whenever it is resumed, by the host too (a library
        keeps it, ``close = gen.__next__``): each of its loops checks first, as a generator
        function does (``G.on or G.outside()`` as the first condition)."""
        node = super().visit_GeneratorExp(node)
        for loop in node.generators:
            check = ast.BoolOp(ast.Or(), [_guard("on"), _call("outside")])
            loop.ifs.insert(0, ast.copy_location(check, loop.iter))
        return node

    def _visit_body(self, body: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in body:
            new = self.visit(stmt)
            if new is None:
                continue
            out.extend(new if isinstance(new, list) else [new])
        return out

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        return self._visit_function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> Any:
        return self._visit_function(node)

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        self._resumes.append(False)  # a yield in a lambda is the lambda's, not ours
        try:
            node = self.node_contents_visit(node)
        finally:
            self._resumes.pop()
        # ``body if G.on else G.outside()``: ``_in_cell_check`` as an expression
        node.body = ast.copy_location(
            ast.IfExp(_guard("on"), node.body, _call("outside")), node.body
        )
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:
        self._check_binding(node, node.name)
        self._check_type_params(node)
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        node.bases = [self.visit(base) for base in node.bases]
        node.keywords = [self.visit(keyword) for keyword in node.keywords]
        self._classes.append(node.name)
        self._scopes.append("class")
        try:
            body = self._visit_body(node.body)
        finally:
            self._classes.pop()
            self._scopes.pop()
        # The mark makes the class "the code's own" from its creation on (before
        # __init_subclass__ or a dataclass decorator sees it); guards check for it.
        mark = ast.Assign(targets=[_name(OWN_MARK, ast.Store())], value=ast.Constant(TOKEN))
        docstring = body[:1] if body and _is_docstring(body[0]) else []
        node.body = docstring + [ast.copy_location(mark, node)] + body[len(docstring) :]
        return node

    # --- exceptions and context managers -------------------------------------------------------

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> Any:
        node = self.node_contents_visit(node)
        if node.name is not None:
            self.check_name(node, node.name)
        # A timeout or final_answer must not be swallowed by ``except BaseException``.
        guard = ast.copy_location(ast.Expr(_call("reraise")), node)
        node.body.insert(0, guard)
        return node

    def visit_Try(self, node: ast.Try) -> Any:
        return self._guard_finally(self.node_contents_visit(node))

    def visit_TryStar(self, node: ast.AST) -> Any:
        return self._guard_finally(self.node_contents_visit(node))

    @staticmethod
    def _guard_finally(node: Any) -> Any:
        """A timeout passes through ``finally`` untouched: its body could swallow it with
        ``continue``, ``break`` or ``return`` (and loop on, past the time limit)."""
        if node.finalbody:
            guard = ast.copy_location(ast.Expr(_call("reraise")), node.finalbody[0])
            node.finalbody.insert(0, guard)
        return node

    def visit_With(self, node: ast.With) -> Any:
        node = self.node_contents_visit(node)
        for item in node.items:
            item.context_expr = ast.copy_location(
                _call("with_", item.context_expr), item.context_expr
            )
        return node

    def visit_AsyncWith(self, node: ast.AsyncWith) -> Any:
        node = self.node_contents_visit(node)
        for item in node.items:
            item.context_expr = ast.copy_location(
                _call("awith", item.context_expr), item.context_expr
            )
        return node

    def visit_Await(self, node: ast.Await) -> Any:
        return self._resumption(node)

    def visit_Yield(self, node: ast.Yield) -> Any:
        return self._resumption(node)

    def visit_YieldFrom(self, node: ast.YieldFrom) -> Any:
        return self._resumption(node)

    def _resumption(self, node: ast.AST) -> Any:
        """A point where a generator or coroutine resumes: its function checks again there."""
        if self._resumes:
            self._resumes[-1] = True
        return self.node_contents_visit(node)

    def visit_Constant(self, node: ast.Constant) -> Any:
        self._check_marker(node)
        return node

    def _check_marker(self, node: ast.Constant) -> None:
        """The code may not write the policy's marker constants (``bindings``) itself."""
        if isinstance(node.value, str) and node.value.startswith(MARK_PREFIX):
            self.error(node, "strings starting with '\\x00sb:' are reserved for the sandbox")

    # --- imports ------------------------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> Any:
        for alias in node.names:
            if any(part.startswith("_") for part in alias.name.split(".")):
                self.error(node, f"importing private module '{alias.name}' is not allowed")
            self.check_name(node, (alias.asname or alias.name).partition(".")[0])
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        if node.level:
            self.error(node, "relative imports are not supported in the sandbox")
        module = node.module or ""
        if module != "__future__" and any(part.startswith("_") for part in module.split(".")):
            self.error(node, f"importing private module '{module}' is not allowed")
        for alias in node.names:
            if alias.name != "*" and alias.name.startswith("_"):
                self.error(node, f"importing the private name '{alias.name}' is not allowed")
            if alias.name == "*" and self._scopes[-1] != "module":
                self.error(node, "'from ... import *' is only allowed at module level")
            self.check_name(node, alias.asname or alias.name if alias.name != "*" else None)
        return node

    # --- pattern matching ---------------------------------------------------------------------

    def visit_Match(self, node: ast.Match) -> Any:
        """Patterns read attributes natively, by names the interpreter takes from the pattern
        (``case C(x=p)``, ``case a.b``) or from ``C.__match_args__``. The first are checked
        here like any native load; a class pattern with positional sub-patterns gets its
        class through ``G.match_class``, which checks the effective ``__match_args__`` when
        the pattern runs (``patterns``), however the class got it."""
        node.subject = self.visit(node.subject)
        prelude: list[ast.stmt] = []
        for case in node.cases:
            for pattern in ast.walk(case.pattern):
                if isinstance(pattern, ast.MatchClass):
                    self._check_pattern_path(pattern.cls)
                    if pattern.patterns:
                        prelude.append(self._checked_class_pattern(pattern))
                    for attr in pattern.kwd_attrs:
                        reason = native_reason(attr)
                        if reason:
                            self.error(
                                pattern,
                                f"matching the attribute '{attr}' in a class pattern is not "
                                f"allowed in the sandbox: {reason}",
                            )
                elif isinstance(pattern, ast.MatchValue):
                    self._check_pattern_path(pattern.value)
                elif isinstance(pattern, ast.MatchMapping):
                    for key in pattern.keys:
                        self._check_pattern_path(key)
                    if pattern.rest:
                        self.check_name(pattern, pattern.rest)
                elif isinstance(pattern, (ast.MatchAs, ast.MatchStar)) and pattern.name:
                    self.check_name(pattern, pattern.name)
            if case.guard is not None:
                case.guard = self.visit(case.guard)
            case.body = self._visit_body(case.body)
        for stmt in prelude:
            ast.copy_location(stmt, node)
        return [*prelude, node] if prelude else node

    def _checked_class_pattern(self, pattern: ast.MatchClass) -> ast.stmt:
        """``case C(p)`` becomes ``case <hidden>.cls(p)``, the hidden name bound just before
        the ``match`` to ``G.match_class(lambda: C)``: ``C`` is still looked up when the
        pattern runs, and its effective ``__match_args__`` is checked then (``patterns``)."""
        self._patterns += 1
        hidden = f"{RESERVED_PREFIX}pattern_{self._patterns}"
        cls = pattern.cls
        if self._scopes[-1] == "class":  # a function in a class body cannot see its names
            bind = _call("match_class", ast.Constant(None), cls)
        else:
            lazy = ast.Lambda(args=_no_arguments(), body=cls)
            bind = _call("match_class", lazy)
        pattern.cls = ast.copy_location(
            ast.Attribute(value=_name(hidden), attr="cls", ctx=ast.Load()), cls
        )
        return ast.Assign(targets=[_name(hidden, ast.Store())], value=bind)

    def _check_pattern_path(self, expr: ast.expr) -> None:
        """Dotted names in patterns are compiled natively: only what a native load may read."""
        for sub in ast.walk(expr):
            if isinstance(sub, ast.Attribute):
                reason = native_reason(sub.attr)
                if reason:
                    self.error(
                        sub, f"'.{sub.attr}' cannot be used in a pattern in the sandbox: {reason}"
                    )
            elif isinstance(sub, ast.Name):
                self.check_name(sub, sub.id)
            elif isinstance(sub, ast.Constant):
                self._check_marker(sub)

    # --- top level ----------------------------------------------------------------------------

    def visit_Module(self, node: ast.Module) -> Any:
        node.body = self._visit_body(node.body)
        return node

    def visit_Expression(self, node: ast.Expression) -> Any:
        return self.node_contents_visit(node)

    def visit_Interactive(self, node: ast.Interactive) -> Any:
        node.body = self._visit_body(node.body)
        return node


def _no_arguments() -> ast.arguments:
    return ast.arguments(
        posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]
    )


def _small_power(exponent: ast.expr) -> bool:
    """An exponent no base can make expensive: a float, or an integer constant up to 8."""
    if isinstance(exponent, ast.UnaryOp) and isinstance(exponent.op, ast.USub):
        exponent = exponent.operand  # negative: a float result
    if not isinstance(exponent, ast.Constant) or isinstance(exponent.value, bool):
        return False
    return isinstance(exponent.value, float) or (
        isinstance(exponent.value, int) and exponent.value <= 8
    )


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_RESUMPTIONS = (ast.Yield, ast.YieldFrom, ast.Await)


def _own_nodes(node: ast.AST) -> list[ast.AST]:
    """``node`` and what it contains, without the insides of nested functions and classes."""
    found, todo = [], [node]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(c for c in ast.iter_child_nodes(current) if not isinstance(c, _SCOPES))
    return found


def _header_resumes(stmt: ast.stmt) -> bool:
    """A resumption point in ``stmt`` outside the statement lists it contains."""
    for _, value in ast.iter_fields(stmt):
        parts = value if isinstance(value, list) else [value]
        for part in parts:
            if isinstance(part, (ast.stmt, ast.excepthandler, ast.match_case, *_SCOPES)):
                continue
            if isinstance(part, ast.AST) and any(
                isinstance(n, _RESUMPTIONS) for n in _own_nodes(part)
            ):
                return True
    return False


def _check_resumptions(body: list[ast.stmt]) -> list[ast.stmt]:
    """``body`` with ``_in_cell_check`` after every statement that resumes at a ``yield`` or
    ``await`` (and at the start of the blocks of a compound one): a generator the host keeps
    and resumes after the cell stops there."""
    out: list[ast.stmt] = []
    for stmt in body:
        if isinstance(stmt, _SCOPES):  # a nested function has checks of its own
            out.append(stmt)
            continue
        header = _header_resumes(stmt)
        for name, value in ast.iter_fields(stmt):
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                inner = _check_resumptions(value)
                if header:
                    inner = [_in_cell_check(stmt), *inner]
                setattr(stmt, name, inner)
            elif isinstance(value, list) and value and isinstance(value[0], ast.excepthandler):
                for handler in value:
                    handler.body = _check_resumptions(handler.body)
            elif name == "cases":
                for case in value:
                    case.body = _check_resumptions(case.body)
        out.append(stmt)
        if header and not isinstance(stmt, (ast.Return, ast.Raise)):
            out.append(_in_cell_check(stmt))
    return out


def transform(
    tree: ast.Module | ast.Expression, cap_c_calls: bool = False
) -> tuple[ast.AST, list[tuple[int, int, str]]]:
    """Rewrite ``tree`` in place; returns it and the problems found as (line, column, message)."""
    transformer = PolicyTransformer(cap_c_calls)
    new = transformer.visit(tree)
    ast.fix_missing_locations(new)
    return new, transformer.problems
