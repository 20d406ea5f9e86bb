"""The engine, rule by rule: values, first and second derivatives against closed forms and
central differences, and the behaviour of backward() on repeated calls, deep and wide graphs."""

import gc
import math

import pytest
from conftest import central

from autograd_tiny import DomainError, Value, grad, no_grad
from autograd_tiny.engine import topological_order
from autograd_tiny.grad_mode import enable_grad, is_grad_enabled

# ---------------------------------------------------------------------- helpers


def derivatives(method, x):
    """Value, first and second derivative of a one-argument Value function at x, by backward."""
    v = Value(x)
    out = method(v)
    out.backward(create_graph=True)
    first = v.grad
    d1 = first.data if isinstance(first, Value) else first
    v2 = Value(x)
    g = grad(grad(method))(v2.data)
    return out.data, d1, g


def close(a, b, rel=1e-9, abs_=1e-12):
    if math.isinf(b) or math.isnan(b):
        return a == b or (math.isnan(a) and math.isnan(b))
    return abs(a - b) <= abs_ + rel * abs(b)


sig = lambda x: 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))  # noqa: E731

# name, the op on a Value, f, f', f'', points (edges included)
UNARY = [
    ("exp", lambda v: v.exp(), math.exp, math.exp, math.exp, [-3.0, 0.0, 2.5]),
    ("log", lambda v: v.log(), math.log, lambda x: 1 / x, lambda x: -1 / x**2, [0.1, 1.0, 7.0]),
    (
        "tanh",
        lambda v: v.tanh(),
        math.tanh,
        lambda x: 1 - math.tanh(x) ** 2,
        lambda x: -2 * math.tanh(x) * (1 - math.tanh(x) ** 2),
        [-2.0, 0.0, 0.7, 25.0],
    ),
    (
        "sigmoid",
        lambda v: v.sigmoid(),
        sig,
        lambda x: sig(x) * sig(-x),
        lambda x: sig(x) * sig(-x) * (1 - 2 * sig(x)),
        [-30.0, -1.0, 0.0, 2.0, 30.0],
    ),
    (
        "softplus",
        lambda v: v.softplus(),
        lambda x: math.log1p(math.exp(x)) if x < 30 else x + math.log1p(math.exp(-x)),
        sig,
        lambda x: sig(x) * sig(-x),
        [-40.0, 0.0, 3.0, 40.0],
    ),
    ("sin", lambda v: v.sin(), math.sin, math.cos, lambda x: -math.sin(x), [-1.0, 0.0, 2.0]),
    ("cos", lambda v: v.cos(), math.cos, lambda x: -math.sin(x), lambda x: -math.cos(x), [-1.0, 0.0, 2.0]),
    ("sqrt", lambda v: v.sqrt(), math.sqrt, lambda x: 0.5 / math.sqrt(x), lambda x: -0.25 * x**-1.5, [0.25, 4.0]),
    ("cube", lambda v: v**3, lambda x: x**3, lambda x: 3 * x**2, lambda x: 6 * x, [-2.0, 0.0, 1.5]),
    ("inverse square", lambda v: v**-2, lambda x: x**-2, lambda x: -2 * x**-3, lambda x: 6 * x**-4, [-1.5, 2.0]),
    ("power zero", lambda v: v**0, lambda x: 1.0, lambda x: 0.0, lambda x: 0.0, [-1.0, 0.0, 3.0]),
    ("2 ** x", lambda v: 2**v, lambda x: 2**x, lambda x: math.log(2) * 2**x, lambda x: math.log(2) ** 2 * 2**x, [-1.0, 0.0, 3.0]),
    ("relu", lambda v: v.relu(), lambda x: max(x, 0.0), lambda x: float(x > 0), lambda x: 0.0, [-1.0, 0.0, 2.0]),
    (
        "leaky_relu",
        lambda v: v.leaky_relu(0.1),
        lambda x: x if x > 0 else 0.1 * x,
        lambda x: 1.0 if x > 0 else 0.1,
        lambda x: 0.0,
        [-2.0, 0.0, 3.0],
    ),
    ("abs", lambda v: v.abs(), abs, lambda x: (x > 0) - (x < 0), lambda x: 0.0, [-2.0, 0.0, 3.0]),
    ("neg", lambda v: -v, lambda x: -x, lambda x: -1.0, lambda x: 0.0, [-2.0, 0.0]),
    ("1 / x", lambda v: 1 / v, lambda x: 1 / x, lambda x: -1 / x**2, lambda x: 2 / x**3, [-0.5, 3.0]),
    ("5 - x", lambda v: 5 - v, lambda x: 5 - x, lambda x: -1.0, lambda x: 0.0, [1.0]),
]


