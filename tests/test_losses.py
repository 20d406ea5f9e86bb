"""Tests of autograd_tiny.losses: values and gradients against PyTorch float64 (batched, unbatched, every
reduction) and closed forms, edge cases, errors. Only the comparisons with torch need torch."""

import math
import random

import pytest
from conftest import flat

from autograd_tiny import Value
from autograd_tiny.losses import bce_with_logits, cross_entropy, hinge, l2, mse


def _values(numbers):
    return [Value(x) for x in numbers]


def _close(ours, theirs, tol=1e-12):
    """ours (floats, maybe nested lists) equal theirs (a float64 tensor or float) to tol."""
    theirs = theirs.tolist() if hasattr(theirs, "tolist") else theirs
    assert flat(ours) == pytest.approx(flat(theirs), rel=tol, abs=tol)


def _rand(n, seed, scale=3.0):
    rng = random.Random(seed)
    return [rng.uniform(-scale, scale) for _ in range(n)]


# ---------------------------------------------------------------------- mse


@pytest.mark.parametrize("seed", range(3))
def test_mse_matches_torch_value_and_gradient(seed):
    """mse and d mse / d pred equal torch's MSELoss (mean) on random data."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    preds, targets = _rand(7, seed), _rand(7, seed + 100)
    ours = _values(preds)
    loss = mse(ours, targets)
    loss.backward()
    t_preds = torch.tensor(preds, dtype=torch.float64, requires_grad=True)
    t_loss = F.mse_loss(t_preds, torch.tensor(targets, dtype=torch.float64))
    t_loss.backward()
    _close(loss.data, t_loss.item())
    _close([p.grad for p in ours], t_preds.grad)


def test_mse_of_a_perfect_prediction_is_zero_with_zero_gradient():
    """Predictions equal to the targets give loss 0 and gradient 0 (closed form 2(p - t)/n)."""
    ours = _values([1.5, -2.0])
    loss = mse(ours, [1.5, -2.0])
    loss.backward()
    assert loss.data == 0.0 and [p.grad for p in ours] == [0.0, 0.0]


def test_mse_accepts_a_single_value_and_numbers():
    """A single Value counts as one example, and plain numbers work as predictions."""
    p = Value(3.0)
    assert mse(p, 1.0).data == 4.0
    assert mse([1.0, 2.0], [0.0, 0.0]).data == 2.5


# ---------------------------------------------------------------------- hinge


@pytest.mark.parametrize("seed", range(3))
def test_hinge_matches_torch_value_and_gradient(seed):
    """hinge and its gradient equal mean(relu(1 - y*s)) computed by torch."""
    torch = pytest.importorskip("torch")
    scores = _rand(9, seed)
    labels = [random.Random(seed * 10 + i).choice([-1, 1]) for i in range(9)]
    ours = _values(scores)
    loss = hinge(ours, labels)
    loss.backward()
    t_s = torch.tensor(scores, dtype=torch.float64, requires_grad=True)
    t_loss = torch.relu(1 - torch.tensor(labels, dtype=torch.float64) * t_s).mean()
    t_loss.backward()
    _close(loss.data, t_loss.item())
    _close([s.grad for s in ours], t_s.grad)


def test_hinge_at_and_beyond_the_margin():
    """A score past the margin costs 0; exactly on it costs 0 with slope 0 (relu'(0) = 0); inside, slope -y/n."""
    s = _values([2.0, 1.0, -1.0, 0.25])
    loss = hinge(s, [1, 1, -1, -1])
    loss.backward()
    assert loss.data == pytest.approx((0 + 0 + 0 + 1.25) / 4)
    assert [v.grad for v in s] == [0.0, 0.0, 0.0, 0.25]


@pytest.mark.parametrize("labels", [[0, 1], [1, 2], [1, 0.5], [1, True], [1, "1"]])
def test_hinge_rejects_labels_other_than_plus_minus_one(labels):
    """Labels must be -1 or +1: 0/1 labels, others and booleans raise a ValueError naming hinge."""
    with pytest.raises(ValueError, match="hinge"):
        hinge(_values([0.1, 0.2]), labels)


# ---------------------------------------------------------------------- bce_with_logits


@pytest.mark.parametrize("seed", range(3))
def test_bce_with_logits_matches_torch_value_and_gradient(seed):
    """bce_with_logits equals torch's binary_cross_entropy_with_logits, with soft targets too."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    logits = _rand(8, seed, scale=6.0)
    rng = random.Random(seed + 50)
    targets = [rng.choice([0.0, 1.0, rng.random()]) for _ in range(8)]
    ours = _values(logits)
    loss = bce_with_logits(ours, targets)
    loss.backward()
    t_z = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    t_loss = F.binary_cross_entropy_with_logits(t_z, torch.tensor(targets, dtype=torch.float64))
    t_loss.backward()
    _close(loss.data, t_loss.item())
    _close([z.grad for z in ours], t_z.grad)


HUGE_LOGITS = [1000.0, -1000.0, 1000.0, -1000.0, 1e300, -1e300]
HUGE_TARGETS = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0]


def test_bce_with_logits_is_finite_for_huge_logits():
    """Logits of +-1000 and +-1e300 give the exact finite loss, and gradients (sigmoid(z) - t) / n."""
    ours = _values(HUGE_LOGITS)
    loss = bce_with_logits(ours, HUGE_TARGETS)
    loss.backward()
    # closed form: 1000 wrong by 1000 twice; the right answers cost 0; the 1e300 ones too
    assert loss.data == pytest.approx(2000.0 / 6)
    assert [z.grad for z in ours] == pytest.approx([0.0, 0.0, 1 / 6, -1 / 6, 0.0, 0.0], abs=1e-300)


def test_bce_with_logits_for_huge_logits_matches_torch():
    """The huge-logit loss and gradients equal torch's binary_cross_entropy_with_logits."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    ours = _values(HUGE_LOGITS)
    loss = bce_with_logits(ours, HUGE_TARGETS)
    loss.backward()
    t_z = torch.tensor(HUGE_LOGITS, dtype=torch.float64, requires_grad=True)
    t_loss = F.binary_cross_entropy_with_logits(t_z, torch.tensor(HUGE_TARGETS, dtype=torch.float64))
    t_loss.backward()
    _close(loss.data, t_loss.item())
    _close([z.grad for z in ours], t_z.grad)


@pytest.mark.parametrize("targets", [[1.5, 0.0], [-0.1, 0.0], [math.nan, 0.0], [True, 0.0]])
def test_bce_with_logits_rejects_targets_outside_zero_one(targets):
    """Targets outside [0, 1] (or not numbers) raise a ValueError naming bce_with_logits."""
    with pytest.raises(ValueError, match="bce_with_logits"):
        bce_with_logits(_values([0.0, 1.0]), targets)


# ---------------------------------------------------------------------- cross_entropy


@pytest.mark.parametrize("seed", range(3))
def test_cross_entropy_matches_torch_value_and_gradient(seed):
    """cross_entropy equals torch's F.cross_entropy on random logits, gradient of every logit included."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = random.Random(seed)
    n, k = 6, 4
    rows = [_rand(k, seed * 100 + i, scale=5.0) for i in range(n)]
    labels = [rng.randrange(k) for _ in range(n)]
    ours = [_values(r) for r in rows]
    loss = cross_entropy(ours, labels)
    loss.backward()
    t_z = torch.tensor(rows, dtype=torch.float64, requires_grad=True)
    t_loss = F.cross_entropy(t_z, torch.tensor(labels))
    t_loss.backward()
    _close(loss.data, t_loss.item())
    _close([[v.grad for v in r] for r in ours], t_z.grad)


EXTREME_CASES = [
    ([[1000.0, -1000.0], [1000.0, -1000.0]], [0, 1]),
    ([[-1e308, 1e308, 0.0]], [1]),
]


def test_cross_entropy_has_no_overflow_or_log_zero_for_extreme_logits():
    """Logits 1000 and -1000 give the exact loss (0 when right, 2000 when wrong) and gradients
    (softmax - one-hot) / n; logits of +-1e308 give loss 0 for the right class."""
    rows, labels = EXTREME_CASES[0]
    ours = [_values(r) for r in rows]
    loss = cross_entropy(ours, labels)
    loss.backward()
    assert loss.data == pytest.approx(2000.0 / 2)
    assert [[v.grad for v in r] for r in ours] == [[0.0, 0.0], [0.5, -0.5]]  # softmax = (1, 0)
    row = _values(EXTREME_CASES[1][0][0])
    loss = cross_entropy([row], [1])
    loss.backward()
    assert loss.data == 0.0
    assert [v.grad for v in row] == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("rows, labels", EXTREME_CASES)
def test_cross_entropy_for_extreme_logits_matches_torch(rows, labels):
    """Extreme logits give torch's F.cross_entropy loss and gradients."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    ours = [_values(r) for r in rows]
    loss = cross_entropy(ours, labels)
    loss.backward()
    t_z = torch.tensor(rows, dtype=torch.float64, requires_grad=True)
    t_loss = F.cross_entropy(t_z, torch.tensor(labels))
    t_loss.backward()
    _close(loss.data, t_loss.item())
    _close([[v.grad for v in r] for r in ours], t_z.grad)


def test_cross_entropy_of_equal_logits_is_log_k():
    """k equal logits give loss log k whatever the label (closed form)."""
    assert cross_entropy([[2.0] * 5, [-7.0] * 5], [0, 4]).data == pytest.approx(math.log(5))


@pytest.mark.parametrize(
    "rows, labels",
    [
        ([[0.0, 1.0]], [2]),  # label out of range
        ([[0.0, 1.0]], [-1]),
        ([[0.0, 1.0]], [1.0]),  # not an int
        ([[0.0, 1.0]], [True]),
        ([[0.0, 1.0], [0.0]], [0, 0]),  # ragged rows
        ([[0.0, 1.0]], [0, 1]),  # more labels than rows
        ([[]], [0]),  # an empty row
        ([0.0, 1.0], [0, 1]),  # not rows
        ([], []),  # nothing
    ],
)
def test_cross_entropy_rejects_bad_shapes_and_labels(rows, labels):
    """Bad labels, ragged or empty rows and mismatched lengths raise a ValueError naming cross_entropy."""
    with pytest.raises(ValueError, match="cross_entropy"):
        cross_entropy(rows, labels)


# ---------------------------------------------------------------------- l2


def test_l2_matches_torch_value_and_gradient():
    """l2 equals alpha * sum(p²) with gradient 2 alpha p, as torch computes it."""
    torch = pytest.importorskip("torch")
    numbers = _rand(10, 3)
    ps = _values(numbers)
    penalty = l2(ps, alpha=1e-2)
    penalty.backward()
    t_p = torch.tensor(numbers, dtype=torch.float64, requires_grad=True)
    t_pen = 1e-2 * (t_p**2).sum()
    t_pen.backward()
    _close(penalty.data, t_pen.item())
    _close([p.grad for p in ps], t_p.grad)


def test_l2_of_no_parameters_or_zero_alpha_is_zero():
    """An empty parameter list, or alpha 0, costs nothing."""
    assert l2([], alpha=0.5).data == 0.0
    assert l2(_values([3.0]), alpha=0).data == 0.0


@pytest.mark.parametrize("alpha", [-1e-4, math.inf, math.nan, "0.1"])
def test_l2_rejects_a_bad_alpha(alpha):
    """A negative, infinite, NaN or non-numeric alpha raises a ValueError naming l2."""
    with pytest.raises(ValueError, match="l2"):
        l2(_values([1.0]), alpha=alpha)


def test_l2_rejects_numbers_as_parameters():
    """Parameters must be Values (numbers have no gradient to receive)."""
    with pytest.raises(ValueError, match="l2"):
        l2([1.0, 2.0], alpha=0.1)


# ---------------------------------------------------------------------- shared errors


@pytest.mark.parametrize("loss", [mse, hinge, bce_with_logits])
def test_pointwise_losses_reject_mismatched_lengths(loss):
    """Two predictions for one target raise a ValueError that names the loss."""
    with pytest.raises(ValueError, match=loss.__name__):
        loss(_values([0.5, 0.5]), [1])


@pytest.mark.parametrize("loss", [mse, hinge, bce_with_logits])
def test_pointwise_losses_reject_empty_input(loss):
    """No examples at all raise a ValueError that names the loss."""
    with pytest.raises(ValueError, match=loss.__name__):
        loss([], [])


@pytest.mark.parametrize("loss", [mse, hinge, bce_with_logits])
def test_pointwise_losses_reject_non_numeric_predictions(loss):
    """A prediction that is a string raises a ValueError that names the loss."""
    with pytest.raises(ValueError, match=loss.__name__):
        loss(["a"], [1])


def test_losses_build_their_graph_from_value_ops():
    """Each loss is a graph of engine ops whose root averages with one 'sum' node (Value.mean)."""
    s = _values([0.3, -0.2])
    for loss in (mse(s, [0.0, 1.0]), hinge(s, [1, -1]), bce_with_logits(s, [0.0, 1.0]), cross_entropy([s], [0])):
        assert loss.op == "*" and loss.parents[0].op == "sum"


# ---------------------------------------------------------------------- one sample, and every reduction

REDUCTIONS = ["mean", "sum", "none"]


def _batch_case(name, seed, n=5, k=3):
    """(predictions as numbers, targets) for a loss: rows of k logits for cross_entropy."""
    rng = random.Random(seed)
    if name == "cross_entropy":
        return [_rand(k, seed * 10 + i, scale=4.0) for i in range(n)], [rng.randrange(k) for _ in range(n)]
    targets = {"mse": lambda: rng.uniform(-2, 2), "hinge": lambda: rng.choice([-1, 1]),
               "bce_with_logits": lambda: rng.choice([0.0, 1.0, rng.random()])}[name]
    return _rand(n, seed, scale=3.0), [targets() for _ in range(n)]


def _torch_loss(torch, name, preds, targets, reduction):
    """The oracle: torch's loss on float64 tensors (a 1-d or 0-d input; 2-d or 1-d for cross_entropy)."""
    F = torch.nn.functional
    if name == "cross_entropy":
        return F.cross_entropy(preds, torch.tensor(targets), reduction=reduction)
    t = torch.tensor(targets, dtype=torch.float64)
    if name == "mse":
        return F.mse_loss(preds, t, reduction=reduction)
    if name == "bce_with_logits":
        return F.binary_cross_entropy_with_logits(preds, t, reduction=reduction)
    margins = torch.relu(1 - t * preds)
    return {"mean": margins.mean, "sum": margins.sum, "none": lambda: margins}[reduction]()


LOSSES = {"mse": mse, "hinge": hinge, "bce_with_logits": bce_with_logits, "cross_entropy": cross_entropy}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(LOSSES))
def test_every_loss_and_reduction_matches_torch_on_a_batch(name, reduction):
    """Each loss with reduction mean, sum or none gives torch's values, and the gradients of a
    weighted sum of them (so that each per-example loss's gradient counts)."""
    torch = pytest.importorskip("torch")
    preds, targets = _batch_case(name, seed=3)
    ours = [_values(r) for r in preds] if name == "cross_entropy" else _values(preds)
    loss = LOSSES[name](ours, targets, reduction=reduction)
    t_preds = torch.tensor(preds, dtype=torch.float64, requires_grad=True)
    t_loss = _torch_loss(torch, name, t_preds, targets, reduction)
    if reduction == "none":
        weights = _rand(len(targets), 99)
        assert isinstance(loss, list) and len(loss) == len(targets)
        _close([v.data for v in loss], t_loss)
        Value.sum([v * w for v, w in zip(loss, weights)]).backward()
        (t_loss * torch.tensor(weights, dtype=torch.float64)).sum().backward()
    else:
        _close(loss.data, t_loss.item())
        loss.backward()
        t_loss.backward()
    grads = [[v.grad for v in r] for r in ours] if name == "cross_entropy" else [v.grad for v in ours]
    _close(grads, t_preds.grad)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(LOSSES))
