"""Atomic file writes: the one owner of temporary names, permissions and clean-up.

A file is written under a temporary name in the target's folder, flushed to disk and
renamed over the target, so a reader never sees half a file. The temporary file

* gets the permissions of a normal new file (``0666`` minus the umask; ``mkstemp`` would
  leave ``0600``);
* is removed when the write fails or is interrupted;
* is named ``.<target>.<random>.<pid>.jaxlin-tmp``, so one left behind by a killed process
  (SIGKILL runs no clean-up) is recognised and removed the next time the same target is
  written, once its process is gone.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile

_SUFFIX = ".jaxlin-tmp"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(path) -> list:
    """Remove the temporary files of ``path`` left by processes that no longer run."""
    folder, base = os.path.split(os.path.abspath(path))
    pattern = re.compile(rf"^\.{re.escape(base)}\.[^.]+\.(\d+){re.escape(_SUFFIX)}$")
    removed = []
    for name in os.listdir(folder):
        m = pattern.match(name)
        if m and not _alive(int(m.group(1))):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(folder, name))
                removed.append(name)
    return removed


def check_target(path, name: str = "path") -> str:
    """The absolute path of a file to write, checked before any work that ends in writing
    it: ``FileNotFoundError`` when its folder does not exist, ``IsADirectoryError`` when it
    is a folder, both naming the argument ``name``."""
    path = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{name}: no such folder: {folder}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{name}: {path} is a folder; give the path of a file to write")
    return path


@contextlib.contextmanager
def atomic_path(path, name: str = "path"):
    """Yield a temporary path to write; on success it replaces ``path`` atomically.

    Raises ``FileNotFoundError`` when the folder does not exist and ``IsADirectoryError``
    when ``path`` is a folder, both naming the argument ``name`` — before anything is written.
    A target that exists but is not a regular file (``/dev/stdout``, a named pipe) is
    yielded itself: a stream cannot be replaced.
    """
    path = check_target(path, name)
    if os.path.exists(path) and not os.path.isfile(path):
        # a stream or device (/dev/stdout, a named pipe): written in place; replacing it
        # would put a plain file where the device was
        yield path
        return
    folder, base = os.path.split(path)
    remove_stale(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=f".{os.getpid()}{_SUFFIX}", dir=folder)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
