"""compile's code from the engine's rule table: each op's formulas written out (compiler/formulas.py)
against the engine's own rule and function on the same floats; custom primitives and their
formula text; what a formula may not hold."""

import ast
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_tiny import DomainError, Value
from autograd_tiny.compiler import compile
from autograd_tiny.compiler.formulas import Branch, Formulas, faster, function
from autograd_tiny.engine import BUILTIN_OPS, Op
from autograd_tiny.formulas import FORMULA_NAMES
from autograd_tiny.primitives import primitive

FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.5, 1e-300, 3.7, 709.0, 710.0, -745.0, 1e308, -1e308,
          math.inf, -math.inf, math.nan]  # fmt: skip
numbers = st.one_of(st.sampled_from(FLOATS), st.floats(-50, 50, allow_nan=False))


def same(a, b):
    """The same float to the last bit (nan is nan), or both None."""
    if a is None or b is None:
        return a is b
    if a != a or b != b:
        return a != a and b != b
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def namespace(names):
    """The names a piece of generated code may call, as the writer gives them."""
    return {"nan": math.nan, "inf": math.inf, **{n: function(n) for n in names}}


def run(local, inputs, out):
    """A local derivative's code evaluated at the inputs (the holes a0, a1, ...) and out."""
    env = {f"a{k}": v for k, v in enumerate(inputs)} | {"o": out}
    args = [f"a{k}" for k in range(len(inputs))]
    while isinstance(local, Branch):
        test = local.test
        local = local.then if eval(test.fill(args, "o", {}), namespace(test.calls), env) else local.otherwise
    if local is None:
        return None
    return eval(local.fill(args, "o", {}), namespace(local.calls), env)


def engine_value(compute):
    """compute() as the engine gives it: a number, or the exception's class."""
    try:
        return compute()
    except (ArithmeticError, ValueError) as error:
        return type(error)


@pytest.mark.parametrize("name", sorted(n for n, f in FORMULA_NAMES.items() if callable(f)))
def test_the_codes_functions_are_the_formulas_own_on_floats(name):
    """Each function a formula calls is, in the generated code, the formulas' own on floats, or
    math's C twin, which gives the same number where it returns and raises only where the
    formulas' function gives inf, nan or a DomainError (the call then goes back to the engine)."""
    ours, theirs = function(name), FORMULA_NAMES[name]
    arity = 2 if name == "pow" else 1
    cases = [(x,) for x in FLOATS] if arity == 1 else [(x, y) for x in FLOATS for y in FLOATS]
    for args in cases:
        expected = engine_value(lambda: theirs(*args))
        got = engine_value(lambda: ours(*args))
        if isinstance(got, type):  # ours raised: allowed only where theirs is not a plain number
            assert isinstance(expected, type) or not math.isfinite(expected), (name, args, expected)
        else:
            assert not isinstance(expected, type) and same(got, expected), (name, args, got, expected)


@pytest.mark.parametrize("op", BUILTIN_OPS, ids=[op.name for op in BUILTIN_OPS])
def test_the_functions_the_code_calls_are_the_ops_own(op):
    """faster(op.fn) is op.fn itself, or math's twin of it: the same number where it returns,
    an exception only where op.fn gives inf, nan or a DomainError."""
    fn = faster(op.fn)
    if fn is op.fn:
        return
    for x in FLOATS:
        expected, got = engine_value(lambda: op.fn(x)), engine_value(lambda: fn(x))
        if isinstance(got, type):
            assert isinstance(expected, type) or not math.isfinite(expected), (op, x)
        else:
            assert same(got, expected), (op, x, got, expected)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(BUILTIN_OPS), st.lists(numbers, min_size=3, max_size=3), st.lists(st.booleans(), min_size=3, max_size=3))
def test_each_local_derivative_written_out_is_the_engines_rule(op, xs, known):
    """For every op of the table, at any floats, with any of its inputs known before the call
    (then folded into the code): each input's local derivative, as the code computes it, is the
    engine's own rule's, to the last bit, and None (no gradient) exactly where the rule says None."""
    n = 3 if op.each else len(op.inputs)
    xs = xs[:n]
    out = engine_value(lambda: op.fn(*xs))
    if isinstance(out, type):
        return  # the forward pass raises: no local derivative
    rule = engine_value(lambda: op.rule(*xs, out))
    formulas = Formulas()
    for i in range(n):
        if op.each and not formulas.spans(op):
            local, inputs = formulas.local(op, i, [xs[i] if known[i] else None]), [xs[i]]
        else:
            local, inputs = formulas.local(op, i, [x if k else None for x, k in zip(xs, known)]), xs
        got = engine_value(lambda: run(local, inputs, out))
        if isinstance(rule, type) or isinstance(got, type):
            # the rule raises, or the code does where the rule gives inf/nan: the engine decides
            assert isinstance(rule, type) or rule[i] is None or not math.isfinite(rule[i]), (op, xs, i)
        else:
            assert same(got, rule[i]), (op, xs, known, i, got, rule[i])


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(BUILTIN_OPS), st.lists(numbers, min_size=3, max_size=3), st.lists(st.booleans(), min_size=3, max_size=3))
def test_each_forward_written_out_is_the_ops_function(op, xs, known):
    """An op's forward as the code computes it (an operator, the function's own expression, or
    a call) gives op.fn's number to the last bit, and raises only where op.fn raises a
    DomainError or gives inf or nan."""
    n = 3 if op.each else len(op.inputs)
    xs = xs[:n]
    code = Formulas().forward(op, [x if k else None for x, k in zip(xs, known)])
    if code is None:
        return  # the code calls op.fn itself
    expected = engine_value(lambda: op.fn(*xs))
    env = {f"a{k}": v for k, v in enumerate(xs)}
    got = engine_value(lambda: eval(code.fill([f"a{k}" for k in range(n)], "o", {}), namespace(code.calls), env))
    if isinstance(got, type):
        assert expected is DomainError or isinstance(expected, type) or not math.isfinite(expected), (op, xs)
    else:
        assert same(got, expected), (op, xs, known, got, expected)


