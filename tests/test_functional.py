"""grad, value_and_grad, hessian and gradcheck: derivatives as functions, checked against closed forms."""

import math

import pytest

from autograd_tiny import GradcheckError, Value, engine, grad, gradcheck, hessian, value_and_grad


def test_grad_of_a_polynomial_and_its_nesting():
    """grad(x**3) is 3x**2, grad(grad(.)) is 6x, and a third grad is 6."""
    f = lambda x: x**3 - 2 * x  # noqa: E731
    for x in (-1.5, 0.0, 2.0):
        assert grad(f)(x) == pytest.approx(3 * x * x - 2, rel=1e-12)
        assert grad(grad(f))(x) == pytest.approx(6 * x, rel=1e-12, abs=1e-12)
        assert grad(grad(grad(f)))(x) == pytest.approx(6.0, rel=1e-12)


def test_argnums_selects_arguments():
    """argnums picks which arguments to differentiate; the others are held constant."""
    f = lambda x, y, z: x * y * y + z.sin()  # noqa: E731
    assert grad(f, argnums=1)(2.0, 3.0, 0.5) == pytest.approx(12.0)
    gx, gz = grad(f, argnums=(0, 2))(2.0, 3.0, 0.5)
    assert gx == pytest.approx(9.0) and gz == pytest.approx(math.cos(0.5))
    assert grad(f, argnums=-1)(2.0, 3.0, 0.5) == pytest.approx(math.cos(0.5))
    with pytest.raises(ValueError, match="argnums"):
        grad(f, argnums=3)(2.0, 3.0, 0.5)


def test_value_and_grad_returns_both():
    """value_and_grad gives f(x) and f'(x) from one evaluation."""
    value, slope = value_and_grad(lambda x: x.exp() * x)(1.5)
    assert value == pytest.approx(1.5 * math.exp(1.5)) and slope == pytest.approx(2.5 * math.exp(1.5))


def test_grad_of_a_constant_function_is_zero():
    """A function that ignores its argument, or returns a number, has derivative 0."""
    assert grad(lambda x: Value(3.0))(1.0) == 0.0
    assert grad(lambda x: 5.0)(1.0) == 0.0
    assert grad(grad(lambda x: 2 * x))(1.0) == 0.0


def test_grad_leaves_captured_values_alone():
    """grad touches no .grad outside the function's own graph (closed-over Values keep theirs)."""
    y = Value(2.0)
    y.grad = 7.0
    assert grad(lambda x: x * y)(3.0) == 2.0
    assert y.grad == 7.0


def test_grad_on_values_is_differentiable():
    """Called on a Value inside an outer computation, grad returns a Value the outer backward sees."""
    x = Value(0.8)
    g = grad(lambda t: t.sin() * t)(x)  # sin(t) + t cos(t)
    assert isinstance(g, Value)
    g.backward()  # d/dx (sin x + x cos x) = 2 cos x - x sin x
    assert x.grad == pytest.approx(2 * math.cos(0.8) - 0.8 * math.sin(0.8), rel=1e-12)


def test_hessian_of_a_quadratic_form_and_rosenbrock():
    """hessian matches closed forms: a quadratic form and Rosenbrock's function."""
    H = hessian(lambda x, y: 3 * x * x + 2 * x * y - y * y)(0.7, -1.1)
    assert H == [[6.0, 2.0], [2.0, -2.0]]
    a, b = 1.2, 0.9
    H = hessian(lambda x, y: (1 - x) ** 2 + 100 * (y - x * x) ** 2)(a, b)
    want = [[2 - 400 * (b - a * a) + 800 * a * a, -400 * a], [-400 * a, 200.0]]
    for i in range(2):
        for j in range(2):
            assert H[i][j] == pytest.approx(want[i][j], rel=1e-12)


def test_gradcheck_accepts_correct_rules_to_second_order():
    """gradcheck passes on a function built from many ops, first and second order."""
    f = lambda x, y, z: (x * y).tanh() + (z**2 + 1).log() * x.sigmoid() - y.exp() / (2 + z.cos())  # noqa: E731
    assert gradcheck(f, [0.3, -0.4, 1.1], second_order=True)


