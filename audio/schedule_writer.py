"""A timestamp prompt schedule from the analysed sections, already on the loop's stride grid.

Rules every schedule written here follows (they are what keeps lip sync locked):

* **one subject string, byte for byte** at the start of every entry: changing who is on screen
  makes the model re-find the mouth at each boundary;
* **a concrete action verb for the content**: music with a voice -> ``is singing``; music
  without one -> ``is dancing``; speech -> ``is telling a joke`` (``is pausing for the audience``
  in pauses and breaks without speech); instrumental -> ``is playing`` the instrument; a
  silent section without voice -> ``is silent, mouth closed``. Whether there is a
  voice is judged on what each entry's passes render after snapping (a short instrumental break
  snapped into a pass that also holds singing stays ``is singing``);
* **medium or close framing** (medium shot, medium close-up, close-up; never wide: a small face
  has too few mouth pixels) and **a static camera** in every entry (a moving camera shifts the
  mouth inside one sampler pass);
* **boundaries on the grid**: section boundaries go through the same snapping the schedule
  nodes use (:func:`~..loop.schedule.snap_entries`, nearest multiple of the effective stride
  ``S`` from :func:`~..loop.geometry.loop_geometry`), entries that collapse are dropped, equal
  neighbours merge, nothing starts after the last pass. Times are written rounded *down* to the
  centisecond (``M:SS.ss``), at most 0.01 s before the grid point, so a pass at ``k S`` runs
  the entry that starts there with snapping on or off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..loop.geometry import LoopGeometry, plan_loop
from ..loop.schedule import ScheduleEntry, format_timestamp, snap_entries
from .sections import Section

FRAMING = {
    "intro": "medium shot",
    "verse": "medium close-up",
    "chorus": "close-up",
    "bridge": "medium shot",
    "break": "medium shot",
    "outro": "medium shot",
    "speech": "medium close-up",
    "pause": "medium shot",
    "silence": "medium shot",
}
SPEECH_FRAMING = {"chorus": "medium close-up", "verse": "medium shot"}
LIGHT = {
    "intro": "soft light",
    "verse": "warm light",
    "chorus": "bright light",
    "bridge": "cool light",
    "break": "dim light",
    "outro": "soft fading light",
    "speech": "warm light",
    "pause": "soft light",
    "silence": "dim light",
}
DEFAULT_SUBJECT = {"music": "the singer", "speech": "the comedian", "instrumental": "the musician"}
CAMERA = "static camera"
SINGING_SECTION = 0.25
"""A music section with at least this share of vocal frames is sung."""
VOCAL_SECONDS = 2.0
"""This much voice inside what an entry's passes render makes the entry sung (or told)."""


@dataclass(frozen=True)
class ScheduleLine:
    """One written entry: ``[start, end)`` seconds (``end`` None = to the end) and its prompt."""

    start: float
    end: float | None
    prompt: str
    label: str


def check_subject(subject: str | None, content: str) -> str:
    """The subject to put in every entry; a ``ValueError`` for text that cannot sit in one line."""
    if subject is None or not subject.strip():
        return DEFAULT_SUBJECT[content]
    text = subject.strip()
    if any(ch in text for ch in "\r\n") or any(ord(ch) < 32 for ch in text):
        raise ValueError(f"subject must be one line of text without control characters, got {subject!r}")
    return text


def check_style(style: str | None) -> str:
    if style is None:
        return ""
    text = style.strip()
    if any(ch in text for ch in "\r\n") or any(ord(ch) < 32 for ch in text):
        raise ValueError(f"style must be one line of text without control characters, got {style!r}")
    return text


def action(content: str, section: Section) -> str:
    """The action verb phrase of a section (see the module docstring)."""
    if section.label == "silence" and section.vocal_fraction < SINGING_SECTION:
        return "is silent, mouth closed"
    if content == "speech":
        quiet = section.label in ("break", "pause") and section.vocal_fraction < SINGING_SECTION
        return "is pausing for the audience" if quiet else "is telling a joke"
    if content == "instrumental":
        return "is playing the instrument"
    if section.vocal_fraction >= SINGING_SECTION:
        return "is singing"
    return "is dancing slowly" if section.relative_db < -6 else "is dancing"