@pytest.mark.parametrize("name, method, f, df, d2f, points", UNARY, ids=[u[0] for u in UNARY])
def test_unary_rules_match_closed_forms(name, method, f, df, d2f, points):
    """Each one-argument op gives the closed-form value, first and second derivative, edges included."""
    for x in points:
        value, d1, d2 = derivatives(method, x)
        assert close(value, f(x)), (name, x, value, f(x))
        assert close(d1, df(x)), (name, x, d1, df(x))
        assert close(d2, d2f(x), rel=1e-9, abs_=1e-12), (name, x, d2, d2f(x))


@pytest.mark.parametrize("name, method, f, df, d2f, points", UNARY, ids=[u[0] for u in UNARY])
def test_unary_rules_match_central_differences(name, method, f, df, d2f, points):
    """Away from kinks, backward's first and second derivatives agree with central differences."""
    smooth = [x for x in points if not (x == 0 and name in ("relu", "leaky_relu", "abs"))]
    for x in smooth:
        if abs(x) > 20:  # the difference quotient loses all digits out there
            continue
        value_of = lambda t: method(Value(t)).data  # noqa: E731
        first_of = lambda t: derivatives(method, t)[1]  # noqa: E731
        _, d1, d2 = derivatives(method, x)
        assert abs(d1 - central(value_of, x)) <= 1e-6 * (1 + abs(d1)), (name, x)
        assert abs(d2 - central(first_of, x)) <= 1e-5 * (1 + abs(d2)), (name, x)


BINARY = [
    # name, op, f, (df/dx, df/dy), points
    ("x + y", lambda x, y: x + y, lambda x, y: x + y, lambda x, y: (1.0, 1.0)),
    ("x - y", lambda x, y: x - y, lambda x, y: x - y, lambda x, y: (1.0, -1.0)),
    ("x * y", lambda x, y: x * y, lambda x, y: x * y, lambda x, y: (y, x)),
    ("x / y", lambda x, y: x / y, lambda x, y: x / y, lambda x, y: (1 / y, -x / y**2)),
    (
        "x ** y",
        lambda x, y: x**y,
        lambda x, y: x**y,
        lambda x, y: (y * x ** (y - 1), x**y * math.log(x)),
    ),
]


@pytest.mark.parametrize("name, op, f, df", BINARY, ids=[b[0] for b in BINARY])
def test_binary_rules_match_closed_forms_and_differences(name, op, f, df):
    """Two-argument ops: value and both partials against the closed form and central differences."""
    for x, y in [(1.5, 2.0), (0.3, -0.7), (2.5, 0.5)]:
        a, b = Value(x), Value(y)
        out = op(a, b)
        out.backward()
        assert close(out.data, f(x, y))
        dx, dy = df(x, y)
        assert close(a.grad, dx) and close(b.grad, dy), (name, x, y, a.grad, b.grad, dx, dy)
        assert abs(a.grad - central(lambda t: f(t, y), x)) < 1e-6 * (1 + abs(dx))
        assert abs(b.grad - central(lambda t: f(x, t), y)) < 1e-6 * (1 + abs(dy))


def test_numbers_on_either_side():
    """Plain numbers work on both sides of every operator and are treated as constants."""
    x = Value(3.0)
    exprs = [2 + x, x + 2, 2 - x, x - 2, 2 * x, x * 2, 6 / x, x / 2, 2**x, x**2]
    expected = [5, 5, -1, 1, 6, 6, 2, 1.5, 8, 9]
    slopes = [1, 1, -1, 1, 2, 2, -6 / 9, 0.5, math.log(2) * 8, 6]
    for e, want, slope in zip(exprs, expected, slopes):
        x.grad = 0.0
        e.backward()
        assert close(e.data, want) and close(x.grad, slope)


