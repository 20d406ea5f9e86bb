"""`python -m autograd_tiny` is `autograd-tiny`."""

import sys

from .cli import main

sys.exit(main())
