"""The output audio: exactly as long as the output video.

For output length ``T`` frames at ``fps`` and rate ``sr``: ``samples = round(T * sr / fps)``.
Clip ``i`` (range ``[s_i, e_i)`` of its own timeline, placed at output frame ``o_i``) supplies
samples ``round(s_i sr / fps) .. round(e_i sr / fps)`` of its track (silence where the track is
shorter, clip without audio = silence), written at ``round(o_i sr / fps)``. Over a crossfade of
``N`` frames the outgoing clip is weighted ``1 - w`` and the incoming ``w``, ``w`` rising
linearly 0 -> 1 across the ``round(N sr / fps)`` overlap samples (weights sum to 1, as the
video blend).
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np


def decode_track(path, rate: int, channels: int) -> np.ndarray:
    """Whole first audio stream as float32 ``(channels, n)`` at ``rate``; leading silence kept
    when the stream starts after t = 0."""
    layout = "mono" if channels == 1 else "stereo"
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
    parts, lead = [], None
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return np.zeros((channels, 0), np.float32)
        for frame in container.decode(container.streams.audio[0]):
            if lead is None:
                lead = max(0, int(round(float(frame.time or 0.0) * rate)))
            for out in resampler.resample(frame):
                parts.append(out.to_ndarray())
        for out in resampler.resample(None):
            parts.append(out.to_ndarray())
    track = np.concatenate(parts, axis=1) if parts else np.zeros((channels, 0), np.float32)
    if lead:
        track = np.concatenate([np.zeros((channels, lead), np.float32), track], axis=1)
    return track.astype(np.float32)


def samples_at(frame: int, fps: Fraction, rate: int) -> int:
    """Sample index of pixel frame ``frame``: ``round(frame * rate / fps)``."""
    return int(round(Fraction(frame) * rate / fps))


def build_audio(clips, placements: list[int], total_frames: int, fps: Fraction, rate: int, channels: int,
                crossfade: int) -> np.ndarray:
    """Output buffer ``(channels, round(total_frames * rate / fps))``; see module doc."""
    out = np.zeros((channels, samples_at(total_frames, fps, rate)), np.float32)
    fade = samples_at(crossfade, fps, rate) if crossfade else 0
    for index, (clip, at) in enumerate(zip(clips, placements)):
        a, b = samples_at(clip.start, fps, rate), samples_at(clip.end, fps, rate)
        segment = np.zeros((channels, b - a), np.float32)
        if clip.audio_rate:
            track = decode_track(clip.path, rate, channels)[:, a:b]
            segment[:, : track.shape[1]] = track
        if fade and index > 0:
            segment[:, :fade] *= np.linspace(0.0, 1.0, fade, endpoint=False, dtype=np.float32) + 0.5 / fade
        if fade and index < len(clips) - 1:
            segment[:, -fade:] *= 1.0 - (np.linspace(0.0, 1.0, fade, endpoint=False, dtype=np.float32) + 0.5 / fade)
        start = samples_at(at, fps, rate)
        stop = min(out.shape[1], start + segment.shape[1])
        out[:, start:stop] += segment[:, : stop - start]
    return out


def probe_track(path) -> tuple[int, int]:
    """``(sample rate, channels)`` of the first audio stream of ``path``; ValueError if it has none."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise ValueError(f"--audio {path} has no audio stream")
            stream = container.streams.audio[0]
            return int(stream.rate), int(stream.channels)
    except av.error.FFmpegError as err:
        raise ValueError(f"--audio {path} is not an audio file FFmpeg can read ({err})") from None


def fit_track(path, total_frames: int, fps: Fraction, rate: int, channels: int) -> np.ndarray:
    """The whole track of ``path`` as ``(channels, round(T sr / fps))``: cut at the end of the
    video, or padded with silence (less than one frame for a video of ``ceil(D fps)`` frames)."""
    track = decode_track(path, rate, channels)
    out = np.zeros((channels, samples_at(total_frames, fps, rate)), np.float32)
    keep = min(out.shape[1], track.shape[1])
    out[:, :keep] = track[:, :keep]
    return out
