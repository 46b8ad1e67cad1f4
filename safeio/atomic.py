"""Atomic replacement of a file: a temporary file in the target's folder, fsync, rename.

Rules (the same for every tool):

* the data goes to ``.NAME.XXXX.tmp`` beside the real target, is flushed and fsynced, then
  renamed over the target (``os.replace``), and the folder is fsynced; a reader sees either the
  old file or the complete new one, never a partial or empty file;
* a symlink is followed: its final target is replaced and the link stays a link;
* an existing target keeps its permission bits; a new file gets ``0o666 & ~umask`` (what
  ``open()`` would give), not the ``0o600`` of a temporary file;
* any failure (full disk, read-only folder, the writer raising) removes the temporary file,
  leaves the target byte-identical and raises ``ValueError`` naming the path and the cause;
* an empty result is refused unless ``allow_empty`` (a writer that produced nothing failed).
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def write_error(path: str | os.PathLike, err: OSError, what: str = "cannot write") -> ValueError:
    """A ``ValueError`` for ``err`` that names ``path`` and says what to do (full disk, read-only, ...)."""
    reason = err.strerror or str(err) or type(err).__name__
    hint = {
        errno.ENOSPC: "the disk is full; free some space or write elsewhere",
        errno.EDQUOT: "the disk quota is exhausted; free some space or write elsewhere",
        errno.EFBIG: "the file is larger than this system allows; write elsewhere",
        errno.EROFS: "the file system is read-only; write elsewhere",
        errno.EACCES: "no permission; write elsewhere or fix the folder's permissions",
        errno.EPERM: "no permission; write elsewhere or fix the folder's permissions",
    }.get(err.errno or 0)
    text = f"{what} {path}: {reason}" + (f" ({hint})" if hint else "")
    return ValueError(text + "; nothing was changed there")


def real_target(path: str | os.PathLike) -> Path:
    """The file a write to ``path`` should replace: symlinks (also chains and linked folders) followed."""
    return Path(os.path.realpath(os.fspath(path)))


def _new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_output(path: str | os.PathLike, *, allow_empty: bool = False, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path (same folder and extension as the real target) for a writer that
    needs a file name (PIL, PyAV); on success it atomically replaces ``path`` (module rules).

    ``mode`` is the permission of a file that does not exist yet (default ``0o666 & ~umask``).
    Example: ``with atomic_output(png) as tmp: image.save(tmp)``."""
    target = real_target(path)
    if target.is_dir():
        raise ValueError(f"cannot write {path}: it is a folder; give a file name")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=target.parent)
        os.close(handle)
    except OSError as err:
        raise write_error(path, err) from None
    temporary = Path(name)
    try:
        yield temporary
        _commit(temporary, target, path, allow_empty, mode)
    except OSError as err:
        _discard(temporary)
        raise write_error(path, err) from None
    except BaseException:
        _discard(temporary)
        raise


def atomic_write(path: str | os.PathLike, content: str | bytes, *, encoding: str = "utf-8",
                 allow_empty: bool = False, mode: int | None = None) -> Path:
    """Atomically replace ``path`` with ``content`` (text is encoded with ``encoding``); returns ``path``."""
    data = content.encode(encoding) if isinstance(content, str) else bytes(content)
    with atomic_output(path, allow_empty=allow_empty, mode=mode) as temporary:
        with open(temporary, "wb") as stream:
            stream.write(data)
    return Path(path)


def _commit(temporary: Path, target: Path, shown: str | os.PathLike, allow_empty: bool, new_mode: int | None) -> None:
    fd = os.open(temporary, os.O_RDWR)
    try:
        os.fsync(fd)
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if size == 0 and not allow_empty:
        raise ValueError(f"cannot write {shown}: the result was empty; nothing was changed there")
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = _new_file_mode() if new_mode is None else new_mode
    os.chmod(temporary, mode)
    os.replace(temporary, target)
    _fsync_folder(target.parent)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot fsync a folder; the rename itself is already atomic
    finally:
        os.close(fd)


def _discard(temporary: Path) -> None:
    try:
        temporary.unlink()
    except FileNotFoundError:
        pass
    except OSError:
        pass


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when ``a`` and ``b`` name the same file (symlinks and hard links included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return real_target(a) == real_target(b)


def check_not_input(output: str | os.PathLike, inputs, option: str = "output") -> None:
    """Refuse (``ValueError``) an output path that is one of the ``inputs``, before any work."""
    for item in inputs:
        if item is not None and same_file(output, item):
            raise ValueError(f"{option} {output} is also an input ({item}); writing it would destroy the input. "
                             "Write to a new file")
