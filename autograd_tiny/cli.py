"""The command line: `autograd-tiny train` (the main job) and `autograd-tiny graph`.

Nothing in the package imports this module except `__main__.py`. A mistake in the input, or a
run that cannot finish, is one line on stderr and exit status 2; Ctrl-C is exit status 130.
Neither prints a traceback, and neither leaves a half-written output folder behind.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import sys
import tempfile
import time
from typing import Any, NoReturn, TypedDict

from . import __version__, data, losses, nn, optim
from ._files import write_atomically
from .expr import shorten
from .see import plot


class CLIError(Exception):
    """A problem with the user's input, or a run that cannot go on: printed as one line, exit status 2."""


# ---------------------------------------------------------------------- train

class _Defaults(TypedDict):
    """The options whose default depends on the number of classes."""

    loss: str
    optimizer: str
    steps: int


# What `train` does with an option left out: micrograd's recipe (hinge loss, SGD with lr decaying
# linearly from 1.0 to 0.1) for two classes; softmax cross-entropy and Adam for more classes.
_TWO_CLASSES: _Defaults = {"loss": "hinge", "optimizer": "sgd", "steps": 100}
_MORE_CLASSES: _Defaults = {"loss": "cross_entropy", "optimizer": "adam", "steps": 200}
_DEFAULT_LR = {"sgd": 1.0, "adam": 0.05, "adamw": 0.05}
_DEFAULT_LR_SGD_MSE = 0.2  # squared errors have larger gradients: lr 1.0 diverges
_DEFAULT_SAMPLES = "200"
_DEFAULT_HIDDEN = "16,16"
_LOSSES = ("hinge", "mse", "bce", "cross_entropy")
_OPTIMIZERS = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW}
_SCHEDULES = ("linear", "cosine", "constant")
_INITS = ("kaiming", "uniform")
_OUTPUTS = ("model.json", "loss.png", "decision_boundary.png", "run.json")

# The handwritten digits (data.digits) are images, not points of the plane: 64 pixels scaled to
# [0, 1], ten classes, 1,348 training images, so they train in minibatches, by the epoch. These
# defaults reach 96.4-97.6% test accuracy (seeds 0, 1, 2) in about 13 s of CPU time, pictures
# included (benchmarks/bench_digits.py).
DIGITS = "digits"
_DIGITS_HIDDEN, _DIGITS_EPOCHS, _DIGITS_BATCH_SIZE = "32", 10, 32
_DIGITS_LR = {"sgd": 0.5, "adam": 0.02, "adamw": 0.02}  # sgd: 96.0% (seed 0); 0.1 only 92.2%
_DIGITS_OUTPUTS = ("model.json", "loss.png", "test_digits.png", "confusion_matrix.png", "run.json")
_DIGITS_SHOWN = 50  # test digits in the picture, the wrong ones first (up to half of them)

