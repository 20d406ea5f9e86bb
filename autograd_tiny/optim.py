"""Optimizers, gradient clipping and learning-rate schedules, in order of increasing complexity.

An optimizer holds a list of parameters (leaf `Value`s) and, for each one, whatever it
remembers between steps (momentum, moving averages) in its own ``state`` dict, keyed by the
parameter. The Values themselves only carry ``data`` and ``grad``. A training step is::

    loss = ...                  # forward pass
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()            # p.data changes in place

Updates are plain float arithmetic on ``p.data`` and ``p.grad``, so they never record a graph
(what ``torch.no_grad()`` is for in PyTorch). Argument names and formulas follow torch.optim,
and the tests check that the same steps from the same start give the same numbers.

Example:
    >>> from autograd_tiny import Value
    >>> w = Value(3.0)
    >>> opt = SGD([w], lr=0.1)
    >>> for _ in range(50):
    ...     opt.zero_grad()
    ...     (w * w).backward()        # minimise w**2
    ...     opt.step()
    >>> abs(w.data) < 1e-4
    True
"""

from __future__ import annotations

import math
import numbers
from typing import Callable, Iterable

from .engine import Value

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "clip_grad_norm",
    "LRScheduler",
    "LambdaLR",
    "StepLR",
    "ExponentialLR",
    "LinearLR",
    "CosineAnnealingLR",
]


# ---------------------------------------------------------------------- checks


