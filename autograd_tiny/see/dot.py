"""Running the Graphviz program ``dot``: the one place that does, with a time limit.

Every drawing saved as a picture, every page laid out and every animation goes through
`run_dot`. Whatever goes wrong (no ``dot`` on PATH, ``dot`` failing, killed, or running past
its time) is one `RenderError` line saying what was being done and what happened to ``dot``.

Example:
    >>> issubclass(GraphvizNotFoundError, RenderError)
    True
"""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any

__all__ = [
    "DRAW_LESS",
    "INSTALL_HINT",
    "LAYOUT_TIMEOUT",
    "RENDER_TIMEOUT",
    "GraphvizNotFoundError",
    "RenderError",
    "check_timeout",
    "layout",
    "run_dot",
]

RENDER_TIMEOUT = 60.0  # seconds `dot` may run on a drawing; every drawing under the node cap takes a few
LAYOUT_TIMEOUT = 60.0  # seconds for `dot` to lay out a page's drawing

INSTALL_HINT = (
    "install Graphviz (Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install graphviz; "
    "conda: conda install graphviz)"
)
DRAW_LESS = (
    "draw less (max_nodes, collapse='neuron', or a part: draw_dot(an inner value)) or allow more time "
    "(draw_dot(..., timeout=None))"
)


class RenderError(RuntimeError):
    """The Graphviz program ``dot`` failed, was killed, or ran past its time limit.

    The message is one line: what was being done, and what happened to ``dot``. Catch it to
    handle every rendering failure (a missing ``dot`` included, `GraphvizNotFoundError`).

    Example:
        >>> issubclass(GraphvizNotFoundError, RenderError)
        True
    """


class GraphvizNotFoundError(RenderError):
    """Rendering needs the Graphviz program ``dot``, which is not on PATH.

    Its message says how to install Graphviz, or to save the ``.dot`` source instead.

    Example:
        >>> try:
        ...     raise GraphvizNotFoundError("save_graph: cannot write g.svg: 'dot' was not found")
        ... except RenderError as err:  # one except clause for every rendering failure
        ...     print(type(err).__name__)
        GraphvizNotFoundError
    """


def check_timeout(where: str, timeout: Any) -> None:
    """Refuse a time limit that is not a positive number of seconds or None.

    Example:
        >>> check_timeout("draw_dot", 0)
        Traceback (most recent call last):
        ...
        ValueError: draw_dot: timeout must be a positive number of seconds or None, got 0
    """
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not timeout > 0):  # fmt: skip
        raise ValueError(f"{where}: timeout must be a positive number of seconds or None, got {timeout!r}")


def run_dot(
    options: list[str],
    source: str,
    timeout: float | None,
    what: str,
    quiet: bool = False,
    advice: str = DRAW_LESS,
) -> bytes:
    """Run Graphviz's ``dot`` on `source` with a time limit; any failure is one `RenderError` line.

    Args:
        options: dot's options, e.g. ``["-Tsvg"]``.
        source: the DOT source.
        timeout: seconds dot may run (None: no limit).
        what: how the message starts (e.g. "save_graph: cannot write g.svg").
        quiet: do not pass dot's warnings on to stderr.
        advice: what the message suggests when dot runs out of time.

    Returns:
        what dot wrote.

    Example:
        >>> run_dot(["-Tplain"], "digraph { a -> b }", 10, "example").startswith(b"graph")  # doctest: +SKIP
        True
    """
    try:
        done = subprocess.run(
            ["dot", *options], input=source.encode("utf-8"), capture_output=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise GraphvizNotFoundError(not_found(what)) from None
    except subprocess.TimeoutExpired:  # subprocess.run has killed dot
        raise RenderError(
            f"{what}: Graphviz's dot ran for more than {timeout:g} s and was stopped; {advice}"
        ) from None
    except OSError as err:
        raise RenderError(f"{what}: cannot run Graphviz's dot: {err.strerror or err}") from None
    if done.returncode != 0:
        if done.returncode < 0:
            try:
                how = f"was killed by signal {signal.Signals(-done.returncode).name}"
            except ValueError:
                how = f"was killed by signal {-done.returncode}"
        else:
            how = f"failed (exit status {done.returncode})"
        said = next(
            (line.strip() for line in done.stderr.decode("utf-8", "replace").splitlines() if line.strip()), ""
        )
        said = said if len(said) <= 200 else said[:200] + "..."
        raise RenderError(f"{what}: Graphviz's dot {how}" + (f": {said}" if said else ""))
    if done.stderr and not quiet:  # warnings, as graphviz's own pipe() shows them
        sys.stderr.write(done.stderr.decode("utf-8", "replace"))
    return done.stdout


def not_found(what: str) -> str:
    """The message for a missing ``dot``: how to install Graphviz, or save the source instead.

    Example:
        >>> "brew install graphviz" in not_found("save_graph: cannot write g.svg")
        True
    """
    return (
        f"{what}: the Graphviz program 'dot' was not found on PATH; {INSTALL_HINT}, "
        "or save the DOT source instead (save_graph(graph, 'graph.dot'))"
    )


def layout(source: str, fmt: str) -> bytes:
    """A page's drawing laid out by ``dot``: 'svg' (for the page), 'json' (positions and
    drawing operations, for the animation).

    Within `LAYOUT_TIMEOUT`; any failure of dot is one `RenderError` line
    (`GraphvizNotFoundError` when it is missing), instead of a hang or a traceback.
    """
    return run_dot(
        [f"-T{fmt}"], source, LAYOUT_TIMEOUT, "explore: cannot lay out the graph", quiet=True,
        advice="pass model= for one box per neuron, or explore a smaller graph",
    )  # fmt: skip
