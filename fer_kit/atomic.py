"""Atomic file writes: a temporary file in the same folder, then one rename.

A crash or Ctrl-C mid-write leaves the old file (or none), never half a file.
Every file fer_kit writes (caches, run files, submissions, figures) goes through here.

A write that fails removes its temporary file. A process killed mid-write (SIGKILL, a
power cut) cannot, so each temporary file's name carries the writer's host and process
id (``.<name>.fktmp-<host>-<pid>-<random><suffix>``); the next write into the same
folder removes the ones whose process is gone. A full disk is reported as one
``DiskFullError`` line naming the file, the space left and the space the write needed.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

_MARK = "fktmp"
_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]  # no dashes or dots
_OURS = re.compile(rf"^\..+\.{_MARK}-(?P<host>[0-9a-f]{{6}})-(?P<pid>\d+)-")
# What tempfile.mkstemp named temporaries before the process id was in the name:
# ".<name>.<8 random characters><suffix>". Removed only beside an existing <name> and
# when a day old: no write takes a day, and a user's own hidden file is never that shape.
_OLD = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}(\.[^.]+)?$")
_OLD_AGE_S = 86400
_FULL = (errno.ENOSPC, errno.EDQUOT)


class DiskFullError(OSError, RuntimeError):
    """No space left for a file the kit writes: names the file, the space left and needed.

    An OSError (errno ENOSPC) and a RuntimeError, so callers that expect either catch it.
    """

    def __init__(self, path: str | os.PathLike, needed: int | None, written: int | None):
        folder = Path(path).parent
        try:
            free = shutil.disk_usage(folder).free
        except OSError:
            free = None
        need = (f"it needs {_size(needed)}" if needed else
                f"it needed more than the {_size(written)} written" if written else
                "it needed more")
        left = f"{_size(free)} free" if free is not None else "free space unknown"
        self.message = f"{path}: no space left on the device ({left} in {folder}; {need})"
        super().__init__(errno.ENOSPC, self.message, str(path))

    def __str__(self) -> str:
        return self.message


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    return f"{n / 2 ** 20:.1f} MiB" if n >= 2 ** 20 else f"{n:,} bytes"


def is_disk_full(e: BaseException) -> bool:
    """True for an error that says the disk (or the user's quota) is full."""
    return isinstance(e, OSError) and (e.errno in _FULL or "No space left" in str(e))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process (EPERM): alive
        return True
    return True


def remove_stale(folder: str | os.PathLike) -> list[Path]:
    """Remove temporary files left in ``folder`` by writers that were killed.

    Returns:
        The files removed.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        name = entry.name
        if not name.startswith("."):
            continue
        m = _OURS.match(name)
        if m:
            stale = m["host"] == _HOST and not _alive(int(m["pid"]))
        else:
            old = _OLD.match(name)
            try:
                stale = bool(old) and (Path(folder) / old["name"]).exists() and \
                    now - entry.stat().st_mtime > _OLD_AGE_S
            except OSError:
                stale = False
        if stale:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None,
                size: int | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    Args:
        path: the final file.
        suffix: suffix of the temporary file (default: the final file's own, so
            writers that choose a format by extension, like ``np.savez``, still work).
        size: the bytes the write needs, if known (for the full-disk message).

    Raises:
        DiskFullError: when the disk fills during the write (the temporary file is removed).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{_MARK}-{_HOST}-{os.getpid()}-",
                                   suffix=suffix or path.suffix or ".tmp", dir=path.parent)
    except OSError as e:
        if is_disk_full(e):
            raise DiskFullError(path, size, 0) from None
        raise
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        # mkstemp makes the file private (0600); give it the mode a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as e:
        if is_disk_full(e) and not isinstance(e, DiskFullError):
            written = tmp.stat().st_size if tmp.exists() else None
            raise DiskFullError(path, size, written) from None
        raise
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_path(path, size=len(data)) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically and return the path."""
    return write_bytes(path, text.encode("utf-8"))
