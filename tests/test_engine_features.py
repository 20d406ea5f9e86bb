"""Engine v2's features: custom primitives, hooks, gradient seeds, conversions to numbers,
grad mode per thread, and the edges of the numbers (the wrong-number classes found by adversarial testing)."""

import math
import random
from fractions import Fraction

import pytest
from conftest import central
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from autograd_tiny import DomainError, GradcheckError, Value, grad, gradcheck, no_grad, primitive
from autograd_tiny.grad_mode import enable_grad, is_grad_enabled

# ---------------------------------------------------------------------- custom primitives


@primitive(derivatives=lambda x, out: (1 / (1 + abs(x)) ** 2,))
def softsign(x):
    return x / (1 + abs(x))


@primitive(derivatives=lambda x, y, z, out: (y * z, x * z, x * y))
def product3(x, y, z):
    return x * y * z


def softsign_f(x):
    return x / (1 + abs(x))


def test_softsign_value_and_derivatives_match_closed_forms():
    """A custom primitive's value, first and second derivative equal the closed forms."""
    for x in (-2.5, -0.3, 0.4, 3.0):
        assert softsign(Value(x)).data == x / (1 + abs(x))
        assert grad(softsign)(x) == pytest.approx(1 / (1 + abs(x)) ** 2, rel=1e-12)
        want2 = -2 * math.copysign(1, x) / (1 + abs(x)) ** 3
        assert grad(grad(softsign))(x) == pytest.approx(want2, rel=1e-12)


def test_primitive_takes_numbers_and_values_and_is_drawn_by_name():
    """Numbers get no gradient, Values do, and the node is named after the function."""
    x = Value(2.0)
    out = product3(x, 3.0, Value(0.5))
    out.backward()
    assert out.data == 3.0 and x.grad == 1.5 and out.op == "product3"
    assert out.parents[1] == 3.0 and out.local_grads[1] is None
    from autograd_tiny import draw_dot

    assert "product3" in draw_dot(out).source
    assert softsign(0.5).data == pytest.approx(1 / 3)


# Inputs are drawn at least 0.3 from 0, so that filtering near softsign's kink (below) rejects
# few examples: drawn from [-2, 2], Hypothesis's many small values made it reject most of them.
AWAY_FROM_ZERO = st.tuples(st.sampled_from([-1.0, 1.0]), st.floats(0.3, 2)).map(lambda sm: sm[0] * sm[1])


@settings(max_examples=40, deadline=None)
@given(st.lists(AWAY_FROM_ZERO, min_size=3, max_size=3), st.integers(0, 5))
def test_primitives_inside_random_graphs_match_central_differences(xs, shape):
    """Graphs mixing softsign and product3 with built-in ops: first and second derivatives agree
    with central differences of the same function on floats."""

    def f(a, b, c):
        parts = [softsign(a * b + c), product3(a, b.tanh(), c), softsign(product3(a, a, 0.5)) * c]
        return parts[shape % 3] + softsign(parts[(shape + 1) % 3]) * b.sigmoid()

    def on_floats(*vals):
        with no_grad():
            return f(*[Value(v) for v in vals]).data

    a, b, c = xs  # keep clear of softsign's kink at 0, where central differences are off
    inner = [a * b + c, a * math.tanh(b) * c, softsign_f(0.5 * a * a) * c]
    assume(abs(inner[shape % 3]) > 0.01 and abs(inner[(shape + 1) % 3]) > 0.01)
    gradcheck(f, xs, atol=1e-5, rtol=1e-4, second_order=True)
    g = grad(f, argnums=(0, 1, 2))(*xs)
    for i in range(3):
        def along(t, i=i):
            p = list(xs)
            p[i] = t
            return on_floats(*p)

        assert g[i] == pytest.approx(central(along, xs[i]), rel=1e-5, abs=1e-6)


def test_gradcheck_catches_a_wrong_custom_rule():
    """A wrong first derivative, and a right one written as a constant, are both caught."""

    @primitive(derivatives=lambda x, out: (1.1 / (1 + abs(x)) ** 2,))
    def wrong(x):
        return x / (1 + abs(x))

    @primitive(derivatives=lambda x, out: (1 / (1 + abs(float(x))) ** 2,))  # loses its dependence on x
    def flat_rule(x):
        return x / (1 + abs(x))

    with pytest.raises(GradcheckError, match=r"d f / d x\[0\]"):
        gradcheck(wrong, [0.7])
    assert gradcheck(flat_rule, [0.7])
    with pytest.raises(GradcheckError, match="d2 f"):
        gradcheck(flat_rule, [0.7], second_order=True)


def test_primitive_errors_name_the_op():
    """A rule of the wrong length or a function returning a non-number is a TypeError naming it."""

    @primitive(derivatives=lambda x, out: (1.0, 2.0))
    def two_slopes(x):
        return x

    @primitive(derivatives=lambda x, out: (1.0,))
    def text(x):
        return "x"

    with pytest.raises(TypeError, match="two_slopes: derivatives must return a tuple of 1"):
        two_slopes(Value(1.0))
    with pytest.raises(TypeError, match="text: the function must return a real number"):
        text(Value(1.0))
    with pytest.raises(TypeError, match="primitive: derivatives must be a function"):
        primitive(derivatives=3)


