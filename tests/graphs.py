"""Random expression graphs over every op of the engine, for tests that compare two ways of
computing the same graph (the compiler against the engine, say).

A *program* is (leaves, steps, outputs): leaf numbers, then steps (kind, i, j, c) that each
apply an op to earlier results i and j (possibly the same node) and a constant c, then the
indices summed into the output. Every op is kept inside its domain by construction, so any
program runs. `run` evaluates one on Values.
"""

from hypothesis import strategies as st

from autograd_tiny import Value
from autograd_tiny.primitives import primitive


@primitive(derivatives=lambda x, out: (1 / (1 + abs(x)) ** 2,))
def softsign(x):
    """A custom primitive: x / (1 + |x|)."""
    return x / (1 + abs(x))


# kind -> the step on Values a (node i), b (node j) and the constant c
STEPS = {
    "add": lambda a, b, c: a + b,
    "sub": lambda a, b, c: a - b,
    "mul": lambda a, b, c: a * b,
    "div": lambda a, b, c: a / (1 + b * b),
    "pow": lambda a, b, c: (1 + a * a) ** b.tanh(),  # a Value exponent
    "square": lambda a, b, c: a**2,
    "cube": lambda a, b, c: a**3,
    "sqrt": lambda a, b, c: (1 + a * a).sqrt(),  # ** 0.5
    "cpow": lambda a, b, c: a.sigmoid() ** abs(c),
    "rpow": lambda a, b, c: abs(c) ** a.tanh(),
    "neg": lambda a, b, c: -a,
    "cadd": lambda a, b, c: c + a,
    "rsub": lambda a, b, c: c - a,
    "cmul": lambda a, b, c: a * c,
    "rdiv": lambda a, b, c: c / (2 + a.sin()),
    "exp": lambda a, b, c: a.tanh().exp(),
    "log": lambda a, b, c: (1 + a * a).log(),
    "tanh": lambda a, b, c: a.tanh(),
    "sigmoid": lambda a, b, c: a.sigmoid(),
    "softplus": lambda a, b, c: a.softplus(),
    "relu": lambda a, b, c: (a - c).relu(),
    "leaky_relu": lambda a, b, c: a.leaky_relu(0.1),
    "leaky_relu_value": lambda a, b, c: a.leaky_relu(b.sigmoid()),  # a Value slope
    "abs": lambda a, b, c: (a - c).abs(),
    "sin": lambda a, b, c: a.sin(),
    "cos": lambda a, b, c: a.cos(),
    "sum": lambda a, b, c: Value.sum([a, b, c, a]),
    "mean": lambda a, b, c: Value.mean([a, b]),
    "logsumexp": lambda a, b, c: Value.logsumexp([a, b, c]),
    "dot": lambda a, b, c: Value.dot([a, b], [b, c], bias=a),
    "dot_numbers": lambda a, b, c: Value.dot([a, c], [0.5, b]),
    "neuron_relu": lambda a, b, c: Value.dot([a, b], [b, a], bias=a - c, activation="relu"),
    "neuron_tanh": lambda a, b, c: Value.dot([a], [b], bias=b, activation="tanh"),
    "neuron_sigmoid": lambda a, b, c: Value.dot([a, b, a], [c, a, b], activation="sigmoid"),
    "custom": lambda a, b, c: softsign(a * b),
    "detach": lambda a, b, c: a * b.detach(),
}
KINDS = sorted(STEPS)


@st.composite
def programs(draw, kinds=KINDS, max_steps=14):
    """A random straight-line program over `kinds`."""
    n_leaves = draw(st.integers(1, 4))
    leaves = draw(st.lists(st.floats(-2, 2, allow_nan=False), min_size=n_leaves, max_size=n_leaves))
    steps = []
    for k in range(draw(st.integers(1, max_steps))):
        n = n_leaves + k
        kind = draw(st.sampled_from(kinds))
        i = draw(st.integers(0, n - 1))
        j = draw(st.integers(0, n - 1))  # may equal i: a node used twice
        c = draw(st.sampled_from([-1.0, 1.0])) * draw(st.floats(0.1, 3))  # a constant at least 0.1 from 0
        steps.append((kind, i, j, c))
    outputs = draw(st.lists(st.integers(0, n_leaves + len(steps) - 1), min_size=1, max_size=3))
    return leaves, steps, outputs


def run(program, xs):
    """The program's output, a Value, computed from the leaves `xs` (Values)."""
    _, steps, outputs = program
    nodes = list(xs)
    for kind, i, j, c in steps:
        nodes.append(STEPS[kind](nodes[i], nodes[j], c))
    return Value.sum([nodes[k] for k in outputs])
