"""backward() with everything: gradients that are graphs (``create_graph=True``), hooks, and `gradients`.

The engine's `Value.backward` is the lesson: numbers flow back along the local derivatives
recorded in the forward pass. It comes here instead once a hook has been registered or a
gradient graph built, for three things the lesson leaves out:

* ``create_graph=True``: each node's local derivatives are computed again by its op's rule,
  on Values this time, so that every gradient is itself a graph that can be differentiated
  again (second derivatives: `hessian`, `grad(grad(f))`);
* hooks (`Value.register_hook`): a function that sees, and may replace, a gradient on its way;
* leaves that still hold a Value gradient from an earlier ``create_graph=True``: they get a
  number again, so that ``p.data -= lr * p.grad`` keeps ``data`` a float.

It is the same chain rule, in the same order; `gradients` runs it for `grad` and friends.

Example:
    >>> from autograd_tiny import Value
    >>> x = Value(3.0)
    >>> y = x * x * x
    >>> y.backward(create_graph=True)   # x.grad is 3x², a Value
    >>> x.grad.data
    27.0
    >>> g = x.grad
    >>> x.grad = 0.0
    >>> g.backward()                    # d(3x²)/dx = 6x
    >>> x.grad
    18.0
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .engine import NOT_RECORDED, Op, Value, topological_order
from .grad_mode import enable_grad
from .ieee import ieee_results

__all__ = ["full_backward", "gradients", "add_hook", "Hook"]


def full_backward(root: Value, gradient: Any = 1.0, create_graph: bool = False) -> None:
    """`Value.backward`, with hooks, and with gradients as graphs when `create_graph`."""
    order = _backward(root, gradient, create_graph)
    if create_graph:
        # An interior gradient graph refers back to its own node (tanh's rule uses its
        # output): a reference cycle. Keep interior grads as numbers, leaves' as Values.
        for node in order:
            node.grad = float(node.grad)


def _backward(root: Value, gradient: Any, create_graph: bool, order: list[Value] | None = None) -> list[Value]:
    """The chain rule from `root`, in `order` (root's topological order, walked here if not given)."""
    order = topological_order(root) if order is None else order
    for node in order:
        node.grad = 0.0
    hooked = _hooked_leaves_set_apart(order, root, create_graph)
    root.grad = gradient if root._x is not None else root.grad + gradient
    if create_graph:
        with enable_grad(), ieee_results():  # (a rule at the edge of its domain gives inf, not an error)
            _chain_rule(order, create_graph)
    else:
        _chain_rule(order, create_graph)
    for leaf, before in hooked.items():
        new = _run_hooks(leaf._op.hooks, leaf.grad)
        leaf.grad = new if isinstance(before, float) and before == 0.0 else before + new
    return order


def _chain_rule(order: list[Value], create_graph: bool) -> None:
    for node in reversed(order):
        if node._op.hooks:
            node.grad = _run_hooks(node._op.hooks, node.grad)
        parents = node.parents
        if create_graph:  # the local derivatives again, as Values this time
            local = node._op.rule(*parents, node)
            _check_unchanged(node, local)
        else:
            local = node.local_grads
        for parent, d in zip(parents, local):
            if d is not None and parent.__class__ is Value:
                parent.grad = parent.grad + d * node.grad  # the chain rule


def gradients(out: Value, inputs: Sequence[Value], create_graph: bool = False) -> list:
    """d out / d input for each of `inputs`, leaving every ``.grad`` in the graph as it was.

    The engine of `grad` and friends (as ``torch.autograd.grad``): the same chain rule as
    `Value.backward`, with the graph's ``.grad`` fields used as scratch space and restored.

    Example:
        >>> x, y = Value(2.0), Value(5.0)
        >>> gradients(x * y, [x, y]), x.grad
        ([5.0, 2.0], 0.0)
    """
    order = topological_order(out)
    touched = {v: v.grad for v in (*order, *_leaf_parents(order), *inputs, out)}
    try:
        for v in inputs:
            v.grad = 0.0
        if create_graph:
            _backward(out, 1.0, True, order)  # (the interior grads are put back below)
        else:
            out.backward()
        return [v.grad for v in inputs]
    finally:
        for v, g in touched.items():  # also breaks the cycles of interior gradient graphs
            v.grad = g


# ---------------------------------------------------------------------- hooks


class Hook:
    """What `Value.register_hook` returns: ``remove()`` takes the hook off."""

    def __init__(self, value: Value, hook: Callable) -> None:
        self._value, self._hook = value, hook

    def remove(self) -> None:
        """Take the hook off (doing it twice is harmless)."""
        op = self._value._op
        if op is not None and self._hook in op.hooks:
            self._value._op = _with_hooks(op, tuple(h for h in op.hooks if h is not self._hook))


def add_hook(value: Value, hook: Callable[[Any], Any]) -> Hook:
    """`Value.register_hook`: the node gets its own copy of its op, carrying the hook.

    For an interior value the hook sees its whole gradient before it flows on to the inputs;
    for a leaf, the gradient of this backward before it is added to ``.grad``. A hook that
    returns None leaves the gradient as it is (as PyTorch).
    """
    if not callable(hook):
        raise TypeError(f"register_hook: expected a function, got {type(hook).__name__}: {hook!r}")
    if value._op is NOT_RECORDED:
        raise RuntimeError(f"register_hook: {value!r} was computed inside no_grad(): backward never reaches it")
    op = value._op if value._op is not None else Op("", _no_function, _no_function)
    value._op = _with_hooks(op, op.hooks + (hook,))
    return Hook(value, hook)


def _with_hooks(op: Op, hooks: tuple) -> Op:
    """A copy of `op` carrying `hooks`: each node with hooks has an op of its own."""
    twin = copy.copy(op)
    twin.hooks = hooks
    return twin


def _no_function(*args: Any) -> Any:
    raise RuntimeError("a leaf has no function or rule")


def _run_hooks(hooks: tuple, grad: Any) -> Any:
    for hook in hooks:
        replaced = hook(grad)
        if replaced is not None:
            grad = replaced
    return grad


def _leaf_parents(order: list[Value]) -> Iterable[Value]:
    for node in order:
        for p in node.parents:
            if p.__class__ is Value and p._x is None:
                yield p


def _hooked_leaves_set_apart(order: list[Value], root: Value, create_graph: bool) -> dict[Value, Any]:
    """The leaves with hooks, each with the gradient it had: its grad starts from 0, so that this
    backward's gradient collects apart, for its hooks to see. On the way, a leaf holding a Value
    gradient from an earlier backward(create_graph=True) gets a plain number again."""
    leaves: dict[Value, Any] = {}
    for leaf in [*_leaf_parents(order), *([root] if root._x is None else [])]:
        if leaf in leaves:
            continue
        if leaf.grad.__class__ is Value and not create_graph:
            leaf.grad = leaf.grad.data
        if leaf._op is not None and leaf._op.hooks:
            leaves[leaf] = leaf.grad
            leaf.grad = 0.0
    return leaves


def _check_unchanged(node: Value, local: Sequence) -> None:
    """The rule's local derivatives now must be those recorded in the forward pass: if an
    input's ``data`` was changed since, the graph no longer says how the output was made."""
    for recorded, now in zip(node.local_grads, local):
        if recorded is None or now is None:
            continue
        a, b = float(recorded), float(now)
        if a != b and not (a != a and b != b) and not abs(a - b) <= 1e-12 * max(abs(a), abs(b)):
            raise ValueError(
                f"backward(create_graph=True): an input of a '{node.op}' node changed after the "
                f"forward pass (its local derivative was {a!r}, now {b!r}); build the graph again"
            )
