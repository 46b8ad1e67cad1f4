"""Stream RGB frame blocks and an audio track into a video file with PyAV.

Frames arrive as ``[n, H, W, 3]`` uint8 blocks and are encoded at once; nothing but the
encoder's own look-ahead is held. The audio (an AUDIO value's first batch item, ``[C, N]``) is
encoded in 1024-sample blocks interleaved with the video: after ``f`` frames every sample
before ``round(f * sr / fps)`` is written, so the muxer never buffers a long run of one stream.
The audio is cut at the video's end, ``T = round(F * sr / fps)`` samples for ``F`` frames (a
shorter track simply ends early). AAC pads its last frame to 1024 samples.

Codecs: ``h264`` (libx264) and ``h265`` (libx265, tagged ``hvc1`` in mp4 so Apple players open
it); CRF 0..51 (lower is better; x264 treats 0 as lossless); pixel formats ``yuv420p`` (plays
everywhere), ``yuv444p`` and ``yuv420p10le``.
"""

from __future__ import annotations

import json
import logging
from fractions import Fraction
from pathlib import Path

log = logging.getLogger(__name__)

CODECS = {"h264": "libx264", "h265": "libx265"}
PIXEL_FORMATS = ("yuv420p", "yuv444p", "yuv420p10le")
CONTAINERS = ("mp4", "mkv")
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
AUDIO_BLOCK = 1024
AUDIO_BITRATE = 192_000
MAX_FPS = 240.0


def check_encoder_options(codec: str, crf: int, pixel_format: str, fps: float, container: str, preset: str) -> None:
    """ValueError naming the input for any option the encoder cannot take."""
    if codec not in CODECS:
        raise ValueError(f"codec {codec!r} is not supported; use one of {', '.join(CODECS)}")
    if isinstance(crf, bool) or not isinstance(crf, int) or not 0 <= crf <= 51:
        raise ValueError(f"crf must be a whole number in 0..51 (lower is better; 18-23 is typical), got {crf!r}")
    if pixel_format not in PIXEL_FORMATS:
        raise ValueError(f"pixel_format {pixel_format!r} is not supported; use one of {', '.join(PIXEL_FORMATS)}")
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 1.0 <= float(fps) <= MAX_FPS:
        raise ValueError(f"fps must be a number in 1..{MAX_FPS:g}, got {fps!r}; use the loop's frame rate (25)")
    if container not in CONTAINERS:
        raise ValueError(f"container {container!r} is not supported; use one of {', '.join(CONTAINERS)}")
    if preset not in PRESETS:
        raise ValueError(f"preset {preset!r} is not an x264/x265 preset; use one of {', '.join(PRESETS)}")


def frame_rate(fps: float) -> Fraction:
    """Exact rate for PyAV: 25 -> 25/1, 23.976 -> 24000/1001, 29.97 -> 30000/1001."""
    return Fraction(str(float(fps))).limit_denominator(1001)


def audio_samples_at(frames: int, rate: Fraction, sample_rate: int) -> int:
    """``round(frames * sr / fps)``: the samples that belong before frame ``frames``."""
    return int(round(Fraction(frames) * sample_rate / rate))


