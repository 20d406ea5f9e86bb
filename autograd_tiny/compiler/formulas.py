"""Formulas: the engine's rule table read as code, in the generated function's own names.

Every op of the engine's table carries the local derivative of its output with respect to each
input as a formula text, in the inputs' names and ``out`` (`Op.formulas`: ``"1 - out * out"``
for tanh). The compiled backward pass is those formulas written out at each node: a formula is
parsed (`ast.parse`), checked against a short list of what it may contain (the op's input
names and ``out``, numbers, None, arithmetic, comparisons, ``a if test else b`` and calls of
the formulas' own functions, `ieee.FORMULA_NAMES`; for an op of any number of inputs, also
``i`` and ``xs[j]`` with j a whole number), its names are replaced by the variables or numbers
they stand for at the node (``i`` by the input's position, ``xs[j]`` by input j's variable),
what is known before the call is worked out (for ``x ** 2.0``, pow's ``None if y == 0 else y *
pow(x, y - 1)`` is ``2.0 * x``), and it is written back as text (`ast.unparse`). A None left in
a branch means that no gradient flows there: the writer makes the branch an ``if`` around the
addition (relu's ``None if out <= 0 else 1.0``). A test left open is one too: pick's ``1.0 if i
== xs[-1] else 0.0`` at input 2 of ``pick(a, b, c, k)`` is ``if 2.0 == k:`` (the label is a
number of the call, not of the trace).

An op's forward pass is derived the same way: a Python operator where one computes the op's
function (+ * / **), the function's own expression where its body is one (relu:
``0.0 if x <= 0 else x``), a call of the function by name otherwise.

Text that is not the engine's own is never parsed nor written: a custom `primitive`'s formula
is the user's, for show only (`Op.from_formulas` is False), and such an op is run through its
own ``rule``. So is an op whose formula holds anything outside the list above.

Example:
    >>> from autograd_tiny.engine import POW, RELU, TANH
    >>> rules = Formulas()
    >>> rules.local(TANH, 0, (None,)).fill(["n"], "o", {})
    '1 - o * o'
    >>> rules.local(POW, 0, (None, 2.0)).fill(["x", "2.0"], "o", {})   # x ** 2.0: d/dx = 2.0 x
    '2.0 * x'
    >>> relu = rules.local(RELU, 0, (None,))                           # nothing flows where out <= 0
    >>> relu.test.fill(["z"], "o", {}), relu.then, relu.otherwise.fill(["z"], "o", {})
    ('o <= 0.0', None, '1.0')
    >>> rules.forward(RELU, (None,)).fill(["z"], "o", {})
    '0.0 if z <= 0.0 else z'
"""

from __future__ import annotations

import ast
import functools
import math
import operator
import re
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

from .. import ieee
from ..engine import Op
from ..formulas import FORMULA_NAMES

__all__ = ["Formulas", "Code", "Branch", "Local", "function", "faster", "shown"]


class Code:
    """A piece of code with holes: ``{0}``, ``{1}``, ... for the inputs, ``{out}`` for the
    output, ``{exp}``, ... for the functions it calls (their names in the code's namespace)."""

    __slots__ = ("text", "calls", "one", "simple")

    def __init__(self, text: str, calls: frozenset, one: bool = False, simple: bool = False) -> None:
        self.text = text
        self.calls = calls  # the names of the formulas' functions it calls
        self.one = one  # it is the number 1: d * g is g
        self.simple = simple  # a name, a number or a call: d * g needs no parentheses

    def fill(self, inputs: Sequence[str], out: str, functions: dict[str, str]) -> str:
        """The code, with the inputs' and the output's variables, and the functions' names."""
        return self.text.format(*inputs, out=out, **{name: functions.get(name, name) for name in self.calls})


class Branch:
    """A local derivative that depends on a test: ``then`` where it holds, else ``otherwise``
    (each a `Code`, a `Branch`, or None where no gradient flows); ``negated`` is ``not test``."""

    __slots__ = ("test", "then", "otherwise", "negated")

    def __init__(self, test: Code, then: Local, otherwise: Local, negated: Code) -> None:
        self.test, self.then, self.otherwise, self.negated = test, then, otherwise, negated


