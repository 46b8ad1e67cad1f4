"""Decode a video latent chunk by chunk and write it, with its audio, to one file atomically.

Peak memory: one chunk of decoded frames (``(C + 2K) * 8`` frames as the decoder's float
output, then as uint8) plus the encoder's look-ahead, whatever the latent's length. The file
appears only when complete (temporary file in the same folder, fsync, rename).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable

import av

from ..safeio import atomic_output
from .chunks import DEFAULT_CHUNK_LATENT_FRAMES, DEFAULT_CONTEXT_LATENT_FRAMES, decode_chunks, pixel_frames, plan_chunks
from .writer import StreamingVideoWriter, check_encoder_options

log = logging.getLogger(__name__)


def check_latent(latent) -> object:
    """The ``samples`` tensor of a single video LATENT, or ValueError naming the input."""
    if not isinstance(latent, dict) or "samples" not in latent:
        raise ValueError(f"latent must be a LATENT value (a dict with 'samples'), got {type(latent).__name__}")
    samples = latent["samples"]
    if hasattr(samples, "tensors") and not hasattr(samples, "ndim"):
        raise ValueError("latent is an audio+video latent; split it with LTXVSeparateAVLatent and wire video_latent")
    if getattr(samples, "ndim", None) != 5:
        raise ValueError(f"latent must be a video latent [batch, channels, frames, height, width], got shape "
                         f"{tuple(getattr(samples, 'shape', ()))}")
    return samples


def check_track(audio) -> tuple | None:
    """``(waveform [C, N], sample_rate)`` of the first batch item, or None; ValueError when unusable."""
    if audio is None:
        return None
    from ..audio.waveform import check_audio

    waveform, rate = check_audio(audio, "audio")
    if waveform.shape[1] > 2:
        raise ValueError(f"audio has {waveform.shape[1]} channels; the video's AAC track takes mono or stereo, "
                         "downmix it first")
    return waveform[0], rate


def write_latent_video(latent: dict, decode: Callable, path: str | Path, *, fps: float, audio: dict | None = None,
                       codec: str = "h264", crf: int = 19, pixel_format: str = "yuv420p", container: str = "mp4",
                       preset: str = "medium", chunk_latent_frames: int = DEFAULT_CHUNK_LATENT_FRAMES,
                       context_latent_frames: int = DEFAULT_CONTEXT_LATENT_FRAMES, metadata: dict | None = None,
                       on_chunk: Callable | None = None) -> dict:
    """Decode ``latent`` with ``decode`` in chunks and stream it into ``path``; returns the write report.

    Every input is checked before the file is opened. ``decode(latent_slice)`` returns frames
    in 0..1, channels last (ComfyUI's ``VAE.decode``).
    """
    samples = check_latent(latent)
    check_encoder_options(codec, crf, pixel_format, fps, container, preset)
    plan = plan_chunks(int(samples.shape[2]), chunk_latent_frames, context_latent_frames)
    if samples.shape[0] != 1:
        raise ValueError(f"latent holds a batch of {samples.shape[0]} videos; this node writes one. "
                         "Pick one with LatentFromBatch")
    track = check_track(audio)
    started = time.perf_counter()
    try:
        report = _write(samples, decode, path, fps, track, codec, crf, pixel_format, container, preset,
                        chunk_latent_frames, context_latent_frames, metadata, on_chunk)
    except av.error.FFmpegError as err:
        raise ValueError(f"cannot encode {path} with codec {codec}, pixel_format {pixel_format}: {err}; "
                         "nothing was written") from None
    expected = pixel_frames(int(samples.shape[2]))
    if report["frames"] != expected:
        raise RuntimeError(f"wrote {report['frames']} frames, planned {expected}")
    report.update({"path": str(path), "chunks": len(plan), "latent_frames": int(samples.shape[2]),
                   "chunk_latent_frames": chunk_latent_frames, "context_latent_frames": context_latent_frames,
                   "seconds": time.perf_counter() - started,
                   "audio_source_samples": int(track[0].shape[1]) if track is not None else 0})
    log.info("ltx-audioloop: wrote %s: %d frames (%.2f s) in %d chunks, %.1f s", path, report["frames"],
             report["duration_s"], report["chunks"], report["seconds"])
    return report


def _write(samples, decode, path, fps, track, codec, crf, pixel_format, container, preset, chunk_latent_frames,
           context_latent_frames, metadata, on_chunk) -> dict:
    with atomic_output(path) as temporary:
        writer = StreamingVideoWriter(temporary, fps=fps, codec=codec, crf=crf, pixel_format=pixel_format,
                                      container=container, preset=preset, audio=track, metadata=metadata)
        try:
            for block in decode_chunks(samples, decode, chunk_latent_frames, context_latent_frames, on_chunk):
                writer.write(block)
                del block
            report = writer.finish()
        finally:
            writer.close()
    return report
