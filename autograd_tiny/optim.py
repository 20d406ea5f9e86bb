"""Optimizers, gradient clipping and learning-rate schedules, in order of increasing complexity.

An optimizer holds its parameters (leaf `Value`s) in ``param_groups``, each group with its own
options (``lr``, ``momentum``...), and, for each parameter, whatever it remembers between
steps (momentum, moving averages) in its own ``state`` dict, keyed by the parameter. The
Values themselves only carry ``data`` and ``grad``. A training step is::

    loss = ...                  # forward pass
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()            # p.data changes in place

Updates are plain float arithmetic on ``p.data`` and ``p.grad``, so they never record a graph
(what ``torch.no_grad()`` is for in PyTorch). Argument names, their positional order and the
formulas follow torch.optim, and the tests check that the same steps from the same start give
the same numbers. ``state_dict()`` of an optimizer or a schedule is plain JSON data, so a run
can be saved with `json.dump` and resumed with ``load_state_dict``.

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
from collections.abc import Callable, Iterable
from typing import Any

from .checks import check_bool, check_int, check_real, describe, is_real
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

Params = Iterable[Value] | Iterable[dict[str, Any]]


def _check_params(owner: str, params: Any) -> list[Value]:
    if isinstance(params, Value):
        raise TypeError(f"{owner}: params must be an iterable of Values (e.g. model.parameters()), "
                        "got one Value")
    params = list(params)
    if not params:
        raise ValueError(f"{owner}: got an empty parameter list")
    seen = set()
    for p in params:
        if not isinstance(p, Value):
            raise TypeError(f"{owner}: params must be Values, got {type(p).__name__}: {describe(p)}")
        if p in seen:  # it would be updated twice per step
            raise ValueError(f"{owner}: parameter {p!r} appears more than once")
        seen.add(p)
    return params


def _index(owner: str, key: Any) -> int:
    """A state key as a parameter index: an int, or its decimal string (JSON turns keys into strings)."""
    if isinstance(key, str) and key.isdecimal() and key.isascii():
        return int(key)
    if isinstance(key, int) and not isinstance(key, bool) and key >= 0:
        return key
    raise ValueError(f"{owner}: state keys must be parameter indices, got {describe(key)}")


# ---------------------------------------------------------------------- optimizers


class Optimizer:
    """What every optimizer shares: ``param_groups``, ``state``, `zero_grad` and saving.

    Args:
        params: the parameters (e.g. ``model.parameters()``), or a list of dicts, one per
            group: ``{"params": [...], "lr": 0.01}``; options a group does not give come from
            the optimizer's arguments (as in torch.optim).
        defaults: every option with its value for groups that do not set it.
    """

    # what step() remembers per parameter: name -> the lowest allowed value (for load_state_dict)
    _state_keys: dict[str, float] = {}
    _optional_state: tuple[str, ...] = ()

    def __init__(self, params: Params, defaults: dict[str, Any]) -> None:
        name = type(self).__name__
        self.defaults = self._checked(name, defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Value, dict[str, Any]] = {}  # per-parameter memory, e.g. momentum
        if isinstance(params, dict):
            raise TypeError(f"{name}: params must be a list of Values or of dicts; "
                            "for one group write [{...}]")
        if isinstance(params, Value):
            _check_params(name, params)  # raises: one Value is not a list of them
        items: list[Any] = list(params)
        if not items:
            raise ValueError(f"{name}: got an empty parameter list")
        for group in items if all(isinstance(g, dict) for g in items) else [{"params": items}]:
            self.add_param_group(group)

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add parameters with options of their own, e.g. ``{"params": head, "lr": 0.1}``.

        Example:
            >>> from autograd_tiny import Value
            >>> opt = SGD([Value(1.0)], lr=0.1, momentum=0.9)
            >>> opt.add_param_group({"params": [Value(2.0)], "lr": 0.01})
            >>> [(g["lr"], g["momentum"]) for g in opt.param_groups]
            [(0.1, 0.9), (0.01, 0.9)]
        """
        where = f"{type(self).__name__}: param group {len(self.param_groups)}"
        if not isinstance(group, dict):
            raise TypeError(f"{where} must be a dict with 'params', got {type(group).__name__}")
        if "params" not in group:
            raise ValueError(f"{where} has no 'params'")
        unknown = [k for k in group if k != "params" and k not in self.defaults]
        if unknown:
            raise ValueError(f"{where}: unknown option {describe(unknown[0])} "
                             f"(options: {', '.join(self.defaults)})")
        given = group["params"]
        params = _check_params(where, [given] if isinstance(given, Value) else given)
        taken = {p for g in self.param_groups for p in g["params"]}
        if any(p in taken for p in params):
            raise ValueError(f"{where}: a parameter is already in another param group")
        options = self._checked(where, {**self.defaults, **{k: v for k, v in group.items() if k != "params"}})
        self.param_groups.append({"params": params, **options})

    @staticmethod
    def _checked(owner: str, options: dict[str, Any]) -> dict[str, Any]:
        """The options, each checked (and normalised, e.g. betas to a tuple of floats)."""
        return {"lr": check_real(owner, "lr", options["lr"], low=0)}

    @property
    def params(self) -> list[Value]:
        """Every parameter, group after group."""
        return [p for g in self.param_groups for p in g["params"]]

    @property
    def lr(self) -> float:
        """The learning rate of every group; setting it sets every group's.

        With groups of different rates, read ``param_groups[i]["lr"]`` instead.
        """
        rates = [g["lr"] for g in self.param_groups]
        if len(set(rates)) > 1:
            raise ValueError(f"{type(self).__name__}: the param groups have different learning rates "
                             f"{describe(rates)}; read param_groups[i]['lr']")
        return rates[0]

    @lr.setter
    def lr(self, value: float) -> None:
        value = check_real(type(self).__name__, "lr", value, low=0)
        for g in self.param_groups:
            g["lr"] = value

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0 (backward adds to the leaves' grads)."""
        for g in self.param_groups:
            for p in g["params"]:
                p.grad = 0.0

    def step(self) -> None:
        """Update every parameter's ``data`` from its ``grad``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ saving and resuming

    def state_dict(self) -> dict[str, Any]:
        """The groups' options and the per-parameter state, as plain JSON data.

        Parameters are numbered in group order, as torch.optim numbers them; the state's keys
        are those numbers as strings (what JSON makes of them anyway).

        Example:
            >>> from autograd_tiny import Value
            >>> w = Value(1.0); w.grad = 2.0
            >>> opt = SGD([w], lr=0.1, momentum=0.9)
            >>> opt.step()
            >>> opt.state_dict()["state"]
            {'0': {'momentum_buffer': 2.0}}
        """
        params = self.params
        state = {str(i): dict(self.state[p]) for i, p in enumerate(params) if p in self.state}
        groups, start = [], 0
        for g in self.param_groups:
            options = {k: list(v) if isinstance(v, tuple) else v for k, v in g.items() if k != "params"}
            groups.append({**options, "params": list(range(start, start + len(g["params"])))})
            start += len(g["params"])
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Take the options and the state saved by `state_dict`, for the same parameters in the
        same groups (the numbers follow the parameters' positions, as in torch.optim).

        Everything is checked first; on any problem a `ValueError` names it and nothing changes.
        """
        owner = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            raise ValueError(f"{owner}: expected a dict with 'state' and 'param_groups', "
                             f"got {describe(state_dict)}")
        saved_groups = state_dict["param_groups"]
        if not isinstance(saved_groups, list) or len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{owner}: this optimizer has {len(self.param_groups)} param groups, "
                             f"the state has {describe(saved_groups)}")
        options, ids = [], []
        for i, (saved, mine) in enumerate(zip(saved_groups, self.param_groups)):
            where = f"{owner}: param group {i}"
            if not isinstance(saved, dict):
                raise ValueError(f"{where} should be a dict, got {describe(saved)}")
            missing = [k for k in ("params", *self.defaults) if k not in saved]
            unknown = [k for k in saved if k != "params" and k not in self.defaults]
            if missing or unknown:
                raise ValueError(f"{where}: {'missing' if missing else 'unknown'} option "
                                 f"{describe((missing or unknown)[0])}")
            numbers_ = saved["params"]
            if not isinstance(numbers_, list) or len(numbers_) != len(mine["params"]):
                raise ValueError(f"{where} should number {len(mine['params'])} parameters, "
                                 f"got {describe(numbers_)}")
            ids += [_index(where, n) for n in numbers_]
            options.append(self._checked(where, {k: saved[k] for k in self.defaults}))
        if sorted(ids) != list(range(len(ids))):
            raise ValueError(f"{owner}: the groups' params should number the parameters "
                             f"0..{len(ids) - 1} once each")
        by_id = dict(zip(ids, self.params))
        state = state_dict["state"]
        if not isinstance(state, dict):
            raise ValueError(f"{owner}: 'state' should be a dict, got {describe(state)}")
        new_state = {}
        for key, entry in state.items():
            i = _index(owner, key)
            if i not in by_id:
                raise ValueError(f"{owner}: state for parameter {i}, but there are {len(ids)}")
            new_state[by_id[i]] = self._checked_state(f"{owner}: state of parameter {i}", entry)
        for group, checked in zip(self.param_groups, options):  # all checked: now change
            group.update(checked)
        self.state = new_state

    def _checked_state(self, where: str, entry: Any) -> dict[str, Any]:
        if not isinstance(entry, dict):
            raise ValueError(f"{where} should be a dict, got {describe(entry)}")
        needed = [k for k in self._state_keys if k not in self._optional_state]
        for key in needed:
            if key not in entry:
                raise ValueError(f"{where}: missing {key!r}")
        checked: dict[str, Any] = {}
        for key, value in entry.items():
            if key not in self._state_keys:
                raise ValueError(f"{where}: unknown entry {describe(key)} "
                                 f"(expected {', '.join(self._state_keys)})")
            if key == "step":
                checked[key] = check_int(where, key, value, least=1)
            else:
                checked[key] = check_real(where, key, value, low=self._state_keys[key])
        return checked

    def __repr__(self) -> str:
        def settings(g: dict) -> str:
            return ", ".join(f"{k}={v!r}" for k, v in g.items() if k != "params")

        name = type(self).__name__
        if len(self.param_groups) == 1:
            return f"{name}({len(self.params)} parameters, {settings(self.param_groups[0])})"
        groups = "; ".join(f"{len(g['params'])} parameters, {settings(g)}" for g in self.param_groups)
        return f"{name}({len(self.param_groups)} param groups: {groups})"


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay.

    For each parameter ``p`` with gradient ``g`` (as torch.optim.SGD)::

        g = g + weight_decay * p
        b = g                                        on the first step
        b = momentum * b + (1 - dampening) * g       after it
        g = g + momentum * b  if nesterov  else  b   (when momentum != 0)
        p = p - lr * g

    Args (in torch.optim.SGD's order):
        params: the parameters to update, e.g. ``model.parameters()``, or a list of groups.
        lr: the learning rate (>= 0).
        momentum: the momentum factor (>= 0); 0 is plain gradient descent.
        dampening: how much of the new gradient the momentum buffer does *not* take.
        weight_decay: L2 penalty factor, added to the gradient.
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening == 0).

    Example:
        >>> from autograd_tiny import Value
        >>> w = Value(1.0)
        >>> w.grad = 0.5
        >>> SGD([w], lr=0.1).step()
        >>> w.data
        0.95
    """

    _state_keys = {"momentum_buffer": -math.inf}

    def __init__(self, params: Params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov})

    @staticmethod
    def _checked(owner: str, options: dict[str, Any]) -> dict[str, Any]:
        checked = {
            "lr": check_real(owner, "lr", options["lr"], low=0),
            "momentum": check_real(owner, "momentum", options["momentum"], low=0),
            "dampening": check_real(owner, "dampening", options["dampening"], low=0, high=1),
            "weight_decay": check_real(owner, "weight_decay", options["weight_decay"], low=0),
            "nesterov": check_bool(owner, "nesterov", options["nesterov"]),
        }
        if checked["nesterov"] and (checked["momentum"] == 0 or checked["dampening"] != 0):
            raise ValueError(f"{owner}: nesterov=True needs momentum > 0 and dampening == 0, "
                             f"got momentum={checked['momentum']!r}, dampening={checked['dampening']!r}")
        return checked

    def step(self) -> None:
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            wd, nesterov = group["weight_decay"], group["nesterov"]
            for p in group["params"]:
                g = float(p.grad)  # a Value after backward(create_graph=True)
                if wd != 0:
                    g += wd * p.data
                if momentum != 0:
                    state = self.state.setdefault(p, {})
                    if "momentum_buffer" not in state:
                        buf = g  # the first step takes the whole gradient, undamped
                    else:
                        buf = momentum * state["momentum_buffer"] + (1 - dampening) * g
                    state["momentum_buffer"] = buf
                    g = g + momentum * buf if nesterov else buf
                p.data -= lr * g


class Adam(Optimizer):
    """Adam: steps scaled by running averages of the gradient and of its square.

    For each parameter, at its step t = 1, 2, ... (as torch.optim.Adam)::

        g = g + weight_decay * p                     (L2 penalty, mixed into the averages)
        m = beta1 * m + (1 - beta1) * g              (m and v start at 0)
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1 ** t)                 (undo the bias towards 0)
        v_hat = v / (1 - beta2 ** t)
        p = p - lr * m_hat / (sqrt(v_hat) + eps)

    With ``amsgrad=True``, v_hat uses the largest v seen so far. Each parameter counts its own
    steps (in ``state[p]["step"]``), so a group added later starts its bias correction afresh.

    Args (in torch.optim.Adam's order):
        params: the parameters to update, or a list of groups.
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
    _state_keys = {"step": 1, "exp_avg": -math.inf, "exp_avg_sq": 0.0, "max_exp_avg_sq": 0.0}
    _optional_state = ("max_exp_avg_sq",)

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "amsgrad": amsgrad})

    @staticmethod
    def _checked(owner: str, options: dict[str, Any]) -> dict[str, Any]:
        betas = options["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{owner}: betas must be a pair of numbers in [0, 1), got {describe(betas)}")
        return {
            "lr": check_real(owner, "lr", options["lr"], low=0),
            "betas": tuple(check_real(owner, f"betas[{i}]", b, low=0, high=1, high_open=True)
                           for i, b in enumerate(betas)),
            "eps": check_real(owner, "eps", options["eps"], low=0),
            "weight_decay": check_real(owner, "weight_decay", options["weight_decay"], low=0),
            "amsgrad": check_bool(owner, "amsgrad", options["amsgrad"]),
        }

    def step(self) -> None:
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            wd, amsgrad = group["weight_decay"], group["amsgrad"]
            for p in group["params"]:
                g = float(p.grad)  # a Value after backward(create_graph=True)
                if wd != 0:
                    if self._decoupled_weight_decay:
                        p.data *= 1 - lr * wd  # AdamW: shrink the weight itself
                    else:
                        g += wd * p.data
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = {"step": 0, "exp_avg": 0.0, "exp_avg_sq": 0.0}
                state["step"] += 1
                m = state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * g
                v = state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g
                if amsgrad:
                    v = state["max_exp_avg_sq"] = max(state.get("max_exp_avg_sq", 0.0), v)
                denom = math.sqrt(v) / math.sqrt(1 - beta2 ** state["step"]) + eps
                p.data -= lr / (1 - beta1 ** state["step"]) * m / denom


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

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
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
    max_norm = check_real("clip_grad_norm", "max_norm", max_norm, low=0)
    if not is_real(norm_type) or not norm_type >= 1:
        raise ValueError(f"clip_grad_norm: norm_type must be a number >= 1 or math.inf, got {describe(norm_type)}")
    grads = [float(p.grad) for p in params]
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
    """Sets each param group's ``lr`` from a formula in the number of `step` calls so far.

    Each group's learning rate when the schedule is made is its base rate (``base_lrs``).
    Creating the schedule sets the rates for step 0; call `step` once after each
    ``optimizer.step()`` (as in torch.optim.lr_scheduler). Subclasses define `lr_at` and name
    their settings in ``_options`` (what `state_dict` saves).
    """

    _options: tuple[str, ...] = ()

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lrs = [g["lr"] for g in optimizer.param_groups]
        self.last_epoch = 0
        self._set_rates()

    @property
    def base_lr(self) -> float:
        """The first group's base rate (all of them: ``base_lrs``)."""
        return self.base_lrs[0]

    def lr_at(self, t: int, base_lr: float | None = None) -> float:
        """The learning rate after `t` calls to `step`, for a group whose base rate is `base_lr`
        (default: the first group's)."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one step and set the optimizer's learning rates."""
        self.last_epoch += 1
        self._set_rates()

    def get_last_lr(self) -> float:
        """The learning rate set last (one number, as all groups share it; torch returns a list)."""
        return self.optimizer.lr

    def _set_rates(self) -> None:
        name = type(self).__name__
        groups = self.optimizer.param_groups
        if len(groups) != len(self.base_lrs):
            raise ValueError(f"{name}: the optimizer has {len(groups)} param groups, the schedule was made "
                             f"for {len(self.base_lrs)}; make the schedule after adding groups")
        for group, base in zip(groups, self.base_lrs):
            group["lr"] = check_real(name, "lr", self.lr_at(self.last_epoch, base), low=0)

    def _configure(self, **options: Any) -> None:
        for key, value in self._checked(type(self).__name__, options).items():
            setattr(self, key, value)

    @staticmethod
    def _checked(owner: str, options: dict[str, Any]) -> dict[str, Any]:
        return {}

    def state_dict(self) -> dict[str, Any]:
        """The step count, base rates and settings, as plain JSON data (LambdaLR's function is
        not saved: give it again when you resume)."""
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs),
                **{key: getattr(self, key) for key in self._options}}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Take the step count, base rates and settings saved by `state_dict`, after checking
        them all. The learning rates themselves are in the optimizer's state: load it too."""
        owner = f"{type(self).__name__}.load_state_dict"
        keys = ("last_epoch", "base_lrs", *self._options)
        if not isinstance(state_dict, dict) or sorted(state_dict) != sorted(keys):
            raise ValueError(f"{owner}: expected a dict with {', '.join(keys)}, got {describe(state_dict)}")
        last_epoch = check_int(owner, "last_epoch", state_dict["last_epoch"], least=0)
        bases = state_dict["base_lrs"]
        if not isinstance(bases, list) or len(bases) != len(self.base_lrs):
            raise ValueError(f"{owner}: base_lrs should be a list of {len(self.base_lrs)}, "
                             f"got {describe(bases)}")
        bases = [check_real(owner, f"base_lrs[{i}]", b, low=0) for i, b in enumerate(bases)]
        options = self._checked(owner, {key: state_dict[key] for key in self._options})
        self.last_epoch, self.base_lrs = last_epoch, bases
        for key, value in options.items():
            setattr(self, key, value)

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
            raise TypeError(f"LambdaLR: lr_lambda must be a function of the step, got {describe(lr_lambda)}")
        self.lr_lambda = lr_lambda
        super().__init__(optimizer)

    def lr_at(self, t: int, base_lr: float | None = None) -> float:
        return (self.base_lr if base_lr is None else base_lr) * self.lr_lambda(t)


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

    _options = ("step_size", "gamma")
    step_size: int
    gamma: float

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self._configure(step_size=step_size, gamma=gamma)
        super().__init__(optimizer)

    @staticmethod
    def _checked(owner: str, options: dict[str, Any]) -> dict[str, Any]:
        return {"step_size": check_int(owner, "step_size", options["step_size"]),
                "gamma": check_real(owner, "gamma", options["gamma"], low=0)}

    def lr_at(self, t: int, base_lr: float | None = None) -> float:
        return (self.base_lr if base_lr is None else base_lr) * self.gamma ** (t // self.step_size)


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

    _options = ("gamma",)
    gamma: float

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        self._configure(gamma=gamma)
        super().__init__(optimizer)

    @staticmethod
    def _checked(owner: str, options: dict[str, Any]) -> dict[str, Any]:
        return {"gamma": check_real(owner, "gamma", options["gamma"], low=0)}

    def lr_at(self, t: int, base_lr: float | None = None) -> float:
        return (self.base_lr if base_lr is None else base_lr) * self.gamma**t


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

    _options = ("start_factor", "end_factor", "total_iters")
    start_factor: float
    end_factor: float
    total_iters: int

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5) -> None:
        self._configure(start_factor=start_factor, end_factor=end_factor, total_iters=total_iters)
        super().__init__(optimizer)

    @staticmethod
    def _checked(owner: str, options: dict[str, Any]) -> dict[str, Any]:
        start = check_real(owner, "start_factor", options["start_factor"], low=0, high=1)
        if start == 0:
            raise ValueError(f"{owner}: start_factor must be in (0, 1], got 0.0")
        return {"start_factor": start,
                "end_factor": check_real(owner, "end_factor", options["end_factor"], low=0, high=1),
                "total_iters": check_int(owner, "total_iters", options["total_iters"])}

    def lr_at(self, t: int, base_lr: float | None = None) -> float:
        fraction = min(t, self.total_iters) / self.total_iters
        base = self.base_lr if base_lr is None else base_lr
        return base * (self.start_factor + (self.end_factor - self.start_factor) * fraction)


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

    _options = ("T_max", "eta_min")
    T_max: int
    eta_min: float

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        self._configure(T_max=T_max, eta_min=eta_min)
        super().__init__(optimizer)

    @staticmethod
    def _checked(owner: str, options: dict[str, Any]) -> dict[str, Any]:
        return {"T_max": check_int(owner, "T_max", options["T_max"]),
                "eta_min": check_real(owner, "eta_min", options["eta_min"], low=0)}

    def lr_at(self, t: int, base_lr: float | None = None) -> float:
        base = self.base_lr if base_lr is None else base_lr
        return self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2
