"""Reading audio files into ComfyUI AUDIO values with PyAV, and the synthesised demo track."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

# torch and .waveform are imported where a waveform is built: plan's header checks stay torch-free

log = logging.getLogger(__name__)


def load_audio(path: str | Path, progress=None) -> dict:
    """Decode any file FFmpeg reads (wav, flac, mp3, m4a, ogg, video files) to AUDIO ``[1, C, N]``.

    Samples are float32 in -1..1 at the file's own rate; a ``ValueError`` names the file when it
    has no audio stream or cannot be decoded. The array is allocated once from the length the
    container states (:func:`.stream.probe_audio`) and filled chunk by chunk, so the peak memory is
    the waveform itself (plus one chunk) when that length is right; a wrong one costs one copy.
    ``progress`` (optional) is called as ``progress("decoding", fraction)``.
    """
    from .stream import iter_file_chunks, probe_audio

    info = probe_audio(path)
    capacity = max(1, info.samples)
    samples = np.empty((info.channels, capacity), dtype=np.float32)
    filled = 0
    for chunk in iter_file_chunks(path):
        if chunk.shape[0] != info.channels:
            raise ValueError(f"{path}: the channel count changes inside the stream ({info.channels} -> "
                             f"{chunk.shape[0]})")
        if filled + chunk.shape[1] > capacity:
            capacity = int((filled + chunk.shape[1]) * 1.1) + 1
            grown = np.empty((info.channels, capacity), dtype=np.float32)
            grown[:, :filled] = samples[:, :filled]
            samples = grown
        samples[:, filled: filled + chunk.shape[1]] = chunk
        filled += chunk.shape[1]
        if progress is not None:
            progress("decoding", min(1.0, filled / max(1, info.samples)))
    if filled == 0:
        raise ValueError(f"{path} contains no audio samples")
    if filled != capacity:
        samples = np.ascontiguousarray(samples[:, :filled])
    warn_if_truncated(Path(path), declared_wav_seconds(Path(path)), filled / info.sample_rate)
    import torch

    from .waveform import check_audio

    audio = {"waveform": torch.from_numpy(samples).unsqueeze(0), "sample_rate": int(info.sample_rate)}
    check_audio(audio, str(path))
    return audio


def declared_wav_seconds(path: Path) -> float | None:
    """Seconds a RIFF/WAVE header promises: ``data`` chunk bytes / (rate * block align); None for
    other files or a header that does not say (FFmpeg itself trusts the file size instead)."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(1 << 16)
    except OSError:
        return None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    position, rate, align = 12, None, None
    while position + 8 <= len(head):
        name, size = head[position:position + 4], int.from_bytes(head[position + 4:position + 8], "little")
        if name == b"fmt " and position + 20 <= len(head):
            rate = int.from_bytes(head[position + 12:position + 16], "little")
            align = int.from_bytes(head[position + 20:position + 22], "little")
        if name == b"data":
            if not rate or not align or size in (0, 0xFFFFFFFF):  # 0xFFFFFFFF: length unknown (streamed WAV)
                return None
            return size / (rate * align)
        position += 8 + size + (size & 1)
    return None


def warn_if_truncated(path: Path, declared_s: float | None, decoded_s: float) -> bool:
    """Log a warning when the file's header promises clearly more audio than could be decoded
    (short by more than 0.5 s and 2 %): a truncated download or copy. Returns True when warned."""
    if declared_s is None or not math.isfinite(declared_s):
        return False
    if declared_s - decoded_s > max(0.5, 0.02 * declared_s):
        log.warning("%s: its header says %.1f s but only %.1f s of audio could be decoded; the file looks "
                    "truncated, so everything is planned for %.1f s. Re-copy or re-export it", path, declared_s,
                    decoded_s, decoded_s)
        return True
    return False


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
    import torch

    return {"waveform": torch.from_numpy(wave).unsqueeze(0), "sample_rate": sample_rate}