def test_pick_written_out_is_one_hot_at_the_label_whatever_is_known():
    """pick's local derivatives as the code computes them, for every input of pick(a, b, c, k),
    every label k and any of the inputs known before the call: 1 where the input's position is
    k, else 0 (a closed form), the engine's rule to the last bit; the label itself gets none."""
    from itertools import product

    from autograd_tiny.engine import PICK

    formulas = Formulas()
    row = [0.5, -2.0, 3.0]
    for k, known in product(range(3), product([False, True], repeat=4)):
        xs = [*row, float(k)]
        out = PICK.fn(*xs)
        assert out == row[k]
        rule = PICK.rule(*xs, out)
        for i in range(4):
            local = formulas.local(PICK, i, [x if kn else None for x, kn in zip(xs, known)])
            got = run(local, xs, out)
            assert got == (1.0 if i == k else 0.0) == rule[i], (k, known, i, got)


def test_common_cases_are_plain_arithmetic():
    """x ** 2 and relu, the common cases, are written as plain arithmetic (no call): the
    branch of pow's formula for y == 0 is decided when compiling, relu's None is an if."""
    x = Value(1.5, label="x")

    def f():
        y = x**2
        y.label = "y"
        r = (y - 2.0).relu()
        r.label = "r"
        return r

    compiled = compile(f)
    assert compiled() == 0.25 and x.grad == 2 * 1.5 * 1.0
    source = compiled.source
    assert "y = x ** 2.0" in source and "g_x += (2.0 * x) * g_y" in source
    assert "r = 0.0 if v0 <= 0.0 else v0" in source
    assert "if not r <= 0.0:\n        g_v0 += g_r" in source
    assert not any(isinstance(node, ast.Call) for node in ast.walk(ast.parse(source)))


EVIL = '"); import os; os.system("echo PWNED'


@pytest.mark.parametrize("formula", [None, "1 / (1 + |x|)**2", EVIL], ids=["none", "text", "hostile"])
def test_custom_primitive_runs_its_rule_and_its_text_stays_out(formula):
    """A custom primitive compiles with or without a formula text and gives the engine's
    numbers and gradients (its own function and rule, called from the namespace); its formula
    text, the user's, is never written into the code, not even in a comment, nor put into the
    code's namespace."""

    @primitive(derivatives=lambda x, out: (1 / (1 + abs(x)) ** 2,), formula=formula)
    def softsign(x):
        return x / (1 + abs(x))

    w, w2 = Value(0.8), Value(0.8)
    compiled = compile(lambda x: softsign(w * x) * 2.0)
    for x in (1.5, -2.0):
        w.grad = w2.grad = 0.0
        out = compiled(x)
        expected = softsign(w2 * x) * 2.0
        expected.backward()
        assert out == expected.data and w.grad == w2.grad
        z = 0.8 * x
        assert math.isclose(w.grad, 2.0 * x / (1 + abs(z)) ** 2, rel_tol=1e-12)
    assert compiled.fallbacks == 0 and "softsign(" in compiled.source
    step = compiled._last.step
    if formula is not None:
        assert formula not in compiled.source and "os.system" not in compiled.source and "|x|" not in compiled.source
        assert not any(formula in str(k) or (isinstance(v, str) and formula in v) for k, v in step.__globals__.items())


def test_formulas_outside_what_a_formula_may_hold_are_not_written():
    """An op whose formula holds anything but its input names, out, numbers, None in a branch,
    arithmetic, comparisons, if-else and calls of the formulas' functions is not written out
    (its rule is called instead); nor is a custom primitive's, whatever its text."""
    fn = lambda x: 2.0 * x  # noqa: E731
    for text in ["x.real", "__import__('os')", "(lambda: x)()", "[x][0]", "None * 2", "exp", "'x'", "x if True else 1",
                 "f'{x}'", "abs(x)", "exp(x, base=2)", "y", "x.__class__"]:  # fmt: skip
        assert not Formulas().usable(Op("f", fn, x=text)), text
    assert Formulas().usable(Op("f", fn, x="2.0 if x > 0 else exp(x) * -1.5"))
    assert not Formulas().usable(Op("f", fn, exp="1.0"))  # an input named as a formula's function
    custom = primitive(derivatives=lambda x, out: (2.0,), formula="2.0")(lambda x: 2.0 * x)
    assert not Formulas().usable(custom.op)


def test_tracing_leaves_value_as_it_was():
    """After a trace, Value's methods are the engine's again, and Value has no __del__."""
    before = dict(vars(Value))
    x = Value(2.0)
    compile(lambda: (x * x if x > 0 else x, float(x), x.log())[0])()
    assert dict(vars(Value)) == before and "__del__" not in vars(Value)
