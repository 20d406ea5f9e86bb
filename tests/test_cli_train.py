"""`autograd-tiny train`: its outputs, checked from the files it writes, and its one-line errors."""

import json
import math
import os
import re
import struct
import subprocess
import sys
import time

import pytest

from autograd_tiny import data, nn
from autograd_tiny.cli import main

FAST = ["--samples", "40", "--steps", "12", "--hidden", "6"]


# ---------------------------------------------------------------------- oracles


def float_forward(doc: dict, x: list[float]) -> list[float]:
    """The MLP in a saved model file, evaluated with plain floats (independent of nn.py)."""
    arch, params = doc["architecture"], doc["parameters"]
    acts = {"relu": lambda v: max(v, 0.0), "tanh": math.tanh, "linear": lambda v: v,
            "sigmoid": lambda v: 1 / (1 + math.exp(-v))}
    h = list(x)
    layers = len(arch["nouts"])
    for i in range(layers):
        f = acts[arch["activation"] if i < layers - 1 else arch["output_activation"]]
        weight, bias = params[f"layers.{i}.weight"], params[f"layers.{i}.bias"]
        h = [f(sum(w * v for w, v in zip(row, h)) + b) for row, b in zip(weight, bias)]
    return h


def label(scores: list[float]) -> int:
    return int(scores[0] > 0) if len(scores) == 1 else scores.index(max(scores))


def check_png(path) -> None:
    """A complete PNG: the signature, a plausible IHDR size and the IEND chunk at the end."""
    blob = open(path, "rb").read()
    assert blob[:8] == b"\x89PNG\r\n\x1a\n"
    assert blob[12:16] == b"IHDR"
    width, height = struct.unpack(">II", blob[16:24])
    assert 200 <= width <= 2000 and 200 <= height <= 2000
    assert blob[-12:-4] == b"\x00\x00\x00\x00IEND"
    assert len(blob) > 5000  # a drawing, not an empty canvas


def printed_accuracies(stdout: str) -> tuple[str, str]:
    m = re.search(r"train accuracy ([\d.]+%) \(\d+ points\), test accuracy ([\d.]+%)", stdout)
    assert m, stdout
    return m.group(1), m.group(2)


def check_run(out, stdout: str, dataset: str, samples: int, seed: int) -> None:
    """The files exist and hold a model whose accuracies, recomputed here, are the ones reported."""
    for name in ("model.json", "loss.png", "decision_boundary.png", "run.json"):
        assert (out / name).is_file(), name
    check_png(out / "loss.png")
    check_png(out / "decision_boundary.png")
    doc = json.loads((out / "model.json").read_text())
    run = json.loads((out / "run.json").read_text())
    # the data as documented in --help: --seed seeds the data and the split (a quarter for testing)
    X, y = data.DATASETS[dataset](samples, seed=seed)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_fraction=0.25, seed=seed)
    train_acc = sum(label(float_forward(doc, x)) == t for x, t in zip(X_train, y_train)) / len(y_train)
    test_acc = sum(label(float_forward(doc, x)) == t for x, t in zip(X_test, y_test)) / len(y_test)
    assert (run["train_accuracy"], run["test_accuracy"]) == (train_acc, test_acc)
    assert printed_accuracies(stdout) == (f"{train_acc:.1%}", f"{test_acc:.1%}")
    assert len(run["history"]["loss"]) == run["steps"]
    # and nn.load reads the same model back
    model = nn.load(out / "model.json")
    for x in X_test[:10]:
        out_ = model(x)
        scores = [out_.data] if not isinstance(out_, list) else [o.data for o in out_]
        assert scores == pytest.approx(float_forward(doc, x), rel=1e-12, abs=1e-12)


# ---------------------------------------------------------------------- runs that work


