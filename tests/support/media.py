"""Small real media files for the tests, written with PyAV: H.264 video with optional AAC audio."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

W, H, FPS = 64, 48, 25


def write_video(path, frames, audio=None, rate: int = 16000, fps: int = FPS, crf: str | None = "12"):
    """Encode uint8 RGB ``frames`` (N, H, W, 3) at ``fps`` and optional float ``audio`` (samples,
    or channels x samples) at ``rate`` Hz to an mp4 (H.264 + AAC). Returns ``path``."""
    frames = np.asarray(frames)
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        vs.options = {"preset": "ultrafast", **({"crf": crf} if crf else {})}
        if audio is not None:
            audio = np.atleast_2d(np.asarray(audio, np.float32))
            aus = out.add_stream("aac", rate=rate)
            aus.layout = "stereo" if audio.shape[0] == 2 else "mono"
        for frame in frames:
            for packet in vs.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)
        if audio is not None:
            pts = 0
            for start in range(0, audio.shape[1], 1024):
                block = np.ascontiguousarray(audio[:, start:start + 1024])
                frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=aus.layout.name)
                frame.sample_rate, frame.pts, frame.time_base = rate, pts, Fraction(1, rate)
                pts += block.shape[1]
                for packet in aus.encode(frame):
                    out.mux(packet)
            for packet in aus.encode():
                out.mux(packet)
    return path


def synthetic_frames(n: int, seam_at: int | None = None, red_per_second: float = 0.0) -> np.ndarray:
    """Smooth moving stripes (N, H, W, 3) uint8; ``seam_at`` jumps the pattern's phase; red rises
    linearly by ``red_per_second`` (0..1 units) over time at :data:`FPS`."""
    y, x = np.mgrid[0:H, 0:W]
    frames = []
    for t in range(n):
        phase = t * 0.15 + (2.5 if seam_at is not None and t >= seam_at else 0.0)
        base = 0.5 + 0.25 * np.sin(x / 6.0 + phase) * np.cos(y / 9.0)
        rgb = np.stack([base + red_per_second * t / FPS, base * 0.9, base * 0.8], axis=-1)
        frames.append(np.clip(rgb * 255, 0, 255).round().astype(np.uint8))
    return np.array(frames)
