"""The command line: `autograd-tiny train` (the main job) and `autograd-tiny graph`.

Nothing in the package imports this module except `__main__.py`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time

from . import data, losses, nn, optim, plot
from ._files import write_atomically
from .compiler import compile  # compile (issue 10)
from .engine import Value


class CLIError(Exception):
    """A problem with the user's input: printed as one line, exit status 2."""


# ---------------------------------------------------------------------- train

# What `train` does with an option left out: micrograd's demo (hinge loss, SGD with lr decaying
# linearly from 1.0 to 0.1) for two classes; softmax cross-entropy and Adam for more classes.
_TWO_CLASSES = {"loss": "hinge", "optimizer": "sgd", "steps": 100}
_MORE_CLASSES = {"loss": "cross_entropy", "optimizer": "adam", "steps": 200}
_DEFAULT_LR = {"sgd": 1.0, "adam": 0.05, "adamw": 0.05}
_DEFAULT_LR_SGD_MSE = 0.2  # squared errors have larger gradients: lr 1.0 diverges
_LOSSES = ("hinge", "mse", "bce", "cross_entropy")
_OPTIMIZERS = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW}
_SCHEDULES = ("linear", "cosine", "constant")
_INITS = ("kaiming", "uniform")


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `autograd-tiny train`."""
    parser.description = (
        "Train an MLP on a toy two-dimensional dataset, print its train and test accuracy, and "
        "write the model (JSON), its loss curve and its decision boundary (PNG) to a folder. "
        "With no options: micrograd's moons demo."
    )
    parser.epilog = "example: autograd-tiny train --data spirals --hidden 32,32 --steps 300"
    add = parser.add_argument
    # Values are read as text and checked in run_train, so every mistake is one clear line.
    add("--data", default="moons", metavar="NAME", help=f"the dataset: {', '.join(data.DATASETS)} (default moons)")
    add("--samples", default="200", metavar="N", help="number of points, a quarter kept for testing (default 200)")
    add("--hidden", default="16,16", metavar="SIZES", help="hidden layer sizes, comma-separated (default 16,16; '' for none)")
    add("--activation", default="relu", metavar="NAME", help=f"hidden activation: {', '.join(nn.ACTIVATIONS)} (default relu)")
    add("--init", default="kaiming", metavar="NAME", help="weights: kaiming (fan-in scaled) or uniform (micrograd's)")
    add("--loss", metavar="NAME", help=f"{', '.join(_LOSSES)} (default hinge; cross_entropy for 3 or more classes)")
    add("--l2", default="1e-4", metavar="ALPHA", help="L2 penalty added to the loss (default 1e-4, as micrograd)")
    add("--optimizer", metavar="NAME", help="sgd, adam or adamw (default sgd; adam for 3 or more classes)")
    add("--lr", metavar="LR", help="learning rate (default 1.0 for sgd, 0.2 for sgd with mse, 0.05 for adam)")
    add("--schedule", default="linear", metavar="NAME",
        help="learning rate over the run: linear (down to lr/10, as micrograd), cosine (down to 0) or constant")
    add("--steps", metavar="N", help="training steps, each over all training points (default 100; 200 for 3 classes)")
    add("--seed", default="0", metavar="N", help="seeds the data, the train/test split and the weights (default 0)")
    add("--out", metavar="DIR", help="output folder (default autograd_tiny_runs/<data>-seed<seed>-<time>)")
    add("--compile", action="store_true",  # compile (issue 10)
        help="run each step's forward and backward pass as code written by autograd_tiny.compile: "
             "the same numbers, several times faster")  # fmt: skip


def run_train(args: argparse.Namespace) -> int:
    """Train a small MLP and write its model, loss curve and decision boundary."""
    run = _train_settings(args)
    X_train, X_test, y_train, y_test = data.train_test_split(run["X"], run["y"], test_fraction=0.25, seed=run["seed"])
    out, created = _output_folder(args.out, run["data"], run["seed"])
    model = nn.MLP(2, [*run["hidden"], run["outputs"]], activation=run["activation"], seed=run["seed"],
                   init=run["init"])
    opt = _OPTIMIZERS[run["optimizer"]](model.parameters(), lr=run["lr"])
    schedule = _schedule(opt, run["schedule"], run["steps"])
    print(f"autograd-tiny train: {run['data']} ({len(X_train)} training and {len(X_test)} test points), "
          f"{model!r}, {run['loss']} loss + {run['l2']:g} L2, {type(opt).__name__} {_lr_words(run)}, "
          f"{run['steps']} steps, seed {run['seed']}", flush=True)
    try:
        history = _fit(model, opt, schedule, run, X_train, y_train)
    except (CLIError, KeyboardInterrupt):
        if created and not os.listdir(out):  # leave no empty folder behind
            os.rmdir(out)
        raise

    run["train_accuracy"] = data.accuracy(plot.predict(model, X_train), y_train)
    run["test_accuracy"] = data.accuracy(plot.predict(model, X_test), y_test)
    run["split"] = X_train, X_test, y_train, y_test
    print(f"train accuracy {run['train_accuracy']:.1%} ({len(X_train)} points), "
          f"test accuracy {run['test_accuracy']:.1%} ({len(X_test)} points)")
    files = _write_outputs(out, model, history, run, len(X_train), len(X_test))
    print(f"outputs in {out}{os.sep}")
    width = max(map(len, files))
    for name, what in files.items():
        print(f"  {name:<{width}}  {what}")
    return 0


def _train_settings(args: argparse.Namespace) -> dict:
    """Every option checked and every default filled in; the dataset made (its classes decide defaults)."""
    name = args.data
    if name not in data.DATASETS:
        raise CLIError(f"--data: unknown dataset {name!r} (choose from {', '.join(data.DATASETS)})")
    seed = _int_option("--seed", args.seed, least=0)
    samples = _int_option("--samples", args.samples, least=4)
    X, y = data.DATASETS[name](samples, seed=seed)
    classes = max(max(y) + 1, 2)  # it decides the defaults
    defaults = _TWO_CLASSES if classes == 2 else _MORE_CLASSES

    loss = args.loss or defaults["loss"]
    if loss not in _LOSSES:
        raise CLIError(f"--loss: unknown loss {loss!r} (choose from {', '.join(_LOSSES)})")
    if loss != "cross_entropy" and classes != 2:
        raise CLIError(f"--loss {loss} needs two classes, but {name} has {classes}: use --loss cross_entropy")
    optimizer = args.optimizer or defaults["optimizer"]
    if optimizer not in _OPTIMIZERS:
        raise CLIError(f"--optimizer: unknown optimizer {optimizer!r} (choose from {', '.join(_OPTIMIZERS)})")
    default_lr = _DEFAULT_LR_SGD_MSE if (optimizer, loss) == ("sgd", "mse") else _DEFAULT_LR[optimizer]
    lr = _float_option("--lr", args.lr, default_lr)
    if lr <= 0:
        raise CLIError(f"--lr must be > 0, got {args.lr}")
    l2 = _float_option("--l2", args.l2, 0.0)
    if l2 < 0:
        raise CLIError(f"--l2 must be >= 0, got {args.l2}")
    if args.activation not in nn.ACTIVATIONS:
        raise CLIError(f"--activation: unknown activation {args.activation!r} (choose from {', '.join(nn.ACTIVATIONS)})")
    if args.init not in _INITS:
        raise CLIError(f"--init: unknown initialisation {args.init!r} (choose from {', '.join(_INITS)})")
    if args.schedule not in _SCHEDULES:
        raise CLIError(f"--schedule: unknown schedule {args.schedule!r} (choose from {', '.join(_SCHEDULES)})")
    return {
        "data": name, "X": X, "y": y, "samples": samples, "seed": seed,
        "hidden": _hidden_sizes(args.hidden), "activation": args.activation, "init": args.init,
        "loss": loss, "outputs": classes if loss == "cross_entropy" else 1, "l2": l2,
        "optimizer": optimizer, "lr": lr, "schedule": args.schedule,
        "steps": _int_option("--steps", args.steps or str(defaults["steps"]), least=1),
        "compile": args.compile,  # compile (issue 10)
    }


def _int_option(option: str, text, least: int) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise CLIError(f"{option} must be a whole number, got {text!r}") from None
    if value < least:
        raise CLIError(f"{option} must be at least {least}, got {value}")
    return value


def _float_option(option: str, text: str | None, default: float) -> float:
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise CLIError(f"{option} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise CLIError(f"{option} must be a finite number, got {text!r}")
    return value


def _hidden_sizes(text: str) -> list[int]:
    """'16,16' -> [16, 16]; '' or 'none' -> [] (a linear model)."""
    if text.strip().lower() in ("", "none"):
        return []
    sizes = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) < 1:
            raise CLIError(f"--hidden must be layer sizes >= 1 separated by commas, like 16,16; got {text!r}")
        sizes.append(int(part))
    return sizes


def _output_folder(out: str | None, name: str, seed: int) -> tuple[str, bool]:
    """The output folder, made and checked to be writable before any training; and whether it is new."""
    if out is None:
        base = os.path.join("autograd_tiny_runs", f"{name}-seed{seed}-{time.strftime('%Y%m%d-%H%M%S')}")
        out, n = base, 1
        while os.path.exists(out):  # two runs in the same second
            n += 1
            out = f"{base}-{n}"
    created = not os.path.exists(out)
    try:
        os.makedirs(out, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise CLIError(f"--out: cannot write to folder {out!r} ({err.strerror or err})") from None
    return out, created


def _schedule(opt: optim.Optimizer, name: str, steps: int) -> optim.LRScheduler | None:
    if name == "linear":  # micrograd: lr = 1.0 - 0.9 * k / 100 over 100 steps
        return optim.LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=steps)
    if name == "cosine":
        return optim.CosineAnnealingLR(opt, T_max=steps)
    return None


def _loss_function(name: str, labels: list[int]):
    """The chosen loss as a function of the model's outputs on the training points."""
    if name == "hinge":
        signs = data.signed_labels(labels)
        return lambda outputs: losses.hinge(outputs, signs)
    if name == "mse":  # regress the score onto -1 / +1
        signs = data.signed_labels(labels)
        return lambda outputs: losses.mse(outputs, signs)
    if name == "bce":
        targets = [float(label) for label in labels]
        return lambda outputs: losses.bce_with_logits(outputs, targets)
    return lambda outputs: losses.cross_entropy(outputs, labels)