# Sizes past these are surely mistakes: refused before any work, with the limit in the message.
MAX_SAMPLES = 100_000
MAX_STEPS = 100_000
MAX_LAYERS = 100
MAX_WIDTH = 10_000  # neurons in one layer
# One step's graph holds about 32 bytes per (parameter, training point), and a step takes about
# 0.35 s per million of them (measured): 1e7 is a third of a GB and several seconds a step.
MAX_WORK = 10_000_000
_BYTES_PER_WORK = 32
# Steps the training view keeps whole: each holds every training point's graph (about 0.4 KB
# and a forward and backward pass per point), or for the digits 20 digits' graphs and every
# weight (about 33 KB of the page); the loss of every step is kept.
_VIEW_STEPS = 25
# A loss this many times above where it started (or above 1, if it started lower) has diverged.
_EXPLODED = 1e4


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `autograd-tiny train`."""
    parser.description = (
        "Train an MLP on a toy two-dimensional dataset, or on the 8x8 handwritten digits, print its train "
        "and test accuracy, and write the model (JSON), its loss curve and its decision boundary (PNG; for "
        "the digits: test digits with their predicted labels and a confusion matrix) to a folder. "
        "With no options: micrograd's recipe on 200 moons points, a quarter held out for testing."
    )
    parser.epilog = ("examples: autograd-tiny train --data spirals --hidden 32,32 --steps 300; "
                     "autograd-tiny train --data digits --epochs 5")
    add = parser.add_argument
    names = ", ".join(name.replace("_", "-") for name in data.DATASETS)
    # Values are read as text and checked in run_train, so every mistake is one clear line.
    add("--data", default="moons", metavar="NAME",
        help=f"the dataset: {names}, or {DIGITS} (1,797 real 8x8 images of the digits 0-9) (default: moons)")
    add("--samples", metavar="N",  # the default is filled in by _train_settings: the digits take no --samples
        help=f"number of points, a quarter of them held out for testing (default: {_DEFAULT_SAMPLES}; "
             f"at most {MAX_SAMPLES:,}; not for {DIGITS}, which are all used)")  # fmt: skip
    add("--hidden", metavar="SIZES",
        help=f"hidden layer sizes, comma-separated; '' for none (default: {_DEFAULT_HIDDEN}; "
             f"{_DIGITS_HIDDEN} for {DIGITS})")  # fmt: skip
    add("--activation", default="relu", metavar="NAME",
        help=f"hidden activation: {', '.join(nn.ACTIVATIONS)} (default: relu)")
    add("--init", default="kaiming", metavar="NAME",
        help="weights: kaiming (scaled by fan-in) or uniform (micrograd's, in [-1, 1]) (default: kaiming)")
    add("--loss", metavar="NAME",
        help=f"{', '.join(_LOSSES)} (default: hinge for two classes, cross_entropy for three or more)")
    add("--l2", default="1e-4", metavar="ALPHA", help="L2 penalty added to the loss (default: 1e-4, as micrograd)")
    add("--optimizer", metavar="NAME", help="sgd, adam or adamw (default: sgd for two classes, adam for more)")
    add("--lr", metavar="LR",
        help=f"learning rate (default: 1.0 for sgd, 0.2 for sgd with mse, 0.05 for adam and adamw; "
             f"for {DIGITS}: 0.5 for sgd, 0.02 for adam and adamw)")  # fmt: skip
    add("--schedule", default="linear", metavar="NAME",
        help="learning rate over the run: linear (down to lr/10, as micrograd), cosine (down to 0) or "
             "constant (default: linear)")  # fmt: skip
    add("--steps", metavar="N",
        help=f"training steps, each an update from one batch (default: 100 for two classes, 200 for more; "
             f"at most {MAX_STEPS:,}); or give --epochs")  # fmt: skip
    add("--epochs", metavar="N",
        help=f"passes over the training points, each in steps of --batch-size points; instead of --steps "
             f"(default: {_DIGITS_EPOCHS} for {DIGITS}, else --steps)")  # fmt: skip
    add("--batch-size", metavar="N",
        help=f"training points per step, in a new random order every epoch (default: all of them, one step "
             f"per epoch; {_DIGITS_BATCH_SIZE} for {DIGITS})")  # fmt: skip
    add("--seed", default="0", metavar="N",
        help="seeds the data, the train/test split, the weights and the batches, from 0 to 2**32 - 1 (default: 0)")
    add("--out", metavar="DIR",
        help="output folder, made if needed (default: autograd_tiny_runs/<data>-seed<seed>-<date>-<time>)")
    add("--html", action="store_true",  # the explorer
        help="also write training.html: step through the run (loss, boundary, and any training point's "
             f"graph, one box per neuron; for {DIGITS}: 20 training digits, each with its class probabilities "
             "and graph) (default: off)")
    add("--compile", action="store_true",  # compile
        help="run each step's forward and backward pass as plain-Python code that autograd_tiny.compile "
             "writes once per batch size (the labels are read anew on every step): the same numbers, each "
             "step 3 to 6 times faster (default: off)")


def run_train(args: argparse.Namespace) -> int:
    """Train a small MLP and write its model, loss curve and decision boundary (or, for the digits, its pictures)."""
    _check_path("--out", args.out, "a folder, e.g. --out runs/moons, or leave the option out for a new one")
    run = _train_settings(args)
    X_train, X_test, y_train, y_test = data.train_test_split(run["X"], run["y"], test_fraction=0.25, seed=run["seed"])
    out = args.out if args.out is not None else _new_folder_name(run["data"], run["seed"])
    made = _outermost_missing(out)  # what this run makes, and so removes if it does not finish
    written: list[str] = []
    try:
        _make_folder(out)
        model = nn.MLP(len(run["X"][0]), [*run["hidden"], run["outputs"]], activation=run["activation"],
                       seed=run["seed"], init=run["init"])
        opt = _OPTIMIZERS[run["optimizer"]](model.parameters(), lr=run["lr"])
        schedule = _schedule(opt, run["schedule"], run["steps"])
        kind = "images" if run["data"] == DIGITS else "points"
        print(f"autograd-tiny train: {run['data']} ({len(X_train)} training and {len(X_test)} test {kind}), "
              f"{model!r}, {run['loss']} loss + {run['l2']:g} L2, {type(opt).__name__} {_lr_words(run)}, "
              f"{_length_words(run, len(X_train))}, seed {run['seed']}", flush=True)
        recorder = _training_recorder(model, run, X_train, y_train) if getattr(args, "html", False) else None
        history = _fit(model, opt, schedule, run, X_train, y_train, recorder, test=(X_test, y_test))
        run["train_accuracy"] = data.accuracy(plot.predict(model, X_train), y_train)
        run["test_accuracy"] = data.accuracy(plot.predict(model, X_test), y_test)
        run["split"] = X_train, X_test, y_train, y_test
        print(f"train accuracy {run['train_accuracy']:.1%} ({len(X_train)} points), "
              f"test accuracy {run['test_accuracy']:.1%} ({len(X_test)} points)")
        try:
            files = _write_outputs(out, model, history, run, written)
            if recorder is not None:
                files.update(_write_training_view(recorder, out, written))
        except (OSError, ValueError) as err:  # a full disk, a folder removed under us, a model that cannot be saved
            what = err.strerror if isinstance(err, OSError) and err.strerror else err
            raise CLIError(f"cannot write the outputs to {shorten(out, 200)!r} ({what})") from None
    except BaseException as err:
        outputs = _DIGITS_OUTPUTS if run["data"] == DIGITS else _OUTPUTS
        note = _clean_up(out, made, written, outputs)  # no folder left half-written without a word
        if isinstance(err, KeyboardInterrupt):
            raise KeyboardInterrupt(note) from None
        if isinstance(err, CLIError):
            raise CLIError(f"{err}; {note}" if note else str(err)) from None
        raise
    print(f"outputs in {out}{os.sep}")
    width = max(map(len, files))
    for name, what in files.items():
        print(f"  {name:<{width}}  {what}")
    return 0


def _check_path(option: str, path: str | None, what: str) -> None:
    """Refuse a blank path given to an option (an empty shell variable, say): it names no file."""
    if path is not None and not path.strip():
        raise CLIError(f"{option}: {path!r} is not a path; give {what}")


def _outermost_missing(path: str) -> str | None:
    """The outermost folder on `path` that does not exist yet (None if `path` exists)."""
    path, missing = os.path.abspath(path), None
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path, missing = os.path.dirname(path), path
    return missing


def _clean_up(out: str, made: str | None, written: list[str], outputs: tuple[str, ...] = _OUTPUTS) -> str:
    """After a failed or interrupted run: remove the folders this run made; otherwise say what `out` holds."""
    if made is not None and os.path.isdir(out):
        for name in os.listdir(out):
            # ours: the outputs, the write test, and atomic writes' temporary files (.model.json.x1y2.tmp)
            if name in outputs or name.startswith((".write-test-", *(f".{o}." for o in outputs))):
                os.unlink(os.path.join(out, name))
        folder = os.path.abspath(out)
        try:
            while True:  # out, then each parent this run made, up to `made`
                os.rmdir(folder)
                if folder == made:
                    break
                folder = os.path.dirname(folder)
        except OSError:
            return f"{shorten(out, 200)} holds partial results" if os.path.isdir(out) else ""
        return f"removed the unfinished {shorten(out, 200)}" if written else ""
    if written:
        missing = [name for name in outputs if name not in written]
        return f"{shorten(out, 200)} holds partial results ({', '.join(written)} written; not {', '.join(missing)})"
    return ""


def _train_settings(args: argparse.Namespace) -> dict:
    """Every option checked and every default filled in; the dataset made (its classes decide defaults)."""
    name = args.data.strip().lower().replace("-", "_")  # yin-yang or yin_yang
    if name not in data.DATASETS and name != DIGITS:
        choices = ", ".join([*(n.replace("_", "-") for n in data.DATASETS), DIGITS])
        raise CLIError(f"--data: unknown dataset {shorten(args.data)!r} (choose from {choices})")
    digits = name == DIGITS
    if digits:
        _refuse_for_digits(args)
    seed = _int_option("--seed", args.seed, least=0, most=2**32 - 1)
    if digits:
        X, y = data.digits(scaled=True)
        samples = len(X)
    else:
        samples = _int_option("--samples", args.samples if args.samples is not None else _DEFAULT_SAMPLES,
                              least=4, most=MAX_SAMPLES)
    hidden = _hidden_sizes(args.hidden if args.hidden is not None else
                           _DIGITS_HIDDEN if digits else _DEFAULT_HIDDEN)
    steps = None if args.steps is None else _int_option("--steps", args.steps, least=1, most=MAX_STEPS)
    epochs = None if args.epochs is None else _int_option("--epochs", args.epochs, least=1, most=MAX_STEPS)
    if steps is not None and epochs is not None:
        raise CLIError(f"give --steps or --epochs, not both (got --steps {steps} and --epochs {epochs})")
    training_points = samples - max(1, round(samples * 0.25))  # as train_test_split counts them
    if args.batch_size is not None:
        batch_size = min(_int_option("--batch-size", args.batch_size, least=1, most=MAX_SAMPLES), training_points)
    else:
        batch_size = _DIGITS_BATCH_SIZE if digits else training_points
    if not digits:
        X, y = data.DATASETS[name](samples, seed=seed)
    classes = max(max(y) + 1, 2)  # it decides the defaults
    defaults = _TWO_CLASSES if classes == 2 else _MORE_CLASSES

    loss = _choice("--loss", "loss", args.loss or defaults["loss"], _LOSSES)
    if loss != "cross_entropy" and classes != 2:
        raise CLIError(f"--loss {loss} needs two classes, but {name} has {classes}: use --loss cross_entropy")
    optimizer = _choice("--optimizer", "optimizer", args.optimizer or defaults["optimizer"], _OPTIMIZERS)
    default_lr = _DEFAULT_LR_SGD_MSE if (optimizer, loss) == ("sgd", "mse") else _DEFAULT_LR[optimizer]
    lr = _float_option("--lr", args.lr, _DIGITS_LR[optimizer] if digits else default_lr)
    if lr <= 0:
        raise CLIError(f"--lr must be > 0, got {shorten(args.lr)}")
    l2 = _float_option("--l2", args.l2, 0.0)
    if l2 < 0:
        raise CLIError(f"--l2 must be >= 0, got {shorten(args.l2)}")
    activation = _choice("--activation", "activation", args.activation, nn.ACTIVATIONS)
    init = _choice("--init", "initialisation", args.init, _INITS)
    schedule = _choice("--schedule", "schedule", args.schedule, _SCHEDULES)
    outputs = classes if loss == "cross_entropy" else 1
    _check_work(len(X[0]), hidden, outputs, batch_size, batched=batch_size < training_points,
                text=args.hidden if args.hidden is not None else ",".join(map(str, hidden)))
    steps_per_epoch = -(-training_points // batch_size)
    if epochs is None and steps is None:
        epochs = _DIGITS_EPOCHS if digits else None
    if epochs is not None:
        steps = epochs * steps_per_epoch
        if steps > MAX_STEPS:
            raise CLIError(f"--epochs {epochs:,} is too long: {steps:,} steps of {batch_size} points, "
                           f"at most {MAX_STEPS:,}")
    return {
        "data": name, "X": X, "y": y, "samples": samples, "seed": seed,
        "hidden": hidden, "activation": activation, "init": init,
        "loss": loss, "outputs": outputs, "l2": l2,
        "optimizer": optimizer, "lr": lr, "schedule": schedule,
        "steps": steps if steps is not None else defaults["steps"],
        "batch_size": batch_size, "steps_per_epoch": steps_per_epoch,
        "compile": args.compile,  # compile
    }


def _refuse_for_digits(args: argparse.Namespace) -> None:
    """The options that make no sense for 8x8 images: a one-line CLIError naming the first one given."""
    if args.samples is not None:
        raise CLIError(f"--samples: {DIGITS} are a fixed set of images, all used (a quarter held out for "
                       "testing); leave --samples out, and shorten a run with --epochs")


def _choice(option: str, what: str, text: str, choices) -> str:
    if text not in choices:
        raise CLIError(f"{option}: unknown {what} {shorten(text)!r} (choose from {', '.join(choices)})")
    return text


def _int_option(option: str, text, least: int, most: int | None = None) -> int:
    text = str(text).strip()
    if not re.fullmatch(r"[-+]?[0-9]+", text):
        raise CLIError(f"{option} must be a whole number, got {shorten(text)!r}")
    if len(text.lstrip("+-0")) > 18:  # int() refuses numbers past 4,300 digits; none past 18 makes sense here
        raise CLIError(f"{option} {shorten(text)} is too large" + (f": at most {most:,}" if most is not None else ""))
    value = int(text)
    if value < least:
        raise CLIError(f"{option} must be at least {least}, got {value}")
    if most is not None and value > most:
        raise CLIError(f"{option} {value:,} is too large: at most {most:,}")
    return value


def _float_option(option: str, text: str | None, default: float) -> float:
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise CLIError(f"{option} must be a number, got {shorten(text)!r}") from None
    if not math.isfinite(value):
        raise CLIError(f"{option} must be a finite number, got {shorten(text)!r}")
    return value


def _hidden_sizes(text: str) -> list[int]:
    """'16,16' -> [16, 16]; '' or 'none' -> [] (a linear model)."""
    if text.strip().lower() in ("", "none"):
        return []
    parts = [part.strip() for part in text.split(",")]
    if not all(re.fullmatch("[0-9]+", part) and part.strip("0") for part in parts):
        raise CLIError(f"--hidden must be layer sizes >= 1 separated by commas, like 16,16; got {shorten(text)!r}")
    if len(parts) > MAX_LAYERS:
        raise CLIError(f"--hidden: {len(parts):,} hidden layers is too many: at most {MAX_LAYERS}")
    for part in parts:
        if len(part.lstrip("0")) > 9 or int(part) > MAX_WIDTH:
            raise CLIError(f"--hidden: a layer of {shorten(part)} neurons is too large: at most {MAX_WIDTH:,}")
    return [int(part) for part in parts]


def _check_work(inputs: int, hidden: list[int], outputs: int, points: int, batched: bool, text: str) -> None:
    """Refuse a network and batch whose training step would not fit in memory, before building anything."""
    sizes = [inputs, *hidden, outputs]
    parameters = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    work = parameters * points
    if work > MAX_WORK:
        need = work * _BYTES_PER_WORK / 1e9
        batches = "batches of " if batched else ""
        raise CLIError(f"--hidden {shorten(text, 30)} on {batches}{points:,} training points is too large: "
                       f"{parameters:,} parameters x {points:,} points = {work:,} per step (a graph of about "
                       f"{need:.2g} GB), more than the limit of {MAX_WORK:,}; use smaller --hidden, fewer "
                       "--samples or a smaller --batch-size")


def _new_folder_name(name: str, seed: int) -> str:
    """autograd_tiny_runs/<data>-seed<seed>-<date>-<time>, with a number added if two runs share a second."""
    base = os.path.join("autograd_tiny_runs", f"{name}-seed{seed}-{time.strftime('%Y%m%d-%H%M%S')}")
    out, n = base, 1
    while os.path.exists(out):
        n += 1
        out = f"{base}-{n}"
    return out


def _make_folder(out: str) -> None:
    """Make the output folder (if needed) and check that it takes files, before any training."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise CLIError(f"--out: {shorten(out, 200)!r} is not a folder")
    try:
        os.makedirs(out, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise CLIError(f"--out: cannot write to folder {shorten(out, 200)!r} ({err.strerror or err})") from None


def _schedule(opt: optim.Optimizer, name: str, steps: int) -> optim.LRScheduler | None:
    if name == "linear":  # micrograd: lr = 1.0 - 0.9 * k / 100 over 100 steps
        return optim.LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=steps)
    if name == "cosine":
        return optim.CosineAnnealingLR(opt, T_max=steps)
    return None