def test_second_derivatives_of_binary_ops():
    """Mixed second partials of x**y and x/y agree with their closed forms."""
    x0, y0 = 1.7, 0.6
    h = lambda f: _hessian2(f, x0, y0)  # noqa: E731
    H = h(lambda x, y: x**y)
    lx = math.log(x0)
    want = [
        [y0 * (y0 - 1) * x0 ** (y0 - 2), x0 ** (y0 - 1) * (1 + y0 * lx)],
        [x0 ** (y0 - 1) * (1 + y0 * lx), x0**y0 * lx * lx],
    ]
    assert all(close(H[i][j], want[i][j]) for i in range(2) for j in range(2))
    H = h(lambda x, y: x / y)
    want = [[0.0, -1 / y0**2], [-1 / y0**2, 2 * x0 / y0**3]]
    assert all(close(H[i][j], want[i][j]) for i in range(2) for j in range(2))


def _hessian2(f, x0, y0):
    from autograd_tiny import hessian

    return hessian(f)(x0, y0)


# ---------------------------------------------------------------------- many-input nodes


def test_sum_mean_dot_match_closed_forms():
    """sum, mean and dot give the textbook values and gradients."""
    xs = [Value(v) for v in (1.0, -2.0, 3.5)]
    ws = [Value(v) for v in (0.5, 4.0, -1.0)]
    b = Value(0.25)
    s = Value.sum(xs)
    s.backward()
    assert s.data == 2.5 and [x.grad for x in xs] == [1.0, 1.0, 1.0]
    for x in xs:
        x.grad = 0.0
    m = Value.mean(xs)
    m.backward()
    assert close(m.data, 2.5 / 3) and all(close(x.grad, 1 / 3) for x in xs)
    for x in xs:
        x.grad = 0.0
    d = Value.dot(ws, xs, b)
    d.backward()
    assert close(d.data, 0.5 - 8.0 - 3.5 + 0.25)
    assert [w.grad for w in ws] == [x.data for x in xs]
    assert [x.grad for x in xs] == [w.data for w in ws]
    assert b.grad == 1.0


def test_dot_second_derivatives():
    """d2/dw dx of a dot product is 1 for matching pairs and 0 elsewhere."""
    from autograd_tiny import hessian

    H = hessian(lambda w0, w1, x0, x1: Value.dot([w0, w1], [x0, x1]).tanh() * 0 + Value.dot([w0, w1], [x0, x1]))(
        0.3, -0.4, 1.2, 2.0
    )
    want = [[0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, 0]]
    assert H == want


def test_logsumexp_is_stable_and_its_gradient_is_softmax():
    """logsumexp of huge and tiny logits stays finite and its gradient is the softmax."""
    for logits in ([1000.0, -1000.0, 999.0], [-1e4, -1e4 - 1], [0.1, 0.2, -0.3]):
        vs = [Value(v) for v in logits]
        out = Value.logsumexp(vs)
        out.backward()
        top = max(logits)
        want = top + math.log(sum(math.exp(v - top) for v in logits))
        assert close(out.data, want)
        for v, logit in zip(vs, logits):
            assert close(v.grad, math.exp(logit - want))


def test_mean_of_nothing_is_an_error():
    """mean and logsumexp of an empty list name themselves."""
    with pytest.raises(ValueError, match="mean"):
        Value.mean([])
    with pytest.raises(ValueError, match="logsumexp"):
        Value.logsumexp([])
    with pytest.raises(ValueError, match="dot: 2 weights but 1 inputs"):
        Value.dot([1.0, 2.0], [3.0])


# ---------------------------------------------------------------------- backward semantics


def test_repeated_backward_accumulates_on_leaves_only():
    """x*x*x at 3: 27 after one backward, 54 after two (interior nodes restart from zero)."""
    x = Value(3.0)
    y = x * x
    z = y * x
    z.backward()
    assert x.grad == 27.0 and y.grad == 3.0
    z.backward()
    assert x.grad == 54.0 and y.grad == 3.0
    x.zero_grad()
    z.backward()
    assert x.grad == 27.0


def test_a_value_used_twice_keeps_both_edges():
    """a*a records a twice, in argument order, and its gradient is 2a."""
    a = Value(-1.5)
    sq = a * a
    assert sq.parents == (a, a)
    sq.backward()
    assert a.grad == -3.0


def test_backward_on_a_leaf():
    """The gradient of a leaf with respect to itself is 1 (and accumulates like any leaf)."""
    x = Value(4.0)
    x.backward()
    x.backward()
    assert x.grad == 2.0


def test_deep_chain_of_a_million_ops():
    """A 1,000,000-op chain builds and back-propagates without recursion; d/dx = n + 1."""
    x = Value(0.5)
    z = x
    n = 1_000_000
    for _ in range(n):
        z = z + x
    z.backward()
    assert x.grad == n + 1
    assert z.data == 0.5 * (n + 1)


