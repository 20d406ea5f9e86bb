"""Loss functions, composed from `Value` operations so that `backward()` differentiates them.

As in PyTorch, each loss takes a batch (a list of predictions and a list of targets) or one
unbatched sample (a single prediction and target; for `cross_entropy`, one row of logits and
one label), and ``reduction`` says what to return: ``"mean"`` over the examples (the
default), their ``"sum"``, or ``"none"``: the list of per-example losses (for one sample, its
loss). Predictions may be Values or plain numbers; targets and labels are plain numbers.

Example:
    >>> from autograd_tiny import Value
    >>> s = Value(0.5)
    >>> loss = hinge(s, 1)  # one sample: max(0, 1 - 1 * 0.5)
    >>> loss.backward()
    >>> loss.data, s.grad
    (0.5, -1.0)
    >>> [v.data for v in hinge([2.0, 0.5], [1, -1], reduction="none")]
    [0.0, 1.5]
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence

from .checks import check_choice, check_int, check_real, describe, is_real
from .engine import PICK, Value, apply

__all__ = ["mse", "hinge", "bce_with_logits", "cross_entropy", "l2"]

Scalar = Value | float
REDUCTIONS = ("mean", "sum", "none")


def _is_scalar(x) -> bool:
    return isinstance(x, Value) or is_real(x)


def _as_value(x: Scalar) -> Value:
    return x if isinstance(x, Value) else Value(x)


def _batch(name: str, what: str, xs) -> list:
    """The examples as a list (checked to be a non-empty list of something)."""
    if isinstance(xs, (str, bytes)) or not isinstance(xs, Iterable):
        raise ValueError(f"{name}: {what} must be a list of numbers or Values, "
                         f"got {type(xs).__name__}: {describe(xs)}")
    xs = list(xs)
    if not xs:
        raise ValueError(f"{name}: needs at least one example, got no {what}")
    return xs


def _pairs(name: str, preds, targets, pred_word: str, target_word: str) -> tuple[list[Value], list, bool]:
    """(predictions as Values, targets, whether it was one unbatched sample)."""
    single = _is_scalar(preds)
    if single != _is_scalar(targets):
        raise ValueError(f"{name}: give one {pred_word[:-1]} and one {target_word[:-1]}, or a list of each; "
                         f"got {describe(preds)} and {describe(targets)}")
    preds = [preds] if single else _batch(name, pred_word, preds)
    targets = [targets] if single else _batch(name, target_word, targets)
    if len(preds) != len(targets):
        raise ValueError(f"{name}: {len(preds)} {pred_word} but {len(targets)} {target_word}")
    for p in preds:
        if not _is_scalar(p):
            raise ValueError(f"{name}: each of the {pred_word} must be a Value or a number, "
                             f"got {describe(p)}")
    return [_as_value(p) for p in preds], targets, single


def _reduce(name: str, terms: list[Value], reduction: str, single: bool) -> Value | list[Value]:
    """One sample's loss as it is; for a batch, the mean, the sum or the list of `terms`."""
    check_choice(name, "reduction", reduction, REDUCTIONS)
    if single:
        return terms[0]
    if reduction == "none":
        return terms
    return Value.mean(terms) if reduction == "mean" else Value.sum(terms)


# ---------------------------------------------------------------------- regression


def mse(preds: Sequence[Scalar] | Scalar, targets: Sequence[float] | float,
        reduction: str = "mean") -> Value | list[Value]:
    """Mean squared error: mean of (pred - target)².

    Example:
        >>> mse([Value(1.0), Value(3.0)], [0.0, 1.0]).data  # (1 + 4) / 2
        2.5
        >>> mse(Value(3.0), 1.0).data                       # one sample
        4.0
    """
    preds, targets, single = _pairs("mse", preds, targets, "predictions", "targets")
    for t in targets:
        if not _is_scalar(t):
            raise ValueError(f"mse: targets must be numbers, got {describe(t)}")
    errors = [p - t for p, t in zip(preds, targets)]
    return _reduce("mse", [e * e for e in errors], reduction, single)


# ---------------------------------------------------------------------- binary classification


def hinge(scores: Sequence[Scalar] | Scalar, labels: Sequence[int] | int,
          reduction: str = "mean") -> Value | list[Value]:
    """The SVM max-margin loss of micrograd's demo: mean of max(0, 1 - label * score).

    Args:
        scores: one score per example (positive means class +1).
        labels: -1 or +1 per example (see `autograd_tiny.data.signed_labels` for 0/1 labels).
        reduction: 'mean', 'sum' or 'none'.

    Example:
        >>> hinge([Value(2.0), Value(0.5)], [1, -1]).data  # (0 + 1.5) / 2
        0.75
    """
    scores, labels, single = _pairs("hinge", scores, labels, "scores", "labels")
    for y in labels:  # (|y| = 1, one test that holds for both labels: see cross_entropy's)
        if not is_real(y) or abs(y) != 1:
            raise ValueError(f"hinge: labels must be -1 or +1, got {describe(y)}")
    # 1 - y*s written as 1 + s*(-y): one multiplication by a constant, one addition
    return _reduce("hinge", [(1 + s * -y).relu() for s, y in zip(scores, labels)], reduction, single)


