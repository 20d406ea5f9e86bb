"""Tests of autograd_tiny.module: what a Module finds in its attributes (lists, tuples and dicts at
any depth), what it refuses rather than drop (sets, bad keys, Values hidden in other objects), and
modules or lists nested 5,000 deep or referring back to each other."""

import dataclasses
import json
import logging
import random

import pytest

from autograd_tiny import Value
from autograd_tiny.module import _plain_parameters, _walk
from autograd_tiny.nn import MLP, Layer, Module, Neuron
from autograd_tiny.optim import SGD


class Holder(Module):
    """A module whose one attribute, `held`, holds whatever a test gives it."""

    def __init__(self, held):
        self.held = held


def _values(n, start=1.0):
    return [Value(start + i) for i in range(n)]


def _renumbered(state, offset):
    """The same state with every number moved by `offset`, nested lists kept (without recursion)."""
    out = {}
    stack = [(state, out, key) for key in reversed(list(state))]
    while stack:
        src, dst, key = stack.pop()
        x = src[key]
        if isinstance(x, list):
            dst[key] = [None] * len(x)
            stack.extend((x, dst[key], i) for i in range(len(x)))
        else:
            dst[key] = x + offset
    return out


# ---------------------------------------------------------------------- lists, tuples and dicts


def _collected_cases():
    """(id, build(values) -> what to hold, how many Values it takes, the state_dict keys)."""
    return [
        ("dict", lambda v: {"a": v[0], "b": v[1]}, 2, ["held.a", "held.b"]),
        ("dict in a list", lambda v: [{"w": v[0]}], 1, ["held.0.w"]),
        ("dict in a tuple", lambda v: ({"w": v[0], "u": v[1]},), 2, ["held.0.w", "held.0.u"]),
        ("dicts in dicts", lambda v: {"x": {"y": {"z": v[0]}}, "q": v[1]}, 2, ["held.x.y.z", "held.q"]),
        ("list in a dict", lambda v: {"ws": [v[0], v[1]], "b": v[2]}, 3, ["held.ws", "held.b"]),
        ("nested lists", lambda v: [[v[0], v[1]], [v[2]], [[v[3]]]], 4, ["held"]),
        ("tuple of tuples", lambda v: ((v[0],), (v[1], v[2])), 3, ["held"]),
        ("dict deep in lists", lambda v: [[[{"w": v[0]}]], v[1]], 2, ["held.0.0.0.w", "held.1"]),
        ("Values beside numbers", lambda v: [v[0], 2.5, "note", v[1]], 2, ["held.0", "held.3"]),
        ("Values beside a Module", lambda v: [v[0], Holder(v[1])], 2, ["held.0", "held.1.held"]),
    ]


@pytest.mark.parametrize("build, count, keys", [c[1:] for c in _collected_cases()],
                         ids=[c[0] for c in _collected_cases()])
def test_values_in_lists_tuples_and_dicts_are_collected_trained_and_saved(build, count, keys, tmp_path):
    """Values held in dicts, lists and tuples (inside one another, at any depth) are parameters: in
    parameters() in order, under PyTorch-style names, trained by an optimizer (the gradient of
    sum(p²) is 2p) and saved and loaded by name."""
    values = _values(count)
    m = Holder(build(values))
    assert m.parameters() == values
    assert list(m.state_dict()) == keys
    assert sorted(n for n, _ in m.named_parameters()) == sorted(set(n for n, _ in m.named_parameters()))

    loss = Value.sum([p * p for p in m.parameters()])
    m.zero_grad()
    loss.backward()
    assert [p.grad for p in values] == [2 * (1.0 + i) for i in range(count)]
    SGD(m.parameters(), lr=0.25).step()  # p - 0.25 * 2p = p / 2
    assert [p.data for p in values] == [(1.0 + i) / 2 for i in range(count)]

    other = Holder(build(_values(count, start=-7.0)))
    other.load_state_dict(m.state_dict())
    assert [p.data for p in other.parameters()] == [p.data for p in values]
    m.save(tmp_path / "m.json")
    fresh = Holder(build(_values(count, start=100.0)))
    assert fresh.load(tmp_path / "m.json").state_dict() == m.state_dict()


