"""Optimizers, gradient clipping and schedules: by hand, and step for step against torch.optim."""

import math

import pytest

from autograd_tiny import Value
from autograd_tiny.optim import (
    SGD,
    Adam,
    AdamW,
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    StepLR,
    clip_grad_norm,
)

START = [0.3, -0.7, 1.1, -0.4]
STEPS = 10


def f(x, y, z, w):
    """A small function with curved, coupled gradients; works on Values and on torch tensors."""
    return (1 - x) ** 2 + 3 * (y - x**2) ** 2 + (x * z).sin() + (0.5 * y).tanh() * w + 0.1 * (z * w).exp()


def close(a: float, b: float, tol: float = 1e-12) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(b))


def ours_trajectory(make_optimizer, steps=STEPS, clip=None, make_schedule=None):
    """Parameters (and clip norms) after each step of our optimizer on f from START."""
    params = [Value(v) for v in START]
    opt = make_optimizer(params)
    sched = make_schedule(opt) if make_schedule else None
    points, norms = [], []
    for _ in range(steps):
        opt.zero_grad()
        f(*params).backward()
        if clip:
            norms.append(clip_grad_norm(params, **clip))
        opt.step()
        if sched:
            sched.step()
        points.append([p.data for p in params])
    return points, norms


def torch_trajectory(torch, make_optimizer, steps=STEPS, clip=None, make_schedule=None):
    """The same with float64 torch tensors and torch.optim: the oracle."""
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in START]
    opt = make_optimizer(params)
    sched = make_schedule(opt) if make_schedule else None
    points, norms = [], []
    for _ in range(steps):
        opt.zero_grad()
        f(*params).backward()
        if clip:
            norms.append(float(torch.nn.utils.clip_grad_norm_(params, **clip)))
        opt.step()
        if sched:
            sched.step()
        points.append([float(p.detach()) for p in params])
    return points, norms


def assert_same(ours, theirs):
    for step, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert all(close(x, y) for x, y in zip(a, b, strict=True)), (step, a, b)


# ---------------------------------------------------------------------- against torch.optim

OPTIMIZER_CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, weight_decay=0.1)),
    ("SGD", dict(lr=0.03, momentum=0.7, nesterov=True, weight_decay=0.2)),
    ("SGD", dict(lr=0.03, momentum=0.5, dampening=0.5, weight_decay=0.2)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.95))),
    ("Adam", dict(lr=0.05, betas=(0.0, 0.5), eps=1e-2)),
    ("Adam", dict(lr=0.05, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, amsgrad=True, betas=(0.5, 0.6))),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.3, betas=(0.7, 0.9), eps=1e-3)),
    ("AdamW", dict(lr=0.05, weight_decay=0.3, amsgrad=True, betas=(0.5, 0.6))),
]


@pytest.mark.parametrize("name, kwargs", OPTIMIZER_CASES, ids=lambda c: str(c))
def test_trajectory_matches_torch(name, kwargs):
    """Ten steps from the same start follow torch.optim's float64 trajectory to 1e-12."""
    torch = pytest.importorskip("torch")
    ours = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW}[name]
    theirs = getattr(torch.optim, name)
    a, _ = ours_trajectory(lambda ps: ours(ps, **kwargs))
    b, _ = torch_trajectory(torch, lambda ps: theirs(ps, **kwargs))
    assert_same(a, b)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_setting_lr_between_steps_matches_torch(name):
    """Changing ``lr`` between steps acts as changing torch's param_groups[0]['lr']."""
    torch = pytest.importorskip("torch")
    ours = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW}[name]
    kwargs = dict(lr=0.05, momentum=0.9) if name == "SGD" else dict(lr=0.05)
    params = [Value(v) for v in START]
    tparams = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in START]
    opt, topt = ours(params, **kwargs), getattr(torch.optim, name)(tparams, **kwargs)
    for k in range(STEPS):
        lr = 0.05 / (1 + k)
        opt.lr = lr
        topt.param_groups[0]["lr"] = lr
        for o, ps in ((opt, params), (topt, tparams)):
            o.zero_grad()
            f(*ps).backward()
            o.step()
        assert all(close(p.data, float(t.detach())) for p, t in zip(params, tparams))


