"""check_gradients: hand-derived gradients judged against closed forms, input by input."""

import math

import pytest

from autograd_tiny import Value, check_gradients


def f(x, y, z):
    return (x * y).tanh() + z * x.exp()


def closed_form(x, y, z):
    """df/dx, df/dy, df/dz of tanh(xy) + z e^x, derived by hand."""
    s = 1 - math.tanh(x * y) ** 2
    return {"x": y * s + z * math.exp(x), "y": x * s, "z": math.exp(x)}


AT = {"x": 0.4, "y": -1.3, "z": 2.0}


def test_right_answers_are_all_ok():
    """Gradients from the closed form are all reported right; the table does not print the correct values."""
    report = check_gradients(f, AT, closed_form(**AT))
    assert report.ok and report.wrong == []
    assert [line.name for line in report] == ["x", "y", "z"]
    for line in report:
        assert line.correct == pytest.approx(closed_form(**AT)[line.name], rel=1e-12)
        assert line.verdict() == "ok"
    assert repr(report).endswith("3 of 3 right")
    assert f"{closed_form(**AT)['y']:.6g}" in repr(report)  # yours, which are the correct ones here
    wrong = check_gradients(f, AT, {"x": 0.0, "y": 0.0, "z": 0.0})
    assert all(f"{line.correct:.6g}" not in repr(wrong) for line in wrong)


def test_a_wrong_gradient_is_named_with_its_error():
    """One wrong gradient is named, with how far it is from the closed form and the ratio to it."""
    answer = closed_form(**AT)
    answer["y"] += 0.25
    report = check_gradients(f, AT, answer)
    assert not report.ok and report.wrong == ["y"]
    line = report[1]
    assert line.error == pytest.approx(0.25, rel=1e-9)
    ratio = answer["y"] / closed_form(**AT)["y"]
    assert f"off by 0.25; {ratio:.4g} times the correct value" in line.verdict()
    assert repr(report).endswith("2 of 3 right; wrong: y")


def test_sign_and_factor_mistakes_are_told_apart():
    """A flipped sign is called so; a forgotten factor of 2 shows as '0.5 times'."""
    x = 1.5
    report = check_gradients(lambda x: x * x, {"x": x}, {"x": -2 * x})
    assert report[0].verdict() == "WRONG: off by 6; the sign is flipped"
    report = check_gradients(lambda x: x * x, {"x": x}, {"x": x})
    assert report[0].verdict() == "WRONG: off by 1.5; 0.5 times the correct value"


def test_unanswered_gradients_are_not_ok():
    """None, or a name left out, reads 'no answer yet' and counts as not right."""
    report = check_gradients(f, AT, {"x": None, "z": math.exp(AT["x"])})
    assert report.missing == ["x", "y"] and report.wrong == [] and not report.ok
    assert [line.verdict() for line in report][:2] == ["no answer yet", "no answer yet"]
    assert report[0].error is None
    assert report[2].ok
    assert repr(report).endswith("1 of 3 right; no answer yet: x, y")


def test_a_list_of_inputs_is_passed_in_order():
    """With lists, f gets the inputs positionally and they are named x[0], x[1], ..."""
    z, label = [0.5, -1.0, 2.0], 2
    exps = [math.exp(v) for v in z]
    probs = [e / sum(exps) for e in exps]
    by_hand = [p - (j == label) for j, p in enumerate(probs)]  # softmax minus one-hot
    report = check_gradients(lambda *z: Value.logsumexp(z) - z[label], z, by_hand)
    assert report.ok and [line.name for line in report] == ["x[0]", "x[1]", "x[2]"]


def test_tolerance_is_atol_plus_rtol_times_the_correct_value():
    """An answer within atol + rtol * |correct| passes; twice that distance does not."""
    correct = 3 * 2.0**2  # d/dx x**3 at 2
    allowed = 1e-9 + 1e-6 * correct
    assert check_gradients(lambda x: x**3, [2.0], [correct + 0.9 * allowed]).ok
    assert not check_gradients(lambda x: x**3, [2.0], [correct + 2 * allowed]).ok
    assert check_gradients(lambda x: x**3, [2.0], [12.01], rtol=1e-2).ok


