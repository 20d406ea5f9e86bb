"""Tests of autograd_tiny._files: atomic writes that behave like open(path, "w") towards the target
(permissions, owner, symlinks, read-only files), name the caller's path in errors, and clean up
after crashes, including kill -9. File-permission checks run as a non-root user."""

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

from autograd_tiny._files import atomic_path, write_atomically
from autograd_tiny.nn import MLP

NOBODY = 65534


def _temporaries(folder):
    return [name for name in os.listdir(folder) if name.endswith(".tmp")]


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _as_non_root(code: str, folder: str) -> subprocess.CompletedProcess:
    """Run `code` in a fresh Python as a user other than root, with `folder` as sys.argv[1].

    As root, the child imports what it needs first, then drops to user 'nobody' (the folder is
    given to nobody); as any other user it simply runs as that user.
    """
    drop = ""
    if os.geteuid() == 0:
        os.chown(folder, NOBODY, NOBODY)
        drop = f"os.setgroups([]); os.setgid({NOBODY}); os.setuid({NOBODY})\n"
    script = "import os, sys\nfrom autograd_tiny._files import write_atomically\n" + drop + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", script, folder], capture_output=True, text=True, timeout=60)


@pytest.fixture
def shared_dir():
    """A folder outside pytest's private tmp tree, so that another user can reach it."""
    folder = tempfile.mkdtemp(prefix="autograd_tiny_files_")
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------------- like open(path, "w")


def test_a_private_file_stays_private(tmp_path):
    """A 0600 file keeps mode 0600 after being replaced (0.1 made it world-readable 0644)."""
    path = tmp_path / "secret.json"
    path.write_text("old")
    os.chmod(path, 0o600)
    write_atomically(path, "new")
    assert path.read_text() == "new" and _mode(path) == 0o600


@pytest.mark.parametrize("mode", [0o640, 0o664, 0o755])
def test_an_existing_file_keeps_its_mode(tmp_path, mode):
    """Whatever mode the target had, it has after the save."""
    path = tmp_path / "m.json"
    path.write_text("old")
    os.chmod(path, mode)
    write_atomically(path, "new")
    assert _mode(path) == mode


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_mode_open_would_give_it(tmp_path, umask):
    """A new file's mode is what open(path, 'w') gives under the same umask (0666 minus the umask)."""
    old = os.umask(umask)
    try:
        with open(tmp_path / "by_open.txt", "w") as f:
            f.write("x")
        write_atomically(tmp_path / "ours.txt", "x")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "ours.txt") == _mode(tmp_path / "by_open.txt") == 0o666 & ~umask


def test_a_symlink_is_followed_and_stays_a_link(tmp_path):
    """Saving through a symlink (relative, and a chain of two) writes its target; the links remain links."""
    target = tmp_path / "real" / "model.json"
    target.parent.mkdir()
    target.write_text("old")
    os.chmod(target, 0o640)
    (tmp_path / "link1").symlink_to("real/model.json")
    (tmp_path / "link2").symlink_to(tmp_path / "link1")
    write_atomically(tmp_path / "link2", "new")
    assert (tmp_path / "link1").is_symlink() and (tmp_path / "link2").is_symlink()
    assert target.read_text() == "new" and _mode(target) == 0o640
    assert _temporaries(tmp_path) == [] and _temporaries(target.parent) == []


def test_a_dangling_symlink_creates_its_target_as_open_does(tmp_path):
    """open(link, 'w') creates the missing target of a dangling link; so does save."""
    (tmp_path / "link").symlink_to("made.json")
    write_atomically(tmp_path / "link", "hello")
    assert (tmp_path / "link").is_symlink() and (tmp_path / "made.json").read_text() == "hello"


