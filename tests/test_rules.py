"""One rule table drives every tool: each built-in op has what every tool needs, and a new op
works everywhere with no other edit. Every expected number is a central difference of the op's
function on floats (the independent oracle) or a closed form."""

from __future__ import annotations

import ast
import html
import math
import re

import pytest

from autograd_tiny import compile, draw_dot, explore, grad, jvp
from autograd_tiny.engine import BUILTIN_OPS, LOG, PICK, POW, Op, Value, apply
from autograd_tiny.formulas import FORMULA_NAMES
from autograd_tiny.primitives import primitive

# Points where each op is smooth, away from kinks (relu, abs, leaky_relu at 0) and domain edges.
POINTS = {1: [(-1.3,), (0.4,), (2.1,)], 2: [(0.7, 1.9), (1.6, -0.45), (2.5, 0.8)]}


def central(fn, args, i, h=1e-6):
    """d fn / d args[i] by central differences."""
    up, down = list(args), list(args)
    up[i] += h
    down[i] -= h
    return (fn(*up) - fn(*down)) / (2 * h)


def arity(op: Op) -> list[int]:
    """How many inputs to try the op with: its formulas' count, or 1 to 3 for an op of any number
    (for pick, whose last input is an index into the others, 2 to 4)."""
    if op is PICK:
        return [2, 3, 4]
    return [1, 2, 3] if op.each else [len(op.inputs)]


def points_for(n: int, op: Op | None = None) -> list[tuple[float, ...]]:
    """Points to try an op of n inputs at; for pick, the values of POINTS with each index in turn."""
    if op is PICK:
        return [(*row, float(k)) for row in points_for(n - 1) for k in range(n - 1)]
    return POINTS.get(n, [(0.3, -0.8, 1.4), (1.1, 0.2, -0.6)])


def index_inputs(op: Op, n: int) -> set[int]:
    """The inputs that are indices (pick's last): whole numbers, where the function is flat."""
    return {n - 1} if op is PICK else set()


@pytest.mark.parametrize("op", BUILTIN_OPS, ids=lambda op: op.name)
def test_every_builtin_op_has_formulas_every_tool_can_read(op):
    """Each built-in op has one formula per input (or one for every input), each a Python
    expression in the inputs' names, ``out`` and the formulas' functions only, and its rule was
    made from them (so the explorer shows and compile writes the code that runs)."""
    assert op.name and op.from_formulas and op.formulas
    assert len(op.formulas) == (1 if op.each else len(op.inputs))
    allowed = {*op.inputs, "out", *FORMULA_NAMES, *(("i", "xs") if op.each else ())}
    for text in op.formulas:
        tree = ast.parse(text, mode="eval")
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        assert names <= allowed, (op.name, text, names - allowed)


