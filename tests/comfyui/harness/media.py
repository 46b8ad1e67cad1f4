"""Synthetic test inputs (an image and a music track) and measurements of rendered videos."""
from __future__ import annotations

import os
import wave
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_test_image(path: Path, width: int = 320, height: int = 240) -> None:
    """An RGB PNG with smooth colour bands and a bright rectangle in the middle (the 'subject')."""
    from PIL import Image
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack([128 + 100 * np.sin(x / 19.0), 128 + 100 * np.sin(y / 13.0 + 0.7),
                    128 + 100 * np.cos((x - y) / 29.0)], axis=-1)
    rgb[height // 3: 2 * height // 3, width // 3: 2 * width // 3] = (235, 190, 60)
    tmp = path.with_name(path.name + ".part.png")
    Image.fromarray(rgb.clip(0, 255).astype(np.uint8)).save(tmp)
    os.replace(tmp, path)


def write_test_music(path: Path, seconds: float, rate: int = 44100, bpm: float = 120.0) -> None:
    """A stereo 16-bit WAV of ``seconds`` s: a four-chord pad changing every bar (4 beats at ``bpm``),
    a bass note an octave below the chord root, and a decaying kick on every beat; peak 0.9 of full scale."""
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    beat = 60.0 / bpm
    bar = 4 * beat
    roots = (220.0, 196.0, 174.61, 196.0)
    chord_index = (t // bar).astype(int) % len(roots)
    root = np.asarray(roots)[chord_index]
    pad = (np.sin(2 * np.pi * root * t) + np.sin(2 * np.pi * root * 1.26 * t) + np.sin(2 * np.pi * root * 1.5 * t)) / 3
    bass = np.sin(np.pi * root * t)
    since_beat = np.mod(t, beat)
    kick = np.sin(2 * np.pi * (45 + 90 * np.exp(-since_beat * 30)) * since_beat) * np.exp(-since_beat * 22)
    left = 0.25 * pad + 0.2 * bass + 0.6 * kick
    right = 0.25 * np.roll(pad, 150) + 0.2 * bass + 0.6 * kick
    stereo = np.stack([left, right], axis=1)
    stereo *= 0.9 / max(1e-9, float(np.abs(stereo).max()))
    pcm = (stereo * 32767).astype("<i2")
    tmp = path.with_name(path.name + ".part")
    with wave.open(str(tmp), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    os.replace(tmp, path)


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as f:
        return f.getnframes() / f.getframerate()


@dataclass(frozen=True)
class VideoFacts:
    """What a rendered file holds: decoded video frames, their rate, and the audio stream's length."""
    path: Path
    frames: int
    fps: Fraction
    width: int
    height: int
    audio_seconds: float | None  # None: the file has no audio stream

    @property
    def video_seconds(self) -> float:
        return self.frames / float(self.fps)


def probe_video(path: Path) -> VideoFacts:
    """Decode every video frame and audio frame of ``path`` with PyAV and count them."""
    import av
    with av.open(str(path)) as container:
        vstream = container.streams.video[0]
        fps = vstream.average_rate or vstream.guessed_rate
        frames = sum(1 for _ in container.decode(video=0))
        width, height = vstream.codec_context.width, vstream.codec_context.height
    audio_seconds = None
    with av.open(str(path)) as container:
        if container.streams.audio:
            astream = container.streams.audio[0]
            samples = sum(f.samples for f in container.decode(audio=0))
            audio_seconds = samples / astream.codec_context.sample_rate
    return VideoFacts(Path(path), frames, Fraction(fps), width, height, audio_seconds)


def video_pixels(path: Path) -> np.ndarray:
    """All decoded frames as one uint8 array (frames, height, width, 3)."""
    import av
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
