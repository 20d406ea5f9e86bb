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


def run_graph(args: argparse.Namespace) -> int:
    """Evaluate an expression, back-propagate, print the gradients and draw the graph."""
    raise CLIError("graph: not implemented yet")


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