@pytest.mark.parametrize("op", BUILTIN_OPS, ids=lambda op: op.name)
def test_every_builtin_rule_matches_central_differences_on_floats_and_on_values(op):
    """The rule's local derivatives equal central differences of the op's function, and the same
    rule evaluated on Values (as backward(create_graph=True) does) gives the same numbers."""
    for n in arity(op):
        for args in points_for(n, op):
            if op is POW or op is LOG:
                args = (abs(args[0]) + 0.5, *args[1:])  # a positive base, or argument of log
            out = op.fn(*args)
            local = op.rule(*args, out)
            on_values = op.rule(*[Value(a) for a in args], Value(out))
            for i in range(n):
                slope = 0.0 if local[i] is None else local[i]  # None: flat, nothing flows
                if i in index_inputs(op, n):  # defined at whole numbers only: flat where defined
                    assert slope == 0.0, (op.name, args, i)
                else:
                    assert slope == pytest.approx(central(op.fn, args, i), rel=1e-6, abs=1e-8), (op.name, args, i)
                assert (on_values[i] is None) == (local[i] is None)
                if local[i] is not None:
                    assert float(on_values[i]) == pytest.approx(local[i], rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("op", [op for op in BUILTIN_OPS if len(op.inputs) == 2], ids=lambda op: op.name)
def test_a_two_input_op_whose_order_matters_names_its_inputs_roles(op):
    """Drawings label the inputs of an op whose order matters (x op y != y op x) by their roles."""
    asymmetric = any(op.fn(a, b) != op.fn(b, a) for a, b in POINTS[2])
    if asymmetric:
        assert op.roles is not None and len(op.roles) == 2 and len(set(op.roles)) == 2
    else:
        assert op.roles is None


# ---------------------------------------------------------------------- a new op, everywhere

# softsign(x) = x / (1 + |x|): its derivative 1 / (1 + |x|)², written with the formulas' own words
SOFTSIGN = Op("softsign", lambda x: x / (1 + abs(x)), x="1 / ((1 + sign(x) * x) * (1 + sign(x) * x))")


def softsign_value(x):
    return apply(SOFTSIGN, [x])


@primitive(derivatives=lambda x, y, out: (y / (1 + x * y) ** 2, x / (1 + x * y) ** 2), formula=("y / (1 + x*y)**2", "x / (1 + x*y)**2"))
def ratio(x, y):
    """x*y / (1 + x*y), a custom primitive of two inputs with a formula text for show."""
    return x * y / (1 + x * y)


def float_softsign(x):
    return x / (1 + abs(x))


def float_ratio(x, y):
    return x * y / (1 + x * y)


NEW = [
    ("a table op", lambda v: softsign_value(v[0] * 1.5) * v[1], lambda a, b: float_softsign(a * 1.5) * b),
    ("a custom primitive", lambda v: ratio(v[0], v[1]).tanh(), lambda a, b: math.tanh(float_ratio(a, b))),
]


@pytest.mark.parametrize("name, f, oracle", NEW, ids=[n for n, _, _ in NEW])
def test_a_new_op_works_in_backward_and_second_derivatives(name, f, oracle):
    """backward() and backward(create_graph=True) through a new op agree with central differences."""
    for a, b in [(0.6, 1.3), (-0.9, 0.7)]:
        x, y = Value(a), Value(b)
        out = f([x, y])
        out.backward(create_graph=True)
        assert float(out) == pytest.approx(oracle(a, b), rel=1e-13)
        assert float(x.grad) == pytest.approx(central(oracle, (a, b), 0), rel=1e-6)
        assert float(y.grad) == pytest.approx(central(oracle, (a, b), 1), rel=1e-6)
        dfdx = grad(lambda p, q: f([p, q]), argnums=0)
        second = grad(lambda p, q: dfdx(p, q), argnums=0)(a, b)  # d²f/dx²
        assert second == pytest.approx(central(lambda p, q: central(oracle, (p, q), 0, 1e-4), (a, b), 0, 1e-4), rel=1e-4)


@pytest.mark.parametrize("name, f, oracle", NEW, ids=[n for n, _, _ in NEW])
def test_a_new_op_works_in_forward_mode(name, f, oracle):
    """jvp through a new op gives the directional derivative of central differences."""
    a, b = 0.6, 1.3
    value, tangent = jvp(lambda p, q: f([p, q]), [a, b], [1.0, -2.0])
    assert value == pytest.approx(oracle(a, b), rel=1e-13)
    assert tangent == pytest.approx(central(oracle, (a, b), 0) - 2 * central(oracle, (a, b), 1), rel=1e-6)


@pytest.mark.parametrize("name, f, oracle", NEW, ids=[n for n, _, _ in NEW])
def test_a_new_op_works_in_compile(name, f, oracle):
    """A compiled function through a new op gives eager's value and gradients on new inputs too."""
    w = Value(0.8)
    compiled = compile(lambda p, q: f([p * w, q]))
    for a, b in [(0.6, 1.3), (-0.9, 0.7), (1.7, -0.2)]:
        w.grad = 0.0
        got = compiled(a, b)
        got_grad = w.grad
        w.grad = 0.0
        eager = f([Value(a) * w, Value(b)])
        eager.backward()
        assert got == eager.data and got_grad == w.grad
        assert got_grad == pytest.approx(central(lambda k, q: oracle(a * k, q), (0.8, b), 0), rel=1e-6)
    assert compiled.traces == 1


def test_compile_writes_a_new_table_ops_formula_as_code():
    """For an op whose rule is made from its formulas, compile writes the formula out (the
    rule is not called): the generated source holds the formula's text."""
    w = Value(0.8)
    compiled = compile(lambda p: softsign_value(p * w))
    compiled(0.4)
    assert re.search(r"\(1 \+ sign\(\w+\) \* \w+\)", compiled.source), compiled.source


@pytest.mark.parametrize("name, f, oracle", NEW, ids=[n for n, _, _ in NEW])
def test_a_new_op_shows_its_formula_in_the_explorer_and_its_name_in_drawings(name, f, oracle):
    """The explorer explains a new op's edges with its formula (or, without one, its value), never
    a made-up d(op)/d(x); drawings name the op."""
    x, y = Value(0.6, label="x"), Value(1.3, label="y")
    out = f([x, y])
    page = explore(out).html
    op = next(v.grad_fn for v in _nodes(out) if v.op in ("softsign", "ratio"))
    for text in op.formulas:
        assert html.escape(text, quote=False) in page or json_escaped(text) in page
    assert f"d{op.name}/d" not in page
    assert op.name in draw_dot(out).source


def _nodes(root):
    from autograd_tiny.engine import topological_order

    return topological_order(root)


def json_escaped(text: str) -> str:
    import json

    return json.dumps(text)[1:-1]