Local = Code | Branch | None


# ---------------------------------------------------------------------- what a formula may hold

_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.Mod, ast.FloorDiv, ast.USub, ast.UAdd, ast.Not,
              ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.And, ast.Or)  # fmt: skip
_NODES = (ast.Expression, ast.Name, ast.Load, ast.Constant, ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp,
          ast.IfExp, ast.Call, ast.Subscript, *_OPERATORS)  # fmt: skip
_EACH_NAMES = ("i", "xs")  # an op of any number of inputs: the input's position, all the inputs
_CALLABLE = frozenset(name for name, f in FORMULA_NAMES.items() if callable(f))
_CONSTANT = frozenset(name for name, f in FORMULA_NAMES.items() if not callable(f))  # nan, inf


def _allowed(tree: ast.AST, names: frozenset, formula: bool = True) -> bool:
    """True if the parsed expression holds only what a formula may (see the module's
    documentation): None only as a branch of ``a if test else b`` (whose branches may be such
    expressions), a function of the formulas only where it is called. A function's body
    (formula False) may hold its parameters and numbers, but no call nor name of the formulas."""
    branches = {id(tree.body)} if isinstance(tree, ast.Expression) else set()
    called: set[int] = set()
    indexed: set[int] = set()
    for node in ast.walk(tree):  # (parents before children)
        if not isinstance(node, _NODES):
            return False
        if isinstance(node, ast.Subscript):  # xs[j], j a whole number
            if not (formula and isinstance(node.value, ast.Name) and node.value.id == "xs" and "xs" in names
                    and _index(node.slice) is not None):  # fmt: skip
                return False
            indexed.update((id(node.value), id(node.slice), *map(id, ast.walk(node.slice))))
            continue
        if id(node) in indexed and not isinstance(node, ast.Name):
            continue  # the index's own parts: checked by _index
        if isinstance(node, ast.IfExp) and id(node) in branches:
            branches.update((id(node.body), id(node.orelse)))
        elif isinstance(node, ast.Constant):
            if node.value is None and id(node) not in branches:
                return False
            if node.value is not None and node.value.__class__ not in (int, float):
                return False
        elif isinstance(node, ast.Call):
            if not formula or node.keywords or not isinstance(node.func, ast.Name) or node.func.id not in _CALLABLE:
                return False
            called.add(id(node.func))
        elif isinstance(node, ast.Name) and node.id == "xs" and id(node) not in indexed:
            return False  # xs only as xs[j]
        elif isinstance(node, ast.Name) and node.id not in names:
            if not formula or not (node.id in _CONSTANT or node.id in _CALLABLE and id(node) in called):
                return False
    return True


def _index(node: ast.expr) -> int | None:
    """The j of xs[j]: a whole number, written as such (``-1`` included), else None."""
    negative = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
    inner = node.operand if negative else node  # type: ignore[attr-defined]
    if isinstance(inner, ast.Constant) and inner.value.__class__ is int:
        return -inner.value if negative else inner.value
    return None


@functools.lru_cache(maxsize=512)
def _parse(text: str, names: frozenset) -> ast.expr | None:
    """The formula's expression, if it holds only what a formula may (else None)."""
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return tree.body if _allowed(tree, names) else None


def _names(op: Op) -> frozenset | None:
    """The names an op's formulas may use: its inputs' and ``out`` (None if they would hide a
    function of the formulas, or are no names)."""
    names = frozenset((*op.inputs, "out", *(_EACH_NAMES if op.each else ())))
    if len(names) != len(op.inputs) + 1 + (len(_EACH_NAMES) if op.each else 0) or names & FORMULA_NAMES.keys():
        return None
    if not all(isinstance(n, str) and n.isidentifier() for n in names):
        return None
    return names


def _formulas(op: Op) -> list[ast.expr] | None:
    """The op's formulas, parsed, if they are the engine's own and hold only what a formula may."""
    if not op.from_formulas or op.formulas is None:
        return None
    names = _names(op)
    if names is None or len(op.formulas) != (1 if op.each else len(op.inputs)):
        return None
    trees = [_parse(text, names) for text in op.formulas]
    return None if any(t is None for t in trees) else trees  # type: ignore[return-value]


