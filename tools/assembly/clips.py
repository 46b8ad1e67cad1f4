"""Clip specifications ``PATH[@START:END]`` and probing.

``START``/``END`` are pixel-frame indices with Python slice rules: ``clip.mp4@25:`` drops the
first 25 frames, ``clip.mp4@:-8`` the last 8, ``clip.mp4@100:350`` keeps frames 100..349.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from ...audio.media_errors import describe_media_error


@dataclass(frozen=True)
class Clip:
    """A probed clip and its frame range ``[start, end)``."""

    path: Path
    start: int
    end: int
    total_frames: int
    fps: Fraction
    width: int
    height: int
    audio_rate: int | None
    audio_channels: int

    @property
    def frames(self) -> int:
        """Frames kept: ``end - start``."""
        return self.end - self.start


def parse_spec(spec: str) -> tuple[Path, int | None, int | None]:
    """Split ``PATH[@START:END]``; the ``@`` part is optional and each bound may be empty."""
    path, sep, rng = spec.rpartition("@")
    if not sep or ":" not in rng:
        return Path(spec), None, None
    start_text, _, end_text = rng.partition(":")
    try:
        start = int(start_text) if start_text.strip() else None
        end = int(end_text) if end_text.strip() else None
    except ValueError:
        raise ValueError(
            f"clip {spec!r}: the range after '@' must be START:END in whole frames, e.g. clip.mp4@25:-8"
        ) from None
    return Path(path), start, end


def count_frames(container, stream) -> int:
    """Exact video frame count (demuxed packets with data; every video frame is one packet)."""
    return sum(1 for packet in container.demux(stream) if packet.size)


def probe(spec: str) -> Clip:
    """Open a clip spec, count its frames and resolve its range; ValueError names the clip."""
    path, start, end = parse_spec(spec)
    if not path.is_file():
        raise ValueError(f"clip {path}: no such file")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as err:
        raise ValueError(f"clip {path}: cannot open: {describe_media_error(err)}") from None
    with container:
        if not container.streams.video:
            raise ValueError(f"clip {path}: has no video stream")
        stream = container.streams.video[0]
        fps = stream.average_rate or stream.guessed_rate
        width, height = stream.codec_context.width, stream.codec_context.height
        audio = container.streams.audio[0] if container.streams.audio else None
        rate = audio.codec_context.sample_rate if audio else None
        channels = audio.codec_context.channels if audio else 0
        total = count_frames(container, stream)
    first, last, step = slice(start, end).indices(total)
    if last - first < 1:
        raise ValueError(f"clip {spec!r}: range keeps no frame of its {total}")
    return Clip(path, first, last, total, Fraction(fps), width, height, rate, channels)
