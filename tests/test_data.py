"""Tests of autograd_tiny.data: the toy datasets, the train/test split and accuracy."""

import inspect
import math
import random
import statistics

import pytest

from autograd_tiny import data
from autograd_tiny.data import (
    DATASETS,
    accuracy,
    blobs,
    circles,
    moons,
    signed_labels,
    spirals,
    train_test_split,
    xor,
    yin_yang,
)

# ---------------------------------------------------------------------- every generator


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_generator_returns_plain_lists_of_points_and_int_labels(name):
    """Each generator returns n points as [float, float] lists and int labels 0..k-1."""
    X, y = DATASETS[name](n=61, seed=3)
    assert type(X) is list and type(y) is list
    assert len(X) == len(y) == 61
    assert all(type(p) is list and len(p) == 2 and all(type(c) is float for c in p) for p in X)
    assert all(type(label) is int for label in y)
    classes = sorted(set(y))
    assert classes == list(range(len(classes))) and len(classes) >= 2


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_generator_is_reproducible_from_its_seed(name):
    """The same seed gives the same data, a different seed different data, and a Random works as a seed."""
    gen = DATASETS[name]
    assert gen(n=40, seed=7) == gen(n=40, seed=7)
    assert gen(n=40, seed=7) != gen(n=40, seed=8)
    assert gen(n=40, seed=random.Random(7)) == gen(n=40, seed=7)


@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("n", [0, -3, 2.5, True])
def test_generator_rejects_a_bad_size(name, n):
    """A size that is not a positive int raises a ValueError naming the generator."""
    with pytest.raises(ValueError, match=name):
        DATASETS[name](n=n)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_generator_rejects_a_bad_seed(name):
    """A seed that is neither an int nor a random.Random raises a TypeError naming the generator."""
    with pytest.raises(TypeError, match=name):
        DATASETS[name](n=10, seed="zero")


@pytest.mark.parametrize("gen", [moons, circles, spirals, xor])
@pytest.mark.parametrize("noise", [-0.1, math.nan, math.inf, "a"])
def test_generator_rejects_bad_noise(gen, noise):
    """Negative, NaN, infinite or non-numeric noise raises a ValueError naming the generator."""
    with pytest.raises(ValueError, match=gen.__name__):
        gen(n=10, noise=noise)


@pytest.mark.parametrize("gen", [moons, circles, spirals, xor])
def test_generator_rejects_noise_too_large_for_a_float(gen):
    """An int noise past the largest float is refused as not finite, naming the generator (not an OverflowError later)."""
    with pytest.raises(ValueError, match=f"{gen.__name__}: noise must be a finite number"):
        gen(n=10, noise=10**400)


@pytest.mark.parametrize("std", [-0.5, math.nan, "a"])
def test_blobs_rejects_a_bad_std_by_its_name(std):
    """blobs' spread is called std, and its error says std."""
    with pytest.raises(ValueError, match="blobs: std must be"):
        blobs(n=10, std=std)


# ---------------------------------------------------------------------- the shapes


def test_moons_without_noise_lie_on_the_two_half_circles():
    """Class 0 lies on the upper unit half circle, class 1 on the lower one centred at (1, 0.5)."""
    X, y = moons(101, noise=0.0, seed=0)
    assert y.count(0) == 51 and y.count(1) == 50
    for (a, b), label in zip(X, y):
        if label == 0:
            assert math.hypot(a, b) == pytest.approx(1.0, abs=1e-12) and b >= -1e-12
        else:
            assert math.hypot(a - 1, b - 0.5) == pytest.approx(1.0, abs=1e-12) and b <= 0.5 + 1e-12


def test_moons_noise_is_gaussian_with_the_given_standard_deviation():
    """The noisy points minus the clean ones (same seed) have mean about 0 and the requested spread."""
    clean, y_clean = moons(4000, noise=0.0, seed=5)
    noisy, y_noisy = moons(4000, noise=0.1, seed=5)
    assert y_clean == y_noisy  # the same draws and the same shuffle
    diffs = [n - c for p, q in zip(noisy, clean) for n, c in zip(p, q)]
    assert abs(statistics.fmean(diffs)) < 0.005
    assert statistics.pstdev(diffs) == pytest.approx(0.1, rel=0.03)


def test_circles_without_noise_have_radius_one_and_factor():
    """Class 0 lies on the unit circle and class 1 on the circle of radius `factor`."""
    X, y = circles(80, noise=0.0, factor=0.3, seed=1)
    for (a, b), label in zip(X, y):
        assert math.hypot(a, b) == pytest.approx(1.0 if label == 0 else 0.3, abs=1e-12)
    assert y.count(0) == y.count(1) == 40


@pytest.mark.parametrize("factor", [0, 1, -0.5, 2])
def test_circles_rejects_a_factor_outside_zero_one(factor):
    """A factor outside (0, 1) raises a ValueError naming circles."""
    with pytest.raises(ValueError, match="circles"):
        circles(10, factor=factor)


def test_spirals_without_noise_follow_the_arms():
    """Without noise, a point of arm k at radius r sits at angle 4k + 4r (x = r sin t, y = r cos t)."""
    X, y = spirals(200, classes=4, noise=0.0, seed=0)
    assert [y.count(k) for k in range(4)] == [50, 50, 50, 50]
    for (a, b), k in zip(X, y):
        r = math.hypot(a, b)
        t = 4 * k + 4 * r
        assert a == pytest.approx(r * math.sin(t), abs=1e-12)
        assert b == pytest.approx(r * math.cos(t), abs=1e-12)


def test_spirals_need_two_classes():
    """classes=1 raises a ValueError naming spirals."""
    with pytest.raises(ValueError, match="spirals"):
        spirals(10, classes=1)