def test_a_dict_of_modules_works_as_pytorchs_module_dict():
    """heads = {'en': Neuron, 'fr': Neuron}: both are children, their parameters are trained and
    named heads.en.weight..., as nn.ModuleDict names them."""

    class TwoHeads(Module):
        def __init__(self):
            self.body = Layer(2, 3, activation="tanh", seed=0)
            self.heads = {"en": Neuron(3, "linear", seed=1), "fr": Neuron(3, "linear", seed=2)}

        def forward(self, x, lang):
            return self.heads[lang](self.body(x))

    net = TwoHeads()
    assert [name for name, _ in net.named_children()] == ["body", "heads.en", "heads.fr"]
    assert list(net.state_dict()) == ["body.weight", "body.bias", "heads.en.weight", "heads.en.bias",
                                      "heads.fr.weight", "heads.fr.bias"]
    assert net.parameters()[-4:] == [*net.heads["fr"].w, net.heads["fr"].b]
    out = net([0.5, -1.0], "fr")
    out.backward()
    h = [v.data for v in net.body([0.5, -1.0])]
    assert [w.grad for w in net.heads["fr"].w] == pytest.approx(h, rel=1e-15)  # d(w·h + b)/dw = h
    assert all(w.grad == 0.0 for w in net.heads["en"].w)
    assert "  (heads.en): Neuron(nin=3, activation='linear')" in repr(net).splitlines()


def test_data_in_containers_is_left_alone():
    """Numbers, strings, sets of numbers and dicts with any keys that hold no Value are data: no
    parameter, no error, and a long list of data costs no parameter either."""
    m = Holder({0: 0.1, 10: 0.01, "names": {"a", "b"}, "table": [[1.0, 2.0]] * 10_000, (1, 2): None})
    m.w = Value(3.0)
    assert m.parameters() == [m.w] and m.state_dict() == {"w": 3.0}


# ---------------------------------------------------------------------- refused, never dropped


class Config:
    """A plain object, not a Module."""

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)


@dataclasses.dataclass
class Pair:
    left: object
    right: object = 0.0


class Slotted:
    __slots__ = ("w",)

    def __init__(self, w):
        self.w = w


def _refused_cases():
    """(id, what to hold, the start of the error's message)."""
    v = Value(1.0)
    return [
        ("set of Values", {v, Value(2.0)}, "'held' is a set holding Values"),
        ("frozenset in a list", [frozenset([v])], "'held.0' is a set holding Values"),
        ("set of Modules in a dict", {"mods": {Neuron(2, seed=0)}}, "'held.mods' is a set holding"),
        ("int key", {1: v}, "'held' holds a Value under the key 1"),
        ("dotted key", {"a.b": [v]}, "'held' holds a list under the key 'a.b'"),
        ("empty key", [{"": Neuron(2, seed=0)}], "'held.0' holds a Neuron under the key ''"),
        ("Value in a plain object", Config(w=v, lr=0.1), "'held.w' is a Value inside a Config"),
        ("Values in a dataclass's list", Pair([v, Value(2.0)]), r"'held.left\[0\]' is a Value inside a Pair"),
        ("Module in a dataclass", Pair(0.5, Neuron(2, seed=0)), "'held.right' is a Neuron inside a Pair"),
        ("Value in a slotted object", Slotted(v), "'held.w' is a Value inside a Slotted"),
        ("plain object in a list", [Config(inner={"w": v})], r"'held.0.inner\['w'\]' is a Value inside a Config"),
        ("plain object in a dict", {"cfg": Config(w=v)}, "'held.cfg.w' is a Value inside a Config"),
    ]


@pytest.mark.parametrize("held, match", [c[1:] for c in _refused_cases()], ids=[c[0] for c in _refused_cases()])
def test_what_cannot_be_named_in_order_is_refused_by_every_method(held, match, tmp_path):
    """A set holding Values or Modules, a key that is not a name, and a Value or Module reachable
    only through another kind of object raise a TypeError naming the attribute, from every method
    that would otherwise leave it out of training or saving; no file is written."""
    m = Holder(held)
    calls = [m.parameters, m.named_parameters, m.state_dict, m.modules, m.zero_grad,
             lambda: m.load_state_dict({}), lambda: m.save(tmp_path / "m.json")]
    for call in calls:
        with pytest.raises(TypeError, match="Holder: " + match):
            call()
    assert list(tmp_path.iterdir()) == []


