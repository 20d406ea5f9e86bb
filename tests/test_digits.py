"""The handwritten digits: the data shipped in the package, the confusion matrix, their pictures,
and `autograd-tiny train --data digits`."""

import gzip
import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from importlib.resources import files

import pytest
from test_cli_train import check_png, float_forward, label, printed_accuracies

from autograd_tiny import data, nn
from autograd_tiny.cli import main

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
    (([0, -1], [0, 1]), "each class must be an int >= 0, got -1"),
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


# ---------------------------------------------------------------------- pictures


def test_digit_grid_places_every_image_and_frames_the_wrong_ones_in_red():
    """plot_digits draws each image's pixels in its cell of one picture, captions the predictions and frames the mistakes."""
    pytest.importorskip("matplotlib")
    import numpy as np
    from matplotlib.colors import to_hex

    from autograd_tiny.see import plot

    X, y = data.digits()
    images, labels = X[:12], y[:12]
    predicted = [*labels[:10], 7, 3]  # two mistakes: 0 taken for 7, 1 for 3
    fig = plot.plot_digits(images, labels, predicted=predicted, columns=5)
    ax = fig.axes[0]
    mosaic = np.ma.getdata(ax.images[0].get_array())
    assert mosaic.shape == (3 * 12, 5 * 10)  # 3 rows of 5 cells, each 8 pixels with a margin and a caption
    for i, image in enumerate(images):
        row, column = divmod(i, 5)
        cell = mosaic[row * 12 + 1:row * 12 + 9, column * 10 + 1:column * 10 + 9]
        assert cell.tolist() == [image[8 * r:8 * r + 8] for r in range(8)]
    captions = [t.get_text() for t in ax.texts]
    assert captions == [*map(str, labels[:10]), "7 (true 0)", "3 (true 1)"]
    red = [p for p in ax.patches if to_hex(p.get_edgecolor()) == plot.CLASS_COLORS[3]]
    assert len(red) == 2 and len(ax.patches) == 12
    assert ax.images[0].norm.vmax == 16  # raw counts: 16 is full ink
    scaled = plot.plot_digits([[p / 16 for p in x] for x in images], labels)
    assert scaled.axes[0].images[0].norm.vmax == 1.0
    assert [t.get_text() for t in scaled.axes[0].texts] == list(map(str, labels))


@pytest.mark.parametrize("images, labels, kwargs, words", [
    ([], [], {}, "at least one"),
    ([[0] * 64], [1, 2], {}, "as many labels as images"),
    ([[0] * 64, [0] * 63], [1, 2], {}, "square number of pixels"),
    ([[0] * 64], [1], {"predicted": [1, 2]}, "2 predicted labels for 1 images"),
    ([[0] * 64], [1], {"columns": 0}, "columns must be an int >= 1"),
])
def test_digit_grid_rejects_bad_input(images, labels, kwargs, words):
    """Images that are not squares of one size, or labels that do not match them: a one-line ValueError."""
    from autograd_tiny.see import plot

    with pytest.raises(ValueError, match="plot_digits") as err:
        plot.plot_digits(images, labels, **kwargs)
    assert words in str(err.value)


def test_confusion_picture_writes_each_count_and_shades_by_row():
    """plot_confusion_matrix writes every non-zero count in its cell, mistakes in red, shaded by the share of the row."""
    pytest.importorskip("matplotlib")
    from matplotlib.colors import to_hex

    from autograd_tiny.see import plot

    matrix = [[8, 2, 0], [0, 5, 0], [1, 0, 3]]
    fig = plot.plot_confusion_matrix(matrix)
    ax = fig.axes[0]
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t for t in ax.texts}
    assert {cell: int(t.get_text()) for cell, t in cells.items()} == {
        (0, 0): 8, (0, 1): 2, (1, 1): 5, (2, 0): 1, (2, 2): 3}
    assert {cell for cell, t in cells.items() if to_hex(t.get_color()) == plot.CLASS_COLORS[3]} == {(0, 1), (2, 0)}
    shares = ax.images[0].get_array()
    assert shares[0].tolist() == [0.8, 0.2, 0.0] and shares[2].tolist() == [0.25, 0.0, 0.75]
    with pytest.raises(ValueError, match="square table"):
        plot.plot_confusion_matrix([[1, 2], [3]])


def test_curves_by_epoch_say_so_on_their_axis():
    """plot_loss(..., xlabel="epoch") labels the x axis by epoch, overlaid and side by side; steps stay the default."""
    pytest.importorskip("matplotlib")
    from autograd_tiny.see import plot

    curves = {"loss": [0.9, 0.3], "train accuracy": [0.7, 0.9], "test accuracy": [0.8, 0.9]}
    assert plot.plot_loss(curves, xlabel="epoch").axes[0].get_xlabel() == "epoch"
    assert {a.get_xlabel() for a in plot.plot_loss(curves, xlabel="epoch", overlay=False).axes} == {"epoch"}
    assert plot.plot_loss(curves).axes[0].get_xlabel() == "step"


# ---------------------------------------------------------------------- autograd-tiny train --data digits

SHORT = ["train", "--data", "digits", "--epochs", "1"]
OUTPUTS = ["confusion_matrix.png", "loss.png", "model.json", "run.json", "test_digits.png"]


def split(seed: int):
    """The digits as --help documents them: pixels / 16, a quarter held out by --seed (computed here)."""
    X, y = data.digits()
    X = [[p / 16 for p in x] for x in X]
    return data.train_test_split(X, y, test_fraction=0.25, seed=seed)