@pytest.mark.parametrize("options, dataset", [
    ([], "moons"),
    (["--loss", "mse", "--optimizer", "adam", "--lr", "0.05", "--schedule", "cosine"], "moons"),
    (["--loss", "bce", "--optimizer", "adamw", "--activation", "tanh", "--init", "uniform"], "moons"),
    (["--loss", "cross_entropy", "--schedule", "constant", "--lr", "0.3"], "moons"),
    (["--data", "blobs", "--hidden", "6,5"], "blobs"),
    (["--data", "xor", "--hidden", "", "--l2", "0"], "xor"),
])
def test_train_writes_a_model_whose_accuracy_is_the_reported_one(tmp_path, capsys, options, dataset):
    """A short run writes valid PNGs, run.json and a model whose recomputed accuracies are the printed ones."""
    out = tmp_path / "run"
    assert main(["train", *FAST, "--seed", "3", *options, "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    check_run(out, stdout, dataset, samples=40, seed=3)
    assert f"outputs in {out}" in stdout


def test_python_m_autograd_tiny_train_in_a_subprocess(tmp_path):
    """`python -m autograd_tiny train` on 3-class spirals exits 0 and writes checkable outputs."""
    out = tmp_path / "spirals run"
    proc = subprocess.run(
        [sys.executable, "-m", "autograd_tiny", "train", "--data", "spirals", *FAST, "--seed", "1", "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "cross_entropy" in proc.stdout and "Adam" in proc.stdout  # the multi-class defaults
    check_run(out, proc.stdout, "spirals", samples=40, seed=1)


def test_no_arguments_runs_the_moons_demo(tmp_path, capsys, monkeypatch):
    """With no arguments: micrograd's recipe on 200 moons points, >= 97% held out, outputs in a folder it names."""
    monkeypatch.chdir(tmp_path)
    assert main([]) == 0
    stdout = capsys.readouterr().out
    folder = re.search(r"outputs in (.+)", stdout).group(1).rstrip("/" + os.sep)
    assert re.fullmatch(r"autograd_tiny_runs[/\\]moons-seed0-\d{8}-\d{6}", folder)
    run = json.loads((tmp_path / folder / "run.json").read_text())
    assert (run["loss"], run["optimizer"], run["lr"], run["schedule"], run["steps"], run["l2"]) == (
        "hinge", "sgd", 1.0, "linear", 100, 1e-4)
    assert (run["samples"], run["hidden"], run["init"], run["train_points"], run["test_points"]) == (
        200, [16, 16], "kaiming", 150, 50)  # what the README and docs/make_training_pictures.py say
    check_run(tmp_path / folder, stdout, "moons", samples=200, seed=0)
    assert run["test_accuracy"] >= 0.97 and run["train_accuracy"] >= 0.97


def test_options_without_a_subcommand_mean_train(tmp_path, capsys):
    """`autograd-tiny --steps 3 ...` (no subcommand) is `autograd-tiny train --steps 3 ...`."""
    assert main([*FAST, "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "model.json").is_file()


def test_without_tqdm_progress_is_printed_as_lines(tmp_path, capsys, monkeypatch):
    """With tqdm missing, progress comes as a plain line every tenth of the run, ending at the last step."""
    monkeypatch.setitem(sys.modules, "tqdm", None)  # `import tqdm` now fails
    assert main(["train", "--samples", "20", "--steps", "20", "--hidden", "3", "--out", str(tmp_path)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("step")]
    assert [line.split()[1] for line in lines] == [f"{k}/20" for k in range(2, 21, 2)]
    assert all(re.fullmatch(r"step +\d+/20  loss \S+  accuracy [\d.]+%", line) for line in lines)


def test_without_matplotlib_training_still_runs_and_saves(tmp_path, capsys, monkeypatch):
    """With matplotlib missing, the model is still saved and a message says what to install."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["train", *FAST, "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "pip install 'autograd_tiny[plot]'" in captured.err
    assert (tmp_path / "model.json").is_file() and (tmp_path / "run.json").is_file()
    assert not (tmp_path / "loss.png").exists() and not (tmp_path / "decision_boundary.png").exists()
    assert "Traceback" not in captured.err


# ---------------------------------------------------------------------- bad options

BAD_OPTIONS = [
    (["--data", "swissroll"], "swissroll"),
    (["--lr", "-0.1"], "--lr"),
    (["--lr", "0"], "--lr"),
    (["--lr", "fast"], "fast"),
    (["--lr", "inf"], "inf"),
    (["--steps", "0"], "--steps"),
    (["--steps", "2.5"], "2.5"),
    (["--samples", "-5"], "--samples"),
    (["--hidden", "16,x"], "16,x"),
    (["--hidden", "16,0"], "16,0"),
    (["--hidden", "16,,16"], "16,,16"),
    (["--activation", "swish"], "swish"),
    (["--loss", "focal"], "focal"),
    (["--loss", "hinge", "--data", "spirals"], "cross_entropy"),
    (["--optimizer", "rmsprop"], "rmsprop"),
    (["--schedule", "warm"], "warm"),
    (["--init", "zeros"], "zeros"),
    (["--l2", "-1"], "--l2"),
    (["--seed", "-1"], "--seed"),
    (["--lr"], "--lr"),  # the value is missing
]


@pytest.mark.parametrize("options, word", BAD_OPTIONS, ids=lambda o: " ".join(o) if isinstance(o, list) else o)
def test_bad_option_is_one_line_and_a_nonzero_exit(tmp_path, capsys, options, word):
    """A bad option gives exit status 2, one line on stderr naming it, no traceback and no folder."""
    out = tmp_path / "never"
    try:
        status = main(["train", "--out", str(out), *options])
    except SystemExit as exit_:  # argparse's own errors (a missing value) exit
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("autograd-tiny: error:"), err
    assert word in err
    assert not out.exists()


def test_unwritable_output_folder(tmp_path, capsys):
    """An --out under a file, or that is a file, is a one-line error before any training."""
    blocker = tmp_path / "a file"
    blocker.write_text("")
    for out in (blocker, blocker / "sub"):
        assert main(["train", *FAST, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "--out" in err and str(out) in err


def test_divergence_is_a_one_line_error_and_leaves_no_folder(tmp_path, capsys, monkeypatch):
    """A learning rate so large that the loss overflows stops with a one-line hint, leaving no empty folder."""
    monkeypatch.setitem(sys.modules, "tqdm", None)
    out = tmp_path / "r"
    assert main(["train", "--samples", "20", "--steps", "50", "--lr", "1e6", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "diverged" in err and "--lr" in err
    assert not out.exists()


@pytest.mark.parametrize("options", [
    ["--lr", "100"],  # the loss explodes, to 1e56 if let run
    ["--lr", "1.7e308", "--optimizer", "adam"],  # the weights overflow
    ["--lr", "1e300", "--loss", "mse"],
    ["--loss", "mse", "--lr", "20", "--schedule", "constant"],
])
def test_a_diverging_run_stops_with_the_learning_rate_named(tmp_path, options):
    """A run whose loss or weights blow up exits 2 with one line blaming --lr, and leaves no folder."""
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "autograd_tiny", "train", *options, "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    lr = float(options[options.index("--lr") + 1])
    assert re.match(r"autograd-tiny: error: training diverged at step \d+: ", lines[0])
    assert f"the learning rate is likely too large (--lr {lr:g}): try --lr {lr / 10:g}" in lines[0]
    assert not out.exists()


def test_a_loss_that_only_wobbles_is_not_divergence(tmp_path, capsys, monkeypatch):
    """A run whose loss rises for a few steps, but never to 1e4 times its start, trains to the end."""
    monkeypatch.setitem(sys.modules, "tqdm", None)
    assert main(["train", *FAST, "--lr", "3", "--schedule", "constant", "--out", str(tmp_path / "r")]) == 0
    history = json.loads((tmp_path / "r" / "run.json").read_text())["history"]["loss"]
    assert len(history) == 12 and max(history) > history[0]  # it did go up, and that was fine


@pytest.mark.parametrize("options, says", [
    (["--samples", "2000000"], "--samples 2,000,000 is too large: at most 100,000"),
    (["--hidden", "2000,2000"], "more than the limit of 10,000,000"),
    (["--samples", "60000"], "45,000 training points is too large"),
    (["--hidden", "20000"], "a layer of 20000 neurons is too large: at most 10,000"),
    (["--hidden", "9" * 5000], "neurons is too large: at most 10,000"),
    (["--hidden", ",".join(["1"] * 101)], "101 hidden layers is too many: at most 100"),
    (["--steps", "1000001"], "--steps 1,000,001 is too large: at most 100,000"),
    (["--steps", "9" * 5000], "is too large: at most 100,000"),
    (["--seed", str(2**32)], "--seed 4,294,967,296 is too large: at most 4,294,967,295"),
])
def test_absurd_sizes_are_refused_at_once_with_the_limit(tmp_path, options, says):
    """Sizes that would exhaust memory or time are refused before any work: exit 2, one line with the limit."""
    out = tmp_path / "run"
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "autograd_tiny", "train", *options, "--out", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert time.perf_counter() - started < 30  # refused up front: no data churned, no network built
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert says in lines[0] and len(lines[0]) < 400
    assert not out.exists() and proc.stdout == ""


def test_both_spellings_of_yin_yang_are_the_same_dataset(tmp_path, capsys):
    """--data yin-yang (as the README writes it) and --data yin_yang run the same training."""
    for spelling in ("yin-yang", "yin_yang", "Yin-Yang"):
        assert main(["train", *FAST, "--data", spelling, "--out", str(tmp_path / spelling)]) == 0
    runs = [json.loads((tmp_path / s / "run.json").read_text()) for s in ("yin-yang", "yin_yang", "Yin-Yang")]
    assert {r["data"] for r in runs} == {"yin_yang"}
    assert runs[0]["history"] == runs[1]["history"] == runs[2]["history"]
    check_run(tmp_path / "yin-yang", capsys.readouterr().out.split("outputs in")[0], "yin_yang", 40, 0)


def test_out_that_is_a_device_or_file_is_not_a_folder(tmp_path):
    """--out /dev/null (or any file) says it is not a folder, in one line."""
    proc = subprocess.run([sys.executable, "-m", "autograd_tiny", "train", "--out", os.devnull],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.strip() == f"autograd-tiny: error: --out: {os.devnull!r} is not a folder"


def interrupt_on(name: str, error: BaseException, monkeypatch) -> None:
    """Make the output step `name` ('plot_loss', 'plot_decision_boundary' or 'save') fail with `error`."""
    def fail(*args, **kwargs):
        raise error

    if name == "save":
        monkeypatch.setattr(nn.Module, "save", fail)
    else:
        from autograd_tiny.see import plot

        monkeypatch.setattr(plot, name, fail)


def test_ctrl_c_while_writing_a_new_folder_removes_it(tmp_path, capsys, monkeypatch):
    """Ctrl-C between two output files: exit 130, one line saying the unfinished folder was removed."""
    interrupt_on("plot_decision_boundary", KeyboardInterrupt(), monkeypatch)
    out = tmp_path / "new"
    assert main(["train", *FAST, "--out", str(out)]) == 130
    err = capsys.readouterr().err.strip()
    assert err == f"autograd-tiny: interrupted; removed the unfinished {out}"
    assert not out.exists()


def test_ctrl_c_while_writing_into_an_existing_folder_says_what_is_there(tmp_path, capsys, monkeypatch):
    """In a folder that was there before, an interrupted run leaves it, saying which files are new and which not."""
    interrupt_on("plot_decision_boundary", KeyboardInterrupt(), monkeypatch)
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["train", *FAST, "--out", str(tmp_path)]) == 130
    err = capsys.readouterr().err.strip()
    assert err == (f"autograd-tiny: interrupted; {tmp_path} holds partial results "
                   "(model.json, loss.png written; not decision_boundary.png, run.json)")
    assert sorted(os.listdir(tmp_path)) == ["loss.png", "model.json", "notes.txt"]
    check_png(tmp_path / "loss.png")
    assert nn.load(tmp_path / "model.json").parameters()  # a complete model


@pytest.mark.parametrize("step, error, says", [
    ("save", OSError(28, "No space left on device"), "(No space left on device)"),
    ("save", ValueError("save: parameter 3 is nan"), "(save: parameter 3 is nan)"),
    ("plot_loss", OSError(13, "Permission denied"), "(Permission denied)"),
])
def test_a_failed_write_is_one_line_and_leaves_no_folder(tmp_path, capsys, monkeypatch, step, error, says):
    """A model or picture that cannot be written is a one-line error naming the folder; the new folder goes."""
    interrupt_on(step, error, monkeypatch)
    out = tmp_path / "new"
    assert main(["train", *FAST, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"autograd-tiny: error: cannot write the outputs to {str(out)!r} {says}")
    assert len(err.splitlines()) == 1 and not out.exists()


@pytest.mark.parametrize("options", [["--data", "nope"], ["--hidden", "a,b"], ["--out", os.devnull + "/x"]])
def test_bad_option_in_a_subprocess(options):
    """Through `python -m autograd_tiny`, a bad option prints one line, no traceback, and exits non-zero."""
    proc = subprocess.run([sys.executable, "-m", "autograd_tiny", "train", *options, "--steps", "1"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_a_failed_run_removes_the_parent_folders_it_made(tmp_path, capsys, monkeypatch):
    """--out a/b/c where none exist: a run that fails removes c, b and a, and nothing it did not make."""
    monkeypatch.setitem(sys.modules, "tqdm", None)
    (tmp_path / "keep").mkdir()
    out = tmp_path / "keep" / "a" / "b" / "c"
    assert main(["train", "--samples", "20", "--steps", "50", "--lr", "1e6", "--out", str(out)]) == 2
    assert "diverged" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [tmp_path / "keep"] and list((tmp_path / "keep").iterdir()) == []


def test_the_default_folder_goes_too_when_the_run_fails(tmp_path, capsys, monkeypatch):
    """With no --out, a failed first run leaves neither its folder nor autograd_tiny_runs/ behind."""
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--samples", "20", "--steps", "50", "--lr", "1e6"]) == 2
    assert list(tmp_path.iterdir()) == []