def test_blobs_without_spread_sit_on_their_centres():
    """With std 0, every point of class k is at 2 (cos, sin)(pi/2 + 2 pi k / centers)."""
    X, y = blobs(50, centers=5, std=0.0, seed=0)
    for (a, b), k in zip(X, y):
        angle = math.pi / 2 + 2 * math.pi * k / 5
        assert (a, b) == pytest.approx((2 * math.cos(angle), 2 * math.sin(angle)), abs=1e-12)
    assert sorted(set(y)) == [0, 1, 2, 3, 4]


def test_xor_labels_say_whether_the_signs_differ():
    """Without noise, the label is 1 exactly when one coordinate is negative and the other is not."""
    X, y = xor(300, seed=2)
    assert all(-1 <= a <= 1 and -1 <= b <= 1 for a, b in X)
    assert y == [int((a < 0) != (b < 0)) for a, b in X]
    assert 100 < sum(y) < 200


def _yin_yang_by_geometry(a, b):
    """The symbol, from its description: eyes of radius 0.2 at (0, +-0.5); the upper head is yin."""
    if math.hypot(a, b - 0.5) < 0.2 or math.hypot(a, b + 0.5) < 0.2:
        return 2
    if math.hypot(a, b - 0.5) < 0.5:
        return 0
    if math.hypot(a, b + 0.5) < 0.5:
        return 1
    return 0 if a < 0 else 1


def test_yin_yang_is_balanced_and_follows_the_symbol():
    """Yin-yang points are in the unit disk, one third per class, each labelled by the symbol's regions."""
    X, y = yin_yang(300, seed=4)
    assert [y.count(k) for k in range(3)] == [100, 100, 100]
    assert all(a * a + b * b < 1 for a, b in X)
    assert y == [_yin_yang_by_geometry(a, b) for a, b in X]


def test_yin_yang_classes_are_point_symmetric():
    """Turning the plane by half a turn swaps yin and yang and keeps the eyes, as the symbol does."""
    X, y = yin_yang(300, seed=6)
    swap = {0: 1, 1: 0, 2: 2}
    assert [swap[_yin_yang_by_geometry(-a, -b)] for a, b in X] == y


def test_datasets_offers_every_generator_under_its_own_name():
    """DATASETS, the command line's list, holds every generator of the module (each public function
    whose first argument is the number of points n), under its own name: a new generator cannot be
    left out of it, nor an entry point at another generator's data."""
    generators = {name for name in data.__all__
                  if callable(getattr(data, name)) and list(inspect.signature(getattr(data, name)).parameters)[:1] == ["n"]}
    assert generators and set(DATASETS) == generators
    for name, generate in DATASETS.items():
        assert generate(n=12, seed=4) == getattr(data, name)(n=12, seed=4)


# ---------------------------------------------------------------------- split and metrics


def test_train_test_split_partitions_the_pairs():
    """The split keeps each point with its label and uses each point exactly once."""
    X = [[float(i), float(-i)] for i in range(20)]
    y = list(range(20))
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.25, seed=1)
    assert len(X_test) == len(y_test) == 5 and len(X_train) == len(y_train) == 15
    assert all(p[0] == label for p, label in zip(X_train + X_test, y_train + y_test))
    assert sorted(y_train + y_test) == y
    assert (X_train, X_test) == train_test_split(X, y, test_fraction=0.25, seed=1)[:2]
    assert y_test != train_test_split(X, y, test_fraction=0.25, seed=2)[3]


def test_train_test_split_keeps_one_point_on_each_side():
    """Tiny fractions still give one test point, and large ones leave one training point."""
    X, y = [[0.0], [1.0], [2.0]], [0, 1, 2]
    assert len(train_test_split(X, y, test_fraction=0.01)[1]) == 1
    assert len(train_test_split(X, y, test_fraction=0.99)[0]) == 1


@pytest.mark.parametrize(
    "X, y, fraction",
    [([[0.0], [1.0]], [0], 0.5), ([[0.0]], [0], 0.5), ([[0.0], [1.0]], [0, 1], 0), ([[0.0], [1.0]], [0, 1], 1.0)],
)
def test_train_test_split_rejects_bad_input(X, y, fraction):
    """Mismatched lengths, too few points or a fraction outside (0, 1) raise a ValueError naming the split."""
    with pytest.raises(ValueError, match="train_test_split"):
        train_test_split(X, y, test_fraction=fraction)


def test_accuracy_is_the_fraction_of_matches():
    """accuracy counts equal pairs and divides by the number of labels."""
    assert accuracy([1, 0, 2, 2], [1, 1, 2, 0]) == 0.5
    assert accuracy([3], [3]) == 1.0


@pytest.mark.parametrize("pred, labels", [([0, 1], [0]), ([], [])])
def test_accuracy_rejects_mismatched_or_empty_lists(pred, labels):
    """Different lengths or no labels raise a ValueError naming accuracy."""
    with pytest.raises(ValueError, match="accuracy"):
        accuracy(pred, labels)


def test_signed_labels_maps_zero_one_to_minus_one_plus_one():
    """signed_labels turns 0 into -1 and 1 into +1, as the hinge loss wants."""
    assert signed_labels([0, 1, 1, 0]) == [-1, 1, 1, -1]


@pytest.mark.parametrize("bad", [2, -1, 0.5, 1.0, "1", True])
def test_signed_labels_rejects_other_labels(bad):
    """Anything but 0 or 1 raises a ValueError naming signed_labels."""
    with pytest.raises(ValueError, match="signed_labels"):
        signed_labels([0, bad])


def test_data_needs_nothing_beyond_the_standard_library():
    """The module imports neither numpy nor scikit-learn."""
    source = open(data.__file__, encoding="utf-8").read()
    assert "numpy" not in source and "sklearn" not in source
