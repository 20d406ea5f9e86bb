"""The engine against PyTorch (float64): every op, and random expression graphs with shared
subexpressions, to first and second order."""

import math

import pytest

torch = pytest.importorskip("torch")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import graphs  # noqa: E402
from autograd_tiny import Value  # noqa: E402

T = torch.float64


def close(a, b, rel=1e-9, abs_=1e-12):
    return abs(a - b) <= abs_ + rel * abs(b)


# ---------------------------------------------------------------------- op by op

OPS = [
    # name, ours, torch's, points
    ("exp", lambda v: v.exp(), torch.exp, [-3.0, 0.0, 2.5]),
    ("log", lambda v: v.log(), torch.log, [0.1, 1.0, 7.0]),
    ("tanh", lambda v: v.tanh(), torch.tanh, [-2.0, 0.0, 0.7, 5.0]),
    ("sigmoid", lambda v: v.sigmoid(), torch.sigmoid, [-30.0, -1.0, 0.0, 2.0, 12.0]),
    ("softplus", lambda v: v.softplus(), torch.nn.functional.softplus, [-15.0, 0.0, 3.0, 15.0]),
    ("sin", lambda v: v.sin(), torch.sin, [-1.0, 0.0, 2.0]),
    ("cos", lambda v: v.cos(), torch.cos, [-1.0, 0.0, 2.0]),
    ("sqrt", lambda v: v.sqrt(), torch.sqrt, [0.25, 4.0]),
    ("relu", lambda v: v.relu(), torch.relu, [-1.0, 0.0, 2.0]),
    ("leaky_relu", lambda v: v.leaky_relu(0.1), lambda t: torch.nn.functional.leaky_relu(t, 0.1), [-2.0, 3.0]),
    ("abs", lambda v: v.abs(), torch.abs, [-2.0, 0.0, 3.0]),
    ("x**3", lambda v: v**3, lambda t: t**3, [-2.0, 0.0, 1.5]),
    ("x**-2", lambda v: v**-2, lambda t: t**-2, [-1.5, 2.0]),
    ("x**2.5", lambda v: v**2.5, lambda t: t**2.5, [0.5, 3.0]),
    ("3**x", lambda v: 3**v, lambda t: 3**t, [-1.0, 0.0, 2.0]),
    ("1/x", lambda v: 1 / v, lambda t: 1 / t, [-0.5, 3.0]),
    ("x-5", lambda v: (v - 5) * (2 - v), lambda t: (t - 5) * (2 - t), [1.0, 4.0]),
]


@pytest.mark.parametrize("name, ours, theirs, points", OPS, ids=[o[0] for o in OPS])
def test_each_op_matches_pytorch_to_second_order(name, ours, theirs, points):
    """Value, first and second derivative of every op agree with PyTorch in float64."""
    for x in points:
        v = Value(x)
        out = ours(v)
        out.backward(create_graph=True)
        d1 = v.grad
        d1.backward() if isinstance(d1, Value) else None
        d2 = v.grad - d1 if isinstance(d1, Value) else 0.0  # leaves accumulate: subtract d1

        t = torch.tensor(x, dtype=T, requires_grad=True)
        tout = theirs(t)
        (g,) = torch.autograd.grad(tout, t, create_graph=True)
        (g2,) = torch.autograd.grad(g, t, allow_unused=True) if g.requires_grad else (None,)
        g2 = 0.0 if g2 is None else g2.item()

        assert close(out.data, tout.item()), (name, x)
        assert close(_plain(d1), g.item()), (name, x, _plain(d1), g.item())
        assert close(_plain(d2), g2), (name, x, _plain(d2), g2)


def _plain(v):
    return v.data if isinstance(v, Value) else v


