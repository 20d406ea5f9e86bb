"""autograd_tiny: a scalar reverse-mode automatic differentiation engine, small enough to read.

Example:
    >>> from autograd_tiny import Value
    >>> x = Value(2.0)
    >>> y = (x * x + 1).tanh()
    >>> y.backward()
    >>> round(x.grad, 6)
    0.000726
"""

from . import data, losses, nn, optim
from .engine import DomainError, Value, enable_grad, is_grad_enabled, no_grad
from .functional import GradcheckError, grad, gradcheck, hessian, value_and_grad
from .viz import draw_dot, save_graph, trace
from .bridge import compare_gradients, from_torch, to_torch  # torch is imported when they are called

__version__ = "0.1.0"

__all__ = [
    "Value",
    "DomainError",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "grad",
    "value_and_grad",
    "hessian",
    "gradcheck",
    "GradcheckError",
    "draw_dot",
    "trace",
    "save_graph",
    "nn",
    "losses",
    "optim",
    "data",
    "to_torch",
    "from_torch",
    "compare_gradients",
]