@pytest.mark.parametrize("clip", [
    dict(max_norm=0.5),
    dict(max_norm=100.0),
    dict(max_norm=0.5, norm_type=1.0),
    dict(max_norm=0.5, norm_type=3.0),
    dict(max_norm=0.2, norm_type=math.inf),
])
def test_clip_grad_norm_matches_torch(clip):
    """clip_grad_norm returns torch's pre-clip norm and clipped SGD follows torch's trajectory."""
    torch = pytest.importorskip("torch")
    a, norms_a = ours_trajectory(lambda ps: SGD(ps, lr=0.1, momentum=0.5), clip=clip)
    b, norms_b = torch_trajectory(torch, lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.5), clip=clip)
    assert_same(a, b)
    assert all(close(x, y) for x, y in zip(norms_a, norms_b, strict=True))


SCHEDULE_CASES = [
    ("LinearLR", dict(start_factor=1.0, end_factor=0.1, total_iters=100), 1.0, 110),
    ("LinearLR", dict(), 0.3, 10),
    ("LinearLR", dict(start_factor=0.25, end_factor=0.75, total_iters=7), 0.3, 12),
    ("StepLR", dict(step_size=3), 0.3, 12),
    ("StepLR", dict(step_size=3, gamma=0.5), 0.3, 12),
    ("ExponentialLR", dict(gamma=0.9), 0.3, 20),
    ("CosineAnnealingLR", dict(T_max=10), 0.3, 25),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.05), 0.3, 25),
    ("LambdaLR", dict(lr_lambda=lambda t: 1 / (1 + t) ** 0.5), 0.3, 12),
]


@pytest.mark.parametrize("name, kwargs, lr, steps", SCHEDULE_CASES, ids=lambda c: str(c))
def test_schedule_matches_torch_scheduler(name, kwargs, lr, steps):
    """Each schedule produces torch.optim.lr_scheduler's learning-rate sequence to 1e-12."""
    torch = pytest.importorskip("torch")
    opt = SGD([Value(0.0)], lr=lr)
    topt = torch.optim.SGD([torch.zeros((), dtype=torch.float64, requires_grad=True)], lr=lr)
    sched = globals()[name](opt, **kwargs)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    for _ in range(steps):
        assert close(opt.lr, topt.param_groups[0]["lr"]), (sched.last_epoch, opt.lr)
        assert sched.get_last_lr() == opt.lr
        opt.step()
        topt.step()
        sched.step()
        tsched.step()


def test_adam_with_cosine_schedule_matches_torch():
    """Adam driven by a cosine schedule follows torch's Adam + CosineAnnealingLR trajectory."""
    torch = pytest.importorskip("torch")
    a, _ = ours_trajectory(lambda ps: Adam(ps, lr=0.1), make_schedule=lambda o: CosineAnnealingLR(o, T_max=6))
    b, _ = torch_trajectory(
        torch, lambda ps: torch.optim.Adam(ps, lr=0.1),
        make_schedule=lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=6),
    )
    assert_same(a, b)


# ---------------------------------------------------------------------- by hand, without torch


def with_grads(data, grads):
    params = [Value(d) for d in data]
    for p, g in zip(params, grads):
        p.grad = g
    return params


def test_sgd_step_is_p_minus_lr_g():
    """One plain SGD step is p - lr * g for every parameter."""
    data, grads = [1.5, -2.0, 0.25], [0.4, -3.0, 0.0]
    params = with_grads(data, grads)
    SGD(params, lr=0.1).step()
    assert [p.data for p in params] == [d - 0.1 * g for d, g in zip(data, grads)]


def test_sgd_momentum_two_steps_by_hand():
    """Momentum keeps b = g1 then b = m*g1 + (1-d)*g2; nesterov steps along g2 + m*b."""
    for nesterov, dampening in ((False, 0.25), (True, 0.0)):
        (p,) = with_grads([1.0], [2.0])
        opt = SGD([p], lr=0.1, momentum=0.9, dampening=dampening, nesterov=nesterov)
        opt.step()
        first = 1.0 - 0.1 * (2.0 + 0.9 * 2.0 if nesterov else 2.0)
        assert math.isclose(p.data, first, rel_tol=1e-15)
        p.grad = -1.0
        opt.step()
        b = 0.9 * 2.0 + (1 - dampening) * -1.0
        assert math.isclose(p.data, first - 0.1 * (-1.0 + 0.9 * b if nesterov else b), rel_tol=1e-15)
        assert opt.state[p]["momentum_buffer"] == pytest.approx(b, rel=1e-15)