def test_an_object_holding_values_that_are_collected_anyway_is_fine():
    """An optimizer kept on the module holds the module's own parameters: nothing is dropped, so
    nothing is refused; nor is a logger, whose reach is not walked."""

    class Trainer(Module):
        def __init__(self):
            self.net = MLP(2, [3, 1], seed=0)
            self.opt = SGD(self.net.parameters(), lr=0.1)
            self.log = logging.getLogger("autograd_tiny.tests")

    t = Trainer()
    assert t.parameters() == t.net.parameters()
    assert list(t.state_dict()) == [f"net.{k}" for k in t.net.state_dict()]


def test_parameters_of_random_structures_come_in_attribute_order_each_once():
    """On 300 random structures of Values, Modules, lists and tuples (shared pieces included),
    parameters() lists the Values depth first in attribute order, each once, as a plain recursive
    reading of the structure does; the quick path (taken when every attribute is a Value, a Module
    or a flat list of either) and the full walk agree."""
    rng = random.Random(0)

    def grow(depth, pool):
        r = rng.random()
        if depth > 3 or r < 0.3:
            return rng.choice(pool) if pool and rng.random() < 0.2 else Value(rng.random())
        if r < 0.5:
            return Holder(grow(depth + 1, pool))
        items = [grow(depth + 1, pool) for _ in range(rng.randint(0, 3))]
        pool.extend(x for x in items if isinstance(x, (Value, Module)))
        return items if rng.random() < 0.8 else tuple(items)

    def expected(x, modules):
        if isinstance(x, Value):
            return [x]
        if isinstance(x, Module):
            if id(x) in modules:
                return []
            modules.add(id(x))
            return [v for name in ("held", "again") if hasattr(x, name) for v in expected(getattr(x, name), modules)]
        return [v for item in x for v in expected(item, modules)]

    quick = 0
    for _ in range(300):
        pool: list = []
        m = Holder(grow(0, pool))
        if rng.random() < 0.3:
            m.again = rng.choice(pool) if pool else m.held
        assert m.parameters() == list(dict.fromkeys(expected(m, set())))
        walked = [v for _, _, t in _walk(m).entries for v in _flat_values(t)]
        assert m.parameters() == list(dict.fromkeys(walked))
        quick += _plain_parameters(m) is not None
    assert 30 < quick < 270  # both paths were taken


def _flat_values(x):
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in _flat_values(item)]
    return [x]


# ---------------------------------------------------------------------- deep and cyclic


class Box(Module):
    """A module holding one Value `v` and, once linked, one sub-module `c`."""

    def __init__(self, number):
        self.v = Value(number)


def _chain(depth, cycle=False):
    """Boxes 0 .. depth-1, box i holding box i+1 as `c`; with cycle, the last holds box 0."""
    boxes = [Box(float(i)) for i in range(depth)]
    for outer, inner in zip(boxes, boxes[1:]):
        outer.c = inner
    if cycle:
        boxes[-1].c = boxes[0]
    return boxes


@pytest.mark.parametrize("cycle", [False, True], ids=["chain", "ring"])
def test_modules_nested_5000_deep_work_with_every_method(cycle, tmp_path):
    """5,000 modules each inside the previous (and, as a ring, the last holding the first):
    parameters, names, modules, state_dict, load_state_dict, zero_grad, repr, save and load all work,
    without a RecursionError, each module once."""
    depth = 5000
    boxes = _chain(depth, cycle)
    root = boxes[0]
    assert root.parameters() == [b.v for b in boxes]
    modules = root.named_modules()
    assert [m for _, m in modules] == boxes
    assert modules[3][0] == "c.c.c" and len(modules[-1][0]) == 2 * (depth - 1) - 1
    state = root.state_dict()
    assert len(state) == depth and state["c.c.v"] == 2.0 and state["c." * (depth - 1) + "v"] == depth - 1
    assert root.named_parameters()[2] == ("c.c.v", boxes[2].v)

    root.load_state_dict(_renumbered(state, 0.5))
    assert [b.v.data for b in boxes] == [i + 0.5 for i in range(depth)]
    for b in boxes:
        b.v.grad = 1.0
    root.zero_grad()
    assert all(b.v.grad == 0.0 for b in boxes)

    lines = repr(root).splitlines()
    assert lines[:3] == ["Box(", "  (c): Box(", "    (c): Box("]
    if cycle:  # the last box shows the first as Box(...), then every box closes
        assert lines[depth] == "  " * depth + "(c): Box(...)"
        assert len(lines) == 2 * depth + 1
    else:
        assert lines[depth - 1] == "  " * (depth - 1) + "(c): Box()"
        assert len(lines) == 2 * depth - 1
    assert lines[-1] == ")"

    root.save(tmp_path / "deep.json")
    copy = _chain(depth, cycle)[0]
    copy.load(tmp_path / "deep.json", max_bytes=10**9)
    assert copy.state_dict() == root.state_dict()


