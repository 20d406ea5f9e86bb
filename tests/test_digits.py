"""The handwritten digits: the data shipped in the package, and the confusion matrix."""

import gzip
import hashlib
import subprocess
import sys
from collections import Counter
from importlib.resources import files

import pytest

from autograd_tiny import data

# The SHA-256 of scikit-learn 1.9.1's sklearn/datasets/data/digits.csv.gz, decompressed: the
# 1,797 lines "64 pixels,digit" of the UCI test set (scripts/make_digits.py prints it too).
SKLEARN_SHA256 = "6ebb3d2fee246a4e99363262ddf8a00a3c41bee6014c373ed9d9216ba7f651b8"
# Images of each digit 0-9 in the UCI test set (optdigits.tes), as the data set's description lists them.
UCI_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
SHIPPED = files("autograd_tiny") / "datasets" / "digits.csv.gz"


# ---------------------------------------------------------------------- the data


def test_digits_are_1797_images_of_64_pixels_0_to_16_with_the_uci_counts_per_digit():
    """digits() gives 1,797 lists of 64 int pixels in 0..16 and int labels 0-9, as many of each digit as UCI lists."""
    X, y = data.digits()
    assert type(X) is list and type(y) is list and len(X) == len(y) == 1797
    assert all(type(x) is list and len(x) == 64 and all(type(p) is int and 0 <= p <= 16 for p in x) for x in X)
    assert all(type(d) is int for d in y)
    assert [Counter(y)[d] for d in range(10)] == UCI_COUNTS
    assert min(p for x in X for p in x) == 0 and max(p for x in X for p in x) == 16


def test_digits_are_the_lines_scikit_learn_ships_byte_for_byte():
    """The data, written back as 'pixels,digit' lines, has the SHA-256 of scikit-learn's digits file; so has the shipped file."""
    X, y = data.digits()
    text = "".join(",".join(map(str, [*x, d])) + "\n" for x, d in zip(X, y)).encode()
    assert hashlib.sha256(text).hexdigest() == SKLEARN_SHA256
    assert hashlib.sha256(gzip.decompress(SHIPPED.read_bytes())).hexdigest() == SKLEARN_SHA256


def test_the_shipped_file_is_well_under_100_kb():
    """The compressed file inside the package is under 100 kB."""
    assert len(SHIPPED.read_bytes()) < 100_000


def test_scaled_pixels_are_the_counts_divided_by_16():
    """scaled=True gives each pixel / 16 as a float in [0, 1], and the same labels."""
    (X, y), (S, t) = data.digits(), data.digits(scaled=True)
    assert t == y
    assert all(s == p / 16 and type(s) is float for x, z in zip(X, S) for p, s in zip(x, z))
    assert max(max(z) for z in S) == 1.0


def test_every_call_gives_the_same_data_in_fresh_lists():
    """Two calls give equal data in the file's order, and changing one result leaves the next call's alone."""
    X, y = data.digits()
    X[0][0], y[0] = 99, 99
    X2, y2 = data.digits()
    assert X2[0][0] == 0 and y2[0] == 0 and y2[:10] == list(range(10))
    X[0][0], y[0] = 0, 0
    assert (X, y) == (X2, y2)


def test_the_split_follows_the_other_data_sets_convention():
    """train_test_split(X, y, test_fraction=0.25, seed=s) holds out 449 images, the same ones for the same seed."""
    X, y = data.digits()
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_fraction=0.25, seed=3)
    assert (len(X_train), len(X_test), len(y_train), len(y_test)) == (1348, 449, 1348, 449)
    assert sorted(map(tuple, X_train + X_test)) == sorted(map(tuple, X))  # every image once
    assert data.train_test_split(X, y, test_fraction=0.25, seed=3) == (X_train, X_test, y_train, y_test)
    assert data.train_test_split(X, y, test_fraction=0.25, seed=4)[1] != X_test
    assert set(y_test) == set(range(10))


def test_the_file_is_read_when_digits_is_called_not_at_import():
    """Importing autograd_tiny.data opens no data file; digits() opens the shipped one."""
    code = (
        "import sys\n"
        "opened = []\n"
        "sys.addaudithook(lambda event, args: event == 'open' and 'digits.csv' in str(args[0]) and opened.append(1))\n"
        "import autograd_tiny, autograd_tiny.data\n"
        "before = len(opened)\n"
        "autograd_tiny.data.digits()\n"
        "print(before, len(opened))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "1"]


@pytest.mark.parametrize("scaled", [1, "yes", None])
def test_scaled_must_be_true_or_false(scaled):
    """digits(scaled=...) takes True or False only, with a one-line error naming it."""
    with pytest.raises(ValueError, match="digits: scaled must be True or False"):
        data.digits(scaled=scaled)


# ---------------------------------------------------------------------- the confusion matrix


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    """matrix[t][p] counts the examples of class t predicted as p: worked out by hand for six examples."""
    predicted = [0, 2, 1, 1, 2, 0]
    labels = [0, 1, 1, 1, 2, 2]
    assert data.confusion_matrix(predicted, labels) == [[1, 0, 0], [0, 2, 1], [1, 0, 1]]
    assert data.confusion_matrix([1], [1], classes=4) == [[0] * 4, [0, 1, 0, 0], [0] * 4, [0] * 4]


@pytest.mark.parametrize("args, words", [
    (([0, 1], [0]), "2 predictions but 1 labels"),
    (([0, -1], [0, 1]), "classes must be ints >= 0, got -1"),
    (([0, 1.0], [0, 1]), "got 1.0"),
    (([0, True], [0, 1]), "got True"),
    (([0, 3], [0, 1], 3), "class 3 is out of range for classes=3"),
    (([0], [0], 0), "classes must be an int >= 1"),
])
def test_confusion_matrix_rejects_bad_input(args, words):
    """Mismatched lengths, labels that are not class indices, or too few classes: a one-line ValueError."""
    with pytest.raises(ValueError, match="confusion_matrix") as err:
        data.confusion_matrix(*args)
    assert words in str(err.value) and "\n" not in str(err.value)
