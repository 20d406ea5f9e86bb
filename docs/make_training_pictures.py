"""Regenerate the training pictures in docs/ for the README: `python docs/make_training_pictures.py`.

Needs matplotlib. The pictures are the ones `autograd-tiny train` writes when given no options:
micrograd's recipe (MLP(2, [16, 16, 1]), hinge loss + 1e-4 L2, SGD with the learning rate falling
linearly from 1.0 to 0.1 over 100 steps) on 200 moons points, a quarter of them held out for
testing. The run is seeded, so every run draws the same pictures:

* loss_curve.png is its loss.png: the loss and the training accuracy at each step;
* decision_boundary.png is its decision_boundary.png: the model's score over the plane (blue
  below 0, orange above, white near 0, read on the colour bar) with its 0 line, the decision
  boundary, under the 150 training points (circles) and the 50 test points (triangles).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from autograd_tiny.cli import main as autograd_tiny

HERE = Path(__file__).resolve().parent
PICTURES = {"loss.png": "loss_curve.png", "decision_boundary.png": "decision_boundary.png"}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if autograd_tiny(["train", "--out", tmp]) != 0:
            raise SystemExit("make_training_pictures: `autograd-tiny train` failed")
        run = json.loads((Path(tmp) / "run.json").read_text())
        # the README says the demo learns the moons: never show a picture that contradicts it
        if min(run["train_accuracy"], run["test_accuracy"]) < 0.97:
            raise SystemExit(f"make_training_pictures: accuracy {run['train_accuracy']:.1%} (train), "
                             f"{run['test_accuracy']:.1%} (test); expected at least 97%")
        for name, target in PICTURES.items():
            shutil.copyfile(Path(tmp) / name, HERE / target)
            print(f"wrote docs/{target} ({(HERE / target).stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