def test_modules_that_refer_to_each_other_show_and_save():
    """a.child = b and b.child = a: repr shows the back-reference as A(...), and parameters and
    state_dict hold each Value once."""

    class A(Module):
        pass

    class B(Module):
        pass

    a, b = A(), B()
    a.w, b.w = Value(1.0), Value(2.0)
    a.child, b.child = b, a
    a.me = a
    assert repr(a) == "A(\n  (child): B(\n    (child): A(...)\n  )\n  (me): A(...)\n)"
    assert a.parameters() == [a.w, b.w] and a.state_dict() == {"w": 1.0, "child.w": 2.0}
    assert [name for name, _ in a.named_modules()] == ["", "child"]


@pytest.mark.parametrize("kind", ["list", "tuple", "dict"])
def test_a_value_nested_5000_deep_in_containers_works_and_a_file_refuses_it_clearly(kind, tmp_path):
    """A Value 5,000 lists (tuples, dicts) deep is a parameter with a 5,000-level name and state; a
    model file holds at most 100 levels of lists, so save says so, writing nothing."""
    v = Value(1.5)
    held = v
    for _ in range(5000):
        held = {"d": held} if kind == "dict" else [held] if kind == "list" else (held,)
    m = Holder(held)
    assert m.parameters() == [v]
    (name, p), = m.named_parameters()
    assert p is v
    state = m.state_dict()
    m.load_state_dict(_renumbered(state, 1.0))
    assert v.data == 2.5
    m.zero_grad()
    if kind == "dict":
        assert name == "held" + ".d" * 5000 and state == {name: 1.5}
        m.save(tmp_path / "m.json")
        assert json.loads((tmp_path / "m.json").read_text())["parameters"] == {name: 2.5}
    else:
        assert name == "held" + "[0]" * 5000
        with pytest.raises(ValueError, match="'held' has lists nested more than 100 deep"):
            m.save(tmp_path / "m.json")
        assert list(tmp_path.iterdir()) == []


def test_a_list_that_holds_itself_is_walked_once():
    """ws = [w0, w1, ws]: its two Values are parameters, named by position, and nothing loops."""
    ws = _values(2)
    ws.append(ws)
    m = Holder(ws)
    assert m.parameters() == ws[:2]
    assert list(m.state_dict()) == ["held.0", "held.1"]


def test_a_layer_holding_one_neuron_twice_saves_it_in_both_rows():
    """A Layer whose neurons 0 and 2 are one Neuron has that neuron's weights in rows 0 and 2 of
    'weight' (tied, as PyTorch saves a tensor held twice), its parameters once, and refuses two
    different numbers for the one weight."""
    layer = Layer(2, 3, seed=0)
    layer.neurons[2] = layer.neurons[0]
    state = layer.state_dict()
    assert state["weight"][2] == state["weight"][0] == [w.data for w in layer.neurons[0].w]
    assert state["bias"] == [0.0, 0.0, 0.0] and len(layer.parameters()) == 2 * (2 + 1)
    state["weight"][2][0] += 1.0
    with pytest.raises(ValueError, match=r"'weight\[0\]\[0\]' and 'weight\[2\]\[0\]' are the same parameter"):
        layer.load_state_dict(state)