def shown(op: Op, extra: Sequence[str] = ()) -> list[str] | None:
    """The op's formulas as the engine's table writes them, normalized by the parser (None if
    the op has none of its own, or one holds anything a formula may not)."""
    if op.formulas is None:
        return None
    names = _names(op)
    if names is None:
        return None
    trees = [_parse(text, names | frozenset(extra)) for text in op.formulas]
    if any(t is None for t in trees):
        return None
    return [ast.unparse(t) for t in trees]  # type: ignore[arg-type]


# ---------------------------------------------------------------------- the functions the code calls

# A formula's function, on the floats of the generated code. FORMULA_NAMES' functions take
# floats and Values; where ieee.py has a float function of the same name, that is what they
# compute on a float, and the code calls it directly. For exp, log, sin and cos, math's own
# instead: a C function several times faster, which gives the same number, and raises where
# ieee.py gives inf or nan (exp(1000), log(0), sin(inf)): the exception sends the call back to
# the engine, which gives its own result or error. (tests/test_compiler_formulas.py checks
# both facts on many floats.)
_MATH_TWINS = ("exp", "log", "sin", "cos")


def function(name: str) -> Any:
    """What a formula's function name stands for in the generated code."""
    if name in _MATH_TWINS:
        return getattr(math, name)
    on_floats = getattr(ieee, name, None)
    return on_floats if callable(on_floats) else FORMULA_NAMES[name]


def faster(fn: Callable) -> Callable:
    """The function to call for an op's function: math's twin of ieee.py's exp, log, sin, cos."""
    for name in _MATH_TWINS:
        if fn is getattr(ieee, name, None):
            return getattr(math, name)
    return fn


# ---------------------------------------------------------------------- substituting and folding


def _node_of(value: Any) -> ast.expr:
    """A number as an expression (nan, inf and negative numbers written so that they parse back)."""
    if value is None or isinstance(value, bool):
        return ast.Constant(value)
    if value != value:
        return ast.Name("nan", ast.Load())
    if value in (math.inf, -math.inf):
        return ast.Name("inf", ast.Load()) if value > 0 else ast.UnaryOp(ast.USub(), ast.Name("inf", ast.Load()))
    if math.copysign(1.0, value) < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-value))
    return ast.Constant(value)


_NOTHING = object()


