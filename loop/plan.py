"""The render plan of a track: every pass, its audio range and the prompt it runs.

Shared by the ``plan`` command, AudioLoopPlanner and the timeline picture, so all three show
exactly what AudioLoopController and the schedule nodes will do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .geometry import IterationWindow, LoopGeometry, LoopPlan, plan_loop
from .schedule import (
    IterationSelection,
    ScheduleEntry,
    format_timestamp,
    parse_schedule,
    select_iterations,
    snap_entries,
)


@dataclass
class RenderPlan:
    """A :class:`LoopPlan` with the schedule resolved for each of its passes."""

    loop: LoopPlan
    entries: list[ScheduleEntry[str]] = field(default_factory=list)
    selections: list[IterationSelection[str]] = field(default_factory=list)
    blend_seconds: float = 0.0
    snap: bool = True

    @property
    def geometry(self) -> LoopGeometry:
        return self.loop.geometry

    @property
    def windows(self) -> list[IterationWindow]:
        return self.loop.windows()

    @property
    def snapped_entries(self) -> list[ScheduleEntry[str]]:
        return snap_entries(self.entries, self.geometry.stride_seconds) if self.snap else list(self.entries)

    @property
    def unused_entries(self) -> list[ScheduleEntry[str]]:
        """Schedule lines no pass runs (collapsed by snapping or past the end of the track)."""
        used_lines = {s.current.line for s in self.selections}
        used_lines |= {s.other.line for s in self.selections if s.blend > 0}
        return [e for e in self.entries if e.line not in used_lines]

    def to_dict(self) -> dict:
        geo = self.geometry
        rows = []
        for window in self.windows:
            row = {
                "iteration": window.iteration,
                "audio_start_s": round(window.start_seconds, 6),
                "audio_end_s": round(window.end_seconds, 6),
                "window_frames": window.window_frames,
                "window_latent_frames": window.window_latents,
                "context_latent_frames": window.context_latents,
                "new_frames": window.new_frames,
                "audio_latents": window.audio_latents,
                "is_final": window.is_final,
            }
            if self.selections:
                sel = self.selections[window.iteration]
                row.update(
                    prompt=sel.current.value,
                    schedule_line=sel.current.line,
                    blend_with=sel.other.value if sel.blend > 0 else None,
                    blend_factor=round(sel.blend, 6),
                )
            rows.append(row)
        return {
            "audio_seconds": round(self.loop.audio_seconds, 6),
            "rendered_seconds": round(self.loop.rendered_seconds, 6),
            "rendered_frames": self.loop.total_frames,
            "fps": geo.fps,
            "window_seconds": round(geo.window_seconds, 6),
            "window_frames": geo.window_frames,
            "overlap_seconds_target": geo.requested_overlap_seconds,
            "overlap_seconds_effective": round(geo.overlap_seconds, 6),
            "overlap_latent_frames": geo.overlap_latents,
            "stride_seconds": round(geo.stride_seconds, 6),
            "stride_frames": geo.stride_frames,
            "loop_iterations": self.loop.loop_iterations,
            "passes": len(rows),
            "blend_seconds": self.blend_seconds,
            "snap_boundaries": self.snap,
            "unused_schedule_lines": [e.line for e in self.unused_entries],
            "iterations": rows,
        }

    def summary(self) -> str:
        """Human-readable table of the plan."""
        geo, loop = self.geometry, self.loop
        over = loop.rendered_seconds - loop.audio_seconds
        lines = [
            f"Audio {loop.audio_seconds:.2f} s ({format_timestamp(loop.audio_seconds)}) at {geo.fps:g} fps",
            f"Window {geo.window_frames} frames = {geo.window_seconds:.2f} s ({geo.window_latents} latents); "
            f"overlap target {geo.requested_overlap_seconds:g} s -> {geo.overlap_latents} latents = "
            f"{geo.overlap_seconds:.2f} s effective",
            f"Stride {geo.stride_frames} frames = {geo.stride_seconds:.2f} s per iteration "
            "(audio and video advance together)",
            f"Initial render + {loop.loop_iterations} loop iteration(s); "
            f"wire total_iterations = {loop.loop_iterations}",
            f"Rendered {loop.total_frames} frames = {loop.rendered_seconds:.2f} s "
            f"for {loop.audio_seconds:.2f} s of audio "
            f"(+{over:.2f} s, under one latent frame = {8 / geo.fps:.2f} s)",
            "",
            f"{'pass':>7}  {'audio range':>19}  {'frames':>6}  {'new':>5}  prompt",
        ]
        prefix = _shared_prefix([e.value for e in self.entries])
        for window in self.windows:
            label = "initial" if window.iteration == 0 else f"iter {window.iteration}"
            span = f"{format_timestamp(window.start_seconds)}-{format_timestamp(window.end_seconds)}"
            prompt = ""
            if self.selections:
                sel = self.selections[window.iteration]
                prompt = f"[line {sel.current.line}] {_short(sel.current.value, prefix)}"
                if sel.blend > 0:
                    prompt += f"  + {sel.blend:.3f} x [line {sel.other.line}]"
            final = " (final, sized to the audio)" if window.is_final and window.iteration > 0 else ""
            lines.append(f"{label:>7}  {span:>19}  {window.window_frames:>6}  {window.new_frames:>5}  {prompt}{final}")
        for entry in self.unused_entries:
            lines.append(
                f"note: schedule line {entry.line} ({format_timestamp(entry.start)}) runs in no pass after snapping"
            )
        return "\n".join(lines)


def _shared_prefix(texts: list[str]) -> int:
    """Length of the word-aligned prefix all prompts share (the subject string), or 0."""
    if len(texts) < 2:
        return 0
    first, last = min(texts), max(texts)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    cut = first.rfind(" ", 0, n + 1) if n < len(first) else n
    return max(cut, 0) if cut > 20 else 0


def _short(text: str, prefix: int = 0, limit: int = 56) -> str:
    """The prompt for a table cell: the shared subject prefix elided, then cut to ``limit``."""
    if prefix:
        text = "..." + text[prefix:].lstrip(" ,")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def build_render_plan(
    audio_seconds: float,
    geometry: LoopGeometry,
    schedule: str | None = None,
    blend_seconds: float = 0.0,
    snap: bool = True,
) -> RenderPlan:
    """Plan the passes of a track and, when a schedule is given, the prompt of each pass."""
    loop = plan_loop(audio_seconds, geometry)
    plan = RenderPlan(loop=loop, blend_seconds=blend_seconds, snap=snap)
    if schedule is not None and schedule.strip():
        plan.entries = parse_schedule(schedule)
        plan.selections = select_iterations(
            plan.entries, geometry.stride_seconds, loop.loop_iterations + 1, blend_seconds, snap
        )
    return plan