def test_wide_sum_and_a_long_python_sum():
    """Value.sum of 100,000 terms is one node; Python's sum (a 100,000-deep chain) also works."""
    xs = [Value(float(i)) for i in range(100_000)]
    s = Value.sum(xs)
    s.backward()
    assert s.data == sum(range(100_000)) and all(x.grad == 1.0 for x in xs)
    chain = sum(x * x for x in xs[:100_000])
    chain.backward()
    assert xs[7].grad == 1.0 + 14.0


def test_topological_order_puts_inputs_first():
    """Every non-leaf node comes after its non-leaf inputs, root last, each node once."""
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    e = (d * c).tanh() + c
    order = topological_order(e)
    assert order[-1] is e and len(order) == len(set(order)) == 5
    pos = {n: i for i, n in enumerate(order)}
    assert all(pos[p] < pos[n] for n in order for p in n.parents if p.parents)


def test_no_grad_records_nothing_and_detach_stops_gradients():
    """Inside no_grad no graph is kept; detach() cuts the graph at that node."""
    w = Value(2.0)
    with no_grad():
        assert not is_grad_enabled()
        y = (w * 3).tanh()
        with enable_grad():
            z = w * 3
    assert is_grad_enabled()
    assert y.parents == () and z.parents != ()
    u = w * w
    v = u.detach() * w
    v.backward()
    assert w.grad == u.data  # only the second factor carries gradient
    assert v.data == 8.0


def test_create_graph_gives_differentiable_gradients():
    """After backward(create_graph=True) the gradient is a Value whose own backward is f''."""
    x = Value(0.7)
    y = x.sin() * x**3
    y.backward(create_graph=True)
    g = x.grad
    assert isinstance(g, Value)
    want1 = math.cos(0.7) * 0.7**3 + 3 * 0.7**2 * math.sin(0.7)
    assert close(g.data, want1)
    x2 = Value(0.7)
    g2 = grad(grad(lambda t: t.sin() * t**3))(x2.data)
    want2 = -math.sin(0.7) * 0.7**3 + 6 * 0.7**2 * math.cos(0.7) + 6 * 0.7 * math.sin(0.7)
    assert close(g2, want2)


def test_third_derivative_by_nesting():
    """grad nests three deep: d3/dx3 of exp(2x) is 8 exp(2x)."""
    f = lambda x: (2 * x).exp()  # noqa: E731
    assert close(grad(grad(grad(f)))(0.3), 8 * math.exp(0.6))


# ---------------------------------------------------------------------- errors and edges


@pytest.mark.parametrize(
    "make, op, operand",
    [
        (lambda: Value(-1.0).log(), "log", "-1.0"),
        (lambda: Value(0.0).log(), "log", "0.0"),
        (lambda: Value(-4.0).sqrt(), "sqrt", "-4.0"),
        (lambda: Value(3.0) / 0, "div", "0"),
        (lambda: 3.0 / Value(0.0), "div", "0.0"),
        (lambda: Value(0.0) ** -1, "pow", "-1"),
        (lambda: Value(-8.0) ** (1 / 3), "pow", "-8.0"),
        (lambda: Value(-8.0) ** Value(0.5), "pow", "0.5"),
    ],
)
def test_domain_errors_name_the_op_and_operand(make, op, operand):
    """Domain errors raise DomainError naming the op and the offending number."""
    with pytest.raises(DomainError) as err:
        make()
    assert str(err.value).startswith(op) and operand in str(err.value)


@pytest.mark.parametrize("bad", ["1.5", None, [1.0], 1 + 2j])
def test_value_rejects_non_numbers(bad):
    """Value() of anything but a real number is a TypeError naming the type."""
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(bad)
    with pytest.raises(TypeError):
        Value(1.0) + bad


def test_ints_and_bools_become_floats():
    """Value(3) and Value(True) hold floats."""
    assert type(Value(3).data) is float and Value(True).data == 1.0


def test_overflow_gives_inf_not_an_exception():
    """Overflow follows float semantics: inf with the right sign, never OverflowError."""
    assert Value(1000.0).exp().data == math.inf
    assert (Value(1e308) * 10).data == math.inf
    assert (Value(10.0) ** 400).data == math.inf
    assert (Value(-10.0) ** 401).data == -math.inf
    assert (Value(2.0) ** Value(5000.0)).data == math.inf