class StreamingVideoWriter:
    """Open on the first frame block, encode as blocks come, close with :meth:`finish`.

    ``audio`` is ``(waveform [C, N] torch or numpy, sample_rate)`` or ``None``. ``metadata``
    (``{key: json-able}``) is stored in the container's tags (ComfyUI keeps ``prompt`` and
    ``workflow`` there so a saved video reloads its graph).
    """

    def __init__(self, path: str | Path, *, fps: float, codec: str = "h264", crf: int = 19,
                 pixel_format: str = "yuv420p", container: str = "mp4", preset: str = "medium",
                 audio=None, metadata: dict | None = None):
        check_encoder_options(codec, crf, pixel_format, fps, container, preset)
        self.path = Path(path)
        self.rate = frame_rate(fps)
        self.codec, self.crf, self.pixel_format, self.container_name, self.preset = (
            codec,
            crf,
            pixel_format,
            container,
            preset,
        )
        self.audio = audio
        self.metadata = metadata or {}
        self.frames = 0
        self.audio_written = 0
        self.width = self.height = None
        self._out = self._video = self._audio = None

    # -- opening -------------------------------------------------------------------------
    def _open(self, height: int, width: int) -> None:
        import av

        self.width, self.height = width - width % 2, height - height % 2
        if self.width < 2 or self.height < 2:
            raise ValueError(f"decoded frames are {width}x{height}; the encoder needs at least 2x2")
        options = {"movflags": "use_metadata_tags"} if self.container_name == "mp4" else {}
        self._out = av.open(
            str(self.path), "w", format="mp4" if self.container_name == "mp4" else "matroska", options=options
        )
        for key, value in self.metadata.items():
            self._out.metadata[key] = value if isinstance(value, str) else json.dumps(value)
        stream = self._out.add_stream(CODECS[self.codec], rate=self.rate)
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, self.pixel_format
        stream.time_base = Fraction(1, 1) / self.rate
        opts = {"crf": str(self.crf), "preset": self.preset}
        if self.codec == "h265":
            opts["x265-params"] = "log-level=error"
            if self.container_name == "mp4":
                stream.codec_tag = "hvc1"
        stream.options = opts
        self._video = stream
        if self.audio is not None:
            waveform, sample_rate = self.audio
            channels = int(waveform.shape[0])
            layout = {1: "mono", 2: "stereo"}[channels]
            audio_stream = self._out.add_stream("aac", rate=int(sample_rate))
            audio_stream.layout = layout
            audio_stream.bit_rate = AUDIO_BITRATE
            self._audio = audio_stream
            self._layout = layout
            self._total_audio = int(waveform.shape[1])

    # -- writing -------------------------------------------------------------------------
    def write(self, frames) -> None:
        """Encode a ``[n, H, W, 3]`` uint8 block (torch or numpy), then the audio that belongs before its end."""
        import av
        import numpy as np

        block = frames.numpy() if hasattr(frames, "numpy") else np.asarray(frames)
        if block.ndim != 4 or block.shape[-1] != 3 or block.dtype != np.uint8:
            raise ValueError(f"frames must be [n, H, W, 3] uint8, got {block.shape} {block.dtype}")
        if self._out is None:
            self._open(block.shape[1], block.shape[2])
        elif (block.shape[1] - block.shape[1] % 2, block.shape[2] - block.shape[2] % 2) != (self.height, self.width):
            raise ValueError(f"frame size changed from {self.width}x{self.height} to {block.shape[2]}x{block.shape[1]}")
        for image in block:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[: self.height, : self.width]), format="rgb24")
            frame.pts = self.frames
            for packet in self._video.encode(frame):
                self._out.mux(packet)
            self.frames += 1
        self._write_audio_until(audio_samples_at(self.frames, self.rate, self._audio.rate) if self._audio else 0)

    def _write_audio_until(self, due: int, final: bool = False) -> None:
        if self._audio is None:
            return
        import av
        import numpy as np

        waveform, sample_rate = self.audio
        due = min(due, self._total_audio)
        while self.audio_written < due and (final or self.audio_written + AUDIO_BLOCK <= due):
            end = min(due, self.audio_written + AUDIO_BLOCK)
            piece = waveform[:, self.audio_written : end]
            if hasattr(piece, "detach"):
                piece = piece.detach().to("cpu").float().numpy()
            data = np.ascontiguousarray(np.clip(piece, -1.0, 1.0).astype(np.float32))
            frame = av.AudioFrame.from_ndarray(data, format="fltp", layout=self._layout)
            frame.sample_rate, frame.pts, frame.time_base = (
                int(sample_rate),
                self.audio_written,
                Fraction(1, int(sample_rate)),
            )
            for packet in self._audio.encode(frame):
                self._out.mux(packet)
            self.audio_written = end

    def finish(self) -> dict:
        """Flush both encoders and close the file; returns ``{frames, width, height, audio_samples, ...}``."""
        if self._out is None:
            raise ValueError("no frames were written; the latent decoded to nothing")
        try:
            for packet in self._video.encode():
                self._out.mux(packet)
            if self._audio is not None:
                self._write_audio_until(audio_samples_at(self.frames, self.rate, self._audio.rate), final=True)
                for packet in self._audio.encode():
                    self._out.mux(packet)
        finally:
            self.close()
        return {
            "frames": self.frames,
            "width": self.width,
            "height": self.height,
            "fps": float(self.rate),
            "duration_s": float(self.frames / self.rate),
            "audio_samples": self.audio_written,
            "sample_rate": int(self.audio[1]) if self.audio is not None else None,
        }

    def close(self) -> None:
        if self._out is not None:
            out, self._out = self._out, None
            out.close()
