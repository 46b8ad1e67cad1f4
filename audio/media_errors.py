"""Readable text for PyAV / FFmpeg errors.

``str()`` of an ``av.error.FFmpegError`` reads ``[Errno 1094995529] Invalid data found when
processing input: '/path'``: an FFmpeg tag number a user cannot act on, and the path again. The
messages of this package name the file themselves and want only FFmpeg's description.
"""

from __future__ import annotations


def describe_media_error(err: BaseException) -> str:
    """FFmpeg's own description of ``err`` (``"Invalid data found when processing input"``)."""
    text = getattr(err, "strerror", None)
    if isinstance(text, str) and text.strip():
        return text.strip()
    return str(err)
