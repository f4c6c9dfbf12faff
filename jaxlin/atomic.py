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


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path to write; on success it replaces ``path`` atomically.

    Raises ``FileNotFoundError`` naming the folder when it does not exist.
    """
    path = os.path.abspath(os.fspath(path))
    folder, base = os.path.split(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"no such folder: {folder}")
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
