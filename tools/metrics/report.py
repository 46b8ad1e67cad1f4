"""All metrics of one video, as a JSON-ready dict.

Iteration boundaries (pixel frames): ``b_i = first + (i - 1) * stride`` for ``i = 1, 2, ...`` while
``b_i < frames``. Defaults come from the loop geometry at the video's frame rate
(``first = F_w``, the initial window's frames; ``stride = P_s``), so loop iteration ``i`` starts
its new frames at ``b_i``. ``--stride S`` (seconds) sets ``stride = round(S * fps)`` and, unless
``--first`` is given too, ``first = stride``.

* **seam score** at ``b``: ``d[b-1] / max(median(neighbours), 0.5)`` where ``d[t]`` is the mean
  dE76 between frames ``t`` and ``t+1`` and the neighbours are the ``d`` within ``+-neighbours``
  frames of ``b - 1``, other boundaries excluded. About 1 = no seam; the floor of 0.5 dE keeps a
  still image from turning noise into a score.
* **colour drift** of window ``i`` (frames ``b_i .. b_{i+1} - 1``, window 0 = frames before
  ``b_1``): dE76 between the window's mean Lab and window 0's mean Lab.
* **offset** (with ``--audio``): see :mod:`.offset` (positive = render's audio late).
* **durations**: video ``frames / fps``, its audio track and the source, and differences.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...loop.geometry import DEFAULT_OVERLAP_SECONDS, DEFAULT_WINDOW_SECONDS, loop_geometry
from .color import delta_e76
from .decode import has_audio, read_audio, video_stats
from .offset import estimate_offset

SEAM_FLOOR_DE = 0.5


def boundary_frames(frames: int, fps: float, *, stride_s: float | None = None, first_s: float | None = None,
                    window_s: float = DEFAULT_WINDOW_SECONDS,
                    overlap_s: float = DEFAULT_OVERLAP_SECONDS) -> tuple[list[int], int, int]:
    """``(boundaries, first, stride)`` in pixel frames; see module rule."""
    if stride_s is not None:
        if not stride_s > 0:
            raise ValueError(f"--stride must be > 0 seconds, got {stride_s}")
        stride = int(round(stride_s * fps))
        if stride < 1:
            raise ValueError(f"--stride {stride_s} s is less than one frame at {fps:g} fps")
        first = stride
    else:
        geometry = loop_geometry(window_s, overlap_s, fps)
        stride, first = geometry.stride_frames, geometry.window_frames
    if first_s is not None:
        if first_s < 0:
            raise ValueError(f"--first must be >= 0 seconds, got {first_s}")
        first = int(round(first_s * fps))
    return list(range(first, frames, stride)) if first > 0 else list(range(stride, frames, stride)), first, stride


def seam_scores(diffs: np.ndarray, boundaries: list[int], neighbours: int = 8) -> list[dict]:
    """Seam score per boundary frame (see module doc)."""
    marks = {b - 1 for b in boundaries}
    out = []
    for b in boundaries:
        j = b - 1
        if j < 0 or j >= len(diffs):
            continue
        lo, hi = max(0, j - neighbours), min(len(diffs), j + neighbours + 1)
        around = [diffs[k] for k in range(lo, hi) if k not in marks]
        baseline = float(np.median(around)) if around else 0.0
        out.append({"frame": b, "jump_de": float(diffs[j]), "baseline_de": baseline,
                    "score": float(diffs[j] / max(baseline, SEAM_FLOOR_DE))})
    return out


def colour_drift(means: np.ndarray, boundaries: list[int], fps: float) -> list[dict]:
    """Mean Lab per iteration window and its dE76 to window 0."""
    edges = [0] + [b for b in boundaries if 0 < b < len(means)] + [len(means)]
    windows = []
    for i, (a, b) in enumerate(zip(edges, edges[1:])):
        if b <= a:
            continue
        lab = means[a:b].mean(axis=0)
        windows.append({"iteration": i, "start_s": a / fps, "end_s": b / fps, "lab": [float(v) for v in lab]})
    ref = np.array(windows[0]["lab"])
    for w in windows:
        w["drift_de"] = float(delta_e76(np.array(w["lab"]), ref))
    return windows


def _check_finite(samples: np.ndarray, what: str) -> None:
    bad = int(np.size(samples) - np.count_nonzero(np.isfinite(samples)))
    if bad:
        raise ValueError(f"{what} holds {bad} NaN or infinite sample(s); no offset can be measured from it. "
                         "Re-export the audio (e.g. as 16/24-bit PCM WAV)")


def compute_metrics(video: str | Path, audio: str | Path | None = None, *, stride_s: float | None = None,
                    first_s: float | None = None, window_s: float = DEFAULT_WINDOW_SECONDS,
                    overlap_s: float = DEFAULT_OVERLAP_SECONDS,
                    neighbours: int = 8, max_width: int = 96, max_lag_s: float = 2.0,
                    cuts: list[int] | None = None, progress=None) -> dict:
    """Decode ``video`` (and ``audio``, the source track) and compute every metric of the module doc.

    ``cuts``: the segment cut frames of a video joined by ``render --segments``; their seam
    scores (same rule, every boundary and cut excluded from the neighbours) are reported apart.
    ``progress(stage, fraction)`` (see :mod:`ltx_audioloop.audio.progress`) hears each stage."""
    from ...audio.progress import report

    stats = video_stats(video, max_width, progress)
    boundaries, first, stride = boundary_frames(stats.frames, stats.fps, stride_s=stride_s, first_s=first_s,
                                                window_s=window_s, overlap_s=overlap_s)
    cuts = sorted(set(cuts or []))
    bad = [c for c in cuts if not 0 < c < stats.frames]
    if bad:
        raise ValueError(f"--cuts {bad[0]} is not inside the video's {stats.frames} frames")
    seams = seam_scores(stats.diffs, sorted(set(boundaries) - set(cuts)), neighbours)
    cut_seams = [s for s in seam_scores(stats.diffs, sorted(set(boundaries) | set(cuts)), neighbours)
                 if s["frame"] in cuts] if cuts else []
    drift = colour_drift(stats.means, boundaries, stats.fps)
    durations = {"video_frames": stats.frames, "fps": stats.fps, "video_s": stats.duration}
    offset = None
    if has_audio(video):
        track, native_rate, track_s = read_audio(video, progress=progress, stage="video's audio")
        _check_finite(track, f"the audio track of {video}")
        durations.update({"video_audio_s": track_s, "video_audio_rate": native_rate,
                          "audio_minus_video_s": track_s - stats.duration})
    else:
        track = None
    if audio is not None:
        source, _, source_s = read_audio(audio, progress=progress, stage="source audio")
        _check_finite(source, f"--audio {audio}")
        durations.update({"source_s": source_s, "video_minus_source_s": stats.duration - source_s})
        if track is not None:
            report(progress, "offset", 0.0)
            offset = estimate_offset(source, track, 16000, max_lag_s)
            report(progress, "offset", 1.0)
    summary = {
        "frames": stats.frames,
        "iterations": len(drift),
        "seam_max": max((s["score"] for s in seams), default=None),
        "seam_mean": float(np.mean([s["score"] for s in seams])) if seams else None,
        "drift_max": max(w["drift_de"] for w in drift),
        "drift_last": drift[-1]["drift_de"],
        "offset_s": offset["offset_s"] if offset else None,
        "duration_diff_s": durations.get("video_minus_source_s"),
        "cut_seam_max": max((s["score"] for s in cut_seams), default=None),
    }
    return {
        "video": str(video),
        "audio": str(audio) if audio else None,
        "geometry": {"first_frame": first, "stride_frames": stride, "boundaries": boundaries},
        "summary": summary,
        "seams": seams,
        "cut_seams": cut_seams,
        "drift": drift,
        "offset": offset,
        "durations": durations,
        "frame_diffs": [round(float(d), 4) for d in stats.diffs],
        "size": [stats.width, stats.height],
    }
