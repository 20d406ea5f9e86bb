"""autograd_tiny: a scalar reverse-mode automatic differentiation engine, small enough to read.

Example:
    >>> from autograd_tiny import Value
    >>> x = Value(2.0)
    >>> y = (x * x + 1).tanh()
    >>> y.backward()
    >>> round(x.grad, 6)
    0.000726
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # as typing.TYPE_CHECKING (which type checkers also read), without importing typing

__version__ = "0.1.0"

# Where each public name lives. A name is imported the first time it is used (PEP 562), so
# `import autograd_tiny` costs almost nothing and `from autograd_tiny import Value` loads the
# engine alone. Read the modules themselves for the code; this table is only the front door.
_WHERE = {
    # the engine and its transforms
    "Value": "engine", "DomainError": "ieee", "no_grad": "grad_mode", "enable_grad": "grad_mode",
    "is_grad_enabled": "grad_mode", "primitive": "primitives", "gc_paused": "grad_mode",
    "grad": "functional", "value_and_grad": "functional", "hessian": "functional",
    "gradcheck": "functional", "GradcheckError": "functional", "vjp": "functional",
    "jacobian": "functional", "hvp": "functional",
    "jvp": "dual", "Dual": "dual",
    # drawings, the explorer, the training view
    "draw_dot": "see.draw", "trace": "see.trace", "save_graph": "see.draw",
    "explore": "see.explorer", "Explorer": "see.explorer", "TrainingRecorder": "see.training_view",
    "save_animation": "see.animation",
    # exercises: check gradients worked out by hand (notebook 10)
    "check_gradients": "exercises",
    # compile: a function's forward and backward pass written out as plain Python
    "compile": "compiler",
    # the bridge to PyTorch: torch is imported only when one of them is called
    "to_torch": "bridge", "from_torch": "bridge", "compare_gradients": "bridge",
}  # fmt: skip
_SUBMODULES = ("nn", "losses", "optim", "data")

# compile is left out, so that `from autograd_tiny import *` keeps Python's own compile()
__all__ = [name for name in (*_WHERE, *_SUBMODULES) if name != "compile"]


def __getattr__(name: str) -> object:
    if name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    elif name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    else:
        raise AttributeError(f"module 'autograd_tiny' has no attribute {name!r}")
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # what type checkers and editors see: the same names, imported plainly
    from . import data, losses, nn, optim
    from .bridge import compare_gradients, from_torch, to_torch
    from .compiler import compile
    from .dual import Dual, jvp
    from .engine import Value
    from .exercises import check_gradients
    from .functional import GradcheckError, grad, gradcheck, hessian, hvp, jacobian, value_and_grad, vjp
    from .grad_mode import enable_grad, gc_paused, is_grad_enabled, no_grad
    from .ieee import DomainError
    from .primitives import primitive
    from .see.animation import save_animation
    from .see.draw import draw_dot, save_graph
    from .see.explorer import Explorer, explore
    from .see.trace import trace
    from .see.training_view import TrainingRecorder
