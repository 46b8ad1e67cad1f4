"""Audio files without holding them: length from the container, decoding in bounded chunks, and a
streaming resampler.

* :func:`probe_audio` reads a file's sample rate, channels and length from the container and
  stream headers (PyAV; no packet is decoded). A WAV/FLAC/M4A header states the sample count; an
  MP3 without one gets the container's duration. Only when neither says anything are the packets
  demuxed and their sample counts added (still no decoding), and only when packets carry no
  duration either is the stream decoded, one frame at a time, keeping nothing.
* :func:`iter_file_chunks` decodes the first audio stream into float32 ``[C, n]`` chunks of about
  ``chunk_seconds``; the caller holds one chunk at a time.
* :class:`StreamResampler` is FFmpeg's ``libswresample`` (through PyAV): fed any chunking, it
  returns the same samples as one call on the whole signal (the tests check this), time-aligned
  (an impulse at ``t`` comes out at ``t``), and it runs at several hundred times real time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .media_errors import describe_media_error

CHUNK_SECONDS = 10.0
"""Seconds of audio per decoded chunk (about 3.5 MB for stereo 44.1 kHz float32)."""


@dataclass(frozen=True)
class AudioInfo:
    """What a file's headers say about its first audio stream."""

    sample_rate: int
    channels: int
    samples: int
    exact: bool
    """True when ``samples`` comes from the stream's stated duration or a count, False when it is the
    container's duration (an MP3 without a Xing/LAME header: FFmpeg's estimate from the bitrate).
    Either is what the container says; decoding can differ by an encoder's padding (AAC: 1024 samples)."""

    @property
    def duration(self) -> float:
        """Seconds: ``samples / sample_rate``."""
        return self.samples / self.sample_rate


def _open(path: str | Path):
    import av

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"audio file not found: {path}")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as err:
        raise ValueError(f"cannot decode {path}: {describe_media_error(err)}") from None
    if not container.streams.audio:
        container.close()
        raise ValueError(f"{path} has no audio stream")
    return container


def probe_audio(path: str | Path) -> AudioInfo:
    """Rate, channels and length of the first audio stream, from the headers (see the module docstring)."""
    import av

    with _open(path) as container:
        stream = container.streams.audio[0]
        rate = int(stream.codec_context.sample_rate or stream.rate or 0)
        channels = int(stream.codec_context.channels or len(stream.layout.channels) or 0)
        if rate <= 0 or channels <= 0:
            raise ValueError(f"{path}: the audio stream states no sample rate or channel count")
        if stream.duration and stream.time_base:
            samples = int(round(float(stream.duration * stream.time_base) * rate))
            if samples > 0:
                return AudioInfo(rate, channels, samples, True)
        if container.duration and container.duration > 0:
            return AudioInfo(rate, channels, int(round(container.duration / av.time_base * rate)), False)
        # No stated length: add up packet durations (demux only), else count decoded frames.
        total = Fraction(0)
        for packet in container.demux(stream):
            if packet.duration is None or packet.time_base is None:
                total = None
                break
            total += packet.duration * packet.time_base
        if total:
            return AudioInfo(rate, channels, int(round(float(total) * rate)), True)
    with _open(path) as container:
        count = sum(frame.samples for frame in container.decode(container.streams.audio[0]))
    return AudioInfo(rate, channels, count, True)


def _frame_samples(frame) -> np.ndarray:
    """One decoded frame as ``[C, n]`` in its own sample type (int16, int32, float32...)."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    return data.reshape(channels, -1) if frame.format.is_planar else data.reshape(-1, channels).T


def _as_float32(chunk: np.ndarray) -> np.ndarray:
    """Integer PCM scaled by its type's maximum (int16: 1 / 32767), floats as they are; C-contiguous float32."""
    if np.issubdtype(chunk.dtype, np.integer):
        out = np.ascontiguousarray(chunk, dtype=np.float32)
        out /= np.float32(np.iinfo(chunk.dtype).max)
        return out
    return np.ascontiguousarray(chunk, dtype=np.float32)