def _known(node: ast.expr) -> Any:
    """The number an expression is known to be before the call, else _NOTHING."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANT:
        return FORMULA_NAMES[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _known(node.operand)
        if inner is not _NOTHING and inner is not None:
            return -inner if isinstance(node.op, ast.USub) else +inner
    return _NOTHING


_BINARY: dict[type, Callable] = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
                                 ast.Div: operator.truediv, ast.Pow: operator.pow, ast.Mod: operator.mod,
                                 ast.FloorDiv: operator.floordiv}  # fmt: skip
_COMPARE: dict[type, Callable] = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
                                  ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}  # fmt: skip
_UNARY: dict[type, Callable] = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}


def _computed(compute: Callable, *args: Any) -> Any:
    """compute(*args) as the engine would, or _NOTHING where it raises (the code then raises too)."""
    try:
        value = compute(*args)
    except Exception:
        return _NOTHING
    return value if value is None or value.__class__ in (int, float, bool) else _NOTHING


def _fold(node: ast.expr, values: dict[str, ast.expr]) -> ast.expr:
    """node with each name in values replaced, and what is known before the call worked out:
    the same Python operations as the engine does on the same numbers, done once."""
    if isinstance(node, ast.Name):
        return values.get(node.id, node)
    if isinstance(node, ast.Constant):
        return node
    if isinstance(node, ast.Subscript):  # xs[j]: input j (values["xs"] lists them all)
        inputs = values["xs"]
        assert isinstance(inputs, ast.List) and isinstance(node.value, ast.Name) and node.value.id == "xs"
        j = _index(node.slice)
        assert j is not None
        return inputs.elts[j]  # (an input the node has: its rule ran when the node was made)
    if isinstance(node, ast.IfExp):
        test = _fold(node.test, values)
        known = _known(test)
        if known is not _NOTHING:
            return _fold(node.body if known else node.orelse, values)
        return ast.IfExp(test, _fold(node.body, values), _fold(node.orelse, values))
    if isinstance(node, ast.UnaryOp):
        operand = _fold(node.operand, values)
        known = _known(operand)
        if known is not _NOTHING:
            value = _computed(_UNARY[type(node.op)], known)
            if value is not _NOTHING:
                return _node_of(value)
        return ast.UnaryOp(node.op, operand)
    if isinstance(node, ast.BinOp):
        left, right = _fold(node.left, values), _fold(node.right, values)
        a, b = _known(left), _known(right)
        if a is not _NOTHING and b is not _NOTHING:
            value = _computed(_BINARY[type(node.op)], a, b)
            if value is not _NOTHING:
                return _node_of(value)
        if isinstance(node.op, ast.Mult):  # 1 * d is d, to the last bit (an optimization)
            if _is_one(a):
                return right
            if _is_one(b):
                return left
        return ast.BinOp(left, node.op, right)
    if isinstance(node, ast.Compare):
        parts = [_fold(node.left, values), *(_fold(c, values) for c in node.comparators)]
        known = [_known(p) for p in parts]
        if all(k is not _NOTHING for k in known):
            outcomes = [_computed(_COMPARE[type(o)], a, b) for o, a, b in zip(node.ops, known, known[1:])]
            if all(o.__class__ is bool for o in outcomes):
                return ast.Constant(all(outcomes))
        return ast.Compare(parts[0], node.ops, parts[1:])
    if isinstance(node, ast.BoolOp):
        parts = [_fold(v, values) for v in node.values]
        known = [_known(p) for p in parts]
        if all(k is not _NOTHING for k in known):
            value = functools.reduce(lambda a, b: (a and b) if isinstance(node.op, ast.And) else (a or b), known)
            return _node_of(value)
        return ast.BoolOp(node.op, parts)
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        args = [_fold(a, values) for a in node.args]
        known = [_known(a) for a in args]
        if all(k is not _NOTHING for k in known):
            value = _computed(FORMULA_NAMES[node.func.id], *known)
            if value is not _NOTHING:
                return _node_of(value)
        if node.func.id == "pow" and len(args) == 2:
            exponent = known[1]
            if _is_one(exponent):  # x ** 1 is x (an optimization)
                return args[0]
            if exponent.__class__ in (int, float) and abs(exponent) < 2**53 and float(exponent).is_integer():
                # pow(x, n) is x ** n for an integer n: Python's ** raises where pow gives inf
                # (0 ** -1, an overflow), and the call goes back to the engine (an optimization)
                return ast.BinOp(args[0], ast.Pow(), args[1])
        return ast.Call(node.func, args, [])
    raise AssertionError(f"not in a formula: {ast.dump(node)}")


def _is_one(value: Any) -> bool:
    return value.__class__ in (int, float) and value == 1


# ---------------------------------------------------------------------- into code with holes

_HOLE = re.compile(r"\b_(?:(\d+)|(out)|f_(\w+))_\b")


def _code(tree: ast.expr) -> Code:
    """The expression as Code: the holes' names become ``{0}``, ``{out}``, ``{exp}``; an int
    compared with is written as a float: the same comparison for the code's floats, faster."""
    tree = _FloatInts().visit(tree)
    calls = frozenset(n.func.id[3:-1] for n in ast.walk(tree) if isinstance(n, ast.Call))  # type: ignore[attr-defined]
    text = _HOLE.sub(lambda m: "{" + (m.group(1) or m.group(2) or m.group(3)) + "}", ast.unparse(tree))
    known = _known(tree)
    simple = isinstance(tree, (ast.Name, ast.Constant, ast.Call)) or known is not _NOTHING
    return Code(text, calls, one=_is_one(known), simple=simple)


class _FloatInts(ast.NodeTransformer):
    def visit_Compare(self, node: ast.Compare) -> ast.Compare:
        self.generic_visit(node)
        node.left, *node.comparators = [_float_int(e) for e in (node.left, *node.comparators)]
        return node


