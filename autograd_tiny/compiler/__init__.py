"""`compile`: a function's forward and backward pass written out as plain Python on floats.

One module per stage, in the order a first call goes through them:

- arguments.py: the call's arguments flattened (inputs read anew on every call, static values
  that are part of the call's shape);
- tracing.py: fn run once on Values, recording what its graph does not show (comparisons,
  numbers read, nodes dropped); the only place that wraps `Value`'s methods;
- graph.py: the trace read into nodes, in the order fn made them, leaves classified;
- loops.py: sums of many same-shape terms rolled into loops;
- formulas.py: the engine's rule table read as code: each op's forward and local derivatives
  as Python expressions in the generated code's names;
- source.py: the text of the generated code (lines, safe names, literals, quoted user text);
- node_code.py: one node's code: its forward statement, and the chain rule along its edges;
- writer.py: the graph written out as one function, forward pass then backward pass, with
  the loops;
- program.py: `compile` and `Compiled`, running the code, its guards, retraces and fallbacks.
"""

from .program import Compiled, compile
from .tracing import CompileError

__all__ = ["CompileError", "Compiled", "compile"]
