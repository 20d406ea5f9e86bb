"""Arithmetic expressions typed by a user, for `autograd-tiny graph`: read by a small parser, never ``eval``.

The grammar is a small part of Python's, with Python's precedence::

    sum      =  product (("+" | "-") product)*
    product  =  unary (("*" | "/") unary)*
    unary    =  ("+" | "-")* power
    power    =  primary ("**" unary)?              x**y**z is x**(y**z); 2**-x works
    primary  =  atom ("." FUNCTION "(" arguments ")")*       a method: (x*2 + 1).relu()
    atom     =  NUMBER | NAME | FUNCTION "(" arguments ")" | "(" sum ")"
    arguments = argument ("," argument)*, each one a sum or NAME "=" sum (a keyword)

Chains of operators (``x*x*...*x``) are read in a loop, so only `MAX_LENGTH` limits them;
parentheses and calls nest at most `MAX_DEPTH` deep. Numbers are real and finite. Names are
taken as written (only canonically equal spellings, NFC, are one name), so ``ｘ`` and ``𝐱``
are names of their own, never read as ``x``. Anything else is an `ExprError` that says what
and where: the column, in characters, counted from 1.
"""

from __future__ import annotations

import keyword
import math
import re
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from .checks import is_real
from .engine import Value

__all__ = ["FUNCTIONS", "MAX_LENGTH", "MAX_DEPTH", "ExprError", "Node", "Expression", "parse", "input_names",
           "evaluate", "shorten"]

# Each function and the names of its arguments; the first one is the value before the dot in a method call.
FUNCTIONS: dict[str, tuple[str, ...]] = {
    name: ("x",) for name in ("tanh", "exp", "log", "relu", "sigmoid", "sqrt", "abs", "sin", "cos", "softplus")
} | {"leaky_relu": ("x", "slope")}

MAX_LENGTH = 10_000  # characters: a longer expression is surely a mistake
MAX_DEPTH = 50  # parentheses and calls inside each other; each level costs the parser a few stack frames


class ExprError(ValueError):
    """A bad expression or input value; the message names the problem and its column."""


def shorten(text: str, limit: int = 60) -> str:
    """`text`, cut in the middle to at most `limit` characters, for error messages.

    Example:
        >>> shorten("x*" * 100 + "x", limit=21)
        'x*x*x*x* ... *x*x*x*x'
    """
    if len(text) <= limit:
        return text
    keep = (limit - 5) // 2
    return f"{text[:keep]} ... {text[len(text) - keep:]}"


@dataclass(frozen=True, eq=False, repr=False)
class Node:
    """One part of a parsed expression.

    `kind` is "number" (`value` is the float), "name" (`value` is the name), one of
    ``+ - * / **``, "neg" (unary minus), or a function's name; `args` are the operands, a
    call's in the order of `FUNCTIONS` (keywords already put in place). `start` and `end`
    delimit the part in the text.
    """

    kind: str
    args: tuple[Node, ...] = ()
    value: float | str | None = None
    start: int = 0
    end: int = 0

    def __repr__(self) -> str:  # shallow: a long chain of operations is a deep tree
        shown = f", {self.value!r}" if self.value is not None else f", {len(self.args)} operands"
        return f"Node({self.kind!r}{shown}, characters {self.start}-{self.end})"


@dataclass(frozen=True, repr=False)
class Expression:
    """A parsed expression: its `text`, its `root` `Node` and its input `names` (first appearance first)."""

    text: str
    root: Node
    names: tuple[str, ...]
    first_seen: dict[str, int] = field(default_factory=dict, compare=False)  # name -> where it first appears

    def __repr__(self) -> str:
        return f"Expression({shorten(self.text)!r}, names={list(self.names)})"


def parse(text: str) -> Expression:
    """Read `text` as an expression; raise `ExprError` saying what and where if it is not one.

    Example:
        >>> e = parse("tanh(x*w + b)")
        >>> e.root.kind, e.root.args[0].kind, e.names
        ('tanh', '+', ('x', 'w', 'b'))
    """
    if not isinstance(text, str):
        raise ExprError(f"the expression must be text, got {type(text).__name__}")
    if not text.strip():
        raise ExprError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"the expression is {len(text):,} characters long; at most {MAX_LENGTH:,}")
    return _Parser(text).expression()