def test_a_read_only_file_is_refused_as_open_refuses_it(shared_dir):
    """As a non-root user, a 0444 file makes open(path, 'w') and save both raise PermissionError
    naming the path; the file is unchanged and no temporary file is left."""
    result = _as_non_root(
        """
        path = os.path.join(sys.argv[1], "ro.json")
        with open(path, "w") as f:
            f.write("old")
        os.chmod(path, 0o444)
        try:
            open(path, "w")
            print("open: wrote")
        except PermissionError:
            print("open: refused")
        try:
            write_atomically(path, "new")
            print("save: wrote")
        except PermissionError as err:
            print("save: refused", err.filename == path)
        print(open(path).read(), oct(os.stat(path).st_mode & 0o777), sorted(os.listdir(sys.argv[1])))
        """,
        shared_dir,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == ["open: refused", "save: refused True", "old 0o444 ['ro.json']"]


def test_as_root_a_read_only_file_is_written_as_open_would_and_stays_read_only(tmp_path):
    """Root may open a 0444 file for writing, so save writes it too, and the mode stays 0444."""
    if os.geteuid() != 0:
        pytest.skip("only root can write a read-only file; the non-root case is tested above")
    path = tmp_path / "ro.json"
    path.write_text("old")
    os.chmod(path, 0o444)
    with open(path, "a"):  # the oracle: root may open it for writing
        pass
    write_atomically(path, "new")
    assert path.read_text() == "new" and _mode(path) == 0o444


def test_as_root_a_file_keeps_its_owner(tmp_path):
    """A file owned by another user still belongs to that user after root saves over it."""
    if os.geteuid() != 0:
        pytest.skip("only root can give a file to another user")
    path = tmp_path / "theirs.json"
    path.write_text("old")
    os.chown(path, NOBODY, NOBODY)
    os.chmod(path, 0o640)
    write_atomically(path, "new")
    info = os.stat(path)
    assert (info.st_uid, info.st_gid, _mode(path)) == (NOBODY, NOBODY, 0o640)


def test_an_unwritable_folder_is_explained_with_the_users_path(shared_dir):
    """As a non-root user, a writable file in a read-only folder cannot be replaced atomically: the
    PermissionError names the file and says the folder must be writable."""
    result = _as_non_root(
        """
        folder = os.path.join(sys.argv[1], "ro")
        os.mkdir(folder)
        path = os.path.join(folder, "m.json")
        with open(path, "w") as f:
            f.write("old")
        os.chmod(folder, 0o555)
        try:
            write_atomically(path, "new")
        except PermissionError as err:
            print(err.filename == path, "folder must be writable" in str(err), ".tmp" not in str(err))
        print(open(path).read())
        """,
        shared_dir,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["True True True", "old"]


# ---------------------------------------------------------------------- errors name the caller's path


def test_errors_name_the_callers_path_never_the_temporary_file(tmp_path):
    """A missing folder, a folder as the target and a device as the target each raise an OSError
    whose filename is the path given, not a hidden .tmp name."""
    missing = tmp_path / "no" / "such" / "m.json"
    with pytest.raises(FileNotFoundError) as info:
        MLP(2, [1], seed=0).save(missing)
    assert info.value.filename == str(missing) and ".tmp" not in str(info.value)
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError) as info:
        write_atomically(tmp_path / "folder", "x")
    assert info.value.filename == str(tmp_path / "folder")
    with pytest.raises(OSError, match="not a regular file") as info:
        write_atomically(os.devnull, "x")
    assert info.value.filename == os.devnull and os.path.exists(os.devnull) and not os.path.isfile(os.devnull)
    assert _temporaries(tmp_path) == []


def test_an_error_inside_the_block_removes_the_temporary_and_keeps_the_old_file(tmp_path):
    """An exception (even KeyboardInterrupt) while writing leaves the old file and no temporary."""
    path = tmp_path / "m.json"
    path.write_text("old")
    for error in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(error)):
            with atomic_path(path) as tmp:
                with open(tmp, "w") as f:
                    f.write("half")
                raise error
        assert path.read_text() == "old" and _temporaries(tmp_path) == []


def test_an_os_error_about_the_temporary_file_is_reported_about_the_target(tmp_path):
    """An OSError raised inside the block about the temporary name (as from a full disk) names the target."""
    path = tmp_path / "m.json"
    with pytest.raises(OSError) as info:
        with atomic_path(path) as tmp:
            raise OSError(28, "No space left on device", tmp)
    assert info.value.errno == 28 and info.value.filename == str(path)
    assert _temporaries(tmp_path) == []


# ---------------------------------------------------------------------- crashes


def _dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_temporaries_of_dead_processes_are_removed_by_the_next_save(tmp_path):
    """A stale .m.json.PID.TOKEN.tmp of a dead process goes; one of a live process and other files stay."""
    path = tmp_path / "m.json"
    dead = tmp_path / f".m.json.{_dead_pid()}.0123abcd.tmp"
    alive = tmp_path / f".m.json.{os.getppid()}.0123abcd.tmp"
    other = tmp_path / ".m.json.tmp"  # not of our making
    for p in (dead, alive, other):
        p.write_text("x" * 1000)
    write_atomically(path, "new")
    assert sorted(os.listdir(tmp_path)) == sorted([alive.name, other.name, "m.json"])


SAVER = """
import sys
from autograd_tiny.nn import MLP
a, b = MLP(2, [64, 64, 1], seed=1), MLP(2, [64, 64, 1], seed=2)
print("ready", flush=True)
while True:
    a.save(sys.argv[1])
    b.save(sys.argv[1])
"""


@pytest.mark.parametrize("delay", [0.05, 0.13, 0.31])
def test_kill_9_during_save_leaves_a_whole_file_and_the_next_save_cleans_up(tmp_path, delay):
    """A process killed with SIGKILL while saving in a loop leaves the old or the new model whole;
    the next save removes the temporary file it left."""
    path = tmp_path / "m.json"
    saver = subprocess.Popen([sys.executable, "-c", SAVER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert saver.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 30
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(delay)
    finally:
        saver.send_signal(signal.SIGKILL)
        saver.wait()
    doc = json.loads(path.read_text())
    assert doc["parameters"] in (MLP(2, [64, 64, 1], seed=1).state_dict(), MLP(2, [64, 64, 1], seed=2).state_dict())
    MLP(2, [1], seed=0).save(path)
    assert _temporaries(tmp_path) == []
