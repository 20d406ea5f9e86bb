"""Optimizers, gradient clipping and schedules: by hand, and step for step against torch.optim."""

import json
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


# ---------------------------------------------------------------------- torch.optim's argument order


def test_sgd_takes_torchs_positional_order():
    """SGD(params, lr, momentum, dampening, weight_decay, nesterov), as torch.optim.SGD (0.1 had nesterov 4th)."""
    params = [Value(1.0)]
    opt = SGD(params, 0.1, 0.9, 0, 0.01)
    assert [opt.param_groups[0][k] for k in ("lr", "momentum", "dampening", "weight_decay", "nesterov")] == \
        [0.1, 0.9, 0.0, 0.01, False]
    assert SGD(params, 0.1, 0.9, 0, 0, True).param_groups[0]["nesterov"] is True


def test_positional_order_gives_torchs_trajectory():
    """The same positional arguments given to ours and to torch.optim give the same ten steps."""
    torch = pytest.importorskip("torch")
    for ours, theirs, args in [(SGD, torch.optim.SGD, (0.03, 0.8, 0.1, 0.05)),
                               (SGD, torch.optim.SGD, (0.03, 0.8, 0, 0.05, True)),
                               (Adam, torch.optim.Adam, (0.05, (0.8, 0.9), 1e-6, 0.1, True)),
                               (AdamW, torch.optim.AdamW, (0.05, (0.8, 0.9), 1e-6, 0.1))]:
        a, _ = ours_trajectory(lambda ps: ours(ps, *args))
        b, _ = torch_trajectory(torch, lambda ps: theirs(ps, *args))
        assert_same(a, b)


# ---------------------------------------------------------------------- parameter groups


GROUP_CASES = [
    ("SGD", dict(lr=0.05, momentum=0.9), [dict(lr=0.1), dict(momentum=0.5, weight_decay=0.1)]),
    ("SGD", dict(lr=0.05), [dict(momentum=0.9, nesterov=True), dict()]),
    ("Adam", dict(lr=0.05), [dict(betas=(0.5, 0.6)), dict(lr=0.01, amsgrad=True)]),
    ("AdamW", dict(lr=0.05, weight_decay=0.3), [dict(weight_decay=0.0), dict(lr=0.2, eps=1e-3)]),
]


def _groups(params, options):
    return [{"params": params[:2], **options[0]}, {"params": params[2:], **options[1]}]


@pytest.mark.parametrize("name, defaults, options", GROUP_CASES, ids=lambda c: str(c))
def test_param_groups_from_a_list_of_dicts_match_torch(name, defaults, options):
    """Two groups with options of their own (the rest from the defaults) follow torch.optim's trajectory."""
    torch = pytest.importorskip("torch")
    ours = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW}[name]
    a, _ = ours_trajectory(lambda ps: ours(_groups(ps, options), **defaults))
    b, _ = torch_trajectory(torch, lambda ps: getattr(torch.optim, name)(_groups(ps, options), **defaults))
    assert_same(a, b)


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_add_param_group_midway_matches_torch(name):
    """A group added after three steps starts fresh (Adam's bias correction counts its own steps), as in torch."""
    torch = pytest.importorskip("torch")
    kwargs = dict(lr=0.05, momentum=0.9) if name == "SGD" else dict(lr=0.05)
    params = [Value(v) for v in START]
    tparams = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in START]
    opt = {"SGD": SGD, "Adam": Adam}[name](params[:2], **kwargs)
    topt = getattr(torch.optim, name)(tparams[:2], **kwargs)
    for k in range(STEPS):
        if k == 3:
            opt.add_param_group({"params": params[2:], "lr": 0.02})
            topt.add_param_group({"params": tparams[2:], "lr": 0.02})
        for o, ps in ((opt, params), (topt, tparams)):
            o.zero_grad()
            f(*ps).backward()
            o.step()
        assert all(close(p.data, float(t.detach())) for p, t in zip(params, tparams)), k