def test_sgd_weight_decay_adds_wd_times_p_to_the_gradient():
    """weight_decay adds weight_decay * p to the gradient before the step."""
    (p,) = with_grads([2.0], [0.5])
    SGD([p], lr=0.1, weight_decay=0.01).step()
    assert p.data == pytest.approx(2.0 - 0.1 * (0.5 + 0.01 * 2.0), rel=1e-15)


def test_adam_first_step_moves_each_parameter_by_about_lr():
    """Adam's first step is lr * g / (|g| + eps): about lr against the sign of g, whatever |g|."""
    data, grads = [0.5, -1.0, 3.0], [1e-3, -250.0, 7.0]
    params = with_grads(data, grads)
    Adam(params, lr=0.01).step()
    for p, d, g in zip(params, data, grads):
        assert p.data - d == pytest.approx(-0.01 * math.copysign(1, g), rel=1e-5)
        assert p.data - d == pytest.approx(-0.01 * g / (abs(g) + 1e-8), rel=1e-13)


def test_adam_two_steps_by_hand():
    """Two Adam steps follow the bias-corrected moment formulas written out by hand."""
    (p,) = with_grads([1.0], [0.5])
    opt = Adam([p], lr=0.1, betas=(0.8, 0.9), eps=1e-6)
    opt.step()
    p.grad = -2.0
    x1 = 1.0 - 0.1 * 0.5 / (0.5 + 1e-6)
    opt.step()
    m = 0.8 * 0.2 * 0.5 + 0.2 * -2.0
    v = 0.9 * 0.1 * 0.25 + 0.1 * 4.0
    expected = x1 - 0.1 * (m / (1 - 0.8**2)) / (math.sqrt(v / (1 - 0.9**2)) + 1e-6)
    assert p.data == pytest.approx(expected, rel=1e-14)


def test_adamw_decay_alone_shrinks_by_one_minus_lr_wd():
    """With a zero gradient AdamW only multiplies each weight by (1 - lr * weight_decay)."""
    params = with_grads([2.0, -4.0], [0.0, 0.0])
    AdamW(params, lr=0.1, weight_decay=0.5).step()
    assert [p.data for p in params] == [2.0 * (1 - 0.05), -4.0 * (1 - 0.05)]


def test_adam_weight_decay_is_not_adamw():
    """Adam's weight_decay goes through the moments, so it differs from AdamW's decoupled decay."""
    a, b = with_grads([2.0], [0.0]), with_grads([2.0], [0.0])
    Adam(a, lr=0.1, weight_decay=0.5).step()
    AdamW(b, lr=0.1, weight_decay=0.5).step()
    assert a[0].data == pytest.approx(2.0 - 0.1, rel=1e-7)  # g = 0.5 * 2: a full Adam step
    assert b[0].data == 2.0 * (1 - 0.05)


def test_amsgrad_uses_the_largest_second_moment():
    """With amsgrad, a small gradient after a large one divides by the larger running maximum."""
    (p,) = with_grads([0.0], [10.0])
    opt = Adam([p], lr=1.0, betas=(0.0, 0.5), eps=0.0, amsgrad=True)
    opt.step()
    p.grad = 0.1
    before = p.data
    opt.step()
    v_max = max(0.5 * 100.0, 0.5 * 0.5 * 100.0 + 0.5 * 0.01)
    assert p.data - before == pytest.approx(-0.1 / (math.sqrt(v_max / (1 - 0.25))), rel=1e-14)


def test_zero_grad_and_state_live_in_the_optimizer():
    """zero_grad zeroes every grad; moments are kept in optimizer.state keyed by the parameter."""
    params = with_grads([1.0, 2.0], [3.0, 4.0])
    opt = Adam(params)
    opt.step()
    assert set(opt.state) == set(params)
    assert opt.state[params[1]]["exp_avg"] == pytest.approx(0.1 * 4.0)
    opt.zero_grad()
    assert [p.grad for p in params] == [0.0, 0.0]


