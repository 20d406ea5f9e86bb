"""Writing files so that a crash or an error never leaves a half-written one behind.

A file is written under a hidden temporary name beside its target, flushed to disk, then
renamed over the target in one step (``os.replace``). Apart from that, saving behaves as
``open(path, "w")`` would:

* a symlink is followed: its target gets the new content and the link stays a link;
* an existing file keeps its permission bits (a private 0600 file stays private) and, where
  allowed, its owner; a new file gets the usual mode (0666 minus the umask);
* a target we may not write (a read-only file, for a user other than root) is refused with
  `PermissionError`, and a folder or a device is refused too: the rename would replace it;
* errors name the caller's path, never the temporary file.

A crash (even ``kill -9``) can leave a temporary file ``.NAME.PID.TOKEN.tmp``; the next save
to the same path removes those whose process no longer runs.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["atomic_path", "write_atomically"]


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """A temporary file name beside `path`; when the block ends without error, the file
    written there replaces `path` in one step (os.replace), otherwise it is removed.

    Example:
        >>> import pathlib, tempfile
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "note.txt"
        >>> with atomic_path(target) as tmp:
        ...     _ = pathlib.Path(tmp).write_text("hello")
        >>> target.read_text()
        'hello'
    """
    shown = os.fspath(path)
    target = os.path.realpath(shown) if os.path.islink(shown) else shown
    try:
        existing = _check_target(target, shown)
        _remove_stale_temporaries(target)
        tmp = _create_temporary(target, existing)
    except OSError as err:  # every file touched so far is the target or a temporary of ours
        raise _about(err, shown) from None
    try:
        yield tmp
        if existing is not None:
            _copy_owner_and_mode(tmp, existing)
        os.replace(tmp, target)
    except BaseException as err:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        if isinstance(err, OSError) and err.filename in (None, tmp, target, shown):
            raise _about(err, shown) from None
        raise
    _sync_folder(target)


def write_atomically(path: str | os.PathLike, data: str | bytes) -> None:
    """Write text (UTF-8) or bytes to `path` through `atomic_path`, flushed to disk first.

    Example:
        >>> import pathlib, tempfile
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "note.txt"
        >>> write_atomically(target, "hello")
        >>> target.read_text()
        'hello'
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())


# ---------------------------------------------------------------------- steps


def _check_target(target: str, shown: str) -> os.stat_result | None:
    """The target's stat if it exists (None if not), after checking that we may replace it."""
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), shown)
    if not stat.S_ISREG(info.st_mode):
        raise OSError(errno.EINVAL, "not a regular file (saving would replace it)", shown)
    # Open it for writing without truncating: the same permission check open(path, "w") makes.
    os.close(os.open(target, os.O_WRONLY | os.O_NONBLOCK))
    return info


def _create_temporary(target: str, existing: os.stat_result | None) -> str:
    """A new, empty file beside `target`: private while an existing target's mode is pending,
    else with the mode open() would give a new file (0666 minus the umask)."""
    folder, name = os.path.split(os.path.abspath(target))
    stem = _stem(name)
    mode = 0o600 if existing is not None else 0o666
    while True:
        tmp = os.path.join(folder, f".{stem}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:  # that token is taken: draw another
            continue
        except PermissionError as err:
            raise PermissionError(err.errno, f"{err.strerror} (the folder must be writable: the file is "
                                             "written beside its target, then renamed)") from None
        os.close(fd)
        return tmp


def _copy_owner_and_mode(tmp: str, existing: os.stat_result) -> None:
    mine = os.stat(tmp)
    if (existing.st_uid, existing.st_gid) != (mine.st_uid, mine.st_gid):
        try:
            os.chown(tmp, existing.st_uid, existing.st_gid)
        except OSError:  # only root may give a file away; the mode still follows
            pass
    os.chmod(tmp, stat.S_IMODE(existing.st_mode))  # after chown, which clears set-id bits


def _remove_stale_temporaries(target: str) -> None:
    """Delete temporary files of earlier saves to `target` whose process has died."""
    if os.name != "posix":  # os.kill(pid, 0) is not a harmless probe elsewhere
        return
    folder, name = os.path.split(os.path.abspath(target))
    pattern = re.compile(rf"\.{re.escape(_stem(name))}\.(\d+)\.[0-9a-f]{{8}}\.tmp")
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        match = pattern.fullmatch(entry)
        if match and not _running(int(match.group(1))):
            try:
                os.unlink(os.path.join(folder, entry))
            except OSError:
                pass


def _running(pid: int) -> bool:
    if pid <= 0 or pid == os.getpid():
        return True  # not ours to judge, or ours (another thread may be saving)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # someone else's process, or an absurd number: leave the file alone
    return True


def _sync_folder(target: str) -> None:
    """Flush the folder entry of the rename too (POSIX), so the new file survives a power cut."""
    if os.name != "posix":
        return
    try:
        fd = os.open(os.path.dirname(os.path.abspath(target)), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _stem(name: str) -> str:
    """The target's name, cut so that the temporary name stays within the 255-byte limit."""
    while len(os.fsencode(name)) > 120:
        name = name[:-1]
    return name


def _about(err: OSError, shown: str) -> OSError:
    """`err` about the caller's path (rather than the temporary file, or no file at all)."""
    if err.errno is None:
        return err
    return OSError(err.errno, err.strerror, shown)  # OSError picks the subclass for that errno