def test_every_loss_takes_one_unbatched_sample_as_torch_does(name, reduction):
    """One prediction and one target (one row and one int label for cross_entropy) give torch's
    loss and gradient on a 0-d (1-d) input, whatever the reduction."""
    torch = pytest.importorskip("torch")
    preds, targets = _batch_case(name, seed=8, n=1)
    pred, target = preds[0], targets[0]
    ours = _values(pred) if name == "cross_entropy" else Value(pred)
    loss = LOSSES[name](ours, target, reduction=reduction)
    assert isinstance(loss, Value)
    loss.backward()
    t_pred = torch.tensor(pred, dtype=torch.float64, requires_grad=True)
    t_loss = _torch_loss(torch, name, t_pred, target, reduction)
    assert t_loss.dim() == 0
    t_loss.backward()
    _close(loss.data, t_loss.item())
    _close([v.grad for v in ours] if name == "cross_entropy" else ours.grad, t_pred.grad)


@pytest.mark.parametrize("name", list(LOSSES))
def test_reductions_agree_with_each_other_and_one_sample_with_a_batch_of_one(name):
    """sum = n * mean = the sum of 'none''s list, and one unbatched sample costs what a batch of one does."""
    preds, targets = _batch_case(name, seed=5)
    rows = [_values(r) for r in preds] if name == "cross_entropy" else _values(preds)
    loss = LOSSES[name]
    each = [v.data for v in loss(rows, targets, reduction="none")]
    assert loss(rows, targets, reduction="sum").data == pytest.approx(math.fsum(each), rel=1e-14)
    assert loss(rows, targets).data == pytest.approx(math.fsum(each) / len(each), rel=1e-14)
    assert [loss(r, t).data for r, t in zip(rows, targets)] == pytest.approx(each, rel=1e-15)