def test_gradcheck_catches_a_wrong_rule(monkeypatch):
    """With a deliberately wrong first- or second-order rule, gradcheck raises and names the derivative."""
    monkeypatch.setattr(engine.SIN, "rule", lambda x, out: (1.01 * math.cos(float(x)),))
    with pytest.raises(GradcheckError, match=r"d f / d x\[0\]"):
        gradcheck(lambda x: x.sin(), [0.4])
    # right first derivative, wrong second: cos(x) written as a constant of the right value
    monkeypatch.setattr(engine.SIN, "rule", lambda x, out: (math.cos(float(x)),))
    assert gradcheck(lambda x: x.sin(), [0.4])
    with pytest.raises(GradcheckError, match=r"d2 f"):
        gradcheck(lambda x: x.sin(), [0.4], second_order=True)


def test_grad_rejects_bad_arguments_and_results():
    """Non-numeric arguments and non-Value results are clear TypeErrors."""
    with pytest.raises(TypeError, match="grad"):
        grad(lambda x: x)("a")
    with pytest.raises(TypeError, match="must return a Value"):
        grad(lambda x: "nope")(1.0)


# ---------------------------------------------------------------------- vjp, jacobian, hvp


def test_vjp_pulls_a_cotangent_back_through_the_jacobian():
    """For f(x, y) = [x*y, x**2 + y], c @ J = [c0*y + c1*2x, c0*x + c1]."""
    from autograd_tiny import vjp

    out, pullback = vjp(lambda x, y: [x * y, x**2 + y], 1.5, -2.0)
    assert out == [-3.0, 0.25]
    assert pullback([2.0, 3.0]) == (2.0 * -2.0 + 3.0 * 3.0, 2.0 * 1.5 + 3.0)


@pytest.mark.parametrize("n_out", [1, 2, 5])
def test_jacobian_matches_the_closed_form_in_both_modes(n_out):
    """f(x, y, z) = [x*y*z, x + y**2, sin z, ...]: every entry as the closed form, whichever mode
    (forward for more outputs than inputs, reverse for fewer)."""
    from autograd_tiny import jacobian

    x, y, z = 0.7, -1.3, 2.1
    rows = [
        ([lambda x, y, z: x * y * z], [y * z, x * z, x * y]),
        ([lambda x, y, z: x + y**2], [1.0, 2 * y, 0.0]),
        ([lambda x, y, z: z.sin()], [0.0, 0.0, math.cos(z)]),
        ([lambda x, y, z: x.exp() * y], [math.exp(x) * y, math.exp(x), 0.0]),
        ([lambda x, y, z: z / x], [-z / x**2, 0.0, 1 / x]),
    ][:n_out]
    fns = [r[0][0] for r in rows]
    f = (lambda *a: fns[0](*a)) if n_out == 1 else (lambda *a: [g(*a) for g in fns])
    J = jacobian(f)(x, y, z)
    want = rows[0][1] if n_out == 1 else [r[1] for r in rows]
    flat = lambda m: m if n_out == 1 else [v for row in m for v in row]  # noqa: E731
    assert flat(J) == pytest.approx(flat(want), rel=1e-14)


def test_hvp_equals_the_closed_form_hessian_times_the_vector():
    """f = x**2 y + sin(y) z: H v against the hand-derived Hessian."""
    from autograd_tiny import hvp

    x, y, z = 0.4, 1.1, -0.6
    H = [[2 * y, 2 * x, 0.0], [2 * x, -math.sin(y) * z, math.cos(y)], [0.0, math.cos(y), 0.0]]
    v = [0.3, -2.0, 1.5]
    got = hvp(lambda a, b, c: a * a * b + b.sin() * c, [x, y, z], v)
    assert got == pytest.approx([sum(H[i][j] * v[j] for j in range(3)) for i in range(3)], rel=1e-13)