def check_digits_run(out, stdout: str, seed: int) -> dict:
    """The files a digits run writes, and a model whose accuracies, recomputed with floats here, are the reported ones."""
    assert sorted(os.listdir(out)) == OUTPUTS
    for name in ("loss.png", "test_digits.png", "confusion_matrix.png"):
        check_png(out / name)
    doc = json.loads((out / "model.json").read_text())
    run = json.loads((out / "run.json").read_text())
    X_train, X_test, y_train, y_test = split(seed)
    train_acc = sum(label(float_forward(doc, x)) == t for x, t in zip(X_train, y_train)) / len(y_train)
    test_acc = sum(label(float_forward(doc, x)) == t for x, t in zip(X_test, y_test)) / len(y_test)
    assert (run["train_accuracy"], run["test_accuracy"]) == (train_acc, test_acc)
    assert printed_accuracies(stdout) == (f"{train_acc:.1%}", f"{test_acc:.1%}")
    assert (run["train_points"], run["test_points"], run["batch_size"]) == (1348, 449, 32)
    epochs = len(run["history"]["epochs"]["loss"])
    assert len(run["history"]["loss"]) == run["steps"] == 43 * epochs  # 42 batches of 32 and one of 4 per epoch
    assert run["history"]["epochs"]["test accuracy"][-1] == test_acc
    model = nn.load(out / "model.json")
    for x in X_test[:5]:
        assert [o.data for o in model(x)] == pytest.approx(float_forward(doc, x), rel=1e-12, abs=1e-12)
    return run


def test_a_one_epoch_digits_run_writes_its_pictures_and_a_model_that_loads(tmp_path, capsys):
    """train --data digits --epochs 1: the pictures, run.json and a model whose recomputed accuracies are the printed ones."""
    out = tmp_path / "digits run"
    assert main([*SHORT, "--seed", "2", "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    run = check_digits_run(out, stdout, seed=2)
    assert (run["hidden"], run["loss"], run["optimizer"], run["lr"]) == ([32], "cross_entropy", "adam", 0.02)
    assert "MLP(64, [32, 10]" in stdout and "epoch 1/1" in stdout and "test_digits.png" in stdout
    assert run["test_accuracy"] > 0.5  # one epoch is far better than the 10% of guessing


def test_compile_trains_digits_to_the_same_model(tmp_path, capsys):
    """--compile on the digits (labels change every batch, so it traces again) gives eager's losses and weights, to rounding."""
    options = [*SHORT, "--batch-size", "674", "--hidden", "4"]  # two batches, two traces: a quick test
    runs = []
    for extra in ([], ["--compile"]):
        out = tmp_path / f"run{len(runs)}"
        assert main([*options, *extra, "--out", str(out)]) == 0
        runs.append((json.loads((out / "run.json").read_text()), nn.load(out / "model.json")))
    (eager, eager_model), (compiled, compiled_model) = runs
    assert compiled["history"]["loss"] == pytest.approx(eager["history"]["loss"], rel=1e-12)
    assert [p.data for p in compiled_model.parameters()] == pytest.approx(
        [p.data for p in eager_model.parameters()], rel=1e-9, abs=1e-12)
    assert compiled["test_accuracy"] == eager["test_accuracy"]


def test_a_toy_set_trains_in_minibatches_too(tmp_path, capsys):
    """--batch-size and --epochs work for the toy sets: steps per epoch, curves by epoch, and the boundary picture."""
    out = tmp_path / "r"
    assert main(["train", "--samples", "40", "--hidden", "6", "--batch-size", "8", "--epochs", "3",
                 "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    run = json.loads((out / "run.json").read_text())
    assert run["steps"] == 12 and len(run["history"]["loss"]) == 12  # 30 training points: 4 batches an epoch
    assert len(run["history"]["epochs"]["test accuracy"]) == 3 and "epoch 3/3" in stdout
    check_png(out / "decision_boundary.png")


BAD_DIGITS_OPTIONS = [
    (["--data", "digits", "--samples", "100"], "--samples"),
    (["--data", "digits", "--loss", "hinge"], "use --loss cross_entropy"),
    (["--data", "digits", "--epochs", "0"], "--epochs must be at least 1"),
    (["--data", "digits", "--epochs", "5000"], "--epochs 5,000 is too long: 215,000 steps"),
    (["--data", "digits", "--batch-size", "0"], "--batch-size must be at least 1"),
    (["--data", "digits", "--batch-size", "big"], "'big'"),
    (["--data", "digits", "--hidden", "2000,2000"], "on batches of 32 training points is too large"),
    (["--steps", "5", "--epochs", "2"], "give --steps or --epochs, not both"),
    (["--data", "digit"], "choose from moons, circles, spirals, blobs, xor, yin-yang, digits"),
]


@pytest.mark.parametrize("options, words", BAD_DIGITS_OPTIONS, ids=lambda o: " ".join(o) if isinstance(o, list) else o)
def test_options_that_do_not_fit_the_digits_are_one_line_errors(tmp_path, capsys, options, words):
    """An option that makes no sense for the digits, or a bad epoch or batch count: exit 2, one line naming it, no folder."""
    out = tmp_path / "never"
    assert main(["train", "--out", str(out), *options]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("autograd-tiny: error:"), err
    assert words in err
    assert not out.exists()


def test_a_failed_digits_run_removes_its_pictures(tmp_path, capsys, monkeypatch):
    """A digits run whose confusion matrix cannot be written removes the new folder with the files it had written."""
    from autograd_tiny.see import plot

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(plot, "plot_confusion_matrix", fail)
    out = tmp_path / "new"
    assert main([*SHORT, "--batch-size", "674", "--hidden", "4", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "(No space left on device)" in err and "removed the unfinished" in err
    assert not out.exists()