def test_a_value_as_an_answer_counts_as_its_number():
    """A gradient given as a Value (e.g. from a hand-written backward on Values) is read as its data."""
    assert check_gradients(lambda x: x * 3.0, [1.0], [Value(3.0)]).ok


def test_nan_is_wrong():
    """A nan answer is never right, and the report says so without a ratio."""
    report = check_gradients(lambda x: x * 3.0, [1.0], [math.nan])
    assert not report.ok and report[0].verdict() == "WRONG: off by nan"


@pytest.mark.parametrize(
    "inputs, yours, error, match",
    [
        ({"x": 1.0}, {"w": 1.0}, ValueError, "yours has 'w', which is not an input"),
        ([1.0, 2.0], [1.0], ValueError, "2 inputs but 1 gradients"),
        ({"x": "1"}, {"x": 1.0}, TypeError, "inputs x must be a number, got str"),
        ({"x": 1.0}, {"x": "2"}, TypeError, "your gradient for x must be a number or None"),
        ({}, {}, ValueError, "inputs is empty"),
        (1.0, [1.0], TypeError, "inputs must be a dict of numbers or a list"),
        ([1.0], 1.0, TypeError, "yours must be a dict or a list"),
    ],
)
def test_bad_arguments_get_a_one_line_error(inputs, yours, error, match):
    """Wrong names, lengths or kinds raise an error naming check_gradients and the culprit."""
    with pytest.raises(error, match=match) as info:
        check_gradients(lambda *a, **k: Value(0.0), inputs, yours)
    assert str(info.value).startswith("check_gradients:") and "\n" not in str(info.value)


# ---------------------------------------------------------------------- answers inside the graph


def chain():
    """x, y, z and seven labelled nodes: p = x*y, q = p + z, r = tanh(q), s = r*x, u = exp(s),
    out = u / y (x and y used twice)."""
    x, y, z = Value(0.7, label="x"), Value(-1.2, label="y"), Value(0.4, label="z")
    p = x * y
    q = p + z
    r = q.tanh()
    s = r * x
    u = s.exp()
    out = u / y
    for v, name in zip((p, q, r, s, u, out), ("p", "q", "r", "s", "u", "out")):
        v.label = name
    return out, {"x": x, "y": y, "z": z, "p": p, "q": q, "r": r, "s": s, "u": u}


def by_hand(values, tanh_slope=None, leave_out_s_to_x=False):
    """The backward pass of `chain` from closed forms, written out by hand; `tanh_slope` plants a
    wrong local derivative on the edge r -> q, `leave_out_s_to_x` forgets one of x's two paths."""
    x, y, z = (values[k].data for k in "xyz")
    q, r, u = (values[k].data for k in "qru")
    g = {"out": 1.0}
    g["u"] = 1 / y
    g["s"] = g["u"] * u
    g["r"] = g["s"] * x
    g["q"] = g["r"] * (tanh_slope(q, r) if tanh_slope else 1 - r * r)
    g["p"] = g["z"] = g["q"]
    g["x"] = g["p"] * y + (0.0 if leave_out_s_to_x else g["s"] * r)
    g["y"] = -u / y**2 + g["p"] * x
    return g


@pytest.mark.parametrize("planted, slip", [
    (lambda q, r: 1 - q * q, "used the input q"),        # tanh' from the input, not the output
    (lambda q, r: 1.5 * (1 - r * r), ""),                 # a wrong number, no typical slip
])  # fmt: skip
def test_a_wrong_local_derivative_deep_inside_is_named(planted, slip):
    """A hand backward pass with one wrong local derivative on the edge r -> q (three ops from
    the output) makes q, p, z, x and y wrong; the report names r -> q as the first wrong edge,
    with the engine's local derivative there (1 - r², the closed form), and the slip when it is
    a typical one."""
    out, values = chain()
    answers = by_hand(values, tanh_slope=planted)
    report = check_gradients(out, {k: answers[k] for k in "xyzpqrsu"})
    assert set(report.wrong) == {"x", "y", "z", "p", "q"}
    found = report.first_wrong
    assert (found.upstream, found.value) == ("r", "q")
    r = values["r"].data
    assert found.local == pytest.approx(1 - r * r, rel=1e-12)
    assert found.upstream_grad == pytest.approx(answers["r"], rel=1e-12)
    assert found.mistake.startswith(slip)
    assert "The first wrong edge, in backward order: r → q." in repr(report)