def input_names(expression: Expression | str) -> list[str]:
    """The variable names of an expression, in order of first appearance.

    Example:
        >>> input_names("tanh(x*w + b) + x")
        ['x', 'w', 'b']
    """
    return list((parse(expression) if isinstance(expression, str) else expression).names)


# ---------------------------------------------------------------------- reading the text

_SPACE = re.compile(r"\s+")
_DIGITS = r"[0-9](?:_?[0-9])*"
_NUMBER = re.compile(rf"(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][-+]?{_DIGITS})?")
_OPERATORS = ("**", "*", "/", "+", "-", "(", ")", ",", ".", "=")
# Python text that is not ours, with what to say about it
_FOREIGN = {op: f"operator {op!r} is not allowed; use + - * / **" for op in ("//", "<<", ">>", "%", "@", "|", "&", "~")}
_FOREIGN |= {op: "a comparison is not allowed" for op in ("==", "!=", "<=", ">=", "<", ">")}
_FOREIGN |= {"^": "operator '^' is not allowed; use + - * / ** (power is **)", ":=": "':=' is not allowed",
             "[": "a subscript or a list [...] is not allowed", "]": "a subscript or a list [...] is not allowed",
             "{": "a set or a dict {...} is not allowed", "}": "a set or a dict {...} is not allowed",
             "'": "only numbers are allowed, got a string", '"': "only numbers are allowed, got a string",
             ":": "':' is not allowed (no lambdas, slices or annotations)",
             ";": "';' is not allowed: one expression only"}  # fmt: skip
_KEYWORDS = {"True": "only numbers are allowed, got True", "False": "only numbers are allowed, got False",
             "None": "only numbers are allowed, got None", "lambda": "a lambda is not allowed",
             "if": "'if ... else' is not allowed", "else": "'if ... else' is not allowed",
             "and": "'and', 'or' and 'not' are not allowed", "or": "'and', 'or' and 'not' are not allowed",
             "not": "'and', 'or' and 'not' are not allowed"}  # fmt: skip


@dataclass(frozen=True)
class _Token:
    kind: str  # "number", "name", "op" or "end"
    text: str
    start: int
    end: int


def _tokens(text: str) -> Iterator[_Token]:
    """The tokens of `text`, one at a time, so that the first mistake in the text is the one reported."""
    i = 0
    while i < len(text):
        space = _SPACE.match(text, i)
        if space:
            i = space.end()
            continue
        number = _NUMBER.match(text, i)
        if number:
            end = number.end()
            if end < len(text) and _continues_name(text[end]):
                if text[i:end] == "0" and text[end] in "xXoObB":
                    raise ExprError(f"{_where(text, i)}: only decimal numbers are allowed")
                if text[end] in "jJ":
                    raise ExprError(f"{_where(text, i)}: only real numbers are allowed, got {text[i:end + 1]}")
                raise ExprError(f"{_where(text, end)}: a name right after the number {text[i:end]}; "
                                f"to multiply, write {text[i:end]}*{_name_at(text, end)}")
            yield _Token("number", text[i:end], i, end)
            i = end
            continue
        if text[i].isidentifier():
            end = i + 1
            while end < len(text) and _continues_name(text[end]):
                end += 1
            name = unicodedata.normalize("NFC", text[i:end])
            if name in _KEYWORDS or keyword.iskeyword(name):
                raise ExprError(f"{_where(text, i)}: {_KEYWORDS.get(name, f'{name!r} is not allowed')}")
            yield _Token("name", name, i, end)
            i = end
            continue
        operator = next((op for op in _OPERATORS if text.startswith(op, i)), None)  # '**' before '*'
        foreign = max((f for f in _FOREIGN if text.startswith(f, i)), key=len, default=None)  # ':=' before ':'
        if foreign and (operator is None or len(foreign) > len(operator)):  # '//' is not '/'
            raise ExprError(f"{_where(text, i)}: {_FOREIGN[foreign]}")
        if operator is None:
            raise ExprError(f"{_where(text, i)}: unexpected character {_character(text[i])}")
        yield _Token("op", operator, i, i + len(operator))
        i += len(operator)
    yield _Token("end", "", len(text), len(text))


