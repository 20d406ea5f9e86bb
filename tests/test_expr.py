"""The expression parser of `autograd-tiny graph`: its trees against Python's own parser, its limits."""

import ast
import inspect
import math
import random

import pytest

from autograd_tiny.expr import FUNCTIONS, MAX_LENGTH, ExprError, evaluate, input_names, parse, shorten

# Python functions with the same signatures, so that inspect binds arguments as Python would
SIGNATURES = {name: inspect.Signature([inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                         default=0.01 if p == "slope" else inspect.Parameter.empty)
                                       for p in params])
              for name, params in FUNCTIONS.items()}
PYTHON_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}


def python_tree(node: ast.AST):
    """Python's reading of an expression, as nested tuples: the oracle."""
    if isinstance(node, ast.Expression):
        return python_tree(node.body)
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.BinOp):
        return (PYTHON_OPS[type(node.op)], python_tree(node.left), python_tree(node.right))
    if isinstance(node, ast.UnaryOp):
        return ("neg", python_tree(node.operand)) if isinstance(node.op, ast.USub) else python_tree(node.operand)
    assert isinstance(node, ast.Call)
    if isinstance(node.func, ast.Attribute):  # a method: the value before the dot is the first argument
        name, args = node.func.attr, [node.func.value, *node.args]
    else:
        name, args = node.func.id, list(node.args)
    bound = SIGNATURES[name].bind(*args, **{k.arg: k.value for k in node.keywords})
    return (name, *(python_tree(bound.arguments[p]) for p in FUNCTIONS[name] if p in bound.arguments))


def our_tree(node):
    """Our parser's reading, as the same nested tuples."""
    if node.kind in ("number", "name"):
        return node.value
    return (node.kind, *(our_tree(a) for a in node.args))


def random_expression(rng: random.Random, depth: int) -> str:
    """A random expression in the shared part of Python's grammar and ours, with random spacing."""
    sp = lambda: rng.choice(["", "", " ", "  "])  # noqa: E731
    r = rng.random()
    if depth == 0 or r < 0.25:
        if rng.random() < 0.4:
            return rng.choice(["3", "0.5", "1e-3", "2.", ".5", "1_000", "1E+2", "0", "7.25e1"])
        return rng.choice(["x", "y", "w", "α", "x2", "_b"])
    sub = lambda: random_expression(rng, depth - 1)  # noqa: E731
    if r < 0.6:
        return f"{sub()}{sp()}{rng.choice(['+', '-', '*', '/', '**'])}{sp()}{sub()}"
    if r < 0.7:
        return f"{rng.choice(['-', '+', '-'])}{sp()}{sub()}"
    if r < 0.78:
        return f"({sp()}{sub()}{sp()})"
    name = rng.choice(list(FUNCTIONS))
    if r < 0.9:
        if name == "leaky_relu":
            return rng.choice([f"leaky_relu({sub()})", f"leaky_relu({sub()},{sp()}{sub()})",
                               f"leaky_relu({sub()}, slope={sub()})", f"leaky_relu(slope={sub()}, x={sub()})"])
        return rng.choice([f"{name}({sp()}{sub()}{sp()})", f"{name}(x={sub()})"])
    args = rng.choice(["", f"slope={sub()}", sub()]) if name == "leaky_relu" else ""
    return f"({sub()}){sp()}.{sp()}{name}({args})"


def test_random_expressions_are_read_as_python_reads_them():
    """On 2,000 random expressions, precedence, grouping, signs, numbers and argument binding match Python's parser."""
    rng = random.Random(12)
    for _ in range(2000):
        text = random_expression(rng, rng.randint(1, 6))
        assert our_tree(parse(text).root) == python_tree(ast.parse(text, mode="eval")), text


@pytest.mark.parametrize("text", ["-x**2", "2**-x", "x**y**z", "x ** -y ** z", "--x", "-x*y", "a-b-c", "a/b*c",
                                  "-2**-2**-1", "x**-(y)", "(x).tanh().exp()", "- - -x ** - - y"])
def test_tricky_precedence_matches_python(text):
    """The places where precedence surprises people read exactly as Python reads them."""
    assert our_tree(parse(text).root) == python_tree(ast.parse(text, mode="eval"))


