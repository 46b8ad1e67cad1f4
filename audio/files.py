"""Reading audio files into ComfyUI AUDIO values with PyAV, and the synthesised demo track."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from .waveform import check_audio


def load_audio(path: str | Path) -> dict:
    """Decode any file FFmpeg reads (wav, flac, mp3, m4a, ogg, video files) to AUDIO ``[1, C, N]``.

    Samples are float32 in -1..1 at the file's own rate; a ``ValueError`` names the file when it
    has no audio stream or cannot be decoded.
    """
    import av

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"audio file not found: {path}")
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise ValueError(f"{path} has no audio stream")
            stream = container.streams.audio[0]
            rate = stream.rate or stream.codec_context.sample_rate
            chunks = []
            for frame in container.decode(stream):
                data = frame.to_ndarray()
                if frame.format.is_planar:
                    chunk = data.reshape(len(frame.layout.channels), -1)
                else:
                    chunk = data.reshape(-1, len(frame.layout.channels)).T
                chunks.append(_to_float(chunk))
    except av.error.FFmpegError as err:
        raise ValueError(f"cannot decode {path}: {err}") from None
    if not chunks:
        raise ValueError(f"{path} contains no audio samples")
    samples = np.concatenate(chunks, axis=1)
    audio = {"waveform": torch.from_numpy(np.ascontiguousarray(samples)).unsqueeze(0), "sample_rate": int(rate)}
    check_audio(audio, str(path))
    return audio


def _to_float(chunk: np.ndarray) -> np.ndarray:
    if np.issubdtype(chunk.dtype, np.integer):
        return chunk.astype(np.float32) / float(np.iinfo(chunk.dtype).max)
    return chunk.astype(np.float32)


def demo_track(seconds: float = 75.0, sample_rate: int = 22_050) -> dict:
    """An original stereo demo song, synthesised on the spot (deterministic, no file needed).

    Sections of a pop form (intro, verse, chorus, verse, chorus, outro) at 100 BPM: a kick on
    every beat, a bass note per bar and a plucked triad, louder in the choruses, with a fade-out.
    """
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    beat = 60.0 / 100.0
    bar = 4 * beat
    roots = [110.0, 87.31, 130.81, 98.0]  # A2 F2 C3 G2
    sections = [(0, 8, 0.35), (8, 24, 0.6), (24, 40, 1.0), (40, 54, 0.6), (54, 68, 1.0), (68, seconds, 0.4)]
    level = np.zeros(n)
    for start, end, gain in sections:
        level[(t >= start) & (t < end)] = gain
    phase_in_beat = np.mod(t, beat)
    kick = np.sin(2 * math.pi * 55.0 * phase_in_beat * np.exp(-phase_in_beat * 8)) * np.exp(-phase_in_beat * 18)
    root = np.array(roots)[(t // bar).astype(int) % len(roots)]
    bass = 0.5 * np.sin(2 * math.pi * root * t)
    phase_in_half = np.mod(t, beat / 2)
    pluck_env = np.exp(-phase_in_half * 9)
    chord = sum(np.sin(2 * math.pi * root * 2 * ratio * t) for ratio in (1.0, 1.26, 1.5)) / 3
    fade = np.clip((seconds - t) / 6.0, 0.0, 1.0)
    left = level * fade * (0.55 * kick + 0.3 * bass + 0.25 * chord * pluck_env)
    right = level * fade * (0.55 * kick + 0.3 * bass + 0.25 * np.roll(chord, 441) * pluck_env)
    wave = np.stack([left, right]).astype(np.float32)
    wave /= max(1e-6, float(np.abs(wave).max())) / 0.8
    return {"waveform": torch.from_numpy(wave).unsqueeze(0), "sample_rate": sample_rate}