# ---------------------------------------------------------------------- hooks and seeds


def test_hook_on_an_interior_value_replaces_the_gradient_that_flows_on():
    """A hook doubling y's gradient doubles x's; a hook returning None changes nothing."""
    x = Value(3.0)
    y = x * x  # dy/dx = 6
    seen = []
    y.register_hook(lambda g: seen.append(g))
    y.register_hook(lambda g: g * 2)
    (y + 1).backward()
    assert seen == [1.0] and x.grad == 12.0


def test_hook_on_a_leaf_sees_this_backward_and_its_result_is_accumulated():
    """A leaf hook sees the gradient of this backward only; what it returns is added to .grad."""
    x = Value(2.0)
    x.grad = 100.0  # from an earlier step
    seen = []
    handle = x.register_hook(lambda g: seen.append(g) or g * 10)
    (x * x * 3).backward()  # d/dx = 6x = 12
    assert seen == [12.0] and x.grad == 100.0 + 120.0
    handle.remove()
    handle.remove()  # harmless twice
    x.zero_grad()
    (x * x * 3).backward()
    assert x.grad == 12.0 and seen == [12.0]


def test_backward_seed_scales_every_gradient():
    """backward(gradient=g) gives g times the gradients, as d loss/d root = g by the chain rule."""
    x, y = Value(1.5), Value(-2.0)
    (x * y + x.exp()).backward(gradient=0.25)
    assert x.grad == pytest.approx(0.25 * (-2.0 + math.exp(1.5)), rel=1e-15)
    assert y.grad == 0.25 * 1.5
    a = Value(4.0)
    a.backward(gradient=3.0)  # a leaf as the root: its grad grows by the seed
    assert a.grad == 3.0


def test_register_hook_rejects_non_functions():
    """A hook must be callable: anything else is a TypeError naming what was given."""
    with pytest.raises(TypeError, match="register_hook: expected a function"):
        Value(1.0).register_hook(3)


# ---------------------------------------------------------------------- as a number


def test_value_converts_and_formats_like_its_number():
    """float(v), v.item(), round(v), f"{v:.4f}" and +v work as for the number."""
    v = Value(2.71828, label="e")
    assert float(v) == 2.71828 and v.item() == 2.71828 and round(v) == 3 and round(v, 2) == 2.72
    assert f"{v:.4f}" == "2.7183" and f"{v:>8.1f}" == "     2.7" and +v is v
    assert f"{v}" == repr(v)


def test_no_grad_as_context_decorator_and_bare_decorator():
    """with no_grad():, @no_grad() and @no_grad all compute without recording."""

    @no_grad
    def bare(v):
        return v * 2

    @no_grad()
    def called(v):
        return v * 2

    w = Value(1.0)
    with no_grad():
        inside = w * 2
        with enable_grad():
            recorded = w * 2
        assert not is_grad_enabled()
    assert is_grad_enabled()
    assert inside.parents == () and bare(w).parents == () and called(w).parents == ()
    assert recorded.parents == (w, 2.0) and bare.__name__ == "bare"


def test_backward_on_a_value_computed_under_no_grad_is_an_error():
    """As in PyTorch: no graph was recorded, so backward() says so instead of giving zeros."""
    w = Value(2.0)
    with no_grad():
        y = w * w
    with pytest.raises(RuntimeError, match="no_grad"):
        y.backward()


# ---------------------------------------------------------------------- division


def test_division_is_one_correctly_rounded_operation():
    """x / y is IEEE's division: x / x is exactly 1, tiny / tinier does not overflow."""
    rng = random.Random(1)
    for _ in range(2000):
        x = rng.uniform(-1e6, 1e6) or 1.0
        assert (Value(x) / Value(x)).data == 1.0
    assert (Value(49.0) / Value(49.0)).data == 1.0
    assert (Value(1e-300) / Value(1e-310)).data == 1e-300 / 1e-310
    y = Value(2.0)
    out = 3 / y
    assert out.op == "/" and out.parents == (3.0, y) and type(out.parents[0]) is float
    assert out.local_grads == (None, -0.75)  # d(3/y)/dy = -3/y**2


def test_division_gradients_at_tiny_magnitudes_are_exactly_rounded():
    """d(a/b)/da = 1/b and d(a/b)/db = -a/b**2, against exact rational arithmetic."""
    for a0, b0 in [(1e-300, 1e-150), (3e-200, -7e-160), (2.5, 1e-5)]:
        a, b = Value(a0), Value(b0)
        (a / b).backward()
        assert a.grad == float(1 / Fraction(b0))
        assert b.grad == pytest.approx(float(-Fraction(a0) / Fraction(b0) ** 2), rel=1e-15)


# ---------------------------------------------------------------------- flat regions and nan


def test_relu_of_nan_is_nan_and_so_is_a_fused_neurons():
    """A nan weight shows through relu instead of hiding as 0."""
    assert math.isnan(Value(math.nan).relu().data)
    out = Value.dot([Value(math.nan), Value(1.0)], [Value(1.0), Value(2.0)], Value(0.0), activation="relu")
    assert math.isnan(out.data)


