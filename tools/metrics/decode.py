"""Streaming decode with PyAV: per-frame statistics of the video, and audio as mono float.

Frames are scaled to at most ``max_width`` pixels wide (aspect kept, even height) before the
sRGB -> Lab conversion, so a 20-minute render needs only a few numbers per frame in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ...audio.media_errors import describe_media_error
from ...loop.geometry import DEFAULT_FPS
from .color import delta_e76, srgb_to_lab


@dataclass
class VideoStats:
    """``diffs[t]``: mean dE76 between frames ``t`` and ``t + 1``; ``means[t]``: mean Lab of frame ``t``."""

    fps: float
    frames: int
    width: int
    height: int
    diffs: np.ndarray
    means: np.ndarray

    @property
    def duration(self) -> float:
        """Seconds: ``frames / fps``."""
        return self.frames / self.fps


def open_container(path: str | Path):
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        return av.open(str(path))
    except av.error.FFmpegError as err:
        raise ValueError(f"{path}: cannot open as media: {describe_media_error(err)}") from None


def _expected_frames(stream, container, rate: float) -> int:
    """Frames the headers announce (for progress only): the stream's count, else duration x rate."""
    if stream.frames:
        return int(stream.frames)
    if stream.duration and stream.time_base:
        return int(float(stream.duration * stream.time_base) * rate)
    if container.duration:
        return int(container.duration / 1_000_000 * rate)
    return 0


def video_stats(path: str | Path, max_width: int = 96, progress=None) -> VideoStats:
    """Decode every frame of the first video stream (exact frame count, see class doc).
    ``progress(stage, fraction)`` (see :mod:`ltx_audioloop.audio.progress`) follows the frames."""
    from ...audio.progress import report

    with open_container(path) as container:
        if not container.streams.video:
            raise ValueError(f"{path}: has no video stream")
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or Fraction(DEFAULT_FPS)
        width, height = stream.codec_context.width, stream.codec_context.height
        scale = min(1.0, max_width / max(width, 1))
        sw, sh = max(2, int(round(width * scale / 2)) * 2), max(2, int(round(height * scale / 2)) * 2)
        diffs, means, previous = [], [], None
        expected = max(1, _expected_frames(stream, container, float(rate)))
        for frame in container.decode(stream):
            if len(means) % 25 == 0:
                report(progress, "video frames", min(1.0, len(means) / expected))
            lab = srgb_to_lab(frame.reformat(width=sw, height=sh, format="rgb24").to_ndarray())
            means.append(lab.reshape(-1, 3).mean(axis=0))
            if previous is not None:
                diffs.append(float(delta_e76(lab, previous).mean()))
            previous = lab
    if not means:
        raise ValueError(f"{path}: the video stream has no frames")
    return VideoStats(float(rate), len(means), width, height, np.array(diffs), np.array(means))


def has_audio(path: str | Path) -> bool:
    with open_container(path) as container:
        return bool(container.streams.audio)


def read_audio(path: str | Path, rate: int = 16000, progress=None,
               stage: str = "audio") -> tuple[np.ndarray, int, float]:
    """First audio stream as mono float32 at ``rate`` Hz, its native sample rate and its exact
    duration in seconds (native samples / native rate); ``progress(stage, fraction)`` follows the decoding."""
    from ...audio.progress import report

    with open_container(path) as container:
        if not container.streams.audio:
            raise ValueError(f"{path}: has no audio stream")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        native_rate = stream.codec_context.sample_rate or stream.rate
        chunks, native = [], 0
        expected = 0
        if stream.duration and stream.time_base:
            expected = int(float(stream.duration * stream.time_base) * native_rate)
        elif container.duration:
            expected = int(container.duration / 1_000_000 * native_rate)
        for count, frame in enumerate(container.decode(stream)):
            native += frame.samples
            if count % 50 == 0:
                report(progress, stage, min(1.0, native / max(1, expected)))
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    return samples, int(native_rate), native / float(native_rate)
