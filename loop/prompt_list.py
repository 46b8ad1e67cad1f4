"""Per-iteration conditioning built before the loop: each distinct prompt encoded once.

For iterations ``0 .. n-1`` (0 = the initial render) the schedule is resolved with
:func:`.schedule.select_iterations`; every distinct prompt is encoded exactly once, blended
iterations get ``(1 - f) * current + f * other`` (:func:`.conditioning.blend_conditioning`),
and iterations that run the same pure prompt share one conditioning object. Inside the loop
only :func:`.conditioning.select_by_iteration` runs: no text encoder, no model swap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from .conditioning import blend_conditioning, with_metadata
from .schedule import IterationSelection, distinct_values, parse_schedule, select_iterations


def entries_needed(audio_seconds: float, stride_seconds: float) -> int:
    """List length that covers every iteration of the track: ``ceil(D / S) + 1``.

    The controller runs at most ``ceil(D / S) - 1`` loop iterations for any window, so this
    leaves room; the select node clamps indices past the end to the last entry.
    """
    if not (math.isfinite(audio_seconds) and audio_seconds > 0):
        raise ValueError(f"audio_duration must be > 0 seconds, got {audio_seconds!r}")
    if not (math.isfinite(stride_seconds) and stride_seconds > 0):
        raise ValueError(f"stride_seconds must be > 0, got {stride_seconds!r}")
    return max(1, math.ceil(audio_seconds / stride_seconds - 1e-9) + 1)


@dataclass
class ConditioningSchedule:
    """The per-iteration list plus what was encoded, for reports and tests."""

    conditioning_list: list
    selections: list[IterationSelection[str]]
    encoded_prompts: list[str]

    def report(self) -> str:
        lines = [f"{len(self.encoded_prompts)} distinct prompt(s) encoded once, {len(self.conditioning_list)} "
                 "iteration entries"]
        for sel in self.selections:
            label = "initial" if sel.iteration == 0 else f"iter {sel.iteration:2d}"
            text = sel.current.value if len(sel.current.value) <= 60 else sel.current.value[:57] + "..."
            blend = f"  (+{sel.blend:.3f} of line {sel.other.line})" if sel.blend > 0 else ""
            lines.append(f"{label} @ {sel.time:7.2f}s  line {sel.current.line}: {text}{blend}")
        return "\n".join(lines)


def build_conditioning_schedule(
    schedule: str,
    encode: Callable[[str], list],
    stride_seconds: float,
    iterations: int,
    blend_seconds: float = 0.0,
    snap: bool = True,
    frame_rate: float | None = None,
) -> ConditioningSchedule:
    """Encode each distinct prompt once and resolve iterations ``0 .. iterations-1``.

    ``frame_rate`` (when given) is written into every entry's metadata, as LTXVConditioning does.
    """
    entries = parse_schedule(schedule)
    selections = select_iterations(entries, stride_seconds, iterations, blend_seconds, snap)
    used = distinct_values([s.current for s in selections] + [s.other for s in selections if s.blend > 0])
    encoded = {}
    for text in used:
        cond = encode(text)
        encoded[text] = with_metadata(cond, frame_rate=float(frame_rate)) if frame_rate else cond
    blends: dict[tuple[str, str, float], list] = {}
    out = []
    for sel in selections:
        if sel.blend > 0:
            key = (sel.current.value, sel.other.value, round(sel.blend, 12))
            if key not in blends:
                blends[key] = blend_conditioning(encoded[sel.current.value], encoded[sel.other.value], sel.blend)
            out.append(blends[key])
        else:
            out.append(encoded[sel.current.value])
    return ConditioningSchedule(out, selections, used)
