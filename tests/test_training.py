"""End to end: MLPs learn the toy datasets, and a training step's gradients equal PyTorch's.

Everything is seeded, so these results are the same on every run.
"""

import re

import pytest

from autograd_tiny.data import accuracy, moons, signed_labels, spirals, train_test_split
from autograd_tiny.losses import cross_entropy, hinge, l2
from autograd_tiny.nn import MLP
from autograd_tiny.optim import Adam


def _sign_labels(model, X):
    return [int(model(x).data > 0) for x in X]


def _argmax_labels(model, X):
    labels = []
    for x in X:
        scores = [v.data for v in model(x)]
        labels.append(scores.index(max(scores)))
    return labels


def _micrograd_demo(model, X, labels, steps=100):
    """micrograd's loop: hinge + 1e-4 L2, SGD with lr decaying linearly from 1.0 to 0.1, by hand."""
    y = signed_labels(labels)
    for k in range(steps):
        loss = hinge([model(x) for x in X], y) + l2(model.parameters(), 1e-4)
        model.zero_grad()
        loss.backward()
        lr = 1.0 - 0.9 * k / steps
        for p in model.parameters():
            p.data -= lr * p.grad
    return loss.data


def test_micrograd_demo_reaches_full_training_accuracy():
    """100 moons points (noise 0.1), MLP(2, [16, 16, 1]) with micrograd's init, 100 SGD steps: 100% correct."""
    X, labels = moons(100, noise=0.1, seed=0)
    model = MLP(2, [16, 16, 1], init="uniform", seed=1)
    loss = _micrograd_demo(model, X, labels)
    assert accuracy(_sign_labels(model, X), labels) == 1.0
    assert loss < 0.05


def test_moons_held_out_accuracy_is_at_least_97_percent():
    """Trained the same way with the default init on 120 moons points, the MLP gets >= 97% of 40 unseen ones."""
    X, labels = moons(160, noise=0.1, seed=1)
    X_train, X_test, y_train, y_test = train_test_split(X, labels, test_fraction=0.25, seed=0)
    model = MLP(2, [16, 16, 1], seed=0)
    _micrograd_demo(model, X_train, y_train)
    assert len(X_test) == 40
    assert accuracy(_sign_labels(model, X_test), y_test) >= 0.97


def test_spirals_held_out_accuracy_is_at_least_90_percent():
    """3-class spirals, softmax cross-entropy and Adam: >= 90% of held-out points are classified right."""
    X, labels = spirals(150, classes=3, seed=0)
    X_train, X_test, y_train, y_test = train_test_split(X, labels, test_fraction=0.25, seed=0)
    model = MLP(2, [16, 16, 3], seed=0)
    optimizer = Adam(model.parameters(), lr=0.05)
    for _ in range(100):
        loss = cross_entropy([model(x) for x in X_train], y_train)
        model.zero_grad()
        loss.backward()
        optimizer.step()
    assert accuracy(_argmax_labels(model, X_test), y_test) >= 0.90


# ---------------------------------------------------------------------- against PyTorch


def _torch_model(model, torch):
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in model.state_dict().values()]

    def forward(X):  # all points at once: X is n x nin
        h = X
        for i in range(0, len(params), 2):
            h = h @ params[i].T + params[i + 1]
            if i + 2 < len(params):
                h = torch.relu(h)
        return h

    return params, forward


def _compare_grads(model, params):
    """Each parameter's grad, found by its public name ('layers.0.weight[3][1]'), equals torch's there."""
    tensors = dict(zip(model.state_dict(), params))
    for name, p in model.named_parameters():
        key, index = re.fullmatch(r"(.*?)((?:\[\d+\])*)", name).groups()
        theirs = tensors[key].grad
        for i in re.findall(r"\d+", index):
            theirs = theirs[int(i)]
        assert p.grad == pytest.approx(theirs.item(), rel=1e-12, abs=1e-12), name
    assert len(model.named_parameters()) == sum(t.numel() for t in params)


@pytest.mark.parametrize("trained_steps", [0, 5])
def test_demo_step_gradients_match_torch(trained_steps):
    """The hinge + L2 step's gradient of every parameter equals torch float64's on the same weights, to 1e-12."""
    torch = pytest.importorskip("torch")
    X, labels = moons(100, noise=0.1, seed=0)
    model = MLP(2, [16, 16, 1], init="uniform", seed=1)
    if trained_steps:
        _micrograd_demo(model, X, labels, steps=trained_steps)  # biases away from 0, some margins met
    y = signed_labels(labels)
    loss = hinge([model(x) for x in X], y) + l2(model.parameters(), 1e-4)
    model.zero_grad()
    loss.backward()

    params, forward = _torch_model(model, torch)
    scores = forward(torch.tensor(X, dtype=torch.float64)).squeeze(1)
    t_loss = torch.relu(1 - torch.tensor(y, dtype=torch.float64) * scores).mean()
    t_loss = t_loss + 1e-4 * sum((p * p).sum() for p in params)
    t_loss.backward()
    assert loss.data == pytest.approx(t_loss.item(), rel=1e-12)
    _compare_grads(model, params)


def test_cross_entropy_step_gradients_match_torch():
    """The softmax cross-entropy step of a 3-class MLP has torch float64's gradients to 1e-12."""
    torch = pytest.importorskip("torch")
    X, labels = spirals(60, classes=3, seed=2)
    model = MLP(2, [8, 8, 3], seed=3)
    for p in model.parameters():
        p.data += 0.05  # non-zero biases
    loss = cross_entropy([model(x) for x in X], labels)
    model.zero_grad()
    loss.backward()

    params, forward = _torch_model(model, torch)
    logits = forward(torch.tensor(X, dtype=torch.float64))
    t_loss = torch.nn.functional.cross_entropy(logits, torch.tensor(labels))
    t_loss.backward()
    assert loss.data == pytest.approx(t_loss.item(), rel=1e-12)
    _compare_grads(model, params)
