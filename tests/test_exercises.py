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