def _fit(model: nn.MLP, opt: optim.Optimizer, schedule, run: dict, X: list, y: list) -> dict:
    """The training loop; returns the loss and training accuracy at every step."""
    data_loss = _loss_function(run["loss"], y)
    params = model.parameters()
    history: dict[str, list[float]] = {"loss": [], "train accuracy": []}
    report, close = _progress(run["steps"])

    def forward():
        outputs = [model(x) for x in X]
        loss = data_loss(outputs)
        if run["l2"]:
            loss = loss + losses.l2(params, run["l2"])
        return loss, outputs

    compiled = compile(forward) if run["compile"] else None  # compile (issue 10)
    try:
        for step in range(1, run["steps"] + 1):
            if compiled is None:
                loss, outputs = forward()
                loss_value = loss.data
            else:  # compile (issue 10): forward and backward in one call; it returns numbers
                opt.zero_grad()
                loss_value, numbers = compiled()
                outputs = [Value(o) if isinstance(o, float) else [Value(v) for v in o] for o in numbers]
            if not math.isfinite(loss_value):
                raise CLIError(f"training diverged at step {step} (loss {loss_value}); try a smaller --lr than {run['lr']:g}")
            if compiled is None:
                opt.zero_grad()
                loss.backward()
            opt.step()
            if schedule is not None:
                schedule.step()
            accuracy = data.accuracy([plot.label_of(o) for o in outputs], y)  # before this step's update
            history["loss"].append(loss_value)
            history["train accuracy"].append(accuracy)
            report(step, loss_value, accuracy)
    finally:
        close()
    return history