def test_step_reads_a_value_gradient_from_create_graph():
    """After backward(create_graph=True) the grad is a Value; the step uses its number."""
    x = Value(3.0)
    (x * x).backward(create_graph=True)
    assert isinstance(x.grad, Value)
    SGD([x], lr=0.1).step()
    assert x.data == pytest.approx(3.0 - 0.1 * 6.0, rel=1e-15)


def test_sgd_finds_the_minimum_of_a_quadratic():
    """Momentum SGD on (a - 3)^2 + 2(b + 1)^2 converges to the closed-form minimum (3, -1)."""
    a, b = Value(0.0), Value(0.0)
    opt = SGD([a, b], lr=0.05, momentum=0.9, nesterov=True)
    for _ in range(300):
        opt.zero_grad()
        ((a - 3) ** 2 + 2 * (b + 1) ** 2).backward()
        opt.step()
    assert a.data == pytest.approx(3.0, abs=1e-8) and b.data == pytest.approx(-1.0, abs=1e-8)


def test_clip_grad_norm_by_hand():
    """Gradients (3, 4) have norm 5: clipped to 1 they become (0.6, 0.8) / (1 + 1e-6 / 5)."""
    params = with_grads([0.0, 0.0], [3.0, 4.0])
    assert clip_grad_norm(params, max_norm=1.0) == 5.0
    assert [p.grad for p in params] == pytest.approx([3 / (5 + 1e-6), 4 / (5 + 1e-6)], rel=1e-15)
    params = with_grads([0.0, 0.0], [3.0, 4.0])
    assert clip_grad_norm(params, max_norm=10.0) == 5.0
    assert [p.grad for p in params] == [3.0, 4.0]  # within the bound: unchanged
    params = with_grads([0.0, 0.0], [3.0, -4.0])
    assert clip_grad_norm(params, 2.0, norm_type=math.inf) == 4.0
    assert clip_grad_norm(params, 100.0, norm_type=1) == pytest.approx(7.0 * 2 / (4 + 1e-6))


def test_linear_lr_reproduces_micrograd_demo():
    """LinearLR(1.0 -> 0.1 over 100 steps) gives micrograd's lr = 1.0 - 0.9 * k / 100."""
    opt = SGD([Value(0.0)], lr=1.0)
    sched = LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=100)
    for k in range(100):
        assert opt.lr == pytest.approx(1.0 - 0.9 * k / 100, rel=1e-14)
        sched.step()
    assert opt.lr == pytest.approx(0.1, rel=1e-14)
    sched.step()
    assert opt.lr == pytest.approx(0.1, rel=1e-14)  # stays at the end factor


def test_schedules_by_hand():
    """StepLR, ExponentialLR and CosineAnnealingLR follow their closed forms, from step 0."""
    cases = [
        (lambda o: StepLR(o, step_size=2, gamma=0.5), [2.0, 2.0, 1.0, 1.0, 0.5]),
        (lambda o: ExponentialLR(o, gamma=0.5), [2.0, 1.0, 0.5, 0.25, 0.125]),
        (lambda o: CosineAnnealingLR(o, T_max=4, eta_min=1.0), [2.0, 1.5 + 0.5 * math.cos(math.pi / 4), 1.5,
                                                                1.5 - 0.5 * math.cos(math.pi / 4), 1.0]),
        (lambda o: LambdaLR(o, lambda t: t + 1), [2.0, 4.0, 6.0, 8.0, 10.0]),
        (lambda o: LinearLR(o, start_factor=0.5, end_factor=1.0, total_iters=2), [1.0, 1.5, 2.0, 2.0, 2.0]),
    ]
    for make, expected in cases:
        opt = SGD([Value(0.0)], lr=2.0)
        sched = make(opt)
        got = []
        for _ in expected:
            got.append(opt.lr)
            sched.step()
        assert got == pytest.approx(expected, rel=1e-15)


