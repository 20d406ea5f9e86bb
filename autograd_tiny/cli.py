"""The command line: `autograd-tiny train` (the main job) and `autograd-tiny graph`.

Nothing in the package imports this module except `__main__.py`.
"""

from __future__ import annotations

import argparse
import sys


class CLIError(Exception):
    """A problem with the user's input: printed as one line, exit status 2."""


# ---------------------------------------------------------------------- train


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `autograd-tiny train`."""


def run_train(args: argparse.Namespace) -> int:
    """Train a small MLP and write its model, loss curve and decision boundary."""
    raise CLIError("train: not implemented yet")


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except CLIError as err:
        print(f"autograd-tiny: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("autograd-tiny: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
