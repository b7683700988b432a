"""File primitives for the log directory: no symlink following, atomic replacement,
an exclusive lock, full writes."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import secrets
import stat
import time
from collections.abc import Iterator
from pathlib import Path

_FLAGS_NEW = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC


def open_append(path: Path, mode: int = 0o644) -> int:
    """Open for appending, creating it; a symlink at ``path`` is refused (ELOOP)."""
    return os.open(path, _FLAGS_NEW | os.O_APPEND, mode)


def open_new(path: Path, mode: int = 0o644) -> int:
    """Create a file that must not exist yet (never follows or reuses a name)."""
    return os.open(path, _FLAGS_NEW | os.O_EXCL, mode)


def read_nofollow(path: Path) -> bytes | None:
    """The file's bytes, or None if it does not exist.  Symlinks are refused."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except InterruptedError:
            continue
        view = view[written:]


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` so readers see the old or the new file, never a
    part: write a temporary file beside it, fsync, rename, fsync the directory."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = open_new(tmp, mode)
    try:
        write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EROFS):
            raise
    finally:
        os.close(fd)


class LockTimeout(Exception):
    """The lock was not had within the time given."""


LOCK_POLL_S = 0.05


@contextlib.contextmanager
def locked(lock_path: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold an exclusive flock on ``lock_path`` (created if needed); wait at most
    ``timeout`` seconds for it (None: forever), then raise :class:`LockTimeout`."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        if timeout is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LockTimeout(f"{lock_path} held by another process") from None
                    time.sleep(LOCK_POLL_S)
        yield
    finally:
        os.close(fd)


def try_lock(fd: int, exclusive: bool) -> bool:
    """Take a flock on ``fd`` without waiting; False when another process has one
    that conflicts."""
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


# ``.<name>.<pid>.<hex>.tmp``: what atomic_write and replace_link leave behind when the
# process is killed between creating and renaming.
_TEMPORARY = re.compile(r"^\.[^/]+\.(\d+)\.[0-9a-f]{8}\.tmp$")


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Remove the temporary files of wrappers that are no longer running (killed
    before their rename); the removed paths.  Only regular files and symlinks named
    as ours are touched, never followed."""
    removed: list[Path] = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        m = _TEMPORARY.match(name)
        if not m or _alive(int(m.group(1))):
            continue
        path = directory / name
        try:
            if stat.S_ISDIR(os.lstat(path).st_mode):
                continue
            os.unlink(path)
        except OSError:
            continue
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def replace_link(target: Path, link: Path) -> None:
    """Make ``link`` another name (hard link) of ``target``, atomically."""
    tmp = link.with_name(f".{link.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    os.link(target, tmp)
    try:
        os.replace(tmp, link)
    finally:
        # Renaming a name onto another name of the same file does nothing (POSIX): the
        # temporary name is then still there.
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return f"{type(exc).__name__}: {exc}"