def test_flat_region_passes_no_gradient_even_an_infinite_one():
    """relu(-0.5).sqrt() and (-3)**relu(x) are constant near x = -0.5: their derivative is 0."""
    x = Value(-0.5)
    x.relu().sqrt().backward()  # sqrt'(0) is inf, relu' is 0 (flat): nothing flows
    assert x.grad == 0.0
    x = Value(-0.5)
    ((-3.0) ** x.relu()).backward()
    assert x.grad == 0.0
    x = Value(0.0)
    (x**0 * 5).backward()  # x**0 is the constant 1
    assert x.grad == 0.0


def test_second_derivative_of_sqrt_at_zero_is_minus_infinity():
    """sqrt'(x) = 1/(2 sqrt x) and sqrt''(x) = -1/(4 x**1.5): inf and -inf at 0, not 0."""
    assert grad(Value.sqrt)(0.0) == math.inf
    assert grad(grad(Value.sqrt))(0.0) == -math.inf
    assert grad(grad(Value.sqrt))(4.0) == pytest.approx(-1 / (4 * 4.0**1.5), rel=1e-14)


def test_logsumexp_with_nan_is_nan_in_any_order():
    """nan wins over inf whatever the order of the inputs."""
    for values in ([math.inf, math.nan], [math.nan, math.inf], [1.0, math.nan, -math.inf]):
        assert math.isnan(Value.logsumexp(values).data)


def test_negative_base_to_an_infinite_power_follows_ieee():
    """(-2)**inf is inf and (-0.5)**inf is 0, as IEEE, Python and PyTorch say."""
    assert (Value(-2.0) ** math.inf).data == (-2.0) ** math.inf == math.inf
    assert (Value(-0.5) ** math.inf).data == (-0.5) ** math.inf == 0.0
    assert (Value(-0.5) ** -math.inf).data == math.inf
    with pytest.raises(DomainError, match="pow"):
        Value(-2.0) ** 0.5


# ---------------------------------------------------------------------- gradients after create_graph


def test_plain_backward_after_create_graph_gives_number_gradients_and_updates_keep_floats():
    """Leaf grads are Values after create_graph; a later plain backward makes them numbers, so
    p.data -= lr * p.grad keeps data a float, and repr works."""
    p = Value(1.5)
    (p * p * p).backward(create_graph=True)
    assert isinstance(p.grad, Value) and p.grad.data == 3 * 1.5**2
    (p * p).backward()  # accumulates: 6.75 + 3.0
    assert type(p.grad) is float and p.grad == 6.75 + 3.0
    p.data -= 0.1 * p.grad
    assert type(p.data) is float and p.data == 1.5 - 0.1 * 9.75 and "Value(" in repr(p)


def test_create_graph_after_changing_data_is_refused():
    """A graph whose inputs changed since the forward pass no longer tells how the output was made."""
    a, b = Value(2.0), Value(3.0)
    out = a * b
    a.data = 5.0
    with pytest.raises(ValueError, match="changed after the forward pass"):
        out.backward(create_graph=True)
    out.backward()  # plain backward uses what was recorded: d(a*b)/da = b, d/db = the old a
    assert a.grad == 3.0 and b.grad == 2.0


def test_power_with_a_varying_exponent_at_zero_has_the_right_second_derivatives():
    """f = (1 + y**2) ** tanh(x) at x = 0, y = 1: the Hessian is [[ln(2)**2, 1], [1, 0]] (by hand:
    d2f/dx dy = 2y / (1 + y**2)); PyTorch's double backward gives 0 for the mixed entries."""
    from autograd_tiny import hessian

    H = hessian(lambda x, y: (1 + y * y) ** x.tanh())(0.0, 1.0)
    assert H[0][0] == pytest.approx(math.log(2) ** 2, rel=1e-14)
    assert H[0][1] == pytest.approx(1.0, rel=1e-14) and H[1][0] == pytest.approx(1.0, rel=1e-14)
    assert H[1][1] == 0.0


def test_zero_to_a_varying_power_differentiates_twice():
    """d/dy 0**y = 0 for y > 0, in backward() and in create_graph alike (no false alarm)."""
    b, e = Value(0.0), Value(2.0)
    (b**e).backward(create_graph=True)
    assert e.grad == 0.0 and b.grad.data == 0.0
    assert grad(grad(lambda b, e: b**e, argnums=1), argnums=1)(0.0, 2.0) == 0.0


@pytest.mark.parametrize("name", ["a\x00", "\ud800", "tab\there", "", "line\nbreak"])
def test_a_primitive_whose_function_name_is_not_printable_is_refused_naming_it(name):
    """A custom op is drawn and explained under its function's name: a name with a control
    character, a lone surrogate or nothing at all is refused when the op is made, naming it."""

    def f(x):
        return x

    f.__name__ = name
    with pytest.raises(ValueError, match="primitive: the function's name") as caught:
        primitive(derivatives=lambda x, out: (1.0,))(f)
    assert repr(name) in str(caught.value)
