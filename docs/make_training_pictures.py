"""Regenerate the training pictures in docs/ for the README: `python docs/make_training_pictures.py`.

Needs matplotlib. Both pictures come from micrograd's moons demo, as in
notebooks/03_train_moons.ipynb (seeded, so every run draws the same pictures):

* loss_curve.png: the loss (hinge + 1e-4 L2) and the training accuracy at each of the 100 steps;
* decision_boundary.png: the trained MLP(2, [16, 16, 1])'s score over the plane (blue below 0,
  orange above, white near 0) with its 0 line, the decision boundary, under the 100 training
  points, all of them classified correctly. The line is traced by interpolating the score
  between grid points, so the default 80 x 80 grid draws it smoothly (about a second).
"""

from __future__ import annotations

from pathlib import Path

from autograd_tiny import data, losses, nn, optim
from autograd_tiny.plot import plot_decision_boundary, plot_loss, predict

HERE = Path(__file__).resolve().parent


def train_moons(steps: int = 100) -> tuple[nn.MLP, list, list, dict[str, list[float]]]:
    """micrograd's demo: SGD with the learning rate falling linearly from 1.0 to 0.1."""
    X, y = data.moons(n=100, noise=0.1, seed=0)
    y_signed = data.signed_labels(y)
    model = nn.MLP(2, [16, 16, 1], seed=0)
    optimizer = optim.SGD(model.parameters(), lr=1.0)
    schedule = optim.LinearLR(optimizer, start_factor=1.0, end_factor=0.1, total_iters=steps)
    history: dict[str, list[float]] = {"loss": [], "train accuracy": []}
    for _ in range(steps):
        scores = [model(x) for x in X]
        loss = losses.hinge(scores, y_signed) + losses.l2(model.parameters(), alpha=1e-4)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        history["loss"].append(loss.data)
        history["train accuracy"].append(sum((s.data > 0) == (t > 0) for s, t in zip(scores, y_signed)) / len(y))
    return model, X, y, history


def report(path: Path) -> None:
    print(f"wrote {path.relative_to(HERE.parent)} ({path.stat().st_size // 1024} KB)")


def main() -> None:
    model, X, y, history = train_moons()
    accuracy = data.accuracy(predict(model, X), y)
    if accuracy != 1.0:  # the README says 100%: never draw a picture that contradicts it
        raise SystemExit(f"make_training_pictures: training accuracy is {accuracy:.0%}, expected 100%")
    plot_loss(history, HERE / "loss_curve.png", title="micrograd's moons demo: loss and accuracy")
    report(HERE / "loss_curve.png")
    plot_decision_boundary(model, X, y, HERE / "decision_boundary.png",
                           title="MLP(2, [16, 16, 1]) after 100 SGD steps: score and boundary")
    report(HERE / "decision_boundary.png")


if __name__ == "__main__":
    main()
