"""`compile`: a function's forward and backward pass written out as plain Python on floats."""

from .compiler import Compiled, CompileError, compile

__all__ = ["CompileError", "Compiled", "compile"]