def test_one_sample_closed_forms():
    """mse(3, 1) = 4 with slope 4; hinge(0.5, +1) = 0.5 with slope -1; cross_entropy of one row is
    logsumexp(row) - row[label] with gradient softmax - one-hot."""
    p = Value(3.0)
    loss = mse(p, 1.0)
    loss.backward()
    assert (loss.data, p.grad) == (4.0, 4.0)
    s = Value(0.5)
    loss = hinge(s, 1, reduction="sum")
    loss.backward()
    assert (loss.data, s.grad) == (0.5, -1.0)
    row = _values([1.0, 2.0, 0.5])
    loss = cross_entropy(row, 1)
    loss.backward()
    total = sum(math.exp(v) for v in (1.0, 2.0, 0.5))
    assert loss.data == pytest.approx(math.log(total) - 2.0, rel=1e-15)
    expected = [math.exp(v) / total - (i == 1) for i, v in enumerate((1.0, 2.0, 0.5))]
    assert [v.grad for v in row] == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("call, match", [
    (lambda: mse(_values([1.0]), [0.0], reduction="avg"), "mse: reduction must be one of 'mean', 'sum', 'none', got 'avg'"),
    (lambda: hinge(Value(1.0), 1, reduction=None), "hinge: reduction must be one of .*, got None"),
    (lambda: mse(Value(1.0), [1.0]), "mse: give one prediction and one target, or a list of each"),
    (lambda: hinge(_values([1.0]), 1), "hinge: give one score and one label"),
    (lambda: cross_entropy(_values([1.0, 2.0]), [1]), "one row of logits takes one int label"),
    (lambda: cross_entropy(_values([1.0, 2.0]), 2), r"cross_entropy: each label must be an int in \[0, 1\], got 2"),
])
def test_bad_reductions_and_mixed_single_and_batched_arguments_are_refused(call, match):
    """An unknown reduction, or one sample with a list of targets, is a ValueError naming the loss."""
    with pytest.raises(ValueError, match=match):
        call()