def iter_file_chunks(path: str | Path, chunk_seconds: float = CHUNK_SECONDS) -> Iterator[np.ndarray]:
    """Decoded float32 ``[C, n]`` chunks (about ``chunk_seconds`` each, the last shorter) of the first
    audio stream. Frames are gathered in their decoded sample type and converted once per chunk."""
    import av

    def joined(pieces: list[np.ndarray]) -> np.ndarray:
        if len({p.dtype for p in pieces}) > 1:
            return np.concatenate([_as_float32(p) for p in pieces], axis=1)
        return _as_float32(np.concatenate(pieces, axis=1) if len(pieces) > 1 else pieces[0])

    with _open(path) as container:
        stream = container.streams.audio[0]
        rate = int(stream.codec_context.sample_rate or stream.rate)
        target = max(1, int(chunk_seconds * rate))
        pending: list[np.ndarray] = []
        held = 0
        try:
            for frame in container.decode(stream):
                piece = _frame_samples(frame)
                pending.append(piece)
                held += piece.shape[1]
                if held >= target:
                    yield joined(pending)
                    pending, held = [], 0
        except av.error.FFmpegError as err:
            raise ValueError(f"cannot decode {path}: {describe_media_error(err)}") from None
        if pending:
            yield joined(pending)


def iter_tensor_chunks(waveform, chunk_samples: int) -> Iterator[np.ndarray]:
    """``[C, N]`` tensor or array -> float32 numpy ``[C, n]`` views/copies of ``chunk_samples`` samples."""
    n = waveform.shape[-1]
    for start in range(0, n, chunk_samples):
        piece = waveform[..., start: start + chunk_samples]
        if hasattr(piece, "numpy"):
            piece = piece.detach().to("cpu").float().numpy()
        yield np.asarray(piece, dtype=np.float32)


class StreamResampler:
    """Mono float32 resampling in any chunking (``libswresample``; see the module docstring)."""

    def __init__(self, rate: int, target: int):
        import av

        self.rate, self.target = int(rate), int(target)
        self._resampler = None if self.rate == self.target else av.AudioResampler(format="flt", layout="mono",
                                                                                   rate=self.target)

    def _run(self, frame) -> np.ndarray:
        outs = [o.to_ndarray().reshape(-1) for o in self._resampler.resample(frame)]
        return np.concatenate(outs).astype(np.float32, copy=False) if outs else np.zeros(0, np.float32)

    def feed(self, mono: np.ndarray) -> np.ndarray:
        """Resampled samples available after ``mono`` (1-D float32); possibly none yet."""
        mono = np.ascontiguousarray(mono, dtype=np.float32)
        if self._resampler is None:
            return mono
        if mono.size == 0:
            return np.zeros(0, np.float32)
        import av

        frame = av.AudioFrame.from_ndarray(mono[None, :], format="flt", layout="mono")
        frame.sample_rate = self.rate
        return self._run(frame)

    def finish(self) -> np.ndarray:
        """The samples still held in the filter (call once, at the end)."""
        if self._resampler is None:
            return np.zeros(0, np.float32)
        return self._run(None)


def resample_mono(mono: np.ndarray, rate: int, target: int) -> np.ndarray:
    """A whole 1-D signal from ``rate`` to ``target`` Hz (:class:`StreamResampler` in one call)."""
    if rate == target:
        return np.asarray(mono, dtype=np.float32)
    resampler = StreamResampler(rate, target)
    out = [resampler.feed(mono), resampler.finish()]
    expected = int(math.ceil(len(mono) * target / rate))
    return np.concatenate(out)[:expected]


PREVIEW_RATE = 8_000


def load_preview(path: str | Path, rate: int = PREVIEW_RATE, progress=None) -> dict:
    """The downmix of a file at ``rate`` Hz as AUDIO ``[1, 1, M]``, decoded chunk by chunk: enough
    to draw a waveform envelope (content above ``rate / 2`` is filtered out) at a fraction of the
    memory of the full track (8 kHz mono: 1/11 of 44.1 kHz stereo)."""
    import torch

    info = probe_audio(path)
    resampler = StreamResampler(info.sample_rate, rate)
    pieces, done = [], 0
    for chunk in iter_file_chunks(path):
        pieces.append(resampler.feed(chunk.mean(axis=0)))
        done += chunk.shape[1]
        if progress is not None:
            progress("decoding", min(1.0, done / max(1, info.samples)))
    pieces.append(resampler.finish())
    mono = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    if mono.size == 0:
        raise ValueError(f"{path} contains no audio samples")
    return {"waveform": torch.from_numpy(mono).view(1, 1, -1), "sample_rate": rate}


def check_format(sample_rate: int, channels: int, name: str = "audio") -> None:
    """The rate and channel limits of :func:`.waveform.check_audio` for a probed file, without torch
    (``plan`` reads only the headers)."""
    from .waveform_limits import MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE

    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise ValueError(f"{name} sample_rate {sample_rate} Hz is outside {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz; "
                         "resample it first")
    if not 1 <= channels <= MAX_CHANNELS:
        raise ValueError(f"{name} has {channels} channels; 1 to {MAX_CHANNELS} are supported, downmix it first")
