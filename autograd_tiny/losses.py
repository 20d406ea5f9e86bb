"""Loss functions, composed from `Value` operations so that `backward()` differentiates them.

Each loss averages over the examples (PyTorch's ``reduction='mean'``). Predictions may be
Values or plain numbers; targets and labels are plain numbers.

Example:
    >>> from autograd_tiny import Value
    >>> s = Value(0.5)
    >>> loss = hinge([s], [1])  # max(0, 1 - 1 * 0.5)
    >>> loss.backward()
    >>> loss.data, s.grad
    (0.5, -1.0)
"""

from __future__ import annotations

import math
import numbers
from typing import Iterable, Sequence

from .engine import Value

__all__ = ["mse", "hinge", "bce_with_logits", "cross_entropy", "l2"]

Scalar = Value | float


def _as_list(name: str, what: str, xs) -> list:
    """The examples as a list: a single Value or number counts as one example."""
    if isinstance(xs, (Value, numbers.Real)):
        return [xs]
    if isinstance(xs, (str, bytes)) or not isinstance(xs, Iterable):
        raise ValueError(f"{name}: {what} must be a list of numbers or Values, got {type(xs).__name__}: {xs!r}")
    xs = list(xs)
    if not xs:
        raise ValueError(f"{name}: needs at least one example, got no {what}")
    return xs


def _check_pair(name: str, preds, targets, pred_word: str, target_word: str) -> tuple[list, list]:
    preds, targets = _as_list(name, pred_word, preds), _as_list(name, target_word, targets)
    if len(preds) != len(targets):
        raise ValueError(f"{name}: {len(preds)} {pred_word} but {len(targets)} {target_word}")
    for p in preds:
        if not isinstance(p, (Value, numbers.Real)) or isinstance(p, bool):
            raise ValueError(f"{name}: each of the {pred_word} must be a Value or a number, got {p!r}")
    return preds, targets


def _is_number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


# ---------------------------------------------------------------------- regression


def mse(preds: Sequence[Scalar], targets: Sequence[float]) -> Value:
    """Mean squared error: mean of (pred - target)².

    Example:
        >>> mse([Value(1.0), Value(3.0)], [0.0, 1.0]).data  # (1 + 4) / 2
        2.5
    """
    preds, targets = _check_pair("mse", preds, targets, "predictions", "targets")
    for t in targets:
        if not (_is_number(t) or isinstance(t, Value)):
            raise ValueError(f"mse: targets must be numbers, got {t!r}")
    errors = [p - t for p, t in zip(preds, targets)]
    return Value.mean([e * e for e in errors])


# ---------------------------------------------------------------------- binary classification


def hinge(scores: Sequence[Scalar], labels: Sequence[int]) -> Value:
    """The SVM max-margin loss of micrograd's demo: mean of max(0, 1 - label * score).

    Args:
        scores: one score per example (positive means class +1).
        labels: -1 or +1 per example (see `autograd_tiny.data.signed_labels` for 0/1 labels).

    Example:
        >>> hinge([Value(2.0), Value(0.5)], [1, -1]).data  # (0 + 1.5) / 2
        0.75
    """
    scores, labels = _check_pair("hinge", scores, labels, "scores", "labels")
    for y in labels:
        if y not in (-1, 1) or not _is_number(y):
            raise ValueError(f"hinge: labels must be -1 or +1, got {y!r}")
    # 1 - y*s written as 1 + s*(-y): one multiplication by a constant, one addition
    return Value.mean([(1 + s * -y).relu() for s, y in zip(scores, labels)])


def bce_with_logits(logits: Sequence[Scalar], targets: Sequence[float]) -> Value:
    """Binary cross-entropy from logits: mean of -t log σ(z) - (1 - t) log(1 - σ(z)).

    Written as softplus(z) - t*z, the same quantity, which stays finite for any finite logit:
    softplus is computed without overflow, and its derivative is σ(z), so d loss/d z = σ(z) - t.

    Args:
        logits: one logit z per example.
        targets: the probability t of class 1 per example, in [0, 1].

    Example:
        >>> round(bce_with_logits([Value(0.0)], [1.0]).data, 6)  # log 2
        0.693147
    """
    logits, targets = _check_pair("bce_with_logits", logits, targets, "logits", "targets")
    for t in targets:
        if not _is_number(t) or not 0 <= t <= 1:
            raise ValueError(f"bce_with_logits: targets must be numbers in [0, 1], got {t!r}")
    return Value.mean([_softplus(z) - z * t for z, t in zip(logits, targets)])


def _softplus(z: Scalar) -> Value:
    return (z if isinstance(z, Value) else Value(z)).softplus()


# ---------------------------------------------------------------------- many classes


def cross_entropy(logits: Sequence[Sequence[Scalar]], labels: Sequence[int]) -> Value:
    """Softmax cross-entropy from logits: mean of logsumexp(row) - row[label].

    ``-log softmax(row)[label]`` written with `Value.logsumexp`, which subtracts the largest
    logit first: no overflow and no log(0) for any finite logits.

    Args:
        logits: one row of k logits per example (Values or numbers).
        labels: the class of each example, an int in 0 .. k-1.

    Example:
        >>> round(cross_entropy([[Value(1.0), Value(1.0)]], [0]).data, 6)  # log 2
        0.693147
    """
    rows, labels = _check_pair_rows(logits, labels)
    return Value.mean([Value.logsumexp(row) - row[label] for row, label in zip(rows, labels)])


def _check_pair_rows(logits, labels) -> tuple[list[list], list[int]]:
    name = "cross_entropy"
    if isinstance(logits, (Value, numbers.Real)):
        raise ValueError(f"{name}: logits must be a list of rows (one list of class logits per example)")
    rows = _as_list(name, "logits", logits)
    labels = _as_list(name, "labels", labels)
    if len(rows) != len(labels):
        raise ValueError(f"{name}: {len(rows)} rows of logits but {len(labels)} labels")
    k = None
    for i, row in enumerate(rows):
        if isinstance(row, (Value, numbers.Real, str, bytes)) or not isinstance(row, Iterable):
            raise ValueError(f"{name}: logits must be a list of rows; row {i} is {row!r}")
        row = rows[i] = list(row)
        if not row or any(isinstance(v, bool) or not isinstance(v, (Value, numbers.Real)) for v in row):
            raise ValueError(f"{name}: row {i} of logits must be a non-empty list of numbers or Values")
        if k is None:
            k = len(row)
        elif len(row) != k:
            raise ValueError(f"{name}: every row needs {k} logits, row {i} has {len(row)}")
    for y in labels:
        if isinstance(y, bool) or not isinstance(y, numbers.Integral) or not 0 <= y < k:
            raise ValueError(f"{name}: labels must be ints in 0..{k - 1}, got {y!r}")
    return rows, [int(y) for y in labels]


# ---------------------------------------------------------------------- regularization


def l2(parameters: Iterable[Value], alpha: float) -> Value:
    """The L2 penalty alpha * sum of p² over the parameters (add it to a loss).

    Example:
        >>> l2([Value(1.0), Value(-2.0)], alpha=0.1).data  # 0.1 * (1 + 4)
        0.5
    """
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 <= alpha < math.inf:
        raise ValueError(f"l2: alpha must be a finite number >= 0, got {alpha!r}")
    ps = list(parameters)
    for p in ps:
        if not isinstance(p, Value):
            raise ValueError(f"l2: parameters must be Values, got {type(p).__name__}: {p!r}")
    # sum of p*p as ONE dot node: each p is both a weight and an input, so its gradient
    # 2p arrives in two halves (p from each side).
    return Value.dot(ps, ps) * alpha
