"""Cutting one long track into segments rendered as separate loop renders.

Units: pixel frames at ``fps`` on the track's frame grid (frame ``f`` starts at ``f / fps`` s).

* **Length.** The joined video has ``T = ceil(D fps)`` frames for a ``D``-second track (the
  frames that reach the end of the audio); the original audio is muxed over it once.
* **Grid.** Cuts fall on the loop's stride grid ``g_m = m P_s`` (``P_s`` = stride frames,
  ``0 < g_m < T``), where an unsplit render would start a loop iteration's new frames, so the
  schedule's stride-snapped boundaries stay where they were.
* **Choice.** For ``N`` segments the ideal cut ``i`` is at ``x_i = i T / N``. Each grid point
  within ``T / (2N)`` of it costs ``|g - x_i| / (T / N)`` minus ``SECTION_BONUS`` when a section
  boundary from ``analyze`` lies within half a stride of it, minus ``QUIET_BONUS * q(g)`` where
  ``q`` in [0, 1] is how quiet the track is there (1 = the quietest moment); the cheapest is
  taken, cuts strictly increasing (the nearest free grid point when the window holds none).
* **Segments.** Segment ``i`` keeps frames ``[c_i, c_{i+1})`` with ``c_0 = 0``, ``c_N = T``, so
  the lengths add up to ``T`` exactly. With a crossfade of ``X`` frames every segment but the
  last is rendered ``X`` frames longer (its audio too); joining with an ``X``-frame crossfade
  takes them back: ``sum(L_i) + X (N - 1) - X (N - 1) = T``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

from ...loop.geometry import LoopGeometry, frames_covering, snap_frames_up

SECTION_BONUS = 0.3
QUIET_BONUS = 0.2


@dataclass(frozen=True)
class Segment:
    """Frames ``[start, end)`` of the joined video; rendered from audio ``[start, render_end)``."""

    index: int
    start: int
    end: int
    render_end: int
    fps: float

    @property
    def frames(self) -> int:
        return self.end - self.start

    @property
    def start_seconds(self) -> float:
        return self.start / self.fps

    @property
    def end_seconds(self) -> float:
        return self.end / self.fps

    @property
    def render_seconds(self) -> float:
        """Audio seconds of the segment's render: ``(render_end - start) / fps``."""
        return (self.render_end - self.start) / self.fps

    @property
    def rendered_frames(self) -> int:
        """Frames the segment's loop render makes: ``8 ceil((n - 1) / 8) + 1``, ``n`` its audio's frames."""
        return snap_frames_up(self.render_end - self.start)

    def to_dict(self) -> dict:
        return {"index": self.index, "start_frame": self.start, "end_frame": self.end, "frames": self.frames,
                "start_s": round(self.start_seconds, 6), "end_s": round(self.end_seconds, 6),
                "render_end_frame": self.render_end, "rendered_frames": self.rendered_frames}


def segment_count(audio_seconds: float, count: int | None, segment_seconds: float | None) -> int:
    """``N`` from ``--segments`` or ``--segment-seconds`` (``round(D / S)``, at least 1)."""
    if (count is None) == (segment_seconds is None):
        raise ValueError("give exactly one of --segments N and --segment-seconds S")
    if count is not None:
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"--segments must be a whole number >= 1, got {count!r}")
        return count
    if not isinstance(segment_seconds, (int, float)) or not math.isfinite(segment_seconds) or segment_seconds <= 0:
        raise ValueError(f"--segment-seconds must be seconds > 0, got {segment_seconds!r}")
    return max(1, round(audio_seconds / segment_seconds))


