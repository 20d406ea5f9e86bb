"""`python -m autograd_tiny` and the `autograd-tiny` command: `autograd_tiny.cli.main`.

Ctrl-C while the command line's modules are still loading is exit status 130 without a
traceback, as it is later: `import autograd_tiny` itself loads nothing (its names are imported
on first use), so this module is reached within a few milliseconds of Python's start.
"""

import _thread
import sys


def main() -> int:
    """Load the command line and run it; Ctrl-C before it can catch Ctrl-C itself exits quietly with status 130."""
    sys.unraisablehook = _ctrl_c_again
    try:
        from .cli import main as run

        return run()
    except KeyboardInterrupt:
        print("autograd-tiny: interrupted", file=sys.stderr)
        return 130


def _ctrl_c_again(unraisable: "sys.UnraisableHookArgs") -> None:
    """A Ctrl-C that lands in a callback Python runs on its own (a lock's, while modules load) is
    printed and dropped by Python: send it again, from another thread so that it arrives once this
    callback is over, to stop the command where it stands."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        _thread.start_new_thread(_thread.interrupt_main, ())
    else:
        sys.__unraisablehook__(unraisable)


if __name__ == "__main__":
    sys.exit(main())