def section_prompt(subject: str, content: str, section: Section, style: str = "") -> str:
    """``{subject} {verb}, {framing}, static camera, {light}[, {style}]``."""
    framing = FRAMING[section.label]
    if content == "speech":
        framing = SPEECH_FRAMING.get(section.label, "medium shot")
    parts = [f"{subject} {action(content, section)}", framing, CAMERA, LIGHT[section.label]]
    if style:
        parts.append(style)
    return ", ".join(parts)


def schedule_lines(sections: list[Section], geometry: LoopGeometry, duration: float, content: str,
                   subject: str | None = None, style: str | None = None,
                   vocal_active: np.ndarray | None = None, frame_seconds: float | None = None) -> list[ScheduleLine]:
    """Entries on the stride grid (see the module docstring).

    With ``vocal_active`` (per-frame vocal activity, frames ``frame_seconds`` apart), the verb of
    each entry is chosen from the audio its passes actually render after snapping, ``[start,
    end + effective overlap)``: at least ``VOCAL_SECONDS`` of voice, or ``SINGING_SECTION`` of that
    time, means the mouth must move (singing / telling), whatever the section was called.
    """
    if not sections:
        raise ValueError("no sections to write a schedule from; analyse a track with some audio first")
    subject = check_subject(subject, content)
    style = check_style(style)
    stride = geometry.stride_seconds
    plan = plan_loop(duration, geometry)
    last_start = plan.loop_iterations * stride
    raw = [ScheduleEntry(s.start, s.end, s, n) for n, s in enumerate(sections)]
    snapped = [e for e in snap_entries(raw, stride) if e.start <= last_start + 1e-6] or raw[:1]
    starts = [0.0] + [e.start for e in snapped[1:]]
    lines: list[ScheduleLine] = []
    for i, entry in enumerate(snapped):
        section = entry.value
        if vocal_active is not None and frame_seconds:
            end = starts[i + 1] if i + 1 < len(snapped) else duration
            fraction = _vocal_share(vocal_active, frame_seconds, starts[i], end + geometry.overlap_seconds)
            section = replace(section, vocal_fraction=fraction)
        prompt = section_prompt(subject, content, section, style)
        if lines and lines[-1].prompt == prompt:
            continue
        lines.append(ScheduleLine(starts[i], None, prompt, section.label))
    return [ScheduleLine(line.start, lines[i + 1].start if i + 1 < len(lines) else None, line.prompt, line.label)
            for i, line in enumerate(lines)]


def _vocal_share(active: np.ndarray, frame_seconds: float, start: float, end: float) -> float:
    """Share of ``[start, end)`` with vocal activity, raised to 1 when it holds ``VOCAL_SECONDS`` or more."""
    a = max(0, int(start / frame_seconds))
    b = max(a + 1, int(math.ceil(end / frame_seconds)))
    chunk = active[a:b]
    if not len(chunk):
        return 0.0
    seconds = float(chunk.sum()) * frame_seconds
    return 1.0 if seconds >= VOCAL_SECONDS else float(chunk.mean())


def schedule_from_analysis(analysis, geometry: LoopGeometry, subject: str | None = None,
                           style: str | None = None) -> list[ScheduleLine]:
    """:func:`schedule_lines` for an :class:`~.analysis.AudioAnalysis` (verbs from its vocal activity)."""
    return schedule_lines(analysis.sections, geometry, analysis.duration, analysis.content, subject, style,
                          analysis.voice.active, analysis.spectrogram.frame_seconds)


def grid_time(seconds: float) -> str:
    """``M:SS.ss`` of a grid time, rounded down to the centisecond (never after the grid point)."""
    return format_timestamp(math.floor(seconds * 100 + 1e-6) / 100)


def format_schedule(lines: list[ScheduleLine], header: str | None = None) -> str:
    """Schedule text: ``START-END: prompt`` lines, the last ``START+: prompt``; ``#`` header lines."""
    out = [f"# {row}" for row in header.splitlines()] if header else []
    for line in lines:
        span = f"{grid_time(line.start)}+" if line.end is None else f"{grid_time(line.start)}-{grid_time(line.end)}"
        out.append(f"{span}: {line.prompt}")
    return "\n".join(out) + "\n"
