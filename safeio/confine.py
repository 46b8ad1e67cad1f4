"""Confinement of untrusted relative paths (from a server, a job file, a workflow) to one folder."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath


def confined_path(root: str | os.PathLike, *parts: str, what: str = "path") -> Path:
    """``root / parts...`` when it stays inside ``root``; ``ValueError`` otherwise.

    Refused: an absolute part (POSIX or Windows form, also ``C:x``), a ``..`` component, a NUL
    byte, an empty final name, and anything whose resolved path (symlinks followed) leaves the
    resolved ``root``. ``what`` names the source in the message (e.g. ``"server output"``)."""
    pieces: list[str] = []
    for part in parts:
        text = "" if part is None else str(part)
        if "\x00" in text:
            raise ValueError(f"{what} {text!r} contains a NUL byte; refusing to write it")
        if text.startswith(("/", "\\")) or PureWindowsPath(text).drive or PurePosixPath(text).is_absolute():
            raise ValueError(f"{what} {text!r} is an absolute path; refusing to write outside {root}")
        for component in text.replace("\\", "/").split("/"):
            if component == "..":
                raise ValueError(f"{what} {text!r} climbs out with '..'; refusing to write outside {root}")
            if component not in ("", "."):
                pieces.append(component)
    if not pieces:
        raise ValueError(f"{what} {parts!r} names no file inside {root}")
    base = Path(root)
    candidate = base.joinpath(*pieces)
    resolved_root = Path(os.path.realpath(base))
    resolved = Path(os.path.realpath(candidate))
    if resolved != resolved_root and resolved_root not in resolved.parents:
        raise ValueError(f"{what} {'/'.join(pieces)!r} resolves to {resolved}, outside {root}; refusing to write it")
    return candidate
