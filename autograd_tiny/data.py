"""Toy datasets for two-dimensional classification, real handwritten digits, a train/test split and accuracy.

Every generator takes a ``seed`` (an int, a `random.Random`, or None for Python's global
generator: the convention of `autograd_tiny.checks.make_rng`, shared with `autograd_tiny.nn`;
the default, 0, gives the same data every time) and returns plain lists, so nothing beyond the
standard library is needed: ``X`` is a list of ``[x1, x2]`` floats and ``y``
a list of int class labels ``0 .. k-1``.

Example:
    >>> X, y = moons(n=100, noise=0.1, seed=0)
    >>> len(X), len(y), sorted(set(y))
    (100, 100, [0, 1])
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.25, seed=0)
    >>> len(X_train), len(X_test)
    (75, 25)
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

from .checks import check_bool, check_int, check_real, is_real, make_rng

__all__ = [
    "moons",
    "circles",
    "spirals",
    "blobs",
    "xor",
    "yin_yang",
    "train_test_split",
    "accuracy",
    "signed_labels",
    "DATASETS",
    "digits",
    "confusion_matrix",
]

Dataset = tuple[list[list[float]], list[int]]


# ---------------------------------------------------------------------- helpers


def _linspace(start: float, stop: float, n: int) -> list[float]:
    if n == 1:
        return [start]
    step = (stop - start) / (n - 1)
    return [start + i * step for i in range(n)]


def _shuffled(rng: random.Random, X: list, y: list) -> Dataset:
    order = list(range(len(X)))
    rng.shuffle(order)
    return [X[i] for i in order], [y[i] for i in order]


def _split_counts(n: int, k: int) -> list[int]:
    """n points over k classes, as evenly as possible (the first classes get the remainder)."""
    return [n // k + (1 if c < n % k else 0) for c in range(k)]


# ---------------------------------------------------------------------- generators


def moons(n: int = 100, noise: float = 0.1, seed: int | random.Random | None = 0) -> Dataset:
    """Two interleaving half circles (as scikit-learn's make_moons), shuffled.

    Args:
        n: number of points (class 0 gets the extra one when n is odd).
        noise: standard deviation of the Gaussian noise added to each coordinate.
        seed: an int, a random.Random to draw from, or None for Python's global generator.

    Example:
        >>> X, y = moons(4, noise=0.0)
        >>> sorted(zip(y, X))[0]
        (0, [-1.0, 1.2246467991473532e-16])
    """
    check_int("moons", "n", n)
    check_real("moons", "noise", noise, low=0)
    rng = make_rng("moons", seed)
    n_outer, n_inner = _split_counts(n, 2)
    X, y = [], []
    for t in _linspace(0.0, math.pi, n_outer):  # the upper moon, class 0
        X.append([math.cos(t), math.sin(t)])
        y.append(0)
    for t in _linspace(0.0, math.pi, n_inner):  # the lower moon, class 1, shifted right and down
        X.append([1.0 - math.cos(t), 0.5 - math.sin(t)])
        y.append(1)
    X = [[a + rng.gauss(0.0, noise), b + rng.gauss(0.0, noise)] for a, b in X]
    return _shuffled(rng, X, y)


def circles(n: int = 100, noise: float = 0.05, factor: float = 0.5, seed: int | random.Random | None = 0) -> Dataset:
    """A circle of radius 1 (class 0) around a smaller one of radius `factor` (class 1).

    Example:
        >>> X, y = circles(100, noise=0.0, factor=0.5)
        >>> sorted({round((a * a + b * b) ** 0.5, 9) for a, b in X})
        [0.5, 1.0]
    """
    check_int("circles", "n", n)
    check_real("circles", "noise", noise, low=0)
    check_real("circles", "factor", factor, low=0, high=1, low_open=True, high_open=True)
    rng = make_rng("circles", seed)
    X, y = [], []
    for label, (count, radius) in enumerate(zip(_split_counts(n, 2), (1.0, factor))):
        for i in range(count):
            t = 2 * math.pi * i / count
            X.append([radius * math.cos(t) + rng.gauss(0.0, noise), radius * math.sin(t) + rng.gauss(0.0, noise)])
            y.append(label)
    return _shuffled(rng, X, y)


def spirals(n: int = 150, classes: int = 3, noise: float = 0.2, seed: int | random.Random | None = 0) -> Dataset:
    """`classes` arms spiralling out from the origin (as in Stanford's CS231n notes).

    Arm k sweeps the angle from 4k to 4(k+1) radians while the radius grows from 0 to 1;
    `noise` is the standard deviation of the Gaussian noise on the angle.

    Example:
        >>> X, y = spirals(150, classes=3)
        >>> [y.count(k) for k in range(3)]
        [50, 50, 50]
    """
    check_int("spirals", "n", n)
    check_int("spirals", "classes", classes, least=2)
    check_real("spirals", "noise", noise, low=0)
    rng = make_rng("spirals", seed)
    X, y = [], []
    for label, count in enumerate(_split_counts(n, classes)):
        radii = _linspace(0.0, 1.0, count)
        angles = _linspace(4.0 * label, 4.0 * (label + 1), count)
        for r, t in zip(radii, angles):
            t += rng.gauss(0.0, noise)
            X.append([r * math.sin(t), r * math.cos(t)])
            y.append(label)
    return _shuffled(rng, X, y)


def blobs(n: int = 100, centers: int = 3, std: float = 0.5, seed: int | random.Random | None = 0) -> Dataset:
    """Gaussian blobs of standard deviation `std` around `centers` points evenly spaced on a circle of radius 2.

    Example:
        >>> X, y = blobs(90, centers=3, std=0.0)
        >>> sorted({(round(a, 9), round(b, 9)) for a, b in X})[0]
        (-1.732050808, -1.0)
    """
    check_int("blobs", "n", n)
    check_int("blobs", "centers", centers)
    check_real("blobs", "std", std, low=0)
    rng = make_rng("blobs", seed)
    X, y = [], []
    for label, count in enumerate(_split_counts(n, centers)):
        angle = math.pi / 2 + 2 * math.pi * label / centers
        cx, cy = 2 * math.cos(angle), 2 * math.sin(angle)
        for _ in range(count):
            X.append([cx + rng.gauss(0.0, std), cy + rng.gauss(0.0, std)])
            y.append(label)
    return _shuffled(rng, X, y)


def xor(n: int = 100, noise: float = 0.0, seed: int | random.Random | None = 0) -> Dataset:
    """Points uniform in the square [-1, 1]²: class 1 where exactly one coordinate is negative.

    The label comes from the clean point; `noise` (Gaussian, on each coordinate) is added after.

    Example:
        >>> X, y = xor(200)
        >>> all(label == ((a < 0) != (b < 0)) for (a, b), label in zip(X, y))
        True
    """
    check_int("xor", "n", n)
    check_real("xor", "noise", noise, low=0)
    rng = make_rng("xor", seed)
    X, y = [], []
    for _ in range(n):
        a, b = rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)
        y.append(int((a < 0) != (b < 0)))
        X.append([a + rng.gauss(0.0, noise), b + rng.gauss(0.0, noise)])
    return X, y


# The yin-yang symbol in the unit disk: the two eyes sit at (0, +-1/2).
_EYE = 0.2  # radius of the eyes


def _yin_yang_class(a: float, b: float) -> int:
    """0 (yin), 1 (yang) or 2 (either eye) for a point of the unit disk."""
    upper = math.hypot(a, b - 0.5)  # distance to the upper eye's centre
    lower = math.hypot(a, b + 0.5)
    if upper < _EYE or lower < _EYE:
        return 2
    if upper < 0.5:  # the upper head is yin's
        return 0
    if lower < 0.5:  # the lower head is yang's
        return 1
    return 0 if a < 0 else 1


def yin_yang(n: int = 150, seed: int | random.Random | None = 0) -> Dataset:
    """The yin-yang symbol as three classes: yin (0), yang (1) and the two eyes (2), balanced.

    Points are uniform in the unit disk within each class (rejection sampling), and each class
    gets a third of them, so the small eyes are not drowned out.

    Example:
        >>> X, y = yin_yang(150)
        >>> [y.count(k) for k in range(3)], all(a * a + b * b < 1 for a, b in X)
        ([50, 50, 50], True)
    """
    check_int("yin_yang", "n", n)
    rng = make_rng("yin_yang", seed)
    X, y = [], []
    for label, count in enumerate(_split_counts(n, 3)):
        while count:
            a, b = rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)
            if a * a + b * b < 1 and _yin_yang_class(a, b) == label:
                X.append([a, b])
                y.append(label)
                count -= 1
    return _shuffled(rng, X, y)


DATASETS: dict[str, Callable[..., Dataset]] = {
    "moons": moons,
    "circles": circles,
    "spirals": spirals,
    "blobs": blobs,
    "xor": xor,
    "yin_yang": yin_yang,
}


# ---------------------------------------------------------------------- splits and metrics


def train_test_split(
    X: Sequence, y: Sequence, test_fraction: float = 0.25, seed: int | random.Random | None = 0
) -> tuple[list, list, list, list]:
    """Shuffle and split into ``X_train, X_test, y_train, y_test`` (scikit-learn's order).

    The test part has ``round(len(X) * test_fraction)`` points, at least one, and the training
    part keeps at least one.

    Example:
        >>> X_train, X_test, y_train, y_test = train_test_split([[0], [1], [2], [3]], [0, 1, 2, 3], 0.5)
        >>> len(X_test), sorted(y_train + y_test)
        (2, [0, 1, 2, 3])
    """
    if len(X) != len(y):
        raise ValueError(f"train_test_split: {len(X)} points but {len(y)} labels")
    if len(X) < 2:
        raise ValueError(f"train_test_split: needs at least 2 points, got {len(X)}")
    check_real("train_test_split", "test_fraction", test_fraction, low=0, high=1, low_open=True, high_open=True)
    rng = make_rng("train_test_split", seed)
    order = list(range(len(X)))
    rng.shuffle(order)
    n_test = min(max(round(len(X) * test_fraction), 1), len(X) - 1)
    test, train = order[:n_test], order[n_test:]
    return [X[i] for i in train], [X[i] for i in test], [y[i] for i in train], [y[i] for i in test]


def accuracy(predicted_labels: Sequence, labels: Sequence) -> float:
    """The fraction of predictions equal to the labels.

    Example:
        >>> accuracy([0, 1, 1, 0], [0, 1, 0, 0])
        0.75
    """
    if len(predicted_labels) != len(labels):
        raise ValueError(f"accuracy: {len(predicted_labels)} predictions but {len(labels)} labels")
    if not labels:
        raise ValueError("accuracy: needs at least one label, got none")
    return sum(p == t for p, t in zip(predicted_labels, labels)) / len(labels)


def signed_labels(y: Sequence[int]) -> list[int]:
    """0/1 labels as -1/+1, the labels of the hinge loss.

    Example:
        >>> signed_labels([0, 1, 1])
        [-1, 1, 1]
    """
    bad = [label for label in y if not is_real(label) or isinstance(label, float) or label not in (0, 1)]
    if bad:
        raise ValueError(f"signed_labels: labels must be 0 or 1, got {bad[0]!r}")
    return [2 * label - 1 for label in y]


# ---------------------------------------------------------------------- handwritten digits
# Real data, not a generator: the images are a file inside the package (datasets/), read when
# digits() is called, never at import. So there is no n and no seed: the data is what it is,
# and train_test_split shuffles it as it does the generated sets.

DIGITS_FILE = "digits.csv.gz"  # in datasets/; made by scripts/make_digits.py, which says where from
DIGITS_SIDE = 8  # an image is DIGITS_SIDE x DIGITS_SIDE pixels
DIGITS_INK = 16  # the largest pixel: a pixel counts the inked bits of a 4 x 4 block


def digits(scaled: bool = False) -> Dataset:
    """The 1,797 handwritten digits of the UCI "Optical Recognition of Handwritten Digits" test set.

    Each image is 8 x 8 pixels, given as a list of 64 ints row by row (top row first): a pixel
    counts the inked bits in a 4 x 4 block of the scanned 32 x 32 bitmap, from 0 (blank) to 16
    (all ink). ``y`` holds the digit each image shows, 0-9, about 180 of each. The order is the
    file's, the same on every call; split it with `train_test_split`, as the generated sets.

    Args:
        scaled: False (the default) gives the raw counts 0-16; True gives each divided by 16, a
            float in [0, 1], the scale a network trains well on (``autograd-tiny train --data
            digits`` uses it).

    The data is by E. Alpaydin and C. Kaynak (1998), UCI Machine Learning Repository,
    https://doi.org/10.24432/C50P49, licensed CC BY 4.0 (see the NOTICE file): the same 1,797
    images scikit-learn's ``load_digits`` returns.

    Example:
        >>> X, y = digits()
        >>> len(X), len(X[0]), y[:10]
        (1797, 64, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
        >>> for row in range(8):  # the first image: '-' for 0-5, '+' for 6-11, '#' for 12-16
        ...     print("".join("-+#"[p // 6] for p in X[0][8 * row:8 * row + 8]))
        ---#+---
        --##+#--
        --#--++-
        --#--++-
        --+--++-
        --+--#+-
        --#-+#--
        --+#+---
        >>> X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.25, seed=0)
        >>> len(X_train), len(X_test)
        (1348, 449)
        >>> max(max(x) for x in digits(scaled=True)[0])
        1.0
    """
    import gzip
    from importlib.resources import files

    check_bool("digits", "scaled", scaled)
    text = gzip.decompress((files("autograd_tiny") / "datasets" / DIGITS_FILE).read_bytes()).decode("ascii")
    rows = [line.split(",") for line in text.splitlines()]  # 64 pixels, then the digit
    X: list[list[float]] = [[int(p) / DIGITS_INK if scaled else int(p) for p in row[:-1]] for row in rows]
    return X, [int(row[-1]) for row in rows]


def confusion_matrix(predicted_labels: Sequence[int], labels: Sequence[int],
                     classes: int | None = None) -> list[list[int]]:
    """How often each class was predicted as each other: ``matrix[true][predicted]`` counts.

    The diagonal holds the right answers; row k sums to the number of examples of class k.

    Args:
        predicted_labels, labels: the predicted and the true class of each example (as `accuracy`).
        classes: the number of classes k (None: one more than the largest label seen).

    Example:
        >>> confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2])  # one 2 taken for a 1
        [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    """
    if len(predicted_labels) != len(labels):
        raise ValueError(f"confusion_matrix: {len(predicted_labels)} predictions but {len(labels)} labels")
    seen = [check_int("confusion_matrix", "each class", c, least=0) for c in (*predicted_labels, *labels)]
    k = check_int("confusion_matrix", "classes", classes) if classes is not None else max(seen, default=-1) + 1
    if seen and max(seen) >= k:
        raise ValueError(f"confusion_matrix: class {max(seen)} is out of range for classes={k}")
    matrix = [[0] * k for _ in range(k)]
    for p, t in zip(predicted_labels, labels):
        matrix[t][p] += 1
    return matrix