def _float_int(e: ast.expr) -> ast.expr:
    if isinstance(e, ast.Constant) and e.value.__class__ is int and abs(e.value) < 2**53:
        return ast.Constant(float(e.value))
    return e


def _local(tree: ast.expr) -> Local:
    if isinstance(tree, ast.Constant) and tree.value is None:
        return None
    if isinstance(tree, ast.IfExp):
        negated = _code(_negated(tree.test))
        return Branch(_code(tree.test), _local(tree.body), _local(tree.orelse), negated)
    return _code(tree)


def _negated(test: ast.expr) -> ast.expr:
    """not test: a != b for a == b and the other way round (exact, nan included), else ``not``."""
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Eq, ast.NotEq)):
        return ast.Compare(test.left, [ast.NotEq() if isinstance(test.ops[0], ast.Eq) else ast.Eq()], test.comparators)
    return ast.UnaryOp(ast.Not(), test)


def _hole(k: int, number: float | None) -> ast.expr:
    return ast.Name(f"_{k}_", ast.Load()) if number is None else _node_of(number)


def _holes(names: Sequence[str], known: Sequence[float | None]) -> dict:
    """Each input's name -> its hole, or the number it is known to be; ``out`` -> its hole."""
    values: dict[str, ast.expr] = {"out": ast.Name("_out_", ast.Load())}
    for k, (name, number) in enumerate(zip(names, known)):
        values[name] = _hole(k, number)
    return values


def _each_holes(i: int, known: Sequence[float | None], spans: bool) -> dict:
    """The names of an op of any number of inputs, at input i: ``x``, ``i``, ``xs`` (when the
    formula reads ``xs``, known has every input and the holes are theirs; else input i's alone)."""
    values: dict[str, ast.expr] = {"out": ast.Name("_out_", ast.Load()), "i": ast.Constant(i)}
    if spans:
        inputs = [_hole(k, number) for k, number in enumerate(known)]
        values["x"], values["xs"] = inputs[i], ast.List(inputs, ast.Load())
    else:
        values["x"] = _hole(0, known[0])
    return values


def _with_call_holes(tree: ast.expr) -> ast.expr:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            node.func = ast.Name(f"_f_{node.func.id}_", ast.Load())
    return tree


class Formulas:
    """The formulas of the ops of one compiled graph, as code (each worked out once per op and
    per set of inputs known before the call)."""

    def __init__(self) -> None:
        self._locals: dict[tuple, Local] = {}
        self._forwards: dict[tuple, Code | None] = {}
        self._usable: dict[Op, bool] = {}
        self._names: dict[Op, frozenset] = {}

    def usable(self, op: Op) -> bool:
        """True if the op's derivatives can be written from its formulas (else call op.rule)."""
        usable = self._usable.get(op)
        if usable is None:
            usable = self._usable[op] = _formulas(op) is not None
        return usable

    def spans(self, op: Op) -> bool:
        """True if the formula of an op of any number of inputs reads them all (``xs``): its
        code's holes are then every input's, not the input at hand's alone."""
        return op.each and self.usable(op) and "xs" in self._names_used(op)

    def by_position(self, op: Op) -> bool:
        """True if an op of any number of inputs treats its inputs by position (its formula
        reads ``i`` or ``xs``: pick), so that they are no interchangeable terms of a sum."""
        return op.each and self.usable(op) and not self._names_used(op).isdisjoint(_EACH_NAMES)

    def _names_used(self, op: Op) -> frozenset:
        names = self._names.get(op)
        if names is None:
            trees = _formulas(op)
            assert trees is not None, op
            names = self._names[op] = frozenset(n.id for t in trees for n in ast.walk(t) if isinstance(n, ast.Name))
        return names

    def local(self, op: Op, i: int, known: Sequence[float | None]) -> Local:
        """d out / d input i of op, as code whose holes are the formula's inputs: ``known`` has,
        for each of them, the number it is known to be before the call, or None. (For an op
        with ``op.each``, the formula's inputs are the input at hand, x, alone, unless it
        `spans` them all; i matters only if it reads ``i`` or ``xs``.)"""
        by_position = op.each and self.by_position(op)
        key = (op, -1 if op.each and not by_position else i, tuple(known))
        if key in self._locals:
            return self._locals[key]
        trees = _formulas(op)
        assert trees is not None, op
        if op.each:
            values = _each_holes(i, known, self.spans(op))
        else:
            values = _holes(op.inputs, known)
        local = _local(_with_call_holes(_fold(trees[0] if op.each else trees[i], values)))
        self._locals[key] = local
        return local

    def forward(self, op: Op, known: Sequence[float | None]) -> Code | None:
        """out of op as code, if an operator or the op's function's own expression gives it
        (else None: call op.fn by name)."""
        key = (op, tuple(known))
        if key not in self._forwards:
            self._forwards[key] = _forward(op, known)
        return self._forwards[key]