def _loss_function(name: str):
    """The chosen loss as a function of the model's outputs on a batch and the batch's labels."""
    loss, targets = _loss_of_targets(name), _targets(name)
    return lambda outputs, labels: loss(outputs, targets(labels))


def _loss_of_targets(name: str):
    """The chosen loss as a function of the model's outputs on a batch and the batch's `_targets`."""
    return {"hinge": losses.hinge, "mse": losses.mse, "bce": losses.bce_with_logits}.get(name, losses.cross_entropy)


def _targets(name: str):
    """What the chosen loss compares the outputs with, from a batch's labels: -1 / +1 for hinge and
    mse (which regresses the score onto them), the probability of class 1 for bce, the class for
    cross_entropy."""
    if name in ("hinge", "mse"):
        return data.signed_labels
    if name == "bce":
        return lambda labels: [float(label) for label in labels]
    return list


def _fit(model: nn.MLP, opt: optim.Optimizer, schedule, run: dict, X: list, y: list, recorder=None,
         test: tuple[list, list] | None = None) -> dict:
    """The training loop; returns the loss and training accuracy at every step (and records
    each step in `recorder`, a TrainingRecorder, if given).

    A step is one update from a batch of ``run["batch_size"]`` training points; an epoch is one
    pass over all of them. When a batch holds fewer than all the points, the result also has
    ``"epochs"``: the loss and training accuracy averaged over each epoch's points, and the
    accuracy on `test` = (X_test, y_test) after each epoch; progress is then shown by epoch.

    It stops with a CLIError as soon as the run diverges: a loss or a weight that is no longer
    finite, or a loss `_EXPLODED` times above where it started.
    """
    batch_loss, targets = _loss_of_targets(run["loss"]), _targets(run["loss"])
    params = model.parameters()
    history: dict[str, Any] = {"loss": [], "train accuracy": []}
    per_epoch = run["steps_per_epoch"]
    by_epoch: dict[str, list[float]] | None = (
        {"loss": [], "train accuracy": [], "test accuracy": []} if per_epoch > 1 else None)
    report, close = _progress(-(-run["steps"] // per_epoch), "step" if by_epoch is None else "epoch")

    def forward(xb: list, tb: list):  # tb: the batch's targets, made from its labels outside (see _compiled)
        outputs = [model(x) for x in xb]
        loss = batch_loss(outputs, tb)
        if run["l2"]:
            loss = loss + losses.l2(params, run["l2"])
        return loss, outputs

    compiled = _compiled(forward) if run["compile"] else None  # compile
    batches = _batches(len(X), run["batch_size"], run["seed"])
    epoch_loss = epoch_right = epoch_points = 0.0  # sums over the epoch so far
    try:
        for step in range(1, run["steps"] + 1):
            batch = next(batches)
            xb, yb = [X[i] for i in batch], [y[i] for i in batch]
            if compiled is None:
                loss, outputs = forward(xb, targets(yb))
                loss_value = loss.data
            else:  # compile: forward and backward in one call, which returns numbers
                opt.zero_grad()
                loss_value, outputs = compiled(xb, targets(yb))
            first = history["loss"][0] if history["loss"] else loss_value
            if not math.isfinite(loss_value) or loss_value > _EXPLODED * max(first, 1.0):
                _diverged(run, step, f"the loss went from {first:.3g} to {loss_value:.3g}")
            if compiled is None:
                opt.zero_grad()
                loss.backward()
            right = sum(plot.label_of(o) == label for o, label in zip(outputs, yb))  # before this step's update
            if recorder is not None:  # the weights and gradients of this step, before the update
                recorder.record(loss_value, accuracy=right / len(yb))
            opt.step()
            if not all(math.isfinite(p.data) for p in params):
                _diverged(run, step, "a weight became infinite or nan")
            if schedule is not None:
                schedule.step()
            history["loss"].append(loss_value)
            history["train accuracy"].append(right / len(yb))
            epoch_loss += loss_value * len(yb)
            epoch_right += right
            epoch_points += len(yb)
            if step % per_epoch == 0 or step == run["steps"]:  # the end of an epoch
                tested = None
                if by_epoch is not None:
                    by_epoch["loss"].append(epoch_loss / epoch_points)
                    by_epoch["train accuracy"].append(epoch_right / epoch_points)
                    if test is not None:
                        tested = data.accuracy(plot.predict(model, test[0]), test[1])
                        by_epoch["test accuracy"].append(tested)
                report(-(-step // per_epoch), epoch_loss / epoch_points, epoch_right / epoch_points, tested)
                epoch_loss = epoch_right = epoch_points = 0.0
    finally:
        close()
    if by_epoch is not None:
        history["epochs"] = {name: values for name, values in by_epoch.items() if values}
    return history


def _batches(n: int, size: int, seed: int):
    """The indices of each step's training points, endlessly: all of them in order when `size`
    is n; otherwise every epoch a new random order, cut into batches of `size` (the last one
    smaller, as PyTorch's DataLoader), from a generator of its own seeded by `seed`."""
    if size >= n:
        while True:
            yield range(n)
    rng = random.Random(f"batches {seed}")  # not random.Random(seed): that one shuffled the split
    order = list(range(n))
    while True:
        rng.shuffle(order)
        for start in range(0, n, size):
            yield order[start:start + size]


def _compiled(forward):
    """compile: forward's loss and outputs on a batch, computed (with the gradients) by the code
    autograd_tiny.compile writes; the outputs come back as Values holding its numbers, for
    plot.label_of. The batch is passed as arguments: its points or pixels (floats) and its
    targets (the labels as the loss takes them: ints for hinge and cross_entropy) are numbers
    the code reads anew on every call, so that only a batch of another size traces again. The
    labels become targets before the call: checking 0/1 labels compares each with 0 and 1,
    whose outcomes differ from label to label, and the code would check each label apart."""
    from .compiler import compile  # only with --compile
    from .engine import Value

    step = compile(forward)

    def run(xb: list, yb: list) -> tuple[float, list]:
        loss, numbers = step(xb, yb)
        return loss, [Value(o) if isinstance(o, float) else [Value(v) for v in o] for o in numbers]

    return run


def _diverged(run: dict, step: int, what: str) -> None:
    lr = run["lr"]
    raise CLIError(f"training diverged at step {step}: {what}; the learning rate is likely too large "
                   f"(--lr {lr:g}): try --lr {lr / 10:g}")


def _progress(total: int, unit: str = "step"):
    """(report, close): tqdm's progress bar on a terminal, if tqdm is installed; else a line every
    tenth of the run. `unit` is what is counted: "step", or "epoch" for a run in minibatches,
    whose reports also give the test accuracy."""
    try:
        if not sys.stderr.isatty():  # no bar in logs and pipes: it would fill them with carriage returns
            raise ImportError
        from tqdm import tqdm
    except ImportError:
        every = max(1, total // 10)

        def print_line(k: int, loss: float, accuracy: float, tested: float | None = None) -> None:
            if k % every == 0 or k == total:
                test = "" if tested is None else f"  test accuracy {tested:.1%}"
                print(f"{unit} {k:>{len(str(total))}}/{total}  loss {loss:.4g}  accuracy {accuracy:.1%}{test}",
                      flush=True)

        return print_line, lambda: None
    bar = tqdm(total=total, desc="training", unit=unit, file=sys.stderr)

    def update_bar(k: int, loss: float, accuracy: float, tested: float | None = None) -> None:
        test = "" if tested is None else f", test accuracy {tested:.1%}"
        bar.set_postfix_str(f"loss {loss:.4g}, accuracy {accuracy:.1%}{test}", refresh=False)
        bar.update(1)

    return update_bar, bar.close


def _length_words(run: dict, training_points: int) -> str:
    """How long the run is: its steps, and in minibatches its epochs and batch size."""
    if run["steps_per_epoch"] == 1:
        return f"{run['steps']} steps"
    epochs = run["steps"] / run["steps_per_epoch"]
    return (f"{epochs:.3g} epochs of {run['steps_per_epoch']} steps ({run['steps']} in all), batches of "
            f"{run['batch_size']} of the {training_points} training points")


def _lr_words(run: dict) -> str:
    lr = run["lr"]
    return {"linear": f"lr {lr:g} -> {lr / 10:g} linearly", "cosine": f"lr {lr:g} -> 0 (cosine)",
            "constant": f"lr {lr:g}"}[run["schedule"]]


def _write_outputs(out: str, model: nn.MLP, history: dict, run: dict, written: list[str]) -> dict[str, str]:
    """model.json, the pictures (if matplotlib is there) and run.json; returns {file: what it holds}.

    Each file's name goes into `written` once it is complete, so a failure can say what is there.
    """
    files = {"model.json": "the trained model (autograd_tiny.nn.load reads it)"}
    model.save(os.path.join(out, "model.json"))
    written.append("model.json")
    title = f"{run['data']}: train {run['train_accuracy']:.1%}, test {run['test_accuracy']:.1%}"
    X_train, X_test, y_train, y_test = run["split"]
    try:
        if "epochs" in history:  # a run in minibatches: its curves by epoch
            plot.plot_loss(history["epochs"], os.path.join(out, "loss.png"), title=title, xlabel="epoch")
            written.append("loss.png")
            files["loss.png"] = "loss and accuracy (training, and test) by epoch"
        else:
            plot.plot_loss(history, os.path.join(out, "loss.png"), title=title)
            written.append("loss.png")
            files["loss.png"] = "loss and training accuracy at every step"
        if run["data"] == DIGITS:
            files.update(_write_digit_pictures(out, model, run, written))
        else:
            plot.plot_decision_boundary(model, X_train, y_train, os.path.join(out, "decision_boundary.png"),
                                        X_test=X_test, y_test=y_test, title=title)
            written.append("decision_boundary.png")
            files["decision_boundary.png"] = ("the model's score over the plane, its boundary, "
                                              "training points (o) and test points (^)")
    except ModuleNotFoundError as err:
        if err.name != "matplotlib":
            raise
        print(f"autograd-tiny: no pictures, matplotlib is not installed: {plot.INSTALL_HINT}", file=sys.stderr)
    summary = {key: run[key] for key in ("data", "samples", "hidden", "activation", "init", "loss", "l2",
                                         "optimizer", "lr", "schedule", "steps", "batch_size", "seed")}
    if run["data"] == DIGITS:
        summary["inputs"] = f"the 64 pixels divided by {data.DIGITS_INK}, row by row"
    summary.update(train_points=len(X_train), test_points=len(X_test), train_accuracy=run["train_accuracy"],
                   test_accuracy=run["test_accuracy"], history=history)
    write_atomically(os.path.join(out, "run.json"), json.dumps(summary, indent=1) + "\n")
    written.append("run.json")
    files["run.json"] = "the settings, and the loss and accuracy at every step" + (
        " and epoch" if "epochs" in history else "")
    return files


def _write_digit_pictures(out: str, model: nn.MLP, run: dict, written: list[str]) -> dict[str, str]:
    """test_digits.png (test digits with the model's labels, its mistakes first) and confusion_matrix.png."""
    X_test, y_test = run["split"][1], run["split"][3]
    predicted = plot.predict(model, X_test)
    wrong = [i for i, (p, t) in enumerate(zip(predicted, y_test)) if p != t]
    right = [i for i, (p, t) in enumerate(zip(predicted, y_test)) if p == t]
    shown_wrong = wrong[:_DIGITS_SHOWN // 2]
    shown = sorted(shown_wrong + right[:_DIGITS_SHOWN - len(shown_wrong)])
    if not wrong:
        mistakes = "no mistakes"
    else:
        some = "" if len(shown_wrong) == len(wrong) else f"{len(shown_wrong)} of "
        mistakes = f"{some}its {len(wrong)} mistake{'s' if len(wrong) > 1 else ''} in red"
    plot.plot_digits([X_test[i] for i in shown], [y_test[i] for i in shown], os.path.join(out, "test_digits.png"),
                     predicted=[predicted[i] for i in shown],
                     title=f"{len(shown)} of the {len(X_test)} test digits, labelled by the model: {mistakes}")
    written.append("test_digits.png")
    matrix = data.confusion_matrix(predicted, y_test, classes=run["outputs"])
    plot.plot_confusion_matrix(matrix, os.path.join(out, "confusion_matrix.png"),
                               title=f"{run['data']}: test accuracy {run['test_accuracy']:.1%}")
    written.append("confusion_matrix.png")
    return {"test_digits.png": "test digits with the model's labels; its mistakes in red, with the true label",
            "confusion_matrix.png": "how often each test digit was taken for each other one"}


# ---------------------------------------------------------------------- the explorer's pages


def _training_recorder(model: nn.MLP, run: dict, X: list, y: list):
    """A TrainingRecorder keeping about `_VIEW_STEPS` steps whole (and the last), with the
    training points' graphs (up to the recorder's `follow`; for the digits, two of each class),
    each point's loss being the run's loss on that point alone."""
    from .see.training_view import TrainingRecorder

    loss = _loss_function(run["loss"])

    def point_loss(output, i):
        return loss([output], [y[i]])

    return TrainingRecorder(model, X, y, point_loss=point_loss, every=max(1, run["steps"] // _VIEW_STEPS))


def _write_training_view(recorder, out: str, written: list[str]) -> dict[str, str]:
    """Write training.html; without Graphviz's dot, say so and carry on (as without matplotlib)."""
    from .see.dot import RenderError

    path = os.path.join(out, "training.html")
    try:
        recorder.save(path)
    except RenderError as err:  # no dot (GraphvizNotFoundError), or dot failed
        print(f"autograd-tiny: no training.html: {err}", file=sys.stderr)
        return {}
    written.append("training.html")
    if not recorder.plane:
        return {"training.html": f"step through the run: loss, and {len(recorder.followed)} training digits' "
                                 "class probabilities and graphs (opens offline)"}
    return {"training.html": "step through the run: loss, boundary, any point's graph (opens offline)"}


def _write_explorer(out, path: str, max_nodes: int, practice: bool = False) -> None:
    """`graph --html`: the page that steps through the forward and backward pass of `out`;
    `graph --practice`: the same page asking for each gradient, edge by edge."""
    from .see.dot import RenderError
    from .see.explorer import explore
    from .see.trace import GraphTooLargeError

    try:
        written = explore(out, max_nodes=max_nodes, practice=practice).save(path)
    except (RenderError, RuntimeError) as err:  # no dot (GraphvizNotFoundError), or dot failed
        raise CLIError(f"graph: cannot write {shorten(path, 200)!r}: {err}") from None
    except GraphTooLargeError as err:
        raise CLIError(f"graph: {err}") from None
    except OSError as err:
        raise CLIError(f"graph: cannot write {shorten(path, 200)!r}: {err.strerror or err}") from None
    print(f"wrote {written}")


# ---------------------------------------------------------------------- graph

DEFAULT_DRAWING = "graph.svg"


def add_graph_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `autograd-tiny graph`."""
    parser.description = (
        "Evaluate an expression such as \"tanh(x*w + b)\" with the given inputs, run backward(), "
        f"print the output and every input's gradient, and draw the graph (to {DEFAULT_DRAWING} unless -o "
        "says where). Allowed: numbers, names, + - * / **, and tanh exp log relu sigmoid sqrt abs sin cos "
        "softplus leaky_relu(x, slope=0.01), as functions or methods ((x*2 + 1).relu()). Put -- before an "
        "expression starting with '-', and any option before the --."
    )
    add = parser.add_argument
    add("expression", help='the expression, e.g. "tanh(x*w + b)"')
    add("inputs", nargs="*", metavar="NAME=NUMBER", help="a value for each name, e.g. x=1")
    add("-o", "--output", metavar="FILE",
        help=f"write the drawing here: .svg .png .pdf, or .dot (needs no Graphviz) (default: {DEFAULT_DRAWING}, "
             "replaced if it exists)")  # fmt: skip
    add("--no-draw", action="store_true", help="print the numbers only, draw nothing (default: off)")
    add("--rankdir", choices=("LR", "TB", "RL", "BT"), default="LR",
        help="direction of the drawing (default: LR, left to right)")
    add("--hide-grad", action="store_true", help="show data only, no gradients (default: off)")
    add("--color-by-grad", action="store_true", help="shade each value by |grad| (default: off)")
    add("--number-backward", action="store_true",
        help="number the ops in the order backward() visits them (default: off)")
    add("--legend", action="store_true", help="add a key of the kinds of node (default: off)")
    add("--max-nodes", default="1000", metavar="N", help="refuse to draw more nodes than this (default: 1000)")
    add("--html", metavar="FILE",  # the explorer
        help="also write a page that steps through the forward and backward pass (opens offline) (default: none)")
    add("--practice", metavar="FILE",  # the explorer, as questions
        help="also write a practice page: work out each gradient of the backward pass, checked edge by edge "
             "(opens offline) (default: none)")  # fmt: skip


def _graph_inputs(pairs: list[str], after_dashes: bool) -> dict[str, float]:
    """NAME=NUMBER arguments as a dict; a one-line CLIError for anything else."""
    import unicodedata

    values: dict[str, float] = {}
    for i, pair in enumerate(pairs, start=1):
        name, eq, text = pair.partition("=")
        name = unicodedata.normalize("NFC", name.strip())
        if pair.startswith("-") and after_dashes:
            raise CLIError(f"graph: input {i} is {shorten(pair)!r}: after '--', every argument is the expression "
                           "or an input, so put options before the '--'")  # fmt: skip
        if not eq or not name.isidentifier():
            raise CLIError(f"graph: input {i} is {shorten(pair)!r}; give inputs as NAME=NUMBER, e.g. x=1.5")
        if name in values:
            raise CLIError(f"graph: input {i}: {shorten(name)!r} is given twice")
        try:
            values[name] = float(text)
        except ValueError:
            why = f"bad value for {shorten(name)!r}: {shorten(text)!r} is not a number"
            raise CLIError(f"graph: input {i}: {why}") from None
        if not math.isfinite(values[name]):
            raise CLIError(f"graph: input {i}: {shorten(name)!r} must be a finite number, got {shorten(text)!r}")
    return values


def run_graph(args: argparse.Namespace) -> int:
    """Evaluate an expression, back-propagate, print the gradients and draw the graph."""
    from pathlib import Path

    from .expr import ExprError, evaluate, parse
    from .see.dot import INSTALL_HINT, GraphvizNotFoundError, RenderError
    from .see.draw import SUFFIX_FORMATS, draw_dot, save_graph
    from .see.trace import GraphTooLargeError

    _check_path("graph: -o/--output", args.output, f"the drawing's file name, e.g. -o {DEFAULT_DRAWING}")
    _check_path("graph: --html", args.html, "the page's file name, e.g. --html graph.html")
    path = args.output if args.output is not None else DEFAULT_DRAWING
    if Path(path).suffix.lower() not in SUFFIX_FORMATS:
        raise CLIError(f"graph: cannot tell the format of {shorten(path, 200)!r} from its suffix; "
                       "use .svg, .png, .pdf or .dot")  # fmt: skip
    max_nodes = _int_option("graph: --max-nodes", args.max_nodes, least=1)
    values = _graph_inputs(args.inputs, args.after_dashes)
    try:
        expression = parse(args.expression)
        unknown = [name for name in values if name not in expression.names]
        if unknown:
            uses = shorten(", ".join(expression.names)) if expression.names else "no names"
            raise CLIError(f"graph: unknown name {shorten(unknown[0])!r} (given as {shorten(unknown[0])}=...); "
                           f"the expression uses {uses}")  # fmt: skip
        out, inputs = evaluate(expression, values)
    except ExprError as err:
        raise CLIError(f"graph: {shorten(args.expression)!r}: {err}") from None
    out.backward()
    print(f"out = {out.data:.10g}")
    for name, value in inputs.items():
        print(f"{name}.grad = {value.grad:.10g}")
    if args.html is not None:
        _write_explorer(out, args.html, max_nodes)
    if args.practice:
        _write_explorer(out, args.practice, max_nodes, practice=True)
    if args.no_draw:
        return 0

    def cannot_draw(why: str) -> int:
        """With -o, an error; drawing to the default file is a convenience, so there a note."""
        if args.output:
            raise CLIError(f"graph: cannot write {shorten(path, 200)!r}: {why}")
        print(f"autograd-tiny: note: no drawing in {path}: {why}", file=sys.stderr)
        return 0

    try:
        drawing = draw_dot(
            out, rankdir=args.rankdir, show_grad=not args.hide_grad, color_by_grad=args.color_by_grad,
            number_backward=args.number_backward, legend=args.legend, max_nodes=max_nodes,
        )  # fmt: skip
        written = save_graph(drawing, path)
    except GraphvizNotFoundError:
        return cannot_draw(f"the Graphviz program 'dot' was not found on PATH; {INSTALL_HINT}, "
                           "or write the DOT source with -o graph.dot")  # fmt: skip
    except GraphTooLargeError:
        return cannot_draw(f"the graph has more than --max-nodes {max_nodes} nodes; raise --max-nodes to draw it "
                           "(Graphviz gets slow and the picture unreadable past a few hundred), or use --no-draw")
    except RenderError as err:  # dot failed, was killed, or ran out of time
        why = str(err)
        return cannot_draw(why.split(": ", 2)[-1] if why.startswith("save_graph: cannot write") else why)
    except OSError as err:
        return cannot_draw(str(err.strerror or err))
    print(f"wrote {written}")
    return 0


# ---------------------------------------------------------------------- entry point


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (a CLIError), not usage plus a message."""

    def error(self, message: str) -> NoReturn:
        words = self.prog.split()  # "autograd-tiny" or "autograd-tiny graph"
        where = f"{words[-1]}: " if len(words) > 1 else ""
        raise CLIError(f"{where}{message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    """The parser of `autograd-tiny` and its two subcommands."""
    parser = _Parser(
        prog="autograd-tiny",
        description="Train small neural networks and draw computation graphs with autograd_tiny.",
    )
    parser.add_argument("--version", action="version", version=f"autograd-tiny {__version__}")
    sub = parser.add_subparsers(dest="command")
    train = sub.add_parser("train", help="train an MLP on a toy dataset (the default)")
    add_train_arguments(train)
    train.set_defaults(run=run_train)
    graph = sub.add_parser("graph", help="evaluate an expression, print gradients, draw its graph")
    add_graph_arguments(graph)
    graph.set_defaults(run=run_graph)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `autograd-tiny` with the given arguments (the command line's by default); return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        for stream in (sys.stdout, sys.stderr):  # user text (file names, names) may hold bytes that are not UTF-8
            if hasattr(stream, "reconfigure"):
                stream.reconfigure(errors="backslashreplace")
        if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
            argv = ["train", *argv]  # no subcommand: the main job
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if extra and args.command == "graph" and not any(word.startswith("-") for word in extra):
            args.inputs += extra  # inputs after an option: argparse reads positionals in one go only
        elif extra:
            where = f"{args.command}: " if args.command else ""
            raise CLIError(f"{where}unrecognized arguments: {shorten(' '.join(extra))} (see --help)")
        args.after_dashes = "--" in argv
        return args.run(args)
    except CLIError as err:
        message = " ".join(str(err).split())  # one line, whatever the user's text held
        print(f"autograd-tiny: error: {shorten(message, 1000)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:
        note = f"; {stop.args[0]}" if stop.args and stop.args[0] else ""
        print(f"autograd-tiny: interrupted{note}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