def test_tanh_sigmoid_softplus_stay_finite_at_extremes():
    """tanh, sigmoid and softplus never overflow, and their slopes at +-1e308 are 0 (or 1)."""
    for big in (1e308, -1e308, 800.0, -800.0):
        for fn, want_slope in (
            ("tanh", 0.0),
            ("sigmoid", 0.0),
            ("softplus", 1.0 if big > 0 else 0.0),
        ):
            x = Value(big)
            y = getattr(x, fn)()
            y.backward()
            assert math.isfinite(y.data) and x.grad == want_slope, (fn, big, y.data, x.grad)
    assert Value(1e308).sigmoid().data == 1.0 and Value(-1e308).sigmoid().data == 0.0


def test_sqrt_at_zero_has_an_infinite_slope():
    """sqrt'(0) is +inf, as the limit says (float semantics, not an error)."""
    x = Value(0.0)
    y = x.sqrt()
    y.backward()
    assert y.data == 0.0 and x.grad == math.inf


def test_trig_of_infinity_is_nan():
    """sin(inf) is nan (float semantics), not a ValueError from the math module."""
    assert math.isnan(Value(math.inf).sin().data) and math.isnan(Value(-math.inf).cos().data)


def test_comparisons_use_data_and_equality_uses_identity():
    """< <= > >= compare data; == and hash are identity, so nodes work as dict keys."""
    a, b = Value(1.0), Value(1.0)
    assert a <= b and a >= b and not a < b and a < 2 and Value(3) > a
    assert a != b and a == a and len({a, b}) == 2
    with pytest.raises(TypeError, match="comparison"):
        a < "x"  # noqa: B015


def test_repr_is_readable():
    """repr shows the label, data and grad."""
    assert repr(Value(2.5, label="w")) == "Value(label='w', data=2.5, grad=0)"


def test_a_dropped_graph_is_freed_without_the_cycle_collector():
    """Building, back-propagating and dropping a graph leaves nothing for gc.collect()."""
    gc.collect()
    gc.disable()
    try:
        for create_graph in (False, True):
            x = Value(0.3)
            y = x
            for _ in range(1000):
                y = (y * 1.01).tanh() + x.sigmoid() - y.exp().log()
            y.backward(create_graph=create_graph)
            x.zero_grad()  # a leaf's create_graph gradient refers back to the leaf
            y = x = None
            assert gc.collect() == 0
        g2 = grad(grad(lambda t: (t * t).tanh() * t.exp()))(0.4)
        assert isinstance(g2, float)
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_dot_rejects_an_unknown_activation():
    """dot's activation must be one the engine fuses; anything else names itself."""
    with pytest.raises(ValueError, match="dot: activation"):
        Value.dot([1.0], [2.0], activation="gelu")


def test_an_interrupted_walk_leaves_no_mark_behind():
    """A walk interrupted (Ctrl-C) leaves every grad a number, and the next backward is right."""
    class Interrupt:  # looking at it during the walk is like pressing Ctrl-C there
        @property
        def __class__(self):
            raise KeyboardInterrupt

    x = Value(0.3)
    a = x * x
    b = a.tanh()
    c = a * 3.0
    total = Value.sum([b, c, x])
    inputs = total._x
    total._x = (b, Interrupt(), c, x)  # white box: the walk has found total and b when it stops
    with pytest.raises(KeyboardInterrupt):
        total.backward()
    assert all(v.grad.__class__ is float for v in (total, b, c, a))  # no mark left in any grad
    total._x = inputs
    x.grad = 0.0
    total.backward()
    assert x.grad == pytest.approx((1 - math.tanh(0.09) ** 2) * 0.6 + 3.0 * 0.6 + 1.0, rel=1e-12)


def test_backward_finds_a_node_whatever_its_grad_was_before():
    """An interior grad left as None, a number or any object by the user does not hide its node from backward."""
    x = Value(0.7)
    y = x * x
    z = y.tanh()
    for stale in (None, 0.0, 5.0, object()):
        y.grad = stale  # an interior grad left by the user: backward starts it from 0 again
        z.grad = stale
        x.grad = 0.0
        z.backward()
        assert x.grad == pytest.approx(2 * 0.7 * (1 - math.tanh(0.49) ** 2), rel=1e-12)
        assert y.grad == pytest.approx(1 - math.tanh(0.49) ** 2, rel=1e-12)