# ---------------------------------------------------------------------- the forward pass

# The table's functions that a Python operator computes: the same number where the operator
# returns; where the function gives inf or raises a DomainError, the operator raises (x / 0,
# 0.0 ** -1, an overflow), and the exception sends the call back to the engine.
_OPERATOR_OF = {operator.add: ast.Add, operator.mul: ast.Mult, ieee.div: ast.Div, ieee.power: ast.Pow}


def _forward(op: Op, known: Sequence[float | None]) -> Code | None:
    holes = [ast.Name(f"_{k}_", ast.Load()) if x is None else _node_of(x) for k, x in enumerate(known)]
    symbol = _OPERATOR_OF.get(op.fn) if len(known) == 2 else None
    if symbol is ast.Pow:
        # ** of a negative number to a fractional power is a complex number in Python (ieee.py
        # says DomainError): the operator only where the exponent is an integer or the base > 0
        x, y = known
        if not ((y is not None and math.isfinite(y) and y.is_integer()) or (x is not None and 0 < x < math.inf)):
            symbol = None
    if symbol is not None:
        return _code(ast.BinOp(holes[0], symbol(), holes[1]))
    if not op.from_formulas:
        return None  # a custom primitive's function: user code, called, never copied
    body = _expression_of(op.fn)
    if body is None or len(body[0]) != len(known):
        return None
    params, tree = body
    return _code(_fold(tree, dict(zip(params, holes))))


@functools.lru_cache(maxsize=128)
def _expression_of(fn: Callable) -> tuple[tuple[str, ...], ast.expr] | None:
    """(parameters, expression) of a function whose body is one expression of its parameters:
    arithmetic, comparisons and ``a if test else b``, no calls (relu's ``0.0 if x <= 0 else x``).
    The source is read back and checked against the function's own bytecode: it is the code
    that runs, not a file changed since."""
    import inspect  # only here: they are slow to import

    code = getattr(fn, "__code__", None)
    if code is None or code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS) or code.co_kwonlyargcount:
        return None
    if getattr(fn, "__defaults__", None) or getattr(fn, "__closure__", None):
        return None
    params = code.co_varnames[: code.co_argcount]
    try:
        lines, first = inspect.getsourcelines(fn)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError, ValueError):
        return None
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Lambda):
            body = node.body
        elif isinstance(node, ast.FunctionDef) and node.name == fn.__name__:
            statements = node.body[1:] if ast.get_docstring(node) is not None else node.body
            if len(statements) != 1 or not isinstance(statements[0], ast.Return) or statements[0].value is None:
                continue
            body = statements[0].value
        else:
            continue
        args = node.args
        if (tuple(a.arg for a in (*args.posonlyargs, *args.args)) == params and not args.vararg and not args.kwarg
                and not args.kwonlyargs and node.lineno + first - 1 == code.co_firstlineno):  # fmt: skip
            found.append(body)
    if len(found) != 1 or not _allowed(ast.Expression(found[0]), frozenset(params), formula=False):
        return None
    try:
        twin = eval(compile(f"lambda {', '.join(params)}: {ast.unparse(found[0])}", "<formula>", "eval"), {})
    except SyntaxError:
        return None
    if _instructions(twin.__code__) != _instructions(code):
        return None
    return params, found[0]


def _instructions(code: Any) -> list[tuple]:
    import dis

    return [(i.opname, i.argval) for i in dis.get_instructions(code) if i.opname not in ("RESUME", "NOP")]
