"""The timeline picture of a render plan: waveform, passes, overlaps and schedule at a glance.

:func:`render_timeline` draws a :class:`~.plan.RenderPlan` with Pillow only (no matplotlib) on
one shared time axis that runs from 0 to ``max(audio_seconds, rendered_seconds)`` seconds.
Top to bottom:

1. a title: audio length, stride, effective overlap, number of passes, rendered vs audio seconds;
2. the waveform envelope (min/max per pixel column), the part past the end of the audio shaded;
3. one lane per pass (initial render, then every loop iteration): its window
   ``[start_seconds, end_seconds)`` as a bar, the context (overlap) frames it re-renders from the
   previous pass in a darker shade than the new frames it adds;
4. with a schedule: the snapped schedule sections, and a marker on every pass that blends two
   prompts (its blend factor);
5. the time axis (``M:SS`` labels) and dashed grid lines at every stride multiple, where the
   loop iterations start.

Units: times are track seconds (``frames / fps``); frame counts are pixel frames at the plan's
``fps``; x positions are image pixels. :func:`timeline_layout` gives the geometry of the picture
(seconds to x, lane rows) so callers and tests can find things in it.
:func:`image_to_tensor` turns the picture into a ComfyUI ``IMAGE``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..audio.waveform import check_audio, envelope
from .geometry import IterationWindow
from .plan import RenderPlan
from .schedule import ScheduleEntry, entry_at, format_timestamp, snap_time

logger = logging.getLogger(__name__)

# Palette (RGB). Module constants are immutable tuples.
BACKGROUND = (252, 252, 250)
TEXT = (38, 42, 52)
MUTED_TEXT = (112, 118, 130)
BAND_BACKGROUND = (241, 244, 249)
BAND_BORDER = (214, 220, 230)
WAVEFORM = (66, 104, 166)
WAVEFORM_CENTRE = (168, 182, 206)
PAST_END = (236, 224, 216)
"""Fill of the region past the end of the audio (rendered frames with no audio under them)."""
PAST_END_HATCH = (214, 190, 176)
PAST_END_LANES = (246, 239, 234)
AUDIO_END_LINE = (196, 84, 62)
NEW_COLOUR = (122, 166, 226)
"""Bar fill of the new frames a pass adds to the video (the whole window of the initial render)."""
CONTEXT_COLOUR = (40, 72, 136)
"""Bar fill of the context (overlap) frames at the start of every loop window."""
LANE_STRIPE = (247, 248, 251)
GRID = (176, 186, 204)
AXIS = (96, 104, 120)
BLEND_MARKER = (232, 134, 34)
SECTION_COLOURS = (
    (253, 226, 170),
    (190, 226, 214),
    (250, 200, 196),
    (206, 212, 246),
    (228, 212, 240),
    (214, 232, 180),
)
"""Schedule sections cycle through these; neighbouring sections never share a colour."""

MIN_WIDTH = 480
MAX_LANE_AREA = 740
"""Pixel height the pass lanes may take at most; more than 24 passes are compressed into it."""
FULL_LANE_PITCH = 26
FULL_BAR_HEIGHT = 18
UNCOMPRESSED_PASSES = 24

_FONT_SIZE = 13
_TITLE_SIZE = 15
_PAD = 14
_GUTTER = 78
_RIGHT = 22
_LINE = 19
_WAVE_HEIGHT = 118
_SCHEDULE_HEIGHT = 30
_AXIS_HEIGHT = 34
_GAP = 8
_TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
_MIN_TICK_SPACING = 72
_MIN_GRID_SPACING = 9
_ELLIPSIS = "..."


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's default font, at ``size`` px where this Pillow supports it (10.1+ with FreeType)."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):  # older Pillow, or built without FreeType
        return ImageFont.load_default()


def _text_width(font, text: str) -> float:
    return font.getlength(text) if hasattr(font, "getlength") else font.getbbox(text)[2]


def _fit_text(font, text: str, max_width: float) -> str | None:
    """``text``, shortened with an ellipsis to fit ``max_width`` px; ``None`` when nothing fits."""
    if _text_width(font, text) <= max_width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # longest prefix that fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if _text_width(font, text[:mid].rstrip() + _ELLIPSIS) <= max_width:
            lo = mid
        else:
            hi = mid - 1
    if lo < 2:
        return None
    return text[:lo].rstrip(" ,;:-") + _ELLIPSIS


def _draw_text(draw: ImageDraw.ImageDraw, x: float, y_middle: float, text: str, font, fill,
               align: str = "left") -> tuple[float, float]:
    """Draw ``text`` vertically centred on ``y_middle``; returns its horizontal extent ``(x0, x1)``."""
    width = _text_width(font, text)
    left, top, _, bottom = font.getbbox("Ag")
    if align == "right":
        x -= width
    elif align == "centre":
        x -= width / 2
    draw.text((round(x), round(y_middle - (top + bottom) / 2)), text, font=font, fill=fill)
    return x, x + width


def _tick_step(total_seconds: float, plot_width: float) -> int:
    """Seconds between axis ticks: the smallest of 1, 2, 5, 10, 15, 30, 60, ... s that spaces them
    at least ``_MIN_TICK_SPACING`` px apart."""
    for step in _TICK_STEPS:
        if step / total_seconds * plot_width >= _MIN_TICK_SPACING:
            return step
    return _TICK_STEPS[-1] * max(1, math.ceil(_MIN_TICK_SPACING * total_seconds / plot_width / _TICK_STEPS[-1]))


def _title_parts(plan: RenderPlan) -> list[str]:
    geo, loop = plan.geometry, plan.loop
    passes = loop.loop_iterations + 1
    over = loop.rendered_seconds - loop.audio_seconds
    iterations = "no loop iteration" if loop.loop_iterations == 0 else (
        f"initial + {loop.loop_iterations} loop iteration{'s' if loop.loop_iterations != 1 else ''}")
    return [
        f"Audio {format_timestamp(loop.audio_seconds)} ({loop.audio_seconds:.2f} s) at {geo.fps:g} fps",
        f"window {geo.window_seconds:.2f} s ({geo.window_frames} f)",
        f"stride {geo.stride_seconds:.2f} s ({geo.stride_frames} f)",
        f"overlap {geo.overlap_seconds:.2f} s effective ({geo.overlap_frames} f, target {geo.requested_overlap_seconds:g} s)",
        f"{passes} pass{'es' if passes != 1 else ''} ({iterations})",
        f"rendered {loop.rendered_seconds:.2f} s vs audio {loop.audio_seconds:.2f} s (+{over:.2f} s)",
    ]


def _wrap_parts(font, parts: list[str], max_width: float, separator: str = "   |   ") -> list[str]:
    lines: list[str] = []
    for part in parts:
        if lines and _text_width(font, lines[-1] + separator + part) <= max_width:
            lines[-1] += separator + part
        else:
            lines.append(_fit_text(font, part, max_width) or part[:8])
    return lines


@dataclass(frozen=True)
class TimelineLayout:
    """Where things are in the picture (pixels), for a plan and an image width.

    ``x(seconds)`` maps track seconds to an x pixel; ``lane_bar(i)`` gives the ``(top, bottom)``
    pixel rows (inclusive) of the bar of pass ``i`` (0 = initial render).
    """

    width: int
    height: int
    total_seconds: float
    plot_left: int
    plot_right: int
    title_lines: tuple[str, ...]
    legend_y: int
    wave_top: int
    wave_bottom: int
    schedule_top: int | None
    schedule_bottom: int | None
    lanes_top: int
    lanes_bottom: int
    lane_pitch: float
    bar_height: int
    passes: int
    axis_y: int

    def x(self, seconds: float) -> float:
        """x pixel of track time ``seconds``."""
        return self.plot_left + seconds / self.total_seconds * (self.plot_right - self.plot_left)

    def lane_bar(self, index: int) -> tuple[int, int]:
        """``(top, bottom)`` pixel rows of the bar of pass ``index``."""
        centre = self.lanes_top + (index + 0.5) * self.lane_pitch
        top = round(centre - self.bar_height / 2)
        return top, top + self.bar_height - 1

    def lane_centre(self, index: int) -> float:
        return self.lanes_top + (index + 0.5) * self.lane_pitch

    @property
    def compressed(self) -> bool:
        """True when the lanes are too thin for per-lane text."""
        return self.lane_pitch < _LINE - 3


def timeline_layout(plan: RenderPlan, width: int = 1600) -> TimelineLayout:
    """The pixel layout :func:`render_timeline` uses for ``plan`` at ``width`` px.

    The time axis spans 0 .. ``max(audio_seconds, rendered_seconds)`` seconds. Up to 24 passes
    get full-height lanes; more are compressed so the lanes take at most ``MAX_LANE_AREA`` px
    (the whole picture stays under about 1,150 px high however long the track is).
    """
    if isinstance(width, bool) or not isinstance(width, int) or width < MIN_WIDTH:
        raise ValueError(f"timeline width must be a whole number of pixels >= {MIN_WIDTH}, got {width!r}")
    loop = plan.loop
    total = max(loop.audio_seconds, loop.rendered_seconds)
    plot_left, plot_right = _GUTTER, width - _RIGHT
    title_font = _font(_TITLE_SIZE)
    title_lines = tuple(_wrap_parts(title_font, _title_parts(plan), width - 2 * _PAD))

    y = _PAD + len(title_lines) * (_LINE + 2)
    legend_y = y + _LINE // 2
    y += _LINE + _GAP
    wave_top, wave_bottom = y, y + _WAVE_HEIGHT
    y = wave_bottom + _GAP
    schedule_top = schedule_bottom = None
    if plan.selections:
        schedule_top, schedule_bottom = y, y + _SCHEDULE_HEIGHT
        y = schedule_bottom + _GAP
    passes = loop.loop_iterations + 1
    if passes <= UNCOMPRESSED_PASSES:
        pitch, bar = float(FULL_LANE_PITCH), FULL_BAR_HEIGHT
    else:
        pitch = min(float(FULL_LANE_PITCH), MAX_LANE_AREA / passes)
        bar = max(1, min(FULL_BAR_HEIGHT, round(pitch * 0.72)))
    lanes_top = y
    lanes_bottom = lanes_top + math.ceil(passes * pitch)
    axis_y = lanes_bottom + _GAP
    height = axis_y + _AXIS_HEIGHT + _PAD // 2
    return TimelineLayout(
        width=width, height=height, total_seconds=total, plot_left=plot_left, plot_right=plot_right,
        title_lines=title_lines, legend_y=legend_y, wave_top=wave_top, wave_bottom=wave_bottom,
        schedule_top=schedule_top, schedule_bottom=schedule_bottom, lanes_top=lanes_top,
        lanes_bottom=lanes_bottom, lane_pitch=pitch, bar_height=bar, passes=passes, axis_y=axis_y,
    )


def _schedule_sections(plan: RenderPlan, total: float) -> list[tuple[float, float, ScheduleEntry[str]]]:
    """``(start_s, end_s, entry)`` runs of the entry in effect, over 0 .. ``total`` seconds.

    Uses the same table the passes use (snapped when the plan snaps) and the same lookup
    (:func:`~.schedule.entry_at`), so gaps and nested ranges show what the passes will run.
    """
    table = plan.snapped_entries or plan.entries[:1]
    if not table:
        return []
    cuts = {0.0, total}
    for entry in table:
        for t in (entry.start, entry.end):
            if t is not None and 0.0 < t < total:
                cuts.add(t)
    points = sorted(cuts)
    sections: list[tuple[float, float, ScheduleEntry[str]]] = []
    for a, b in zip(points, points[1:]):
        if b - a <= 1e-9:
            continue
        entry = entry_at(table, a)
        if sections and sections[-1][2] is entry and abs(sections[-1][1] - a) < 1e-9:
            sections[-1] = (sections[-1][0], b, entry)
        else:
            sections.append((a, b, entry))
    return sections


def _dashed_vline(draw: ImageDraw.ImageDraw, x: int, top: int, bottom: int, fill, dash: int = 4, gap: int = 4) -> None:
    y = top
    while y <= bottom:
        draw.line([(x, y), (x, min(bottom, y + dash - 1))], fill=fill)
        y += dash + gap


def _hatched(size: tuple[int, int], fill, hatch, spacing: int = 7) -> Image.Image:
    tile = Image.new("RGB", size, fill)
    tile_draw = ImageDraw.Draw(tile)
    w, h = size
    for k in range(-h, w + h, spacing):
        tile_draw.line([(k, h), (k + h, 0)], fill=hatch)
    return tile


def _as_waveform(waveform: torch.Tensor, sample_rate: int | None) -> tuple[torch.Tensor, int]:
    if sample_rate is None:
        raise ValueError("render_timeline: a waveform needs its sample_rate")
    if isinstance(waveform, torch.Tensor) and waveform.ndim == 1:
        waveform = waveform.unsqueeze(0)
    return check_audio({"waveform": waveform, "sample_rate": sample_rate}, "timeline waveform")


def _draw_waveform(draw: ImageDraw.ImageDraw, layout: TimelineLayout, waveform: torch.Tensor | None,
                   sample_rate: int | None, font) -> None:
    top, bottom = layout.wave_top, layout.wave_bottom
    mid = (top + bottom) / 2
    half = (bottom - top) / 2 - 5
    if waveform is None:
        draw.line([(layout.plot_left, round(mid)), (round(layout.x(layout.total_seconds)), round(mid))],
                  fill=WAVEFORM, width=2)
        _draw_text(draw, layout.plot_left + 8, top + 12, "no waveform given", font, MUTED_TEXT)
        return
    wave, rate = _as_waveform(waveform, sample_rate)
    samples = min(wave.shape[-1], math.ceil(layout.total_seconds * rate))
    wave_seconds = samples / rate
    draw.line([(layout.plot_left, round(mid)), (round(layout.x(wave_seconds)), round(mid))], fill=WAVEFORM_CENTRE)
    x0, x1 = layout.plot_left, layout.x(wave_seconds)
    columns = max(1, int(round(x1 - x0)))
    lows, highs = envelope(wave[..., :samples], rate, columns)
    columns = lows.shape[0]
    peak = max(float(highs.abs().max()), float(lows.abs().max()))
    scale = half / peak if peak > 1e-9 else 0.0
    lows_px = (mid - lows.numpy() * scale).round().astype(int)
    highs_px = (mid - highs.numpy() * scale).round().astype(int)
    step = (x1 - x0) / columns
    for i in range(columns):
        x = int(x0 + i * step)
        y_top, y_bottom = min(highs_px[i], lows_px[i]), max(highs_px[i], lows_px[i])
        draw.line([(x, y_top), (x, y_bottom)], fill=WAVEFORM)


def _draw_axis(draw: ImageDraw.ImageDraw, layout: TimelineLayout, font) -> None:
    y = layout.axis_y
    draw.line([(layout.plot_left, y), (layout.plot_right, y)], fill=AXIS)
    plot_width = layout.plot_right - layout.plot_left
    step = _tick_step(layout.total_seconds, plot_width)
    last_right = -1e9
    n_ticks = int(math.floor(layout.total_seconds / step + 1e-9))
    for k in range(n_ticks + 1):
        t = k * step
        x = round(layout.x(t))
        draw.line([(x, y), (x, y + 5)], fill=AXIS)
        label = format_timestamp(t)
        width = _text_width(font, label)
        left = min(max(x - width / 2, layout.plot_left - width / 2), layout.width - _PAD / 2 - width)
        if left < last_right + 10:
            continue
        _draw_text(draw, left, y + 15, label, font, TEXT)
        last_right = left + width
    _draw_text(draw, _PAD, y + 15, "time", font, MUTED_TEXT)


def _draw_legend(image: Image.Image, draw: ImageDraw.ImageDraw, layout: TimelineLayout, font, plan: RenderPlan) -> None:
    y = layout.legend_y
    items = [
        ("swatch", CONTEXT_COLOUR, "context (overlap frames taken from the previous pass)"),
        ("swatch", NEW_COLOUR, "new frames"),
        ("hatch", PAST_END, "past the end of the audio"),
        ("line", AUDIO_END_LINE, "audio end"),
        ("dash", GRID, "iteration start (every stride)"),
    ]
    if plan.selections:
        items.append(("stripe", SECTION_COLOURS[1], "schedule section a pass runs"))
        if any(s.blend > 0 for s in plan.selections):
            items.append(("marker", BLEND_MARKER, "prompt blend factor"))
        if _moved_starts(plan, layout.total_seconds):
            items.append(("triangle", MUTED_TEXT, "written start, snapped to the stride grid"))
    x = _PAD
    for kind, colour, text in items:
        needed = 22 + _text_width(font, text) + 22
        if x + needed > layout.width - _PAD:
            break
        box = [x, y - 6, x + 16, y + 6]
        if kind == "swatch":
            draw.rectangle(box, fill=colour)
        elif kind == "hatch":
            image.paste(_hatched((17, 13), PAST_END, PAST_END_HATCH, 5), (x, y - 6))
        elif kind == "line":
            draw.line([(x + 8, y - 7), (x + 8, y + 7)], fill=colour, width=2)
        elif kind == "dash":
            _dashed_vline(draw, x + 8, y - 7, y + 7, colour, 3, 3)
        elif kind == "stripe":
            draw.rectangle([x, y - 6, x + 16, y + 2], fill=NEW_COLOUR)
            draw.rectangle([x, y + 3, x + 16, y + 6], fill=colour)
        elif kind == "triangle":
            draw.polygon([(x + 3, y - 4), (x + 13, y - 4), (x + 8, y + 3)], fill=colour)
        else:
            _diamond(draw, x + 8, y, 5, colour)
        _, right = _draw_text(draw, x + 22, y, text, font, MUTED_TEXT)
        x = round(right) + 22


def _diamond(draw: ImageDraw.ImageDraw, x: float, y: float, r: float, fill) -> None:
    draw.polygon([(x, y - r), (x + r, y), (x, y + r), (x - r, y)], fill=fill)


def _lane_label(window: IterationWindow) -> str:
    return "init" if window.iteration == 0 else str(window.iteration)


def _draw_lanes(draw: ImageDraw.ImageDraw, layout: TimelineLayout, plan: RenderPlan,
                sections: list[tuple[float, float, ScheduleEntry[str]]], font) -> None:
    windows = plan.windows
    geo = plan.geometry
    label_every = 1 if not layout.compressed else max(1, math.ceil((_LINE - 4) / layout.lane_pitch))
    for window in windows:
        i = window.iteration
        top, bottom = layout.lane_bar(i)
        centre = layout.lane_centre(i)
        if not layout.compressed and i % 2 == 1:
            draw.rectangle([layout.plot_left, round(centre - layout.lane_pitch / 2),
                            layout.plot_right, round(centre + layout.lane_pitch / 2) - 1], fill=LANE_STRIPE)
        if i % label_every == 0 or (window.is_final and not layout.compressed):
            _draw_text(draw, layout.plot_left - 10, centre, _lane_label(window), font, TEXT, align="right")

    # Grid lines at every stride multiple (thinned out when they would be denser than a few px).
    grid_top = layout.wave_top
    step = max(1, math.ceil(_MIN_GRID_SPACING / max(1e-9, layout.x(geo.stride_seconds) - layout.plot_left)))
    k = step
    while geo.iteration_start_seconds(k) < layout.total_seconds - 1e-9:
        _dashed_vline(draw, round(layout.x(geo.iteration_start_seconds(k))), grid_top, layout.lanes_bottom, GRID)
        k += step

    audio_end_x = layout.x(plan.loop.audio_seconds)
    if layout.x(layout.total_seconds) - audio_end_x >= 1:
        draw.rectangle([round(audio_end_x), layout.lanes_top, layout.plot_right, layout.lanes_bottom],
                       fill=PAST_END_LANES)

    selections = plan.selections
    for window in windows:
        i = window.iteration
        top, bottom = layout.lane_bar(i)
        centre = layout.lane_centre(i)
        x0 = round(layout.x(window.start_seconds))
        x_ctx = round(layout.x(window.start_seconds + window.context_frames / geo.fps))
        x1 = max(x0 + 1, round(layout.x(window.end_seconds)))
        draw.rectangle([x0, top, x1 - 1, bottom], fill=NEW_COLOUR)
        if window.context_frames:
            draw.rectangle([x0, top, max(x0, x_ctx - 1), bottom], fill=CONTEXT_COLOUR)
        sel = selections[i] if i < len(selections) else None
        if sel is not None and layout.bar_height >= 10:
            colour = _section_colour_at(sections, sel.time)
            if colour is not None:
                draw.rectangle([x_ctx if window.context_frames else x0, bottom - 3, x1 - 1, bottom], fill=colour)
        if layout.compressed:
            if sel is not None and sel.blend > 0:
                _diamond(draw, x1 + 4, centre, max(1.5, min(4.0, layout.lane_pitch / 2)), BLEND_MARKER)
            continue

        # Inside the bar: frames (and schedule line); beside it: time range, blend factor.
        inner = f"{window.window_frames} f" if sel is None else f"{window.window_frames} f  \u00b7  line {sel.current.line}"
        inner_left = x_ctx + 6 if window.context_frames else x0 + 6
        fitted = _fit_text(font, inner, x1 - 6 - inner_left) if _text_width(font, inner) <= x1 - 6 - inner_left else None
        if fitted and layout.bar_height >= 14:
            _draw_text(draw, inner_left, centre - (2 if sel is not None else 0), fitted, font, CONTEXT_COLOUR)
        span = f"{format_timestamp(window.start_seconds)} - {format_timestamp(window.end_seconds)}"
        if window.is_final:
            first = "final pass" if window.iteration > 0 else "only pass"
            detail = f"{first}, sized to the audio:  {span}  ({window.new_frames} new frames)"
        else:
            detail = span
        blend = None
        if sel is not None and sel.blend > 0:
            blend = f"{sel.blend:.3f} of line {sel.other.line}"
        right_room = layout.plot_right - (x1 + 8)
        if i == 0:
            # The initial bar starts at 0: everything goes to its right.
            fitted = _fit_text(font, detail, right_room)
            end = x1 + 8
            if fitted:
                _, end = _draw_text(draw, x1 + 8, centre, fitted, font, MUTED_TEXT)
            if blend is not None and end + 24 < layout.plot_right:
                _draw_blend(draw, end + 16, centre, blend, layout.plot_right, font)
            continue
        left_room = x0 - 8 - layout.plot_left
        fitted = _fit_text(font, detail, left_room)
        if fitted:
            _draw_text(draw, x0 - 8, centre, fitted, font, MUTED_TEXT, align="right")
        if blend is not None:
            if right_room > 40:
                _draw_blend(draw, x1 + 10, centre, blend, layout.plot_right, font)
            else:
                _diamond(draw, x1 - 8, centre, 4, BLEND_MARKER)


def _draw_blend(draw: ImageDraw.ImageDraw, x: float, y: float, text: str, limit: float, font) -> None:
    _diamond(draw, x, y, 5, BLEND_MARKER)
    fitted = _fit_text(font, text, limit - (x + 10))
    if fitted:
        _draw_text(draw, x + 10, y, fitted, font, (176, 96, 18))


def _moved_starts(plan: RenderPlan, total: float) -> list[float]:
    """Written schedule starts (seconds) inside the timeline that snapping moved."""
    if not plan.snap:
        return []
    stride = plan.geometry.stride_seconds
    return [e.start for e in plan.entries
            if 0 < e.start < total and abs(snap_time(e.start, stride) - e.start) > 1e-6]


def _section_colour_at(sections, t: float):
    for n, (a, b, _) in enumerate(sections):
        if a - 1e-9 <= t < b - 1e-9:
            return SECTION_COLOURS[n % len(SECTION_COLOURS)]
    return None


def _draw_schedule(draw: ImageDraw.ImageDraw, layout: TimelineLayout, plan: RenderPlan,
                   sections: list[tuple[float, float, ScheduleEntry[str]]], font) -> None:
    top, bottom = layout.schedule_top, layout.schedule_bottom
    mid = (top + bottom) / 2
    for n, (a, b, entry) in enumerate(sections):
        x0, x1 = round(layout.x(a)), round(layout.x(b))
        colour = SECTION_COLOURS[n % len(SECTION_COLOURS)]
        draw.rectangle([x0, top, max(x0, x1 - 1), bottom], fill=colour)
        if n > 0:
            draw.line([(x0, top), (x0, bottom)], fill=(255, 255, 255), width=2)
        label = _fit_text(font, f"line {entry.line}: {entry.value}", x1 - x0 - 12) or _fit_text(
            font, f"L{entry.line}", x1 - x0 - 6)
        if label and _text_width(font, label) <= x1 - x0 - 6:
            _draw_text(draw, x0 + 6, mid, label, font, TEXT)
    # Small marks on the top edge where a written start was moved onto the stride grid.
    for start in _moved_starts(plan, layout.total_seconds):
        x = layout.x(start)
        draw.polygon([(x - 4, top - 6), (x + 4, top - 6), (x, top - 1)], fill=MUTED_TEXT)
    draw.rectangle([layout.plot_left, top, layout.plot_right, bottom], outline=BAND_BORDER)


def render_timeline(
    plan: RenderPlan,
    waveform: torch.Tensor | None,
    sample_rate: int | None,
    width: int = 1600,
) -> Image.Image:
    """Draw ``plan`` as an RGB timeline picture ``width`` px wide (see the module docstring).

    ``waveform`` is the track's audio, ``[B, C, N]`` (``[C, N]`` and ``[N]`` accepted), with
    ``sample_rate`` in Hz; its duration is ``N / sample_rate`` seconds and it is drawn from 0 s on
    the same axis as the passes. ``None`` draws a flat line instead. The time axis runs from 0
    to ``max(audio_seconds, rendered_seconds)`` seconds; the height follows from the number of
    passes and whether the plan has a schedule, and stays under about 1,150 px.
    Raises ``ValueError`` for an invalid waveform or sample rate, or a width under ``MIN_WIDTH``.
    """
    layout = timeline_layout(plan, width)
    font, title_font = _font(_FONT_SIZE), _font(_TITLE_SIZE)
    image = Image.new("RGB", (layout.width, layout.height), BACKGROUND)
    draw = ImageDraw.Draw(image)

    for n, line in enumerate(layout.title_lines):
        _draw_text(draw, _PAD, _PAD + n * (_LINE + 2) + _LINE / 2, line, title_font, TEXT)
    _draw_legend(image, draw, layout, font, plan)

    # Waveform band, with the region past the end of the audio shaded.
    wave_box = [layout.plot_left, layout.wave_top, layout.plot_right, layout.wave_bottom]
    draw.rectangle(wave_box, fill=BAND_BACKGROUND)
    audio_end_x = round(layout.x(plan.loop.audio_seconds))
    end_x = round(layout.x(layout.total_seconds))
    if end_x > audio_end_x:
        tile = _hatched((end_x - audio_end_x + 1, layout.wave_bottom - layout.wave_top + 1), PAST_END, PAST_END_HATCH)
        image.paste(tile, (audio_end_x, layout.wave_top))
    _draw_text(draw, layout.plot_left - 10, (layout.wave_top + layout.wave_bottom) / 2, "audio", font,
               MUTED_TEXT, align="right")
    _draw_waveform(draw, layout, waveform, sample_rate, font)
    draw.rectangle(wave_box, outline=BAND_BORDER)

    sections = _schedule_sections(plan, layout.total_seconds) if plan.selections else []
    if plan.selections:
        _draw_text(draw, layout.plot_left - 10, (layout.schedule_top + layout.schedule_bottom) / 2, "schedule",
                   font, MUTED_TEXT, align="right")
        _draw_schedule(draw, layout, plan, sections, font)

    _draw_lanes(draw, layout, plan, sections, font)

    # Audio end: a line across every band, labelled above the waveform when there is room.
    draw.line([(audio_end_x, layout.wave_top), (audio_end_x, layout.lanes_bottom)], fill=AUDIO_END_LINE, width=1)
    _draw_axis(draw, layout, font)
    return image


def image_to_tensor(image: Image.Image) -> torch.Tensor:
    """A PIL image as a ComfyUI ``IMAGE``: float32 ``[1, H, W, 3]`` with values in 0..1."""
    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(np.ascontiguousarray(array)).unsqueeze(0)
