"""Arithmetic expressions typed by a user, for `autograd-tiny graph`: safe, never ``eval``.

The text is parsed by Python's `ast` module and every node is checked against a short
whitelist: numbers, names, ``+ - * / **``, unary ``-``/``+``, and calls of the functions in
`FUNCTIONS`, either as ``tanh(x)`` or as a method, ``(x*2 + 1).relu()``. Anything else
(attributes, subscripts, lambdas, strings, comparisons, ...) is an `ExprError` that says
what and where (the column, counted from 1).
"""

from __future__ import annotations

import ast
from typing import Mapping

from .engine import Value

__all__ = ["FUNCTIONS", "ExprError", "parse", "input_names", "evaluate"]

FUNCTIONS = ("tanh", "exp", "log", "relu", "sigmoid", "sqrt", "abs", "sin", "cos", "softplus", "leaky_relu")

MAX_LENGTH = 10_000  # characters: a longer expression is surely a mistake

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_UNARY = {ast.USub: "-", ast.UAdd: "+"}
_OTHER_OPERATORS = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<",
                    ast.RShift: ">>", ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&"}  # fmt: skip
_NAMES = {ast.Lambda: "a lambda", ast.Subscript: "a subscript [...]", ast.Compare: "a comparison",
          ast.BoolOp: "'and'/'or'", ast.IfExp: "'if ... else'", ast.List: "a list", ast.Tuple: "a tuple",
          ast.Dict: "a dict", ast.Set: "a set", ast.JoinedStr: "an f-string", ast.NamedExpr: "':='",
          ast.Starred: "'*' unpacking", ast.ListComp: "a comprehension", ast.GeneratorExp: "a generator",
          ast.SetComp: "a comprehension", ast.DictComp: "a comprehension", ast.Await: "'await'",
          ast.Yield: "'yield'", ast.Slice: "a slice"}  # fmt: skip


class ExprError(ValueError):
    """A bad expression or input value; the message names the problem and its column."""


def _where(node: ast.AST) -> str:
    line, col = getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1
    return f"column {col}" if line == 1 else f"line {line}, column {col}"


def parse(text: str) -> ast.Expression:
    """Parse `text` and check it against the whitelist; raise `ExprError` if it is not allowed.

    Example:
        >>> parse("tanh(x*w + b)").body.func.id
        'tanh'
    """
    if not text.strip():
        raise ExprError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"the expression is {len(text)} characters long; at most {MAX_LENGTH}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        where = f"column {err.offset}" if err.offset else "at the end"
        if (err.lineno or 1) > 1:
            where = f"line {err.lineno}, {where}"
        why = "" if err.msg == "invalid syntax" else f" ({err.msg})"
        raise ExprError(f"{where}: invalid syntax{why}") from None
    except (RecursionError, MemoryError):
        raise ExprError("the expression is nested too deeply") from None
    _check(tree, text.strip())
    return tree


def _check(tree: ast.Expression, text: str) -> None:
    called: set[int] = set()  # ids of nodes allowed because of the call they are part of
    for node in ast.walk(tree):  # a parent is always checked before its children
        if isinstance(node, (ast.Expression, ast.expr_context, ast.operator, ast.unaryop)):
            continue
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                symbol = _OTHER_OPERATORS.get(type(node.op), type(node.op).__name__)
                col = text.find(symbol, node.left.end_col_offset) + 1  # the operator itself
                raise ExprError(f"column {col}: operator {symbol!r} is not allowed; use + - * / **")
        elif isinstance(node, ast.UnaryOp):
            if type(node.op) not in _UNARY:
                raise ExprError(f"{_where(node)}: only unary - and + are allowed")
        elif isinstance(node, ast.Constant):
            if type(node.value) not in (int, float):
                kind = "a string" if isinstance(node.value, str) else repr(node.value)
                raise ExprError(f"{_where(node)}: only numbers are allowed, got {kind}")
        elif isinstance(node, ast.Name):
            if id(node) in called:
                continue
            if node.id in FUNCTIONS:
                raise ExprError(f"{_where(node)}: {node.id!r} is a function; call it, as in {node.id}(x)")
            if node.id.startswith("_"):
                raise ExprError(f"{_where(node)}: names starting with '_' are not allowed: {node.id!r}")
        elif isinstance(node, ast.Call):
            _check_call(node, called)
        elif isinstance(node, ast.keyword):
            if id(node) not in called:
                raise ExprError("keyword arguments are not allowed here")
        elif isinstance(node, ast.Attribute):
            if id(node) not in called:
                raise ExprError(f"{_where(node)}: attribute access '.{node.attr}' is not allowed")
        else:
            what = _NAMES.get(type(node), type(node).__name__)
            raise ExprError(f"{_where(node)}: {what} is not allowed")