def plan_segments(audio_seconds: float, geometry: LoopGeometry, count: int, *, boundaries: Sequence[float] = (),
                  quietness: Callable[[float], float] | None = None, crossfade: int = 0) -> list[Segment]:
    """The ``count`` segments of a track (see module rules). ``boundaries``: section boundaries in
    seconds; ``quietness(t)``: 0..1, 1 at the quietest moment."""
    fps, stride = geometry.fps, geometry.stride_frames
    total = frames_covering(audio_seconds, fps)
    grid = list(range(stride, total, stride))
    if count - 1 > len(grid):
        raise ValueError(f"--segments {count}: a {audio_seconds:.2f} s track has only {len(grid) + 1} stride steps of "
                         f"{geometry.stride_seconds:g} s, so at most {len(grid) + 1} segments")
    if isinstance(crossfade, bool) or not isinstance(crossfade, int) or crossfade < 0:
        raise ValueError(f"--crossfade must be a whole number of frames >= 0, got {crossfade!r}")
    ideal = total / count
    marks = [b * fps for b in boundaries]
    cuts: list[int] = []
    for i in range(1, count):
        target = i * ideal
        low = (cuts[-1] // stride) if cuts else 0  # index into grid of the first allowed point
        high = len(grid) - (count - 1 - i)  # leave a grid point for every later cut
        allowed = range(low, high)
        near = [m for m in allowed if abs(grid[m] - target) <= ideal / 2] or \
            [min(allowed, key=lambda m: abs(grid[m] - target))]

        def cost(m: int) -> float:
            g = grid[m]
            value = abs(g - target) / ideal
            if any(abs(g - b) <= stride / 2 for b in marks):
                value -= SECTION_BONUS
            if quietness is not None:
                value -= QUIET_BONUS * min(1.0, max(0.0, quietness(g / fps)))
            return value

        cuts.append(grid[min(near, key=cost)])
    edges = [0] + cuts + [total]
    segments = []
    for i, (start, end) in enumerate(zip(edges, edges[1:])):
        last = i == count - 1
        render_end = end if last else min(total, end + crossfade)
        if not last and crossfade and render_end - end < crossfade:
            raise ValueError(f"--crossfade {crossfade} frames is longer than the rest of the track after cut {i + 1}")
        segments.append(Segment(i, start, end, render_end, fps))
    if crossfade and any(s.frames <= crossfade for s in segments):
        raise ValueError(f"--crossfade {crossfade} frames is not shorter than every segment; use fewer segments "
                         "or a shorter crossfade")
    return segments


def quietness_from_levels(times: Sequence[float], levels_db: Sequence[float]) -> Callable[[float], float]:
    """``q(t)`` in [0, 1] from a loudness curve (dB): 1 at its quietest frame, 0 at its loudest,
    mean over the half second around ``t``."""
    import numpy as np

    times = np.asarray(times, float)
    levels = np.asarray(levels_db, float)
    finite = np.isfinite(levels)
    if not finite.any():
        return lambda t: 0.0
    low, high = float(levels[finite].min()), float(levels[finite].max())
    span = max(high - low, 1e-9)
    quiet = np.where(finite, (high - levels) / span, 1.0)

    def at(t: float) -> float:
        window = (times >= t - 0.25) & (times <= t + 0.25)
        return float(quiet[window].mean()) if window.any() else 0.0

    return at


def shift_schedule(text: str | None, start_s: float, end_s: float) -> str | None:
    """The schedule lines of ``[start_s, end_s)`` with times relative to the segment start."""
    if not text:
        return text
    from ...loop.schedule import format_timestamp, parse_schedule

    lines = []
    for entry in parse_schedule(text):
        if entry.end is not None and entry.end <= start_s + 1e-9 or entry.start >= end_s - 1e-9:
            continue
        begin = max(0.0, entry.start - start_s)
        if entry.end is None:
            lines.append(f"{format_timestamp(begin)}+: {entry.value}")
        else:
            lines.append(f"{format_timestamp(begin)}-{format_timestamp(entry.end - start_s)}: {entry.value}")
    if lines and "+: " not in lines[-1]:  # the last line runs to the segment's end
        head, value = lines[-1].split(": ", 1)
        lines[-1] = f"{head.split('-')[0]}+: {value}"
    return "\n".join(lines) + "\n" if lines else None