def _progress(steps: int):
    """(report, close): tqdm's progress bar if tqdm is installed, else a line every tenth of the run."""
    try:
        from tqdm import tqdm
    except ImportError:
        every = max(1, steps // 10)

        def report(step: int, loss: float, accuracy: float) -> None:
            if step % every == 0 or step == steps:
                print(f"step {step:>{len(str(steps))}}/{steps}  loss {loss:.4g}  accuracy {accuracy:.1%}", flush=True)

        return report, lambda: None
    bar = tqdm(total=steps, desc="training", unit="step", file=sys.stderr)

    def report(step: int, loss: float, accuracy: float) -> None:
        bar.set_postfix_str(f"loss {loss:.4g}, accuracy {accuracy:.1%}", refresh=False)
        bar.update(1)

    return report, bar.close


def _draw(model: nn.MLP, history: dict, split: tuple, out: str, title: str) -> dict[str, str]:
    """Write the two pictures; without matplotlib, say what to install and carry on."""
    X_train, X_test, y_train, y_test = split
    try:
        plot.plot_loss(history, os.path.join(out, "loss.png"), title=title)
        plot.plot_decision_boundary(model, X_train, y_train, os.path.join(out, "decision_boundary.png"),
                                    X_test=X_test, y_test=y_test, title=title)
    except ModuleNotFoundError as err:
        if err.name != "matplotlib":
            raise
        print(f"autograd-tiny: no pictures, matplotlib is not installed: {plot.INSTALL_HINT}", file=sys.stderr)
        return {}
    return {"loss.png": "loss and training accuracy at every step",
            "decision_boundary.png": "the model's score over the plane, its boundary, training points (o) and test points (^)"}


def _lr_words(run: dict) -> str:
    lr = run["lr"]
    return {"linear": f"lr {lr:g} -> {lr / 10:g} linearly", "cosine": f"lr {lr:g} -> 0 (cosine)",
            "constant": f"lr {lr:g}"}[run["schedule"]]


def _write_outputs(out: str, model: nn.MLP, history: dict, run: dict, n_train: int, n_test: int) -> dict[str, str]:
    """model.json, the two pictures (if matplotlib is there) and run.json; returns {file: what it holds}."""
    files = {"model.json": "the trained model (autograd_tiny.nn.load reads it)"}
    model.save(os.path.join(out, "model.json"))
    title = f"{run['data']}: train {run['train_accuracy']:.1%}, test {run['test_accuracy']:.1%}"
    files.update(_draw(model, history, run["split"], out, title))
    files["run.json"] = "the settings, and the loss and accuracy at every step"
    summary = {key: run[key] for key in ("data", "samples", "hidden", "activation", "init", "loss", "l2",
                                         "optimizer", "lr", "schedule", "steps", "seed")}
    summary.update(train_points=n_train, test_points=n_test, train_accuracy=run["train_accuracy"],
                   test_accuracy=run["test_accuracy"], history=history)
    _write_json(os.path.join(out, "run.json"), summary)
    return files


def _write_json(path: str, obj) -> None:
    """Write JSON through a temporary file and a rename, so a crash leaves no half-written file."""
    write_atomically(path, json.dumps(obj, indent=1) + "\n")


# ---------------------------------------------------------------------- graph


def add_graph_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `autograd-tiny graph`."""
    parser.description = (
        "Evaluate an expression such as \"tanh(x*w + b)\" with the given inputs, run backward(), "
        "print the output and every input's gradient, and draw the graph. Allowed: numbers, names, "
        "+ - * / **, and tanh exp log relu sigmoid sqrt abs sin cos softplus leaky_relu, as "
        "functions or methods ((x*2 + 1).relu()). Put -- before an expression starting with '-'."
    )
    parser.add_argument("expression", help='the expression, e.g. "tanh(x*w + b)"')
    parser.add_argument("inputs", nargs="*", metavar="NAME=NUMBER", help="a value for each name, e.g. x=1")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the drawing here; .svg .png .pdf, or .dot (needs no Graphviz)")
    parser.add_argument("--rankdir", choices=("LR", "TB", "RL", "BT"), default="LR",
                        help="direction of the drawing (default: LR, left to right)")
    parser.add_argument("--hide-grad", action="store_true", help="show data only, no gradients")
    parser.add_argument("--color-by-grad", action="store_true", help="shade each value by |grad|")
    parser.add_argument("--number-backward", action="store_true",
                        help="number the ops in the order backward() visits them")
    parser.add_argument("--legend", action="store_true", help="add a key of the kinds of node")
    parser.add_argument("--max-nodes", type=int, default=1000, metavar="N",
                        help="refuse to draw more nodes than this (default: 1000)")  # fmt: skip


def _graph_inputs(pairs: list[str]) -> dict[str, float]:
    """NAME=NUMBER arguments as a dict; a one-line CLIError for anything else."""
    values: dict[str, float] = {}
    for i, pair in enumerate(pairs, start=1):
        name, eq, text = pair.partition("=")
        name = name.strip()
        if not eq or not name.isidentifier():
            raise CLIError(f"graph: input {i} is {pair!r}; give inputs as NAME=NUMBER, e.g. x=1.5")
        if name in values:
            raise CLIError(f"graph: input {i}: {name!r} is given twice")
        try:
            values[name] = float(text)
        except ValueError:
            raise CLIError(f"graph: input {i}: bad value for {name!r}: {text!r} is not a number") from None
    return values


def run_graph(args: argparse.Namespace) -> int:
    """Evaluate an expression, back-propagate, print the gradients and draw the graph."""
    from pathlib import Path

    from .expr import ExprError, evaluate, input_names, parse
    from .viz import INSTALL_HINT, SUFFIX_FORMATS, GraphTooLargeError, GraphvizNotFoundError
    from .viz import draw_dot, save_graph

    if args.output and Path(args.output).suffix.lower() not in SUFFIX_FORMATS:
        raise CLIError(f"graph: cannot tell the format of {args.output!r} from its suffix; "
                       "use .svg, .png, .pdf or .dot")  # fmt: skip
    values = _graph_inputs(args.inputs)
    try:
        names = input_names(parse(args.expression))
        unknown = [name for name in values if name not in names]
        if unknown:
            uses = ", ".join(names) if names else "no names"
            raise CLIError(f"graph: unknown name {unknown[0]!r} (given as {unknown[0]}=...); "
                           f"the expression uses {uses}")  # fmt: skip
        out, inputs = evaluate(args.expression, values)
    except ExprError as err:
        raise CLIError(f"graph: {args.expression!r}: {err}") from None
    out.backward()
    print(f"out = {out.data:.10g}")
    for name, value in inputs.items():
        print(f"{name}.grad = {value.grad:.10g}")
    if args.output:
        try:
            drawing = draw_dot(
                out, rankdir=args.rankdir, show_grad=not args.hide_grad, color_by_grad=args.color_by_grad,
                number_backward=args.number_backward, legend=args.legend, max_nodes=args.max_nodes,
            )  # fmt: skip
            path = save_graph(drawing, args.output)
        except GraphvizNotFoundError:
            raise CLIError(f"graph: cannot write {args.output!r}: the Graphviz program 'dot' was not found "
                           f"on PATH; {INSTALL_HINT}, or write the DOT source with -o graph.dot") from None
        except (GraphTooLargeError, ValueError) as err:
            raise CLIError(str(err)) from None
        except OSError as err:
            raise CLIError(f"graph: cannot write {args.output!r}: {err.strerror or err}") from None
        print(f"wrote {path}")
    return 0


# ---------------------------------------------------------------------- entry point


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (a CLIError), not usage plus a message."""

    def error(self, message: str):  # type: ignore[override]
        words = self.prog.split()  # "autograd-tiny" or "autograd-tiny graph"
        where = f"{words[-1]}: " if len(words) > 1 else ""
        raise CLIError(f"{where}{message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="autograd-tiny",
        description="Train small neural networks and draw computation graphs with autograd_tiny.",
    )
    sub = parser.add_subparsers(dest="command")
    train = sub.add_parser("train", help="train an MLP on a toy dataset (the default)")
    add_train_arguments(train)
    train.set_defaults(run=run_train)
    graph = sub.add_parser("graph", help="evaluate an expression, print gradients, draw its graph")
    add_graph_arguments(graph)
    graph.set_defaults(run=run_graph)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["train", *argv]  # no subcommand: the main job
    try:
        args = parser.parse_args(argv)
        return args.run(args)
    except CLIError as err:
        print(f"autograd-tiny: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("autograd-tiny: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
