"""Writing AUDIO values to files with PyAV.

``.wav`` is written as 24-bit PCM (``pcm_s24le``; no lossy re-encoding, so a true-peak ceiling
set by preprocessing survives), ``.flac`` as 24-bit FLAC (lossless; the encoder is given 32-bit
samples, else FFmpeg picks 16 bits), anything else with the container's
default audio codec (e.g. ``.mp3``, ``.m4a``; lossy codecs can overshoot the ceiling slightly).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..safeio import atomic_output
from .media_errors import describe_media_error
from .waveform import check_audio

_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}
_CODECS = {".wav": ("pcm_s24le", "s32"), ".flac": ("flac", "s32")}


def save_audio(audio: dict, path: str | Path, item: int = 0) -> Path:
    """Write batch item ``item`` of an AUDIO value to ``path`` (format from the extension)."""
    waveform, rate = check_audio(audio)
    if not 0 <= item < waveform.shape[0]:
        raise ValueError(f"batch item {item} does not exist (batch size {waveform.shape[0]})")
    path = Path(path)
    with atomic_output(path) as temporary, AudioWriter(temporary, rate, waveform.shape[1], path) as writer:
        writer.write(waveform[item])
    return path


class AudioWriter:
    """Samples ``[C, n]`` (float, -1..1; clamped) written chunk by chunk to ``temporary`` in the
    format of ``shown``'s extension (module docstring); chunks give the same file as one write of
    the whole signal. A context manager: leaving it flushes the encoder and closes the file.
    Callers write to a temporary of :func:`..safeio.atomic_output`, never to the user's file."""

    def __init__(self, temporary: str | Path, rate: int, channels: int, shown: str | Path):
        import av

        self.shown, self.rate, self.layout = Path(shown), int(rate), _LAYOUTS[channels]
        codec, self.sample_format = _CODECS.get(self.shown.suffix.lower(), (None, None))
        try:
            self.container = av.open(str(temporary), "w")
        except av.error.FFmpegError as err:
            raise ValueError(f"cannot write {self.shown}: {describe_media_error(err)}") from None
        try:
            if codec is None:
                codec = self.container.default_audio_codec
                if not codec or codec == "none":
                    raise ValueError(f"cannot write audio to '{self.shown.suffix}' files; use .wav or .flac")
            self.stream = self.container.add_stream(codec, rate=self.rate, layout=self.layout)
            if self.sample_format:  # FLAC would otherwise get FFmpeg's default, 16-bit
                self.stream.format = self.sample_format
        except av.error.FFmpegError as err:
            self.container.close()
            raise ValueError(f"cannot write {self.shown}: {describe_media_error(err)}") from None
        except BaseException:
            self.container.close()
            raise
        self.sample_format = self.sample_format or "fltp"

    def write(self, samples) -> None:
        """Encode ``samples`` ``[C, n]`` (tensor or array)."""
        import av

        samples = torch.as_tensor(samples).detach().to("cpu", torch.float64).clamp(-1.0, 1.0).numpy()
        if not samples.shape[-1]:
            return
        try:
            for packet in self.stream.encode(_frame(samples, self.sample_format, self.layout, self.rate)):
                self.container.mux(packet)
        except av.error.FFmpegError as err:
            raise ValueError(f"cannot write {self.shown}: {describe_media_error(err)}") from None

    def close(self) -> None:
        """Flush the encoder and close the file."""
        import av

        try:
            for packet in self.stream.encode(None):
                self.container.mux(packet)
        except av.error.FFmpegError as err:
            raise ValueError(f"cannot write {self.shown}: {describe_media_error(err)}") from None
        finally:
            self.container.close()

    def __enter__(self) -> "AudioWriter":
        return self

    def __exit__(self, kind, error, trace) -> None:
        if kind is None:
            self.close()
        else:
            self.container.close()


def _frame(samples: np.ndarray, sample_format: str, layout: str, rate: int):
    import av

    if sample_format == "s32":
        data = np.round(samples * (2**31 - 256)).astype(np.int32).T.reshape(1, -1)  # packed
        data = np.ascontiguousarray(data)
    else:
        data = np.ascontiguousarray(samples.astype(np.float32))  # planar
    frame = av.AudioFrame.from_ndarray(data, format=sample_format, layout=layout)
    frame.sample_rate = rate
    return frame
