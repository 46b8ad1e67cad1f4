"""Writing AUDIO values to files with PyAV.

``.wav`` is written as 24-bit PCM (``pcm_s24le``; no lossy re-encoding, so a true-peak ceiling
set by preprocessing survives), ``.flac`` as FLAC (lossless), anything else with the container's
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
    import av

    waveform, rate = check_audio(audio)
    if not 0 <= item < waveform.shape[0]:
        raise ValueError(f"batch item {item} does not exist (batch size {waveform.shape[0]})")
    path = Path(path)
    samples = waveform[item].detach().to("cpu", torch.float64).clamp(-1.0, 1.0).numpy()
    channels = samples.shape[0]
    codec, sample_format = _CODECS.get(path.suffix.lower(), (None, None))
    try:
        with atomic_output(path) as temporary, av.open(str(temporary), "w") as container:
            if codec is None:
                codec = container.default_audio_codec
                if not codec or codec == "none":
                    raise ValueError(f"cannot write audio to '{path.suffix}' files; use .wav or .flac")
            stream = container.add_stream(codec, rate=rate, layout=_LAYOUTS[channels])
            if sample_format is None:
                sample_format = "fltp"
            frame = _frame(samples, sample_format, _LAYOUTS[channels], rate)
            for packet in stream.encode(frame):
                container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
    except av.error.FFmpegError as err:
        raise ValueError(f"cannot write {path}: {describe_media_error(err)}") from None
    return path


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