def test_lr_reads_and_sets_every_group():
    """opt.lr sets every group's rate; reading it when the groups differ says to read param_groups."""
    a, b = Value(1.0), Value(2.0)
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    with pytest.raises(ValueError, match=r"different learning rates \[0.1, 0.5\]; read param_groups"):
        _ = opt.lr
    opt.lr = 0.2
    assert opt.lr == 0.2 and [g["lr"] for g in opt.param_groups] == [0.2, 0.2]
    assert opt.params == [a, b]


@pytest.mark.parametrize("make, error, match", [
    (lambda a, b: SGD([{"params": [a]}, {"params": [a]}], lr=0.1), ValueError, "already in another param group"),
    (lambda a, b: SGD([{"params": [a], "lr_": 0.1}], lr=0.1), ValueError, "param group 0: unknown option 'lr_'"),
    (lambda a, b: SGD([{"lr": 0.1}], lr=0.1), ValueError, "param group 0 has no 'params'"),
    (lambda a, b: SGD([{"params": [a]}, {"params": [b], "momentum": -1}], lr=0.1), ValueError,
     "param group 1: momentum must be >= 0"),
    (lambda a, b: Adam([{"params": [a], "amsgrad": "yes"}]), ValueError, "amsgrad must be True or False"),
    (lambda a, b: SGD([{"params": []}], lr=0.1), ValueError, "empty parameter list"),
    (lambda a, b: SGD({"params": [a]}, lr=0.1), TypeError, "for one group write"),
])
def test_bad_param_groups_are_refused(make, error, match):
    """A parameter in two groups, unknown or bad options, or a group without params is a clear error."""
    with pytest.raises(error, match=match):
        make(Value(1.0), Value(2.0))


def test_a_group_may_hold_a_single_value():
    """{'params': value} is a group of one, as torch accepts one tensor."""
    v = Value(1.0)
    v.grad = 1.0
    SGD([{"params": v}], lr=0.5).step()
    assert v.data == 0.5


# ---------------------------------------------------------------------- saving and resuming


RESUME_CASES = [
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.2, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.5, 0.6), amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.05, weight_decay=0.3)),
]


def _run(opt, params, steps):
    for _ in range(steps):
        opt.zero_grad()
        f(*params).backward()
        opt.step()


def _resumed(name, kwargs):
    """(10 straight steps, 5 steps + state_dict through json + 5 steps on new Values and a new optimizer)."""
    ours = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW}[name]
    straight = [Value(v) for v in START]
    _run(ours(straight, **kwargs), straight, 10)
    first = [Value(v) for v in START]
    opt = ours(first, **kwargs)
    _run(opt, first, 5)
    loaded = json.loads(json.dumps({"optimizer": opt.state_dict(), "params": [p.data for p in first]}))
    resumed = [Value(v) for v in loaded["params"]]
    opt2 = ours(resumed, lr=123.0)  # options come from the state
    opt2.load_state_dict(loaded["optimizer"])
    _run(opt2, resumed, 5)
    return [p.data for p in straight], [p.data for p in resumed]


@pytest.mark.parametrize("name, kwargs", RESUME_CASES, ids=lambda c: str(c))
def test_five_steps_saved_as_json_and_five_more_equal_ten_straight(name, kwargs):
    """5 steps, state_dict through json, load into a new optimizer on new Values, 5 more steps: exactly
    the numbers of 10 straight steps."""
    straight, resumed = _resumed(name, kwargs)
    assert resumed == straight


@pytest.mark.parametrize("name, kwargs", RESUME_CASES, ids=lambda c: str(c))
def test_a_resumed_run_follows_torch(name, kwargs):
    """The resumed run ends where torch.optim's 10 steps end, to 1e-12."""
    torch = pytest.importorskip("torch")
    _, resumed = _resumed(name, kwargs)
    theirs, _ = torch_trajectory(torch, lambda ps: getattr(torch.optim, name)(ps, **kwargs))
    assert all(close(a, b) for a, b in zip(resumed, theirs[-1], strict=True))


def _two_group_adam():
    params = [Value(v) for v in START]
    opt = Adam([{"params": params[:3]}, {"params": params[3:], "lr": 0.01}], lr=0.05, amsgrad=True)
    _run(opt, params, 2)
    return opt