def test_value_to_the_value_matches_pytorch():
    """x ** y with both varying: value and both partials, first and second order, as PyTorch."""
    from autograd_tiny import hessian

    for x, y in [(1.7, 0.6), (0.4, -1.3), (2.0, 3.0)]:
        a, b = Value(x), Value(y)
        out = a**b
        out.backward()
        ta = torch.tensor(x, dtype=T, requires_grad=True)
        tb = torch.tensor(y, dtype=T, requires_grad=True)
        tout = ta**tb
        tout.backward()
        assert close(out.data, tout.item())
        assert close(a.grad, ta.grad.item()) and close(b.grad, tb.grad.item())
        H = hessian(lambda p, q: p**q)(x, y)
        TH = torch.autograd.functional.hessian(lambda p, q: p**q, (torch.tensor(x, dtype=T), torch.tensor(y, dtype=T)))
        for i in range(2):
            for j in range(2):
                assert close(H[i][j], TH[i][j].item())


# ---------------------------------------------------------------------- random graphs


def programs():
    """A random straight-line program (tests/graphs.py) over the ops compared with PyTorch below."""
    return graphs.programs(kinds=UNARY_KINDS + BINARY_KINDS + CONST_KINDS)


# Each op is kept inside its domain by construction, so any program is valid.
UNARY_KINDS = ["tanh", "sigmoid", "sin", "cos", "softplus", "exp_tanh", "log_sq", "sqrt_sq", "neg", "square"]
BINARY_KINDS = ["add", "sub", "mul", "div", "pow", "lse"]
CONST_KINDS = ["cadd", "rsub", "cmul", "rdiv", "cpow", "rpow"]


def run(program, lib, xs=None):
    """Evaluate a program with our Values (lib='ours') or torch tensors (lib='torch').

    xs, if given, are the leaves to use (Values or tensors) instead of fresh ones."""
    leaves, steps, outputs = program
    if lib == "ours":
        xs = xs or [Value(v) for v in leaves]
        F = dict(tanh=Value.tanh, sigmoid=Value.sigmoid, sin=Value.sin, cos=Value.cos, softplus=Value.softplus,
                 exp=Value.exp, log=Value.log, sqrt=Value.sqrt, lse=lambda a, b: Value.logsumexp([a, b]),
                 total=lambda vs: Value.sum(vs))
    else:
        xs = xs or [torch.tensor(v, dtype=T, requires_grad=True) for v in leaves]
        F = dict(tanh=torch.tanh, sigmoid=torch.sigmoid, sin=torch.sin, cos=torch.cos,
                 softplus=torch.nn.functional.softplus, exp=torch.exp, log=torch.log, sqrt=torch.sqrt,
                 lse=lambda a, b: torch.logsumexp(torch.stack([a, b]), 0), total=lambda vs: torch.stack(vs).sum())
    nodes = list(xs)
    for kind, i, j, c in steps:
        a, b = nodes[i], nodes[j]
        r = {
            "tanh": lambda: F["tanh"](a),
            "sigmoid": lambda: F["sigmoid"](a),
            "sin": lambda: F["sin"](a),
            "cos": lambda: F["cos"](a),
            "softplus": lambda: F["softplus"](a),
            "exp_tanh": lambda: F["exp"](F["tanh"](a)),
            "log_sq": lambda: F["log"](1 + a * a),
            "sqrt_sq": lambda: F["sqrt"](1 + a * a),
            "neg": lambda: -a,
            "square": lambda: a**2,
            "add": lambda: a + b,
            "sub": lambda: a - b,
            "mul": lambda: a * b,
            "div": lambda: a / (1 + b * b),
            "pow": lambda: (1 + a * a) ** F["tanh"](b),
            "lse": lambda: F["lse"](a, b),
            "cadd": lambda: c + a,
            "rsub": lambda: c - a,
            "cmul": lambda: a * c,
            "rdiv": lambda: c / (2 + F["sin"](a)),
            "cpow": lambda: F["sigmoid"](a) ** abs(c),
            "rpow": lambda: abs(c) ** F["tanh"](a),
        }[kind]()
        nodes.append(r)
    return xs, F["total"]([nodes[k] for k in outputs])