def bce_with_logits(logits: Sequence[Scalar] | Scalar, targets: Sequence[float] | float,
                    reduction: str = "mean") -> Value | list[Value]:
    """Binary cross-entropy from logits: mean of -t log σ(z) - (1 - t) log(1 - σ(z)).

    Written as softplus(z) - t*z, the same quantity, which stays finite for any finite logit:
    softplus is computed without overflow, and its derivative is σ(z), so d loss/d z = σ(z) - t.

    Args:
        logits: one logit z per example.
        targets: the probability t of class 1 per example, in [0, 1].
        reduction: 'mean', 'sum' or 'none'.

    Example:
        >>> round(bce_with_logits([Value(0.0)], [1.0]).data, 6)  # log 2
        0.693147
    """
    logits, targets, single = _pairs("bce_with_logits", logits, targets, "logits", "targets")
    for t in targets:
        check_real("bce_with_logits", "each target", t, low=0, high=1)
    terms = [z.softplus() - z * t for z, t in zip(logits, targets)]
    return _reduce("bce_with_logits", terms, reduction, single)


# ---------------------------------------------------------------------- many classes


def cross_entropy(logits: Sequence[Sequence[Scalar]] | Sequence[Scalar], labels: Sequence[int] | int,
                  reduction: str = "mean") -> Value | list[Value]:
    """Softmax cross-entropy from logits: mean of logsumexp(row) - row[label].

    ``-log softmax(row)[label]`` written with `Value.logsumexp`, which subtracts the largest
    logit first: no overflow and no log(0) for any finite logits. ``row[label]`` is the op
    ``pick(*row, label)``, whose derivative is 1 for the label's logit and 0 for the others:
    the label is an input of the graph, so `compile` reads it anew on every call.

    Args:
        logits: one row of k logits per example (Values or numbers), or a single row for
            one unbatched sample.
        labels: the class of each example, an int in 0 .. k-1 (one int for a single row).
        reduction: 'mean', 'sum' or 'none'.

    Example:
        >>> round(cross_entropy([[Value(1.0), Value(1.0)]], [0]).data, 6)  # log 2
        0.693147
        >>> round(cross_entropy([Value(1.0), Value(1.0)], 0).data, 6)    # one sample
        0.693147
    """
    rows, labels, single = _rows_and_labels(logits, labels)
    terms = [Value.logsumexp(row) - apply(PICK, [*row, label]) for row, label in zip(rows, labels)]
    return _reduce("cross_entropy", terms, reduction, single)


def _rows_and_labels(logits, labels) -> tuple[list[list], list, bool]:
    name = "cross_entropy"
    if _is_scalar(logits):
        raise ValueError(f"{name}: logits must be a row of class logits, or a list of rows (one per example)")
    rows = _batch(name, "logits", logits)
    single = all(_is_scalar(v) for v in rows)
    if single:  # one unbatched sample, as torch takes a 1-d input with a 0-d target
        if not is_real(labels):
            raise ValueError(f"{name}: one row of logits takes one int label, got {describe(labels)}")
        rows, labels = [rows], [labels]
    else:
        labels = [labels] if _is_scalar(labels) else _batch(name, "labels", labels)
        if len(rows) != len(labels):
            raise ValueError(f"{name}: {len(rows)} rows of logits but {len(labels)} labels")
    k = 0  # the number of classes: the first row's length
    for i, row in enumerate(rows):
        if _is_scalar(row) or isinstance(row, (str, bytes)) or not isinstance(row, Iterable):
            raise ValueError(f"{name}: logits must be a list of rows; row {i} is {describe(row)}")
        row = rows[i] = list(row)
        if not row or not all(_is_scalar(v) for v in row):
            raise ValueError(f"{name}: row {i} of logits must be a non-empty list of numbers or Values")
        if i == 0:
            k = len(row)
        elif len(row) != k:
            raise ValueError(f"{name}: every row needs {k} logits, row {i} has {len(row)}")
    for y in labels:  # compared, not converted: a comparison is what compile's stand-in for an int can guard
        if isinstance(y, bool) or not isinstance(y, numbers.Integral) or y < 0 or not y < k:
            check_int(name, "each label", y, least=0, most=k - 1)  # (which says why)
    return rows, labels, single


# ---------------------------------------------------------------------- regularization


def l2(parameters: Iterable[Value], alpha: float) -> Value:
    """The L2 penalty alpha * sum of p² over the parameters (add it to a loss).

    Example:
        >>> l2([Value(1.0), Value(-2.0)], alpha=0.1).data  # 0.1 * (1 + 4)
        0.5
    """
    alpha = check_real("l2", "alpha", alpha, low=0)
    ps = list(parameters)
    for p in ps:
        if not isinstance(p, Value):
            raise ValueError(f"l2: parameters must be Values, got {type(p).__name__}: {describe(p)}")
    # sum of p*p as ONE dot node: each p is both a weight and an input, so its gradient
    # 2p arrives in two halves (p from each side).
    return Value.dot(ps, ps) * alpha
