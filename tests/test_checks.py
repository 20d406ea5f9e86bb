"""Tests of autograd_tiny.checks: the shared argument checks and the one convention for seeds."""

import math
import random

import pytest

from autograd_tiny.checks import check_bool, check_choice, check_int, check_real, describe, make_rng


def test_describe_shortens_huge_numbers_long_strings_and_deep_lists():
    """A 4,000-digit int, a 10,000-character string and 10,000 nested lists print in under 100 characters."""
    deep = []
    for _ in range(10_000):
        deep = [deep]
    for value in (int("7" * 4000), "x" * 10_000, deep, list(range(10_000))):
        assert len(describe(value)) < 100
    assert describe(0.5) == "0.5" and describe("no") == "'no'"


@pytest.mark.parametrize("value", [True, "0.1", None, math.nan, math.inf, 10**400])
def test_check_real_refuses_bools_strings_and_non_finite_numbers(value):
    """Only finite real numbers pass: bools, strings, None, nan, inf and ints beyond float range fail."""
    with pytest.raises(ValueError, match="Owner: x must be a"):
        check_real("Owner", "x", value)


def test_check_real_bounds():
    """low, high and high_open bound the number, and the message says the allowed range."""
    assert check_real("O", "b", 0, low=0, high=1, high_open=True) == 0.0
    with pytest.raises(ValueError, match=r"O: b must be in \[0, 1\), got 1.0"):
        check_real("O", "b", 1, low=0, high=1, high_open=True)
    with pytest.raises(ValueError, match="O: lr must be >= 0, got -0.5"):
        check_real("O", "lr", -0.5, low=0)


@pytest.mark.parametrize("value", [True, 2.0, "3", 0, -1])
def test_check_int_refuses_bools_floats_strings_and_small_ints(value):
    """check_int takes ints >= least only (True and 2.0 are not ints here)."""
    with pytest.raises(ValueError, match="O: n must be an int >= 1"):
        check_int("O", "n", value)
    assert check_int("O", "n", 0, least=0) == 0


@pytest.mark.parametrize("value", ["no", "False", 0, 1, None])
def test_check_bool_is_strict(value):
    """Only True and False are booleans: 'no', 'False', 0, 1 and None are refused (0.1 took 'no' as True)."""
    with pytest.raises(ValueError, match="O: fused must be True or False"):
        check_bool("O", "fused", value)
    assert check_bool("O", "fused", False) is False


def test_check_choice_lists_the_options():
    """An unknown choice (or an unhashable one) names the option and lists the choices."""
    with pytest.raises(ValueError, match="O: reduction must be one of 'mean', 'sum', got 'avg'"):
        check_choice("O", "reduction", "avg", ("mean", "sum"))
    with pytest.raises(ValueError, match="reduction must be one of 'mean', 'sum', got \\[1\\]"):
        check_choice("O", "reduction", [1], ("mean", "sum"))


def test_make_rng_takes_an_int_a_random_or_none():
    """An int seeds a new generator, a Random is used as it is, None means the global random module."""
    assert make_rng("O", 5).random() == random.Random(5).random()
    mine = random.Random(1)
    assert make_rng("O", mine) is mine
    assert make_rng("O", None) is random
    with pytest.raises(TypeError, match="O: seed must be an int or a random.Random, got float"):
        make_rng("O", 1.5)