def test_state_dict_is_plain_json_data():
    """An optimizer's state_dict goes through json unchanged, and so does a schedule's."""
    opt = _two_group_adam()
    state = opt.state_dict()
    assert json.loads(json.dumps(state)) == state
    assert [g["params"] for g in state["param_groups"]] == [[0, 1, 2], [3]]
    assert sorted(state["state"]) == ["0", "1", "2", "3"] and state["state"]["3"]["step"] == 2
    sched = CosineAnnealingLR(opt, T_max=4)
    sched.step()
    assert json.loads(json.dumps(sched.state_dict())) == sched.state_dict()


def test_state_dict_numbers_and_holds_what_torch_does():
    """Groups number the parameters as torch's state_dict does, with the same per-parameter entries."""
    torch = pytest.importorskip("torch")
    state = _two_group_adam().state_dict()
    tparams = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in START]
    topt = torch.optim.Adam([{"params": tparams[:3]}, {"params": tparams[3:], "lr": 0.01}], lr=0.05, amsgrad=True)
    _run(topt, tparams, 2)
    tstate = topt.state_dict()
    assert [g["params"] for g in state["param_groups"]] == [g["params"] for g in tstate["param_groups"]]
    for i, entry in tstate["state"].items():
        ours = state["state"][str(i)]
        assert set(ours) == set(entry)
        assert ours["step"] == float(entry["step"])
        for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            assert close(ours[key], float(entry[key]))


def test_sgd_state_dict_by_hand():
    """After one momentum step the state is the first gradient, under the parameter's number."""
    a, b = Value(1.0), Value(2.0)
    a.grad, b.grad = 0.5, -1.0
    opt = SGD([a, b], 0.1, 0.9)
    opt.step()
    assert opt.state_dict() == {
        "state": {"0": {"momentum_buffer": 0.5}, "1": {"momentum_buffer": -1.0}},
        "param_groups": [{"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False,
                          "params": [0, 1]}],
    }


def _adam_state():
    params = [Value(1.0), Value(2.0)]
    opt = Adam(params, lr=0.1)
    for p in params:
        p.grad = 1.0
    opt.step()
    return opt.state_dict()


def _changed(path, value):
    state = json.loads(json.dumps(_adam_state()))
    target = state
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return state


@pytest.mark.parametrize("bad, match", [
    ([1, 2], "expected a dict with 'state' and 'param_groups'"),
    (_changed(["param_groups"], []), "has 1 param groups"),
    (_changed(["param_groups", 0, "params"], [0]), "should number 2 parameters"),
    (_changed(["param_groups", 0, "params"], [0, 0]), "0..1 once each"),
    (_changed(["param_groups", 0, "lr"], -1.0), "lr must be >= 0"),
    (_changed(["param_groups", 0, "amsgrad"], "no"), "amsgrad must be True or False, got 'no'"),
    (_changed(["param_groups", 0, "betas"], KeyError), "missing option 'betas'"),
    (_changed(["param_groups", 0, "momentum"], 0.9), "unknown option 'momentum'"),
    (_changed(["state", "5"], {"step": 1, "exp_avg": 0.0, "exp_avg_sq": 0.0}), "state for parameter 5"),
    (_changed(["state", "x"], {}), "state keys must be parameter indices, got 'x'"),
    (_changed(["state", "0", "exp_avg"], float("nan")), "exp_avg must be a finite number"),
    (_changed(["state", "0", "exp_avg_sq"], -1.0), "exp_avg_sq must be >= 0"),
    (_changed(["state", "0", "step"], 1.5), "step must be an int"),
    (_changed(["state", "0", "step"], KeyError), "missing 'step'"),
    (_changed(["state", "0", "momentum_buffer"], 1.0), "unknown entry 'momentum_buffer'"),
])
def test_load_state_dict_checks_everything_and_changes_nothing_on_error(bad, match):
    """Wrong groups, numbering, options or state raise a ValueError naming the problem; the optimizer is unchanged."""
    params = [Value(1.0), Value(2.0)]
    opt = Adam(params, lr=0.3)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(bad)
    assert opt.state_dict() == before