def _check_number(owner: str, name: str, value, low: float = 0.0, high: float = math.inf,
                  high_open: bool = False) -> float:
    """`value` as a finite float in [low, high] (or [low, high) when high_open), else ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{owner}: {name} must be a number, got {type(value).__name__}: {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{owner}: {name} must be a finite number, got {value!r}")
    if value < low or value > high or high_open and value == high:
        allowed = f">= {low:g}" if high == math.inf else f"in [{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{owner}: {name} must be {allowed}, got {value!r}")
    return value


def _check_positive_int(owner: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return int(value)


def _check_params(owner: str, params: Iterable[Value]) -> list[Value]:
    if isinstance(params, Value):
        raise TypeError(f"{owner}: params must be an iterable of Values (e.g. model.parameters()), got one Value")
    params = list(params)
    if not params:
        raise ValueError(f"{owner}: got an empty parameter list")
    seen = set()
    for p in params:
        if not isinstance(p, Value):
            raise TypeError(f"{owner}: params must be Values, got {type(p).__name__}: {p!r}")
        if p in seen:  # it would be updated twice per step
            raise ValueError(f"{owner}: parameter {p!r} appears more than once")
        seen.add(p)
    return params


def _grad(p: Value) -> float:
    """p.grad as a float (after backward(create_graph=True) it is a Value)."""
    g = p.grad
    return g.data if isinstance(g, Value) else float(g)


# ---------------------------------------------------------------------- optimizers


class Optimizer:
    """What every optimizer shares: the parameters, a settable ``lr``, ``state`` and `zero_grad`."""

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        self.params = _check_params(type(self).__name__, params)
        self.lr = lr
        self.state: dict[Value, dict[str, float]] = {}  # per-parameter memory, e.g. momentum

    @property
    def lr(self) -> float:
        """The learning rate; schedules (and you) may set it between steps."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _check_number(type(self).__name__, "lr", value)

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0 (backward adds to the leaves' grads)."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Update every parameter's ``data`` from its ``grad``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self._settings().items())
        return f"{type(self).__name__}({len(self.params)} parameters, {settings})"

    def _settings(self) -> dict:
        return {"lr": self.lr}


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay.

    For each parameter ``p`` with gradient ``g`` (as torch.optim.SGD)::

        g = g + weight_decay * p
        b = g                                        on the first step
        b = momentum * b + (1 - dampening) * g       after it
        g = g + momentum * b  if nesterov  else  b   (when momentum != 0)
        p = p - lr * g

    Args:
        params: the parameters to update, e.g. ``model.parameters()``.
        lr: the learning rate (>= 0).
        momentum: the momentum factor (>= 0); 0 is plain gradient descent.
        dampening: how much of the new gradient the momentum buffer does *not* take.
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening == 0).
        weight_decay: L2 penalty factor, added to the gradient.

    Example:
        >>> from autograd_tiny import Value
        >>> w = Value(1.0)
        >>> w.grad = 0.5
        >>> SGD([w], lr=0.1).step()
        >>> w.data
        0.95
    """

    def __init__(self, params: Iterable[Value], lr: float, momentum: float = 0.0,
                 dampening: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.momentum = _check_number("SGD", "momentum", momentum)
        self.dampening = _check_number("SGD", "dampening", dampening, high=1.0)
        self.weight_decay = _check_number("SGD", "weight_decay", weight_decay)
        if not isinstance(nesterov, bool):
            raise ValueError(f"SGD: nesterov must be True or False, got {nesterov!r}")
        if nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError(
                f"SGD: nesterov=True needs momentum > 0 and dampening == 0, "
                f"got momentum={self.momentum!r}, dampening={self.dampening!r}"
            )
        self.nesterov = nesterov

    def step(self) -> None:
        lr, momentum, wd = self.lr, self.momentum, self.weight_decay
        for p in self.params:
            g = _grad(p)
            if wd != 0:
                g += wd * p.data
            if momentum != 0:
                state = self.state.setdefault(p, {})
                if "momentum_buffer" not in state:
                    buf = g  # the first step takes the whole gradient, undamped
                else:
                    buf = momentum * state["momentum_buffer"] + (1 - self.dampening) * g
                state["momentum_buffer"] = buf
                g = g + momentum * buf if self.nesterov else buf
            p.data -= lr * g

    def _settings(self) -> dict:
        return {"lr": self.lr, "momentum": self.momentum, "dampening": self.dampening,
                "nesterov": self.nesterov, "weight_decay": self.weight_decay}


class Adam(Optimizer):
    """Adam: steps scaled by running averages of the gradient and of its square.

    For each parameter, at step t = 1, 2, ... (as torch.optim.Adam)::

        g = g + weight_decay * p                     (L2 penalty, mixed into the averages)
        m = beta1 * m + (1 - beta1) * g              (m and v start at 0)
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1 ** t)                 (undo the bias towards 0)
        v_hat = v / (1 - beta2 ** t)
        p = p - lr * m_hat / (sqrt(v_hat) + eps)

    With ``amsgrad=True``, v_hat uses the largest v seen so far.

    Args:
        params: the parameters to update.
        lr: the learning rate (>= 0); the first step moves each parameter by about ``lr``.
        betas: decay rates of the two averages, each in [0, 1).
        eps: added to the denominator, against division by zero (>= 0).
        weight_decay: L2 penalty factor, added to the gradient.
        amsgrad: use the running maximum of v (the AMSGrad variant).

    Example:
        >>> from autograd_tiny import Value
        >>> w = Value(1.0)
        >>> w.grad = 123.0
        >>> Adam([w], lr=0.01).step()
        >>> round(w.data, 6)
        0.99
    """

    _decoupled_weight_decay = False  # AdamW sets it

    def __init__(self, params: Iterable[Value], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        name = type(self).__name__
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair of numbers in [0, 1), got {betas!r}")
        self.betas = (_check_number(name, "betas[0]", betas[0], high=1.0, high_open=True),
                      _check_number(name, "betas[1]", betas[1], high=1.0, high_open=True))
        self.eps = _check_number(name, "eps", eps)
        self.weight_decay = _check_number(name, "weight_decay", weight_decay)
        if not isinstance(amsgrad, bool):
            raise ValueError(f"{name}: amsgrad must be True or False, got {amsgrad!r}")
        self.amsgrad = amsgrad
        self.steps = 0  # t: all parameters step together

    def step(self) -> None:
        lr, (beta1, beta2), eps, wd = self.lr, self.betas, self.eps, self.weight_decay
        self.steps += 1
        bias_correction1 = 1 - beta1**self.steps
        bias_correction2 = 1 - beta2**self.steps
        for p in self.params:
            g = _grad(p)
            if wd != 0:
                if self._decoupled_weight_decay:
                    p.data *= 1 - lr * wd  # AdamW: shrink the weight itself
                else:
                    g += wd * p.data
            state = self.state.setdefault(p, {"exp_avg": 0.0, "exp_avg_sq": 0.0})
            m = state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * g
            v = state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g
            if self.amsgrad:
                v = state["max_exp_avg_sq"] = max(state.get("max_exp_avg_sq", 0.0), v)
            denom = math.sqrt(v) / math.sqrt(bias_correction2) + eps
            p.data -= lr / bias_correction1 * m / denom

    def _settings(self) -> dict:
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps,
                "weight_decay": self.weight_decay, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p = p * (1 - lr * weight_decay)`` before the Adam step.

    The decay shrinks the weight directly instead of passing through the averages (as
    torch.optim.AdamW), so it acts the same on parameters with large and small gradients.
    Arguments as `Adam`, but ``weight_decay`` defaults to 1e-2.

    Example:
        >>> from autograd_tiny import Value
        >>> w = Value(1.0)                  # grad 0: only the decay acts
        >>> AdamW([w], lr=0.1, weight_decay=0.5).step()
        >>> w.data
        0.95
    """

    _decoupled_weight_decay = True

    def __init__(self, params: Iterable[Value], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)