def test_a_forgotten_path_is_named():
    """x is used twice (in p = x*y and s = r*x): an answer for x without the path through s is
    named as the edge s -> x left out; everything upstream of it is right."""
    out, values = chain()
    answers = by_hand(values, leave_out_s_to_x=True)
    report = check_gradients(out, {values[k]: answers[k] for k in "xyzpqrsu"})  # by the Values
    assert report.wrong == ["x"]
    found = report.first_wrong
    assert (found.value, found.upstream) == ("x", "s") and found.mistake.startswith("left out the edge from s")


@pytest.mark.parametrize("slip, answer, says", [
    ("upstream", lambda local, up: local, "forgot to multiply the local derivative by the upstream gradient"),
    ("sign", lambda local, up: -local * up, "the sign is flipped"),
])  # fmt: skip
def test_typical_slips_on_one_edge_are_told(slip, answer, says):
    """On the edge u -> s (local derivative u = e^s, upstream 1/y): the upstream forgotten, or the
    sign flipped, is told as such."""
    out, values = chain()
    right = by_hand(values)
    u, y = values["u"].data, values["y"].data
    answers = dict(right, s=answer(u, 1 / y))
    report = check_gradients(out, {k: answers[k] for k in ("u", "s")})
    assert report.wrong == ["s"] and report.first_wrong.mistake.startswith(says)


def test_answers_for_the_inputs_alone_read_as_before():
    """With answers for the inputs only, the report is the table and its summary, nothing more:
    no upstream gradient was checked, so no edge can be named."""
    out, values = chain()
    answers = by_hand(values, tanh_slope=lambda q, r: 1 - q * q)
    report = check_gradients(out, {k: answers[k] for k in "xyz"})
    assert report.first_wrong is None and repr(report).splitlines()[-1].startswith("0 of 3 right")


def test_interior_answers_by_label_in_a_function():
    """In a function, the values it labels can be answered by label, and the edge from one of
    them is named."""

    def f(x, w):
        n = x * w
        n.label = "n"
        return n.tanh()

    slope = 1 - math.tanh(2.0 * -1.0) ** 2
    report = check_gradients(f, {"x": 2.0, "w": -1.0}, {"x": 1.0, "n": slope, "w": 2 * slope})
    assert [line.name for line in report] == ["x", "w", "n"] and report.wrong == ["x"]
    found = report.first_wrong
    assert (found.value, found.upstream, found.local) == ("x", "n", -1.0)


def test_checking_a_graph_leaves_its_grads_alone():
    """Checking answers against a graph you built does not touch its .grad fields."""
    out, values = chain()
    before = {k: v.grad for k, v in values.items()}
    check_gradients(out, {"x": 0.0, "q": 1.0})
    assert {k: v.grad for k, v in values.items()} == before


@pytest.mark.parametrize("yours, match", [
    ({"nope": 1.0}, "yours has 'nope', which is not a label in the graph"),
    ({Value(1.0): 1.0}, "yours has a Value that is not in the graph"),
])  # fmt: skip
def test_answers_must_name_values_of_the_graph(yours, match):
    """A label that is not in the graph, or a Value from elsewhere, is a one-line error."""
    out, _ = chain()
    with pytest.raises(ValueError, match=match):
        check_gradients(out, yours)


def test_a_label_of_two_values_is_refused():
    """Two values with one label cannot be told apart by it: the error says to pass the Value."""
    a = Value(1.0, label="a")
    b = Value(2.0, label="a")
    with pytest.raises(ValueError, match="the label of 2 values; give the Value itself"):
        check_gradients(a * b, {"a": 1.0})