def _check_call(node: ast.Call, called: set[int]) -> None:
    func = node.func
    if isinstance(func, ast.Name):
        name, method = func.id, False
    elif isinstance(func, ast.Attribute):
        name, method = func.attr, True
    else:
        raise ExprError(f"{_where(node)}: only calls of known functions are allowed")
    if name not in FUNCTIONS:
        what = f"method '.{name}()'" if method else f"function {name!r}"
        raise ExprError(f"{_where(func)}: unknown {what}; known: {', '.join(FUNCTIONS)}")
    called.add(id(func))
    n_args = len(node.args) + method  # the value before the dot is the first argument
    for kw in node.keywords:
        if name != "leaky_relu" or kw.arg != "slope":
            shown = f"{kw.arg}=" if kw.arg else "**"
            raise ExprError(f"{_where(kw.value)}: {name}() takes no keyword argument {shown!r}")
        called.add(id(kw))
        n_args += 1
    most = 2 if name == "leaky_relu" else 1
    if not 1 <= n_args <= most:
        takes = "1 or 2 arguments (x, slope)" if most == 2 else "1 argument"
        given = n_args - method
        raise ExprError(f"{_where(node)}: {name}() takes {takes}, got {given}")


def input_names(tree: ast.Expression) -> list[str]:
    """The variable names of a parsed expression, in order of first appearance.

    Example:
        >>> input_names(parse("tanh(x*w + b) + x"))
        ['x', 'w', 'b']
    """
    return list(dict.fromkeys(n.id for n in _names(tree)))


def _names(tree: ast.Expression) -> list[ast.Name]:
    found = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in FUNCTIONS]
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def evaluate(text: str, values: Mapping[str, float]) -> tuple[Value, dict[str, Value]]:
    """Build the graph of `text` with each name a labelled input Value; return (output, inputs).

    Domain errors (``log(-1)``, ``1/0``) become `ExprError` naming the column.

    Example:
        >>> out, inputs = evaluate("tanh(x*w + b)", {"x": 1.0, "w": -2.0, "b": 0.5})
        >>> out.backward()
        >>> round(out.data, 4), round(inputs["x"].grad, 4)
        (-0.9051, -0.3614)
    """
    tree = parse(text)
    inputs: dict[str, Value] = {}
    for node in _names(tree):
        if node.id not in values:
            raise ExprError(f"{_where(node)}: no value for {node.id!r}; give it as {node.id}=NUMBER")
        if node.id not in inputs:
            inputs[node.id] = Value(float(values[node.id]), label=node.id)

    # Evaluate children before parents with an explicit stack: no recursion limit.
    result: dict[int, Value | float] = {}
    stack: list[tuple[ast.AST, bool]] = [(tree.body, False)]
    while stack:
        node, ready = stack.pop()
        if not ready:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(_operands(node)))
            continue
        args = [result.pop(id(child)) for child in _operands(node)]
        try:
            result[id(node)] = _apply(node, args, inputs)
        except (ValueError, ArithmeticError) as err:  # DomainError is a ValueError
            part = ast.get_source_segment(text.strip(), node) or ""
            raise ExprError(f"{_where(node)}, in {part!r}: {err}") from None
    out = result[id(tree.body)]
    return _lift(out), inputs


def _operands(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        first = [node.func.value] if isinstance(node.func, ast.Attribute) else []
        return first + list(node.args) + [kw.value for kw in node.keywords]
    return []


def _lift(x) -> Value:
    return x if isinstance(x, Value) else Value(x)


def _apply(node: ast.AST, args: list, inputs: dict[str, Value]):
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return inputs[node.id]
    if isinstance(node, ast.UnaryOp):
        return -args[0] if isinstance(node.op, ast.USub) else args[0]
    if isinstance(node, ast.BinOp):
        x, y = args
        if not isinstance(x, Value) and not isinstance(y, Value):
            x = _lift(x)  # numbers alone: the engine's float rules (no complex, no int blow-up)
        symbol = _BINARY[type(node.op)]
        if symbol == "+":
            out = x + y
        elif symbol == "-":
            out = x - y
        elif symbol == "*":
            out = x * y
        elif symbol == "/":
            out = x / y
        else:
            out = x**y
        return out if isinstance(args[0], Value) or isinstance(args[1], Value) else out.data
    # a call: tanh(x), x.tanh(), leaky_relu(x, slope)
    name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
    x, *rest = args
    if name == "leaky_relu" and rest:
        if isinstance(rest[0], Value):
            raise ValueError("leaky_relu: the slope must be a number, not depend on the inputs")
        return _lift(x).leaky_relu(rest[0])
    return getattr(_lift(x), name)()