# ---------------------------------------------------------------------- gradient clipping


def clip_grad_norm(params: Iterable[Value], max_norm: float, norm_type: float = 2.0) -> float:
    """Scale all gradients together so that their global norm is at most `max_norm`.

    As torch.nn.utils.clip_grad_norm_: the norm is taken over all the gradients as one vector,
    and every gradient is multiplied by ``min(1, max_norm / (norm + 1e-6))``.

    Args:
        params: the parameters whose ``grad`` to clip.
        max_norm: the largest norm allowed (>= 0).
        norm_type: which p-norm (>= 1), or ``math.inf`` for the largest absolute value.

    Returns:
        The global norm before clipping (useful to log).

    Example:
        >>> from autograd_tiny import Value
        >>> a, b = Value(0.0), Value(0.0)
        >>> a.grad, b.grad = 3.0, 4.0
        >>> clip_grad_norm([a, b], max_norm=1.0)
        5.0
        >>> round(a.grad, 6), round(b.grad, 6)
        (0.6, 0.8)
    """
    params = _check_params("clip_grad_norm", params)
    max_norm = _check_number("clip_grad_norm", "max_norm", max_norm)
    if isinstance(norm_type, bool) or not isinstance(norm_type, numbers.Real) or not norm_type >= 1:
        raise ValueError(f"clip_grad_norm: norm_type must be a number >= 1 or math.inf, got {norm_type!r}")
    grads = [_grad(p) for p in params]
    if norm_type == math.inf:
        total = max(abs(g) for g in grads)
    else:
        total = sum(abs(g) ** norm_type for g in grads) ** (1.0 / norm_type)
    scale = min(max_norm / (total + 1e-6), 1.0)  # a nan norm stays nan, as in PyTorch
    for p, g in zip(params, grads):
        p.grad = g * scale
    return total


# ---------------------------------------------------------------------- learning-rate schedules


class LRScheduler:
    """Sets ``optimizer.lr`` from a formula in the number of `step` calls so far.

    The learning rate the optimizer had when the schedule was made is ``base_lr``. Creating the
    schedule sets the rate for step 0; call `step` once after each ``optimizer.step()``
    (as in torch.optim.lr_scheduler). Subclasses define `lr_at`.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0
        optimizer.lr = self.lr_at(0)

    def lr_at(self, t: int) -> float:
        """The learning rate after `t` calls to `step`."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one step and set the optimizer's learning rate."""
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self) -> float:
        """The learning rate set last (one number; torch returns a list, one per group)."""
        return self.optimizer.lr

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_lr={self.base_lr!r}, last_epoch={self.last_epoch})"