SCHEDULE_RESUME = [
    (StepLR, dict(step_size=3, gamma=0.5)),
    (ExponentialLR, dict(gamma=0.9)),
    (LinearLR, dict(start_factor=0.25, end_factor=0.75, total_iters=7)),
    (CosineAnnealingLR, dict(T_max=6, eta_min=0.01)),
    (LambdaLR, dict(lr_lambda=lambda t: 1 / (1 + t))),
]


@pytest.mark.parametrize("make, kwargs", SCHEDULE_RESUME, ids=lambda c: getattr(c, "__name__", str(c)))
def test_schedules_save_and_resume_through_json(make, kwargs):
    """A schedule and its optimizer saved after 4 steps and loaded into new ones continue with the same
    learning rates as a run that never stopped."""
    straight_opt = SGD([Value(0.0)], lr=0.3)
    straight = make(straight_opt, **kwargs)
    rates = []
    for _ in range(12):
        rates.append(straight_opt.lr)
        straight.step()

    opt = SGD([Value(0.0)], lr=0.3)
    sched = make(opt, **kwargs)
    for _ in range(4):
        sched.step()
    saved = json.loads(json.dumps({"opt": opt.state_dict(), "sched": sched.state_dict()}))
    opt2 = SGD([Value(0.0)], lr=99.0)
    other = dict(kwargs, **({"gamma": 0.1} if "gamma" in kwargs else {}))
    sched2 = make(opt2, **other)  # different settings: the state overrides them
    opt2.load_state_dict(saved["opt"])
    sched2.load_state_dict(saved["sched"])
    resumed = []
    for _ in range(8):
        resumed.append(opt2.lr)
        sched2.step()
    assert resumed == pytest.approx(rates[4:], rel=1e-15)


def test_schedules_follow_each_group_from_its_own_base_rate_as_torch():
    """With two groups of different rates, a schedule scales each from its own base, as torch's does."""
    torch = pytest.importorskip("torch")
    a, b = Value(0.0), Value(0.0)
    ta, tb = (torch.zeros((), dtype=torch.float64, requires_grad=True) for _ in range(2))
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.02}], lr=0.3)
    topt = torch.optim.SGD([{"params": [ta]}, {"params": [tb], "lr": 0.02}], lr=0.3)
    sched = CosineAnnealingLR(opt, T_max=5, eta_min=0.001)
    tsched = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=5, eta_min=0.001)
    for _ in range(8):
        assert all(close(g["lr"], tg["lr"]) for g, tg in zip(opt.param_groups, topt.param_groups))
        opt.step()
        topt.step()
        sched.step()
        tsched.step()


@pytest.mark.parametrize("bad, match", [
    ({"last_epoch": 2, "base_lrs": [0.1]}, "expected a dict with last_epoch, base_lrs, step_size, gamma"),
    ({"last_epoch": -1, "base_lrs": [0.1], "step_size": 2, "gamma": 0.5}, "last_epoch must be an int >= 0"),
    ({"last_epoch": 2, "base_lrs": [0.1, 0.2], "step_size": 2, "gamma": 0.5}, "base_lrs should be a list of 1"),
    ({"last_epoch": 2, "base_lrs": [0.1], "step_size": 0, "gamma": 0.5}, "step_size must be an int >= 1"),
    ({"last_epoch": 2, "base_lrs": [0.1], "step_size": 2, "gamma": True}, "gamma must be a number"),
])
def test_schedule_load_state_dict_checks_everything_and_changes_nothing_on_error(bad, match):
    """A schedule's state with missing keys or bad numbers is refused; the schedule is unchanged."""
    sched = StepLR(SGD([Value(0.0)], lr=0.3), step_size=3)
    before = sched.state_dict()
    with pytest.raises(ValueError, match=match):
        sched.load_state_dict(bad)
    assert sched.state_dict() == before


def test_a_schedule_refuses_groups_added_after_it():
    """Adding a group after making the schedule is an error at the next step, not a silently ignored group."""
    opt = SGD([Value(0.0)], lr=0.3)
    sched = StepLR(opt, step_size=2)
    opt.add_param_group({"params": [Value(1.0)]})
    with pytest.raises(ValueError, match="make the schedule after adding groups"):
        sched.step()
