"""`python -m autograd_tiny` and the `autograd-tiny` command: `autograd_tiny.cli.main`, and Ctrl-C
while the command line's modules are still loading is exit status 130, as it is later, without a traceback."""

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