class LambdaLR(LRScheduler):
    """lr = base_lr * lr_lambda(t), for any function you like.

    Example:
        >>> from autograd_tiny import Value
        >>> opt = SGD([Value(0.0)], lr=1.0)
        >>> sched = LambdaLR(opt, lambda t: 1 / (t + 1))
        >>> sched.step(); sched.step()
        >>> round(opt.lr, 6)
        0.333333
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float]) -> None:
        if not callable(lr_lambda):
            raise TypeError(f"LambdaLR: lr_lambda must be a function of the step, got {lr_lambda!r}")
        self.lr_lambda = lr_lambda
        super().__init__(optimizer)

    def lr_at(self, t: int) -> float:
        return self.base_lr * self.lr_lambda(t)


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** (t // step_size): divide by 1/gamma every `step_size` steps.

    Example:
        >>> from autograd_tiny import Value
        >>> opt = SGD([Value(0.0)], lr=1.0)
        >>> sched = StepLR(opt, step_size=2, gamma=0.5)
        >>> lrs = []
        >>> for _ in range(5):
        ...     lrs.append(opt.lr); sched.step()
        >>> lrs
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = _check_positive_int("StepLR", "step_size", step_size)
        self.gamma = _check_number("StepLR", "gamma", gamma)
        super().__init__(optimizer)

    def lr_at(self, t: int) -> float:
        return self.base_lr * self.gamma ** (t // self.step_size)


class ExponentialLR(LRScheduler):
    """lr = base_lr * gamma ** t.

    Example:
        >>> from autograd_tiny import Value
        >>> opt = SGD([Value(0.0)], lr=1.0)
        >>> sched = ExponentialLR(opt, gamma=0.5)
        >>> sched.step(); sched.step()
        >>> opt.lr
        0.25
    """

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        self.gamma = _check_number("ExponentialLR", "gamma", gamma)
        super().__init__(optimizer)

    def lr_at(self, t: int) -> float:
        return self.base_lr * self.gamma**t


class LinearLR(LRScheduler):
    """Multiply base_lr by a factor that moves linearly from `start_factor` to `end_factor`.

    lr = base_lr * (start_factor + (end_factor - start_factor) * min(t, total_iters) / total_iters).
    micrograd's demo (lr = 1.0 - 0.9 * k / 100) is ``LinearLR(opt, 1.0, 0.1, total_iters=100)``
    with ``lr=1.0``.

    Example:
        >>> from autograd_tiny import Value
        >>> opt = SGD([Value(0.0)], lr=1.0)
        >>> sched = LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=100)
        >>> for _ in range(50):
        ...     sched.step()
        >>> round(opt.lr, 12)
        0.55
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5) -> None:
        self.start_factor = _check_number("LinearLR", "start_factor", start_factor, high=1.0)
        if self.start_factor == 0:
            raise ValueError("LinearLR: start_factor must be in (0, 1], got 0.0")
        self.end_factor = _check_number("LinearLR", "end_factor", end_factor, high=1.0)
        self.total_iters = _check_positive_int("LinearLR", "total_iters", total_iters)
        super().__init__(optimizer)

    def lr_at(self, t: int) -> float:
        fraction = min(t, self.total_iters) / self.total_iters
        return self.base_lr * (self.start_factor + (self.end_factor - self.start_factor) * fraction)


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from base_lr down to `eta_min` over `T_max` steps (then back up, as torch).

    lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2.

    Example:
        >>> from autograd_tiny import Value
        >>> opt = SGD([Value(0.0)], lr=1.0)
        >>> sched = CosineAnnealingLR(opt, T_max=10, eta_min=0.1)
        >>> for _ in range(5):
        ...     sched.step()
        >>> round(opt.lr, 12)
        0.55
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        self.T_max = _check_positive_int("CosineAnnealingLR", "T_max", T_max)
        self.eta_min = _check_number("CosineAnnealingLR", "eta_min", eta_min)
        super().__init__(optimizer)

    def lr_at(self, t: int) -> float:
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2