@settings(max_examples=60, deadline=None)
@given(programs())
def test_random_graphs_match_pytorch_first_order(program):
    """Random graphs (shared subexpressions, reused nodes, constants on both sides): values and
    every leaf gradient within 1e-9 relative of PyTorch."""
    xs, out = run(program, "ours")
    out.backward()
    txs, tout = run(program, "torch")
    tgrads = torch.autograd.grad(tout, txs, allow_unused=True)
    assert close(out.data, tout.item())
    for x, g in zip(xs, tgrads):
        assert close(x.grad, 0.0 if g is None else g.item(), abs_=1e-10), (x.grad, g)


@settings(max_examples=30, deadline=None)
@given(programs())
def test_random_graphs_match_pytorch_second_order(program):
    """The Hessian of a random graph with respect to its leaves agrees with PyTorch's."""
    from autograd_tiny import hessian

    leaves = program[0]

    def ours(*vals):
        return run(program, "ours", xs=list(vals))[1]

    def theirs(*ts):
        return run(program, "torch", xs=list(ts))[1]

    H = hessian(ours)(*leaves)
    TH = torch.autograd.functional.hessian(theirs, tuple(torch.tensor(v, dtype=T) for v in leaves))
    n = len(leaves)
    for i in range(n):
        for j in range(n):
            want = TH[i][j].item() if n > 1 else TH[0][0].item()
            assert close(H[i][j], want, rel=1e-9, abs_=1e-9), (i, j, H[i][j], want)


def test_create_graph_backward_matches_pytorch_double_backward():
    """backward(create_graph=True) then backward() on a gradient gives PyTorch's mixed partials."""
    a, b = Value(0.3), Value(-1.1)
    out = (a * b).tanh() * a.exp() + (b**2).sin()
    out.backward(create_graph=True)
    ga = a.grad
    a.zero_grad()
    b.zero_grad()
    ga.backward()
    ta = torch.tensor(0.3, dtype=T, requires_grad=True)
    tb = torch.tensor(-1.1, dtype=T, requires_grad=True)
    tout = (ta * tb).tanh() * ta.exp() + (tb**2).sin()
    (tga,) = torch.autograd.grad(tout, ta, create_graph=True)
    d2a, d2b = torch.autograd.grad(tga, (ta, tb))
    assert close(ga.data, tga.item())
    assert close(a.grad, d2a.item()) and close(b.grad, d2b.item())
    assert math.isfinite(a.grad)


@pytest.mark.parametrize("activation", [None, "relu", "tanh", "sigmoid"])
def test_fused_neuron_matches_pytorch_to_second_order(activation):
    """Value.dot with an activation inside (one node) agrees with PyTorch's act(w @ x + b):
    value, every gradient, and the Hessian over all inputs."""
    from autograd_tiny import hessian

    acts = {None: lambda z: z, "relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}
    point = [0.3, -1.2, 0.8, 0.5, 0.9, -0.4, 0.1]  # w0 w1 w2 x0 x1 x2 b

    def ours(*a):
        return Value.dot(a[0:3], a[3:6], a[6], activation=activation)

    def theirs(*a):
        return acts[activation](a[0] * a[3] + a[1] * a[4] + a[2] * a[5] + a[6])

    vals = [Value(v) for v in point]
    out = ours(*vals)
    out.backward()
    ts = [torch.tensor(v, dtype=T, requires_grad=True) for v in point]
    tout = theirs(*ts)
    tout.backward()
    assert close(out.data, tout.item())
    for v, t in zip(vals, ts):
        assert close(v.grad, t.grad.item()), (activation, v.grad, t.grad.item())
    H = hessian(ours)(*point)
    TH = torch.autograd.functional.hessian(theirs, tuple(torch.tensor(v, dtype=T) for v in point))
    for i in range(7):
        for j in range(7):
            assert close(H[i][j], TH[i][j].item(), abs_=1e-12), (activation, i, j)


def test_fused_relu_neuron_inactive_has_zero_gradients():
    """A relu neuron whose sum is negative passes no gradient to any weight or input."""
    ws, xs = [Value(1.0), Value(-2.0)], [Value(0.5), Value(1.0)]
    out = Value.dot(ws, xs, Value(0.1), activation="relu")
    out.backward()
    assert out.data == 0.0 and all(v.grad == 0.0 for v in ws + xs)
