"""`compile`: a function's forward and backward pass written out as plain Python on floats.

``compile(fn)`` runs ``fn`` once on Values (a *trace*), reads the graph that run built, and
writes one Python function doing the same arithmetic on plain floats: the forward pass node by
node, then the backward pass with the chain rule written out, one line per edge::

    g_n = (1 - o * o) * g_o      # o = tanh(n): d o / d n = 1 - out * out, tanh's formula

with each local derivative taken from the engine's rule table: the op's formula, written out in
the code's variables. That code is what ``backward()`` does, without building a graph: the
"hand-derived backward pass" of a course, generated. It runs several times faster than the
engine, and faster than a hand-written plain-Python step. ``compiled.source`` shows it.

Example:
    >>> from autograd_tiny import Value
    >>> w = Value(2.0, label="w")
    >>> f = compile(lambda x: (w * x).tanh())
    >>> round(f(0.5), 6), round(w.grad, 6)     # the output's number; w.grad += d out / d w
    (0.761594, 0.209987)
    >>> round(f(-1.0), 6), f.traces            # another number: the same code, no new trace
    (-0.964028, 1)

How a call works:

- **Arguments** are floats, Values, ints and (nested) lists, tuples or dicts of them. Floats are
  *inputs*: fn sees them as Values while it is traced, and the code reads the new numbers on
  every call. Values passed as arguments are inputs too, and get their ``.grad``. Ints are
  inputs as long as fn uses them as numbers: class labels (cross_entropy's ``pick(*row,
  label)``), hinge's ``s * -y``; comparisons on them are guards (below). An int fn uses as a
  Python int (``range(n)``, ``row[label]``, a dict key, ``int(y)``) is *static* instead, as are
  bools, strings and other objects: part of the call's shape, so another one means another
  trace (each kept). While traced, fn sees an int as a stand-in that passes for it (ints.py).
  So a minibatch step traces again only for another batch size. Numbers fn makes itself
  or finds outside (a closure's data) are constants. Values fn finds outside (a model's
  parameters) are read and get their gradients on every call.
- **What it returns.** fn returns a Value (the loss), or a tuple whose first item is the loss
  and the rest anything made of Values and static objects. The call returns the same with
  numbers for Values, and adds the gradients of the loss into ``.grad`` of every leaf Value,
  exactly as ``fn(*args).backward()`` (``[0].backward()``) would: the same float operations in
  the same order (the same numbers, but for the sign of a zero), so ``zero_grad()`` loops work
  unchanged. Inside ``no_grad()``, or compiled with ``backward=False``, only the forward pass
  runs (and fn may return any structure).
- **Guards.** What could make fn build another graph is checked on every call: the shape of
  the arguments, the outcome of every comparison fn made on a Value or an int argument (``if v
  > 0``, ``max``, ``0 <= label < 10``), and every number fn read out of a Value (``float(v)``,
  ``v.item()``, printing). Another outcome traces again (a few variants are kept); after many
  traces a warning names the argument that keeps changing (``yb[3]``). Branches *inside* ops
  (relu, abs, pick, ...) are tested in the generated code itself, forward and backward.
- **Errors.** Wherever the generated code meets an exception (``log(0)``, ``x / 0``, an
  overflow), the call is run again by the engine itself, which raises the engine's own
  DomainError (or returns its IEEE result, such as ``exp(1000) = inf``). Nodes fn makes and
  drops are computed too, as the engine computes them, so that their errors are raised as well.
- **Size.** A sum of many terms that all have the same shape (a loss over the examples of a
  batch: the same model applied to each row, and the same checks of each label) is written
  once, as one example's code inside a ``for`` loop over the batch, so the code stays small
  whatever the batch size.

What compile cannot see, and so does not allow for: ``v.data`` read inside fn (the number is a
constant of the trace; use ``float(v)``, which is guarded, or ``v.detach()``); side effects of
fn (they happen while tracing only); hooks (``register_hook``) on leaves; and a closure that
reaches other Values later (a new model: compile again).

The code of compile: one module per stage, in the order a first call goes through them:

- arguments.py: the call's arguments flattened (inputs read anew on every call, static values
  that are part of the call's shape);
- ints.py: the stand-in fn sees for an int argument while traced, which records how fn uses it;
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
