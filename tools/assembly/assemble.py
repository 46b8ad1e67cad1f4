"""Encode the assembled video (PyAV): clips in order, trimmed, crossfaded, watermarked.

Output length: ``T = sum(frames_i) - N * (k - 1)`` for ``k`` clips and an ``N``-frame crossfade;
clip ``i`` starts at output frame ``o_i = sum_{j<i} frames_j - N i``. Over a crossfade the
outgoing frame is weighted ``1 - w_j`` and the incoming ``w_j = (j + 1) / (N + 1)``,
``j = 0 .. N-1``. Audio: :mod:`.audio`, exactly ``round(T sr / fps)`` samples; video frames are
streamed (only the ``N`` frames of a crossfade are held), audio is interleaved as it goes.

Audio codecs: ``flac`` (default for .mp4/.mkv) and ``pcm_s16le`` (default for .mov) keep the
exact sample count; ``aac`` pads the end to a whole 1024-sample frame (up to 21 ms at 48 kHz).
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ...audio.media_errors import describe_media_error
from ...safeio import atomic_output, check_not_input
from .audio import build_audio, fit_track, probe_track, samples_at
from .clips import Clip, parse_spec, probe
from .watermark import Watermark

log = logging.getLogger(__name__)

AUDIO_CHUNK = 1024
DEFAULT_AUDIO_CODEC = {".mp4": "flac", ".mkv": "flac", ".mov": "pcm_s16le"}


def plan_clips(specs: list[str], crossfade: int) -> tuple[list[Clip], list[int], int]:
    """Probe clips, check they can be joined, return ``(clips, placements o_i, total T)``."""
    if not specs:
        raise ValueError("give at least one clip")
    if crossfade < 0:
        raise ValueError(f"--crossfade must be >= 0 frames, got {crossfade}")
    clips = [probe(spec) for spec in specs]
    fps = clips[0].fps
    for clip in clips[1:]:
        if clip.fps != fps:
            raise ValueError(f"clip {clip.path} is {float(clip.fps):g} fps but {clips[0].path} is {float(fps):g} fps; "
                             "re-render or convert so all clips share one frame rate")
    if len(clips) > 1 and crossfade:
        short = [c for c in clips if c.frames <= crossfade]
        if short:
            raise ValueError(f"--crossfade {crossfade} frames is not shorter than clip {short[0].path} "
                             f"({short[0].frames} frames kept)")
    placements, at = [], 0
    for clip in clips:
        placements.append(at)
        at += clip.frames - crossfade
    total = at + crossfade
    return clips, placements, total


def _clip_frames(clip: Clip, width: int, height: int):
    with av.open(str(clip.path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for index, frame in enumerate(container.decode(stream)):
            if index >= clip.end:
                break
            if index >= clip.start:
                yield frame.reformat(width=width, height=height, format="rgb24").to_ndarray()


def _output_frames(clips: list[Clip], crossfade: int, width: int, height: int):
    held: list[np.ndarray] = []
    for index, clip in enumerate(clips):
        last = index == len(clips) - 1
        tail = crossfade if (crossfade and not last) else 0
        pending: list[np.ndarray] = []
        for j, frame in enumerate(_clip_frames(clip, width, height)):
            if held and j < len(held):
                w = (j + 1) / (crossfade + 1)
                frame = np.clip(held[j] * (1 - w) + frame * w + 0.5, 0, 255).astype(np.uint8)
            pending.append(frame)
            if len(pending) > tail:
                yield pending.pop(0)
        held = pending
    for frame in held:
        yield frame


def _audio_frame(block: np.ndarray, fmt: str, layout: str, rate: int, pts: int) -> av.AudioFrame:
    planar = fmt.endswith("p")
    base = fmt.rstrip("p")
    if base == "s16":
        data = (np.clip(block, -1, 1) * 32767).round().astype(np.int16)
    elif base == "s32":
        data = (np.clip(block, -1, 1) * 2147483647).round().astype(np.int32)
    else:
        data = block.astype(np.float32)
    data = np.ascontiguousarray(data if planar else data.T.reshape(1, -1))
    frame = av.AudioFrame.from_ndarray(data, format=fmt, layout=layout)
    frame.sample_rate, frame.pts, frame.time_base = rate, pts, Fraction(1, rate)
    return frame


def assemble(specs: list[str], output: str | Path, *, crossfade: int = 0, watermark: str | Path | None = None,
             watermark_scale: float = 0.15, watermark_opacity: float = 1.0, watermark_position: str = "br",
             audio_codec: str | None = None, sample_rate: int | None = None, crf: int = 18,
             preset: str = "medium", audio_track: str | Path | None = None) -> dict:
    """Write the assembled video to ``output``; returns ``{frames, fps, audio_samples, sample_rate, ...}``.

    Everything is checked (clips, frame rates, crossfade, watermark file) before the output is opened.
    ``audio_track``: a file whose first audio stream is muxed over the whole output instead of the
    clips' audio (cut or padded with silence to the output's length, see :func:`.audio.fit_track`).
    """
    output = Path(output)
    check_output_options(output, sample_rate, crf, preset)
    check_not_input(output, [parse_spec(spec)[0] for spec in specs] + ([watermark] if watermark else []), "-o/--out")
    clips, placements, total = plan_clips(specs, crossfade if len(specs) > 1 else 0)
    crossfade = crossfade if len(clips) > 1 else 0
    fps = clips[0].fps
    width, height = clips[0].width - clips[0].width % 2, clips[0].height - clips[0].height % 2
    mark = Watermark(watermark, width, height, scale=watermark_scale, opacity=watermark_opacity,
                     position=watermark_position) if watermark else None
    codec = audio_codec or DEFAULT_AUDIO_CODEC.get(output.suffix.lower(), "aac")
    if audio_track is not None:
        track_rate, track_channels = probe_track(audio_track)
        rate, channels = sample_rate or track_rate, min(2, track_channels)
        audio = fit_track(audio_track, total, fps, rate, channels)
    else:
        with_audio = [c for c in clips if c.audio_rate]
        rate = sample_rate or (with_audio[0].audio_rate if with_audio else None)
        channels = min(2, max((c.audio_channels for c in with_audio), default=0)) or None
        audio = build_audio(clips, placements, total, fps, rate, channels, crossfade) if rate else None
    try:
        with atomic_output(output) as temporary:
            _encode(temporary, clips, crossfade, width, height, fps, mark, audio, channels, codec, rate, crf, preset,
                    total)
    except av.error.FFmpegError as err:
        raise ValueError(f"cannot write -o {output}: {describe_media_error(err)}; nothing was changed there") from None
    return {
        "output": str(output),
        "frames": total,
        "fps": float(fps),
        "duration_s": float(total / fps),
        "audio_samples": int(audio.shape[1]) if audio is not None else 0,
        "sample_rate": rate,
        "audio_codec": codec if audio is not None else None,
        "crossfade": crossfade,
        "clips": [{"path": str(c.path), "start": c.start, "end": c.end, "at": at} for c, at in zip(clips, placements)],
        "watermark": str(watermark) if watermark else None,
    }


X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)
OUTPUT_SUFFIXES = (".mp4", ".mkv", ".mov")
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8_000, 384_000


def check_output_options(output: Path, sample_rate: int | None, crf: int, preset: str) -> None:
    """Range checks of the encoder options, before any clip is read (ValueError names the option)."""
    if output.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ValueError(f"-o {output}: the file name must end in {', '.join(OUTPUT_SUFFIXES)}")
    if sample_rate is not None and (
        isinstance(sample_rate, bool)
        or not isinstance(sample_rate, int)
        or not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE
    ):
        raise ValueError(
            f"--sample-rate must be {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz, got {sample_rate!r} (e.g. 48000)"
        )
    if isinstance(crf, bool) or not isinstance(crf, int) or not 0 <= crf <= 51:
        raise ValueError(
            f"--crf must be a whole number in 0..51 (x264; lower is better, 18 is near lossless), got {crf!r}"
        )
    if preset not in X264_PRESETS:
        raise ValueError(f"--preset {preset!r} is not an x264 preset; use one of {', '.join(X264_PRESETS)}")


def _encode(
    path: Path, clips, crossfade, width, height, fps, mark, audio, channels, codec, rate, crf, preset, total
) -> int:
    """Encode the planned frames and audio into ``path`` (a temporary file); returns the frame count."""
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.options = {"crf": str(crf), "preset": preset}
        if audio is not None:
            layout = "mono" if channels == 1 else "stereo"
            aus = out.add_stream(codec, rate=rate)
            aus.layout = layout
            fmt = (
                aus.codec_context.format.name
                if aus.codec_context.format
                else aus.codec_context.codec.audio_formats[0].name
            )
        written_audio = frames = 0
        for frame in _output_frames(clips, crossfade, width, height):
            if mark is not None:
                frame = mark.apply(frame)
            for packet in vs.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
            frames += 1
            if audio is not None:
                due = samples_at(frames, fps, rate)
                while written_audio + AUDIO_CHUNK <= due:
                    block = audio[:, written_audio : written_audio + AUDIO_CHUNK]
                    for packet in aus.encode(_audio_frame(block, fmt, layout, rate, written_audio)):
                        out.mux(packet)
                    written_audio += AUDIO_CHUNK
        for packet in vs.encode():
            out.mux(packet)
        if audio is not None:
            while written_audio < audio.shape[1]:
                block = audio[:, written_audio : written_audio + AUDIO_CHUNK]
                for packet in aus.encode(_audio_frame(block, fmt, layout, rate, written_audio)):
                    out.mux(packet)
                written_audio += block.shape[1]
            for packet in aus.encode():
                out.mux(packet)
    if frames != total:
        raise RuntimeError(f"assembled {frames} frames but planned {total}; a clip decoded fewer frames than counted")
    return frames
