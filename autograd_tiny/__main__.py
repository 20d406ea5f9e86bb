"""`python -m autograd_tiny` and the `autograd-tiny` command: `autograd_tiny.cli.main`.

Ctrl-C while the command line's modules are still loading is exit status 130 without a
traceback, as it is later: `import autograd_tiny` itself loads nothing (its names are imported
on first use), so this module is reached within a few milliseconds of Python's start.
"""

import sys


def main() -> int:
    """Load the command line and run it; Ctrl-C before it can catch Ctrl-C itself exits quietly with status 130."""
    try:
        from .cli import main as run

        return run()
    except KeyboardInterrupt:
        print("autograd-tiny: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
