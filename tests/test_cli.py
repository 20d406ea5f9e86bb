"""The command line's entry point, run as a real process: one-line errors, --version, --help, Ctrl-C."""

import importlib.metadata
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def cli(*argv, **kwargs) -> subprocess.CompletedProcess:
    """`python -m autograd_tiny ARGV...` in a subprocess, its output as text."""
    return subprocess.run([sys.executable, "-m", "autograd_tiny", *argv], capture_output=True, text=True,
                          timeout=120, **kwargs)


def one_error_line(run: subprocess.CompletedProcess) -> str:
    """The single stderr line of a failed run, after checking there is no traceback and no other line."""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    return lines[0]


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["train", "--bogus"], "unrecognized arguments: --bogus"),
        (["nothing"], "invalid choice: 'nothing'"),
        (["graph"], "graph: the following arguments are required"),
        (["train", "--lr"], "--lr: expected one argument"),
    ],
)
def test_argument_errors_are_one_line(argv, says):
    """Unknown options, unknown subcommands and missing values give one stderr line, exit 2, no traceback."""
    run = cli(*argv)
    line = one_error_line(run)
    assert run.returncode == 2 and says in line and line.startswith("autograd-tiny: error: ")


def test_version_is_the_installed_package_version():
    """`autograd-tiny --version` prints the version the package's metadata records (one source of truth)."""
    run = cli("--version")
    assert run.returncode == 0 and run.stderr == ""
    assert run.stdout.strip() == f"autograd-tiny {importlib.metadata.version('autograd_tiny')}"
    import autograd_tiny

    assert autograd_tiny.__version__ == importlib.metadata.version("autograd_tiny")


def help_entries(text: str) -> dict[str, str]:
    """The options of an argparse --help page, each with its whole (unwrapped) help text."""
    entries: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        option = re.match(r"^  (-[-\w]+)", line)
        if option:
            current = option.group(1)
            entries[current] = line
        elif current and line.startswith("    "):
            entries[current] += " " + line.strip()
        else:
            current = None
    return entries


@pytest.mark.parametrize("command", ["train", "graph"])
def test_every_option_help_shows_its_default(command):
    """In `--help`, every option but --help itself says what it is when left out: '(default: ...)'."""
    run = cli(command, "--help", env={**os.environ, "COLUMNS": "100"})
    assert run.returncode == 0
    entries = help_entries(run.stdout)
    assert len(entries) >= (14 if command == "train" else 9)
    missing = [option for option, text in entries.items() if option != "-h" and "(default: " not in text]
    assert missing == []


def test_bytes_that_are_not_utf8_give_the_parsers_one_line_error(tmp_path):
    """A non-UTF-8 byte in an expression or an option is a one-line error naming the byte, never a traceback."""
    run = subprocess.run([sys.executable, "-m", "autograd_tiny", "graph", b"x*\xff", "x=1"], capture_output=True,
                         cwd=tmp_path, timeout=60)
    line = one_error_line(subprocess.CompletedProcess(run.args, run.returncode, "", run.stderr.decode()))
    assert run.returncode == 2 and "column 3: unexpected character U+DCFF (the byte 0xFF" in line
    run = subprocess.run([sys.executable, "-m", "autograd_tiny", "train", "--data", b"moons\xe9"],
                         capture_output=True, cwd=tmp_path, timeout=60)
    assert run.returncode == 2 and b"unknown dataset" in run.stderr and b"Traceback" not in run.stderr
    assert os.listdir(tmp_path) == []


def test_a_file_name_that_is_not_utf8_is_written_and_printed(tmp_path):
    """-o with a non-UTF-8 file name writes exactly that file and prints its name without crashing."""
    run = subprocess.run([sys.executable, "-m", "autograd_tiny", "graph", "x*2", "x=3", "-o", b"g\xff.dot"],
                         capture_output=True, cwd=tmp_path, timeout=60)
    assert run.returncode == 0 and run.stderr == b""
    assert os.listdir(os.fsencode(tmp_path)) == [b"g\xff.dot"]
    assert run.stdout.splitlines()[-1].startswith(b"wrote g")


def interrupted_run(argv: list[str], delay: float) -> subprocess.CompletedProcess:
    """Start the CLI in a child that says 'ready' once the package is imported; SIGINT it `delay` s later."""
    start = "import sys; from autograd_tiny.__main__ import main; print('ready', flush=True); sys.exit(main())"
    for _ in range(5):
        proc = subprocess.Popen([sys.executable, "-c", start, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        assert proc.stdout.readline() == "ready\n"
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        # on a busy machine the signal can land between print() and main(), in this harness: try again
        if not (proc.returncode == -signal.SIGINT and "autograd_tiny" not in err):
            return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    raise AssertionError("the signal never reached main()")


def test_ctrl_c_at_any_moment_after_import_is_exit_130_and_leaves_nothing(tmp_path):
    """SIGINT while the CLI loads, parses, makes data, trains or writes: exit 130, one line, no folder."""
    for k, delay in enumerate([0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.3]):
        out = tmp_path / f"run{k}"
        run = interrupted_run(["train", "--samples", "40", "--hidden", "6", "--steps", "5000", "--out", str(out)],
                              delay)
        assert run.returncode == 130, (delay, run.stderr)
        assert one_error_line(run).startswith("autograd-tiny: interrupted")
        assert not out.exists(), delay


def test_a_ctrl_c_python_drops_in_a_callback_still_stops_the_command(tmp_path):
    """A KeyboardInterrupt raised in a callback Python runs on its own (as when Ctrl-C lands in an
    import lock's callback) is dropped by Python with 'Exception ignored'; the command still stops:
    exit 130, one line, no folder."""
    code = (
        "import sys, weakref\n"
        "from autograd_tiny import __main__ as entry\n"
        "import autograd_tiny.cli as cli\n"
        "real = cli.main\n"
        "class Box: pass\n"
        "def run():\n"
        "    box = Box()\n"
        "    def callback(ref): raise KeyboardInterrupt\n"
        "    ref = weakref.ref(box, callback)\n"
        "    del box  # the callback runs here, and Python drops what it raises\n"
        "    return real()\n"
        "cli.main = run\n"
        "sys.exit(entry.main())\n"
    )
    out = tmp_path / "run"
    argv = ["train", "--samples", "40", "--hidden", "6", "--steps", "5000", "--out", str(out)]
    run = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120)
    assert run.returncode == 130, run.stderr
    assert one_error_line(run).startswith("autograd-tiny: interrupted")
    assert not out.exists()


def test_ctrl_c_while_the_cli_modules_load_is_exit_130():
    """A KeyboardInterrupt raised while `autograd_tiny.cli` is being imported ends quietly with status 130."""
    code = (
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'autograd_tiny.cli': raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "from autograd_tiny.__main__ import main\n"
        "sys.exit(main())\n"
    )
    run = subprocess.run([sys.executable, "-c", code, "train"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 130
    assert one_error_line(run) == "autograd-tiny: interrupted"


def test_the_installed_command_is_the_same_entry_point():
    """The `autograd-tiny` script beside this Python runs the same entry point as `python -m autograd_tiny`."""
    script = Path(sys.executable).with_name("autograd-tiny")
    if not script.exists():
        pytest.skip("the package is not installed as a script beside this Python")
    run = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout == cli("--version").stdout
