"""The command line's entry point: every mistake in the arguments is one line and exit status 2."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["train", "--bogus"], "unrecognized arguments: --bogus"),
        (["nothing"], "invalid choice: 'nothing'"),
        (["graph"], "graph: the following arguments are required"),
        (["train", "--lr"], "--lr: expected one argument"),
    ],
)
def test_argument_errors_are_one_line(argv, says):
    """Unknown options, unknown subcommands and missing values give one stderr line, exit 2, no traceback."""
    run = subprocess.run([sys.executable, "-m", "autograd_tiny", *argv], capture_output=True, text=True, timeout=60)
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2 and len(lines) == 1 and says in lines[0] and "Traceback" not in run.stderr
    assert lines[0].startswith("autograd-tiny: error: ")