# ---------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize("make, words", [
    (lambda ps: SGD(ps, lr=-0.1), ["SGD", "lr", "-0.1"]),
    (lambda ps: SGD(ps, lr=math.nan), ["SGD", "lr", "nan"]),
    (lambda ps: SGD(ps, lr="0.1"), ["SGD", "lr", "'0.1'"]),
    (lambda ps: SGD(ps, lr=0.1, momentum=-0.5), ["SGD", "momentum", "-0.5"]),
    (lambda ps: SGD(ps, lr=0.1, dampening=1.5), ["SGD", "dampening", "1.5"]),
    (lambda ps: SGD(ps, lr=0.1, weight_decay=-1), ["SGD", "weight_decay", "-1"]),
    (lambda ps: SGD(ps, lr=0.1, nesterov=True), ["SGD", "nesterov", "momentum=0.0"]),
    (lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ["SGD", "dampening=0.1"]),
    (lambda ps: SGD(ps, lr=0.1, nesterov="yes"), ["SGD", "nesterov", "'yes'"]),
    (lambda ps: Adam(ps, lr=-1e-3), ["Adam", "lr", "-0.001"]),
    (lambda ps: Adam(ps, betas=(1.0, 0.999)), ["Adam", "betas[0]", "1.0"]),
    (lambda ps: Adam(ps, betas=(0.9, -0.1)), ["Adam", "betas[1]", "-0.1"]),
    (lambda ps: Adam(ps, betas=0.9), ["Adam", "betas", "0.9"]),
    (lambda ps: Adam(ps, eps=-1e-8), ["Adam", "eps", "-1e-08"]),
    (lambda ps: Adam(ps, weight_decay=-0.1), ["Adam", "weight_decay", "-0.1"]),
    (lambda ps: AdamW(ps, betas=(0.9, 1.5)), ["AdamW", "betas[1]", "1.5"]),
    (lambda ps: AdamW(ps, lr=math.inf), ["AdamW", "lr", "inf"]),
    (lambda ps: clip_grad_norm(ps, -1.0), ["clip_grad_norm", "max_norm", "-1.0"]),
    (lambda ps: clip_grad_norm(ps, 1.0, norm_type=0.5), ["clip_grad_norm", "norm_type", "0.5"]),
    (lambda ps: StepLR(SGD(ps, lr=0.1), step_size=0), ["StepLR", "step_size", "0"]),
    (lambda ps: StepLR(SGD(ps, lr=0.1), step_size=2, gamma=-0.5), ["StepLR", "gamma", "-0.5"]),
    (lambda ps: CosineAnnealingLR(SGD(ps, lr=0.1), T_max=2.5), ["CosineAnnealingLR", "T_max", "2.5"]),
    (lambda ps: CosineAnnealingLR(SGD(ps, lr=0.1), T_max=5, eta_min=-1), ["CosineAnnealingLR", "eta_min", "-1"]),
    (lambda ps: LinearLR(SGD(ps, lr=0.1), start_factor=0.0), ["LinearLR", "start_factor", "0"]),
    (lambda ps: LinearLR(SGD(ps, lr=0.1), end_factor=1.5), ["LinearLR", "end_factor", "1.5"]),
    (lambda ps: LinearLR(SGD(ps, lr=0.1), total_iters=0), ["LinearLR", "total_iters", "0"]),
    (lambda ps: ExponentialLR(SGD(ps, lr=0.1), gamma=math.nan), ["ExponentialLR", "gamma", "nan"]),
])
def test_bad_arguments_raise_value_error_naming_them(make, words):
    """A bad argument raises ValueError naming the optimizer (or schedule), the argument and the value."""
    with pytest.raises(ValueError) as info:
        make([Value(1.0), Value(2.0)])
    for word in words:
        assert word in str(info.value)


def test_bad_parameter_lists_are_rejected():
    """Empty, repeated or non-Value parameter lists are errors, and so is setting a negative lr."""
    a = Value(1.0)
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        Adam([a, a])
    with pytest.raises(TypeError, match="Values"):
        SGD([1.0], lr=0.1)
    with pytest.raises(TypeError, match="iterable"):
        SGD(a, lr=0.1)
    opt = SGD([a], lr=0.1)
    with pytest.raises(ValueError, match="SGD: lr must be >= 0, got -2.0"):
        opt.lr = -2.0
    assert opt.lr == 0.1