def _continues_name(c: str) -> bool:
    return ("a" + c).isidentifier()


def _name_at(text: str, i: int) -> str:
    end = i
    while end < len(text) and _continues_name(text[end]):
        end += 1
    return text[i:end]


def _character(c: str) -> str:
    """A character for an error message: printable ones as themselves, others by code point."""
    if 0xDC80 <= ord(c) <= 0xDCFF:  # how Python reads a byte of a command line that is not UTF-8
        return f"U+{ord(c):04X} (the byte 0x{ord(c) - 0xDC00:02X}: the text is not valid UTF-8)"
    if 0xD800 <= ord(c) <= 0xDFFF:
        return f"U+{ord(c):04X} (half of a surrogate pair: not valid text)"
    return repr(c) if c.isprintable() else f"U+{ord(c):04X} ({unicodedata.name(c, 'a control character')})"


def _where(text: str, i: int) -> str:
    """The place of character i: 'column 5', 'line 2, column 3', or 'at the end'."""
    if i >= len(text.rstrip()):
        return "at the end"
    line = text.count("\n", 0, i) + 1
    column = i - (text.rfind("\n", 0, i) + 1) + 1
    return f"column {column}" if line == 1 else f"line {line}, column {column}"


class _Parser:
    """Recursive descent over the tokens: one method per rule of the grammar in the module docstring."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.stream = _tokens(text)
        self.tokens: list[_Token] = []  # read so far
        self.i = 0  # the next one
        self.depth = 0
        self.names: dict[str, int] = {}  # name -> where it first appears

    # -- tokens

    def token(self, ahead: int = 0) -> _Token:
        while len(self.tokens) <= self.i + ahead:
            self.tokens.append(next(self.stream))
        return self.tokens[self.i + ahead]

    def peek(self, *texts: str) -> bool:
        token = self.token()
        return token.kind == "op" and token.text in texts

    def take(self) -> _Token:
        token = self.token()
        self.i += 1
        return token

    def fail(self, token: _Token, message: str) -> ExprError:
        return ExprError(f"{_where(self.text, token.start)}: {message}")

    def expect(self, text: str, opened: _Token) -> None:
        token = self.take()
        if token.kind != "op" or token.text != text:
            if token.kind == "end":
                raise self.fail(token, f"'{opened.text}' at {_where(self.text, opened.start)} was never closed")
            raise self.fail(token, f"expected '{text}' (to close '{opened.text}' at "
                                   f"{_where(self.text, opened.start)}), found {self.describe(token)}")

    def describe(self, token: _Token) -> str:
        return "the end" if token.kind == "end" else repr(shorten(token.text, 20))

    # -- the grammar

    def expression(self) -> Expression:
        root = self.sum()
        token = self.token()
        if token.kind != "end":
            if token.text == ")":
                raise self.fail(token, "unmatched ')'")
            if token.text == "=":
                raise self.fail(token, "'=' only names an argument, as in leaky_relu(x, slope=0.1)")
            if token.text == ",":
                raise self.fail(token, "',' outside a call: one expression only")
            raise self.fail(token, f"expected an operator before {self.describe(token)}")
        return Expression(self.text, root, tuple(self.names), self.names)

    def sum(self) -> Node:
        return self.chain(("+", "-"), self.product)

    def product(self) -> Node:
        return self.chain(("*", "/"), self.unary)

    def chain(self, operators: tuple[str, ...], operand) -> Node:
        """operand (operator operand)*, grouped from the left: a - b - c is (a - b) - c. A loop, not recursion."""
        left = operand()
        while self.peek(*operators):
            op = self.take().text
            right = operand()
            left = Node(op, (left, right), start=left.start, end=right.end)
        return left

    def unary(self) -> Node:
        signs = self.signs()
        return _signed(signs, self.power())

    def power(self) -> Node:
        # x ** -y ** z is x ** (-(y ** z)): read the chain in a loop, then group it from the right
        bases, signs = [self.primary()], []
        while self.peek("**"):
            self.take()
            signs.append(self.signs())
            bases.append(self.primary())
        result = bases[-1]
        for base, sign in zip(reversed(bases[:-1]), reversed(signs)):
            exponent = _signed(sign, result)
            result = Node("**", (base, exponent), start=base.start, end=exponent.end)
        return result

    def signs(self) -> list[_Token]:
        signs = []
        while self.peek("+", "-"):
            signs.append(self.take())
        return signs

    def primary(self) -> Node:
        node = self.atom()
        while self.peek(".", "("):
            token = self.take()
            if token.text == "(":
                raise self.fail(token, "only the known functions can be called")
            name = self.take()
            if name.kind != "name":
                raise self.fail(name, f"expected a method's name after '.', found {self.describe(name)}")
            if not self.peek("("):
                if name.text in FUNCTIONS:
                    raise self.fail(name, f"'.{name.text}' is a method: call it, as in x.{name.text}()")
                raise self.fail(name, f"attribute access '.{name.text}' is not allowed")
            if name.text not in FUNCTIONS:
                raise self.fail(name, f"unknown method '.{name.text}()'; known: {', '.join(FUNCTIONS)}")
            node = self.call(name, receiver=node, start=node.start)
        return node

    def atom(self) -> Node:
        token = self.take()
        if token.kind == "number":
            value = float(token.text)
            if not math.isfinite(value):
                raise self.fail(token, f"the number {shorten(token.text, 20)} is too large for a float")
            return Node("number", value=value, start=token.start, end=token.end)
        if token.kind == "name":
            if self.peek("("):
                if token.text not in FUNCTIONS:
                    known = ", ".join(FUNCTIONS)
                    raise self.fail(token, f"unknown function {shorten(token.text, 30)!r}; known: {known}")
                return self.call(token, receiver=None, start=token.start)
            if token.text in FUNCTIONS:
                raise self.fail(token, f"{token.text!r} is a function; call it, as in {token.text}(x)")
            self.names.setdefault(token.text, token.start)
            return Node("name", value=token.text, start=token.start, end=token.end)
        if token.kind == "op" and token.text == "(":
            with self.nested(token):
                inner = self.sum()
                self.expect(")", token)
            return replace(inner, start=token.start, end=self.tokens[self.i - 1].end)  # the parentheses included
        if token.kind == "end":
            before = self.tokens[self.i - 2] if self.i >= 2 else None
            after = f" after {self.describe(before)}" if before is not None else ""
            raise self.fail(token, f"expected a number, a name or '('{after}")
        if token.text in ("*", "**") and self.i >= 2 and self.tokens[self.i - 2].text in ("(", ","):
            raise self.fail(token, f"'{token.text}' unpacking is not allowed")
        raise self.fail(token, f"expected a number, a name or '(', found {self.describe(token)}")

    def call(self, name: _Token, receiver: Node | None, start: int) -> Node:
        """The arguments of a call, bound to the function's parameters as Python binds them."""
        opened = self.take()  # "("
        params = FUNCTIONS[name.text]
        positional = [receiver] if receiver is not None else []
        keywords: dict[str, tuple[_Token, Node]] = {}
        with self.nested(opened):
            while not self.peek(")"):
                token = self.token()
                if token.kind == "name" and self.token(1).kind == "op" and self.token(1).text == "=":
                    self.i += 2
                    if token.text not in params:
                        raise self.fail(token, f"{name.text}() has no argument {shorten(token.text, 30)!r} "
                                               f"(its arguments: {', '.join(params)})")
                    if token.text in keywords:
                        raise self.fail(token, f"{name.text}() got the argument {token.text!r} twice")
                    keywords[token.text] = (token, self.sum())
                elif keywords:
                    raise self.fail(token, f"{name.text}(): an argument without a name after one with a name")
                else:
                    positional.append(self.sum())
                if not self.peek(","):
                    break
                self.take()
            self.expect(")", opened)
        end = self.tokens[self.i - 1].end
        accepted = params[receiver is not None:]  # what goes between the parentheses
        given = len(positional) - (receiver is not None)
        if given > len(accepted):
            takes = f"{len(accepted)} argument{'s' if len(accepted) != 1 else ''} ({', '.join(accepted)})"
            raise self.fail(opened, f"{name.text}() takes {takes if accepted else 'no arguments'}, got {given}")
        bound = dict(zip(params, positional))
        for param, (token, value) in keywords.items():
            if param in bound:
                raise self.fail(token, f"{name.text}() got two values for {param!r}")
            bound[param] = value
        if params[0] not in bound:
            raise self.fail(opened, f"{name.text}() is missing its argument {params[0]!r}")
        args = tuple(bound[p] for p in params if p in bound)
        return Node(name.text, args, start=start, end=end)

    @contextmanager
    def nested(self, opened: _Token) -> Iterator[None]:
        """One level deeper in parentheses or a call: every level costs a few stack frames."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(opened, f"parentheses and calls nested more than {MAX_DEPTH} deep")
        yield
        self.depth -= 1


def _signed(signs: list[_Token], node: Node) -> Node:
    """`node` under its unary signs (the nearest one applies first; '+' changes nothing)."""
    for sign in reversed(signs):
        if sign.text == "-":
            node = Node("neg", (node,), start=sign.start, end=node.end)
    return node


# ---------------------------------------------------------------------- evaluating


def evaluate(text: str | Expression, values: Mapping[str, float]) -> tuple[Value, dict[str, Value]]:
    """Build the graph of an expression with each name a labelled input Value; return (output, inputs).

    Every name needs a finite value. Numbers stay numbers (an operation on numbers only is
    worked out at once); domain errors (``log(-1)``, ``1/0``) become `ExprError` naming the column.

    Example:
        >>> out, inputs = evaluate("tanh(x*w + b)", {"x": 1.0, "w": -2.0, "b": 0.5})
        >>> out.backward()
        >>> round(out.data, 4), round(inputs["x"].grad, 4)
        (-0.9051, -0.3614)
    """
    expression = parse(text) if isinstance(text, str) else text
    values = {unicodedata.normalize("NFC", name): value for name, value in values.items()}
    inputs: dict[str, Value] = {}
    for name in expression.names:
        if name not in values:
            where = _where(expression.text, expression.first_seen[name])
            raise ExprError(f"{where}: no value for {name!r}; give it as {name}=NUMBER")
        number = values[name]
        if not is_real(number) or not math.isfinite(number):
            raise ExprError(f"the value of {name!r} must be a finite number, got {number!r}")
        inputs[name] = Value(float(number), label=name)

    # children before parents, with an explicit stack: a chain of 5,000 operations is 5,000 deep
    result: dict[int, Value | float] = {}
    stack: list[tuple[Node, bool]] = [(expression.root, False)]
    while stack:
        node, ready = stack.pop()
        if not ready:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(node.args))
            continue
        args = [result.pop(id(child)) for child in node.args]
        try:
            result[id(node)] = _apply(node, args, inputs)
        except (ValueError, ArithmeticError) as err:  # DomainError is a ValueError
            part = shorten(expression.text[node.start:node.end])
            raise ExprError(f"{_where(expression.text, node.start)}, in {part!r}: {err}") from None
    out = result[id(expression.root)]
    return (out if isinstance(out, Value) else Value(out)), inputs


def _apply(node: Node, args: list, inputs: dict[str, Value]) -> Value | float:
    """One node's value. An operation on numbers alone is done by a throwaway Value, so it follows
    the engine's float rules (no complex numbers, no int blow-up, inf on overflow), and stays a number."""
    if node.kind == "number":
        assert isinstance(node.value, float)  # the parser gives a number its float
        return node.value
    if node.kind == "name":
        assert isinstance(node.value, str)  # and a name its text
        return inputs[node.value]
    numbers_only = not any(isinstance(a, Value) for a in args)
    x = Value(args[0]) if numbers_only else args[0]
    if node.kind == "neg":
        out = -x
    elif node.kind == "+":
        out = x + args[1]
    elif node.kind == "-":
        out = x - args[1]
    elif node.kind == "*":
        out = x * args[1]
    elif node.kind == "/":
        out = x / args[1]
    elif node.kind == "**":
        out = x ** args[1]
    elif node.kind == "leaky_relu" and len(args) == 2:
        if isinstance(args[1], Value):
            raise ValueError("leaky_relu: the slope must be a number, not depend on the inputs")
        out = (x if isinstance(x, Value) else Value(x)).leaky_relu(args[1])
    else:  # tanh(x), x.relu(), ...: the engine's method of the same name
        out = getattr(x if isinstance(x, Value) else Value(x), node.kind)()
    return out.data if numbers_only else out