@pytest.mark.parametrize("text", ["1_000.5e-3", ".5", "5.", "1e5", "1E+5", "0.0", "00012", "3.14159265358979323846",
                                  "1e-320", "1.7976931348623157e308"])
def test_numbers_are_python_floats(text):
    """Number literals give the float Python's own float() gives."""
    assert parse(text).root.value == float(text)


def test_chains_of_thousands_of_operations_are_read():
    """A flat sum or product of 5,000 terms, or 4,999 signs, is read in a loop: no depth limit, right values."""
    product = "*".join(["x"] * 5000)
    assert len(product) < MAX_LENGTH
    out, inputs = evaluate(product, {"x": 1.0001})
    out.backward()
    assert out.data == pytest.approx(1.0001**5000, rel=1e-9)
    assert inputs["x"].grad == pytest.approx(5000 * 1.0001**4999, rel=1e-9)
    out, _ = evaluate("-" * 4999 + "x", {"x": 2.0})
    assert out.data == -2.0  # an odd number of minus signs
    out, _ = evaluate("**".join(["x"] * 3000), {"x": 1.0})
    assert out.data == 1.0
    assert "Node(" in repr(parse(product).root)  # repr stays shallow on a 5,000-deep tree


def test_too_long_is_said_to_be_too_long():
    """Past MAX_LENGTH characters the message says the expression is too long, with both numbers."""
    with pytest.raises(ExprError, match=f"^the expression is {MAX_LENGTH + 1:,} characters long; at most {MAX_LENGTH:,}$"):
        parse("x" * (MAX_LENGTH + 1))


def test_names_are_taken_as_written():
    """Compatibility forms (ｘ, 𝐱) are names of their own; only canonically equal spellings (NFC) are one name."""
    assert input_names("ｘ + 𝐱 + x") == ["ｘ", "𝐱", "x"]
    assert input_names("\u00e9 + e\u0301") == ["\u00e9"]  # é written as one code point, then as two
    out, inputs = evaluate("ｘ * 𝐱 - x", {"ｘ": 2.0, "𝐱": 3.0, "x": 5.0})
    out.backward()
    assert out.data == 1.0 and [inputs[n].grad for n in ("ｘ", "𝐱", "x")] == [3.0, 2.0, -1.0]


def test_the_api_reports_bad_text_with_the_parsers_error():
    """parse() of a lone surrogate or of a non-string is an ExprError, never a UnicodeEncodeError or TypeError."""
    with pytest.raises(ExprError, match=r"^column 2: unexpected character U\+D800"):
        parse("x\ud800")
    with pytest.raises(ExprError, match="must be text, got bytes"):
        parse(b"x")


def test_evaluate_checks_its_values():
    """evaluate() needs a finite number for every name, and says which name lacks one."""
    with pytest.raises(ExprError, match=r"^column 5: no value for 'y'; give it as y=NUMBER$"):
        evaluate("x + y", {"x": 1.0})
    for bad in (math.inf, math.nan, "1", True):
        with pytest.raises(ExprError, match="the value of 'x' must be a finite number"):
            evaluate("x", {"x": bad})


def test_numbers_alone_are_worked_out_at_once_by_the_engines_rules():
    """An operation on numbers alone gives a number (the engine's rules: inf on overflow), not a graph node."""
    from autograd_tiny import trace

    out, inputs = evaluate("x * (2 + 3) + tanh(0)", {"x": 1.5})
    nodes, _ = trace(out)
    assert out.data == 7.5 and sorted(v.data for v in nodes) == [0.0, 1.5, 5.0, 7.5, 7.5]  # x, 5, x*5, 0, x*5 + 0
    assert evaluate("10 ** 400 + x", {"x": 1.0})[0].data == math.inf
    with pytest.raises(ExprError, match=r"^column 1, in '\(-8\)\*\*\(1/3\)': "):
        evaluate("(-8)**(1/3) + x", {"x": 1.0})


def test_error_messages_shorten_long_parts():
    """A domain error inside a long expression quotes the failing part shortened, never all of it."""
    long = "+".join(["x"] * 2000)
    with pytest.raises(ExprError) as info:
        evaluate(f"log(-({long}))", {"x": 1.0})
    assert len(str(info.value)) < 200 and " ... " in str(info.value)
    assert shorten("short") == "short" and len(shorten("y" * 1000, 60)) <= 60
