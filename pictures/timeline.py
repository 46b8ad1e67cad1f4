"""The timeline picture of a render plan: waveform, passes, overlaps and schedule at a glance.

:func:`render_timeline` draws a :class:`~..loop.plan.RenderPlan` with Pillow only (no matplotlib) on
one shared time axis running from 0 to ``max(audio_seconds, rendered_seconds)`` seconds.
Top to bottom:

1. a title: audio length, window, stride, effective overlap, number of passes, rendered vs
   audio seconds; then a legend;
2. the waveform envelope (min/max of each pixel column); the rendered time past the end of the
   audio is shaded;
3. one lane per pass (the initial render, then every loop iteration) with its window
   ``[start_seconds, end_seconds)`` as a bar: the context (overlap) frames a loop pass takes
   from the previous one in a darker shade than the new frames it adds. Up to 24 passes get
   full lanes with text; more are compressed into thinner lanes so the picture stays under
   about 1,150 px high;
4. with a schedule: the snapped schedule sections (line number and a shortened prompt), a stripe
   under every bar in the colour of the section that pass runs, and a marker with the blend
   factor on every pass that mixes in a neighbouring prompt;
5. the time axis (``M:SS`` labels every 1/2/5/10/15/30/60... s) and dashed grid lines at the
   stride multiples, where loop iterations start.

Units: times are track seconds (``frames / fps``); frame counts (``f``) are pixel frames at the
plan's ``fps``; positions are image pixels. :func:`timeline_layout` returns where everything is
(seconds to x, lane rows), for callers and tests. Text and the shared colours come from
:mod:`.drawing`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw

from ..audio.waveform import check_audio, envelope
from ..loop.plan import RenderPlan
from ..loop.schedule import ScheduleEntry, entry_at, format_timestamp, snap_time
from .drawing import (
    AXIS,
    BACKGROUND,
    BAND_BACKGROUND,
    BAND_BORDER,
    GRID,
    MUTED_TEXT,
    TEXT,
    WAVEFORM,
    draw_text,
    first_fitting,
    fit_text,
    load_font,
    text_width,
    tick_step,
)

# Palette of the timeline (RGB tuples; module constants are immutable); the rest is drawing's.
WAVEFORM_CENTRE = (168, 182, 206)
PAST_END = (236, 224, 216)
"""Fill of the waveform band past the end of the audio (rendered time with no audio under it)."""
PAST_END_HATCH = (212, 188, 174)
PAST_END_LANES = (246, 238, 232)
AUDIO_END_LINE = (196, 84, 62)
NEW_COLOUR = (122, 166, 226)
"""Bar fill of the new frames a pass adds (the whole window of the initial render)."""
CONTEXT_COLOUR = (40, 72, 136)
"""Bar fill of the context (overlap) frames at the start of every loop window."""
LANE_STRIPE = (245, 247, 251)
BLEND_MARKER = (232, 134, 34)
BLEND_TEXT = (170, 92, 16)
SECTION_COLOURS = (
    (253, 226, 170),
    (190, 226, 214),
    (250, 200, 196),
    (206, 212, 246),
    (228, 212, 240),
    (214, 232, 180),
)
"""Schedule sections cycle through these colours; neighbouring sections never share one."""

MIN_WIDTH = 480
"""Narrowest picture :func:`render_timeline` draws, in pixels."""
UNCOMPRESSED_PASSES = 24
"""Up to this many passes get full-height lanes with text."""
MAX_LANE_AREA = 740
"""Pixel height that more than ``UNCOMPRESSED_PASSES`` lanes are compressed into."""
FULL_LANE_PITCH = 26
FULL_BAR_HEIGHT = 18

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
_MIN_TICK_SPACING = 72
_MIN_GRID_SPACING = 12


# ----------------------------------------------------------------------------- layout


def _title_parts(plan: RenderPlan) -> list[str]:
    geo, loop = plan.geometry, plan.loop
    passes = loop.loop_iterations + 1
    over = loop.rendered_seconds - loop.audio_seconds
    k = loop.loop_iterations
    iterations = "no loop iteration" if k == 0 else f"initial + {k} loop iteration{'s' if k != 1 else ''}"
    return [
        f"Audio {format_timestamp(loop.audio_seconds)} ({loop.audio_seconds:.2f} s) at {geo.fps:g} fps",
        f"window {geo.window_seconds:.2f} s ({geo.window_frames} f)",
        f"stride {geo.stride_seconds:.2f} s ({geo.stride_frames} f)",
        f"overlap {geo.overlap_seconds:.2f} s effective ({geo.overlap_frames} f, target "
        f"{geo.requested_overlap_seconds:g} s)",
        f"{passes} pass{'es' if passes != 1 else ''} ({iterations})",
        f"rendered {loop.rendered_seconds:.2f} s vs audio {loop.audio_seconds:.2f} s (+{over:.2f} s)",
    ]


def _wrap_parts(font, parts: Sequence[str], max_width: float, separator: str = "   |   ") -> list[str]:
    lines: list[str] = []
    for part in parts:
        if lines and text_width(font, lines[-1] + separator + part) <= max_width:
            lines[-1] += separator + part
        else:
            lines.append(fit_text(font, part, max_width) or part)
    return lines


def _moved_starts(plan: RenderPlan, total: float) -> list[float]:
    """Written schedule starts (seconds, inside the timeline) that snapping moved."""
    if not plan.snap or not plan.selections:
        return []
    stride = plan.geometry.stride_seconds
    return [e.start for e in plan.entries if 0 < e.start < total and abs(snap_time(e.start, stride) - e.start) > 1e-6]


def _legend_items(plan: RenderPlan, total: float, grid_every: int) -> list[tuple[str, tuple, str]]:
    grid = "iteration start (every stride)" if grid_every == 1 else f"iteration start (every {grid_every} strides)"
    items = [
        ("swatch", CONTEXT_COLOUR, "context (overlap from the previous pass)"),
        ("swatch", NEW_COLOUR, "new frames"),
        ("hatch", PAST_END, "past the end of the audio"),
        ("line", AUDIO_END_LINE, "audio end"),
    ]
    if plan.loop.loop_iterations:
        items.append(("dash", GRID, grid))
    if plan.selections:
        items.append(("stripe", SECTION_COLOURS[1], "schedule section a pass runs"))
        if any(s.blend > 0 for s in plan.selections):
            items.append(("marker", BLEND_MARKER, "prompt blend factor"))
        if _moved_starts(plan, total):
            items.append(("triangle", MUTED_TEXT, "written start, snapped to the stride grid"))
    return items


def _legend_rows(font, items, width: int) -> tuple[tuple[tuple[str, tuple, str], ...], ...]:
    rows: list[list] = [[]]
    x = _PAD
    for item in items:
        needed = 22 + text_width(font, item[2]) + 22
        if rows[-1] and x + needed > width - _PAD:
            rows.append([])
            x = _PAD
        rows[-1].append(item)
        x += needed
    return tuple(tuple(row) for row in rows)


@dataclass(frozen=True)
class TimelineLayout:
    """Where things are in the picture (pixels), for a plan and an image width.

    :meth:`x` maps track seconds to an x pixel; :meth:`lane_bar` gives the pixel rows
    ``(top, bottom)`` (both inclusive) of the bar of pass ``i`` (0 = initial render).
    """

    width: int
    height: int
    total_seconds: float
    plot_left: int
    plot_right: int
    title_lines: tuple[str, ...]
    legend_rows: tuple[tuple[tuple[str, tuple, str], ...], ...]
    legend_top: int
    wave_top: int
    wave_bottom: int
    schedule_top: int | None
    schedule_bottom: int | None
    lanes_top: int
    lanes_bottom: int
    lane_pitch: float
    bar_height: int
    passes: int
    grid_every: int
    caption_y: int | None
    axis_y: int

    def x(self, seconds: float) -> float:
        """x pixel of track time ``seconds``."""
        return self.plot_left + seconds / self.total_seconds * (self.plot_right - self.plot_left)

    def lane_centre(self, index: int) -> float:
        """y pixel of the middle of the lane of pass ``index``."""
        return self.lanes_top + (index + 0.5) * self.lane_pitch

    def lane_bar(self, index: int) -> tuple[int, int]:
        """``(top, bottom)`` pixel rows of the bar of pass ``index``."""
        top = round(self.lane_centre(index) - self.bar_height / 2)
        return top, top + self.bar_height - 1

    @property
    def compressed(self) -> bool:
        """True when the lanes are too thin for text in every lane."""
        return self.lane_pitch < _LINE - 3


def timeline_layout(plan: RenderPlan, width: int = 1600) -> TimelineLayout:
    """The pixel layout :func:`render_timeline` uses for ``plan`` at ``width`` px.

    The time axis spans 0 .. ``max(audio_seconds, rendered_seconds)`` seconds. Up to
    ``UNCOMPRESSED_PASSES`` passes get full lanes; more share ``MAX_LANE_AREA`` px (a caption
    row under them then names the final pass), so the height stays bounded for any track.
    """
    if isinstance(width, bool) or not isinstance(width, int) or width < MIN_WIDTH:
        raise ValueError(f"timeline width must be a whole number of pixels >= {MIN_WIDTH}, got {width!r}")
    loop, geo = plan.loop, plan.geometry
    total = max(loop.audio_seconds, loop.rendered_seconds)
    plot_left, plot_right = _GUTTER, width - _RIGHT
    stride_px = geo.stride_seconds / total * (plot_right - plot_left)
    grid_every = max(1, math.ceil(_MIN_GRID_SPACING / stride_px))
    title_lines = tuple(_wrap_parts(load_font(_TITLE_SIZE), _title_parts(plan), width - 2 * _PAD))
    legend_rows = _legend_rows(load_font(_FONT_SIZE), _legend_items(plan, total, grid_every), width)

    y = _PAD + len(title_lines) * (_LINE + 2)
    legend_top = y
    y += len(legend_rows) * _LINE + _GAP
    wave_top, wave_bottom = y, y + _WAVE_HEIGHT
    y = wave_bottom + _GAP
    schedule_top = schedule_bottom = None
    if plan.selections:
        y += 4  # room for the snapped-start marks above the band
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
    y = lanes_bottom
    caption_y = None
    if pitch < _LINE - 3:
        caption_y = y + _LINE // 2 + 2
        y += _LINE
    axis_y = y + _GAP
    height = axis_y + _AXIS_HEIGHT + _PAD // 2
    return TimelineLayout(
        width=width, height=height, total_seconds=total, plot_left=plot_left, plot_right=plot_right,
        title_lines=title_lines, legend_rows=legend_rows, legend_top=legend_top, wave_top=wave_top,
        wave_bottom=wave_bottom, schedule_top=schedule_top, schedule_bottom=schedule_bottom,
        lanes_top=lanes_top, lanes_bottom=lanes_bottom, lane_pitch=pitch, bar_height=bar, passes=passes,
        grid_every=grid_every, caption_y=caption_y, axis_y=axis_y,
    )


# ----------------------------------------------------------------------------- drawing helpers


def _schedule_sections(plan: RenderPlan, total: float) -> list[tuple[float, float, ScheduleEntry[str]]]:
    """``(start_s, end_s, entry)`` runs of the entry in effect over 0 .. ``total`` seconds.

    Uses the table the passes use (snapped when the plan snaps, the first entry when snapping
    removed them all) and the same lookup (:func:`~.schedule.entry_at`), so gaps and nested
    ranges show exactly what the passes run.
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
        if sections and sections[-1][2] is entry:
            sections[-1] = (sections[-1][0], b, entry)
        else:
            sections.append((a, b, entry))
    return sections


def _section_colour_at(sections, t: float):
    for n, (a, b, _) in enumerate(sections):
        if a - 1e-9 <= t < b - 1e-9:
            return SECTION_COLOURS[n % len(SECTION_COLOURS)]
    return None


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


def _diamond(draw: ImageDraw.ImageDraw, x: float, y: float, r: float, fill) -> None:
    draw.polygon([(x, y - r), (x + r, y), (x, y + r), (x - r, y)], fill=fill)


# ----------------------------------------------------------------------------- the bands


def _draw_legend(image: Image.Image, draw: ImageDraw.ImageDraw, layout: TimelineLayout, font) -> None:
    for row_index, row in enumerate(layout.legend_rows):
        y = layout.legend_top + row_index * _LINE + _LINE // 2
        x = _PAD
        for kind, colour, text in row:
            if kind == "swatch":
                draw.rectangle([x, y - 6, x + 16, y + 6], fill=colour)
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
            _, right = draw_text(draw, x + 22, y, text, font, MUTED_TEXT)
            x = round(right) + 22


def _as_waveform(waveform: torch.Tensor, sample_rate: int | None) -> tuple[torch.Tensor, int]:
    """``[B, C, N]`` waveform and its rate; ``[C, N]`` and ``[N]`` are accepted too."""
    if sample_rate is None:
        raise ValueError("render_timeline: a waveform needs its sample_rate (Hz)")
    if isinstance(waveform, torch.Tensor) and waveform.ndim == 1:
        waveform = waveform.unsqueeze(0)
    return check_audio({"waveform": waveform, "sample_rate": sample_rate}, "timeline waveform")


def _draw_waveform(image: Image.Image, draw: ImageDraw.ImageDraw, layout: TimelineLayout, plan: RenderPlan,
                   waveform: torch.Tensor | None, sample_rate: int | None, font) -> None:
    top, bottom = layout.wave_top, layout.wave_bottom
    box = [layout.plot_left, top, layout.plot_right, bottom]
    draw.rectangle(box, fill=BAND_BACKGROUND)
    audio_end_x = round(layout.x(plan.loop.audio_seconds))
    end_x = round(layout.x(layout.total_seconds))
    if end_x > audio_end_x:
        image.paste(_hatched((end_x - audio_end_x + 1, bottom - top + 1), PAST_END, PAST_END_HATCH),
                    (audio_end_x, top))
    draw_text(draw, layout.plot_left - 10, (top + bottom) / 2, "audio", font, MUTED_TEXT, align="right")
    mid = (top + bottom) / 2
    if waveform is None:
        draw.line([(layout.plot_left, round(mid)), (audio_end_x, round(mid))], fill=WAVEFORM, width=2)
    else:
        wave, rate = _as_waveform(waveform, sample_rate)
        samples = min(wave.shape[-1], math.ceil(layout.total_seconds * rate))
        x0, x1 = layout.plot_left, layout.x(samples / rate)
        draw.line([(x0, round(mid)), (round(x1), round(mid))], fill=WAVEFORM_CENTRE)
        lows, highs = envelope(wave[..., :samples], rate, max(1, int(round(x1 - x0))))
        half = (bottom - top) / 2 - 6
        peak = max(float(highs.abs().max()), float(lows.abs().max()))
        scale = half / peak if peak > 1e-9 else 0.0
        lows_px = np.round(mid - lows.numpy() * scale).astype(int)
        highs_px = np.round(mid - highs.numpy() * scale).astype(int)
        step = (x1 - x0) / lows.shape[0]
        for i in range(lows.shape[0]):
            x = int(x0 + i * step)
            draw.line([(x, min(highs_px[i], lows_px[i])), (x, max(highs_px[i], lows_px[i]))], fill=WAVEFORM)
    draw.rectangle(box, outline=BAND_BORDER)


def _draw_schedule(draw: ImageDraw.ImageDraw, layout: TimelineLayout, plan: RenderPlan,
                   sections: list[tuple[float, float, ScheduleEntry[str]]], font) -> None:
    top, bottom = layout.schedule_top, layout.schedule_bottom
    mid = (top + bottom) / 2
    draw_text(draw, layout.plot_left - 10, mid, "schedule", font, MUTED_TEXT, align="right")
    for n, (a, b, entry) in enumerate(sections):
        x0, x1 = round(layout.x(a)), round(layout.x(b))
        draw.rectangle([x0, top, max(x0, x1 - 1), bottom], fill=SECTION_COLOURS[n % len(SECTION_COLOURS)])
        if n > 0:
            draw.line([(x0, top), (x0, bottom)], fill=(255, 255, 255), width=2)
        room = x1 - x0 - 12
        label = fit_text(font, f"line {entry.line}: {entry.value}", room, min_chars=len(f"line {entry.line}: ") + 6)
        label = label or first_fitting(font, [f"line {entry.line}", f"L{entry.line}"], room)
        if label:
            draw_text(draw, x0 + 6, mid, label, font, TEXT)
    for start in _moved_starts(plan, layout.total_seconds):
        x = layout.x(start)
        draw.polygon([(x - 4, top - 7), (x + 4, top - 7), (x, top - 1)], fill=MUTED_TEXT)
    draw.rectangle([layout.plot_left, top, layout.plot_right, bottom], outline=BAND_BORDER)


def _draw_blend(draw: ImageDraw.ImageDraw, x: float, y: float, text: str, limit: float, font, background) -> None:
    _diamond(draw, x, y, 5, BLEND_MARKER)
    fitted = first_fitting(font, [text, text.split(" of ")[0]], limit - (x + 10))
    if fitted:
        draw_text(draw, x + 10, y, fitted, font, BLEND_TEXT, background=background)


def _draw_lanes(draw: ImageDraw.ImageDraw, layout: TimelineLayout, plan: RenderPlan,
                sections: list[tuple[float, float, ScheduleEntry[str]]], font) -> None:
    windows = plan.windows
    geo = plan.geometry
    selections = plan.selections
    label_every = 1 if not layout.compressed else _nice_step(math.ceil((_LINE - 4) / layout.lane_pitch))

    # Lane backgrounds and labels.
    for window in windows:
        i = window.iteration
        centre = layout.lane_centre(i)
        if not layout.compressed and i % 2 == 1:
            draw.rectangle([layout.plot_left, round(centre - layout.lane_pitch / 2),
                            layout.plot_right, round(centre + layout.lane_pitch / 2) - 1], fill=LANE_STRIPE)
        # Compressed lanes are labelled every ``label_every``-th pass, and always the final one.
        last = len(windows) - 1
        if i == last or (i % label_every == 0 and last - i >= label_every):
            draw_text(draw, layout.plot_left - 10, centre, "init" if i == 0 else str(i), font, TEXT, align="right")

    audio_end_x = round(layout.x(plan.loop.audio_seconds))
    if round(layout.x(layout.total_seconds)) > audio_end_x:
        draw.rectangle([audio_end_x, layout.lanes_top, round(layout.x(layout.total_seconds)), layout.lanes_bottom],
                       fill=PAST_END_LANES)

    # Grid lines at the stride multiples (every ``grid_every``-th when they would be too dense).
    k = layout.grid_every
    while geo.iteration_start_seconds(k) < layout.total_seconds - 1e-9:
        x = round(layout.x(geo.iteration_start_seconds(k)))
        _dashed_vline(draw, x, layout.wave_top + 1, layout.lanes_bottom, GRID)
        k += layout.grid_every

    for window in windows:
        i = window.iteration
        top, bottom = layout.lane_bar(i)
        centre = layout.lane_centre(i)
        lane_bg = LANE_STRIPE if (i % 2 == 1 and not layout.compressed) else BACKGROUND
        x0 = round(layout.x(window.start_seconds))
        x_new = round(layout.x(window.start_seconds + window.context_frames / geo.fps)) if window.context_frames else x0
        x1 = max(x0 + 1, round(layout.x(window.end_seconds)))
        draw.rectangle([x0, top, x1 - 1, bottom], fill=NEW_COLOUR)
        if x_new > x0:
            draw.rectangle([x0, top, x_new - 1, bottom], fill=CONTEXT_COLOUR)
        sel = selections[i] if i < len(selections) else None
        if sel is not None and layout.bar_height >= 10:
            colour = _section_colour_at(sections, sel.time)
            if colour is not None and x1 - 1 >= x_new:
                draw.rectangle([x_new, bottom - 3, x1 - 1, bottom], fill=colour)
        if layout.compressed:
            if sel is not None and sel.blend > 0:
                _diamond(draw, x1 + 4, centre, max(1.5, min(4.0, layout.lane_pitch / 2)), BLEND_MARKER)
            continue

        # Inside the bar: frames (and the schedule line it runs).
        inner = f"{window.window_frames} f"
        if sel is not None:
            inner += f"  \u00b7  line {sel.current.line}"
        inner_left = x_new + 6
        inner = first_fitting(font, [inner, f"{window.window_frames} f"], x1 - 4 - inner_left)
        inner_right = inner_left
        if inner:
            _, inner_right = draw_text(
                draw, inner_left, centre - (2 if sel is not None else 0), inner, font, CONTEXT_COLOUR
            )

        # Beside the bar: its time range (the final pass says it is sized to the audio), blend factor.
        span = f"{format_timestamp(window.start_seconds)} - {format_timestamp(window.end_seconds)}"
        if window.is_final:
            first = "final pass" if i > 0 else "only pass"
            candidates = [
                f"{first}, sized to the audio:  {span}  ({window.new_frames} new frames)",
                f"{first}, sized to the audio:  {span}",
                f"{first}, sized to the audio",
                "final",
            ]
        else:
            candidates = [span]
        blend = f"{sel.blend:.3f} of line {sel.other.line}" if sel is not None and sel.blend > 0 else None
        if i == 0:  # the initial bar starts at 0 s: its text goes to the right
            text = first_fitting(font, candidates, layout.plot_right - x1 - 12)
            end = x1
            if text:
                _, end = draw_text(draw, x1 + 8, centre, text, font, MUTED_TEXT, background=lane_bg)
            else:  # no room right of the bar (a single pass fills the axis): write inside it
                text = first_fitting(font, candidates, x1 - inner_right - 30)
                if text:
                    draw_text(
                        draw, inner_right + 24, centre - (2 if sel is not None else 0), text, font, CONTEXT_COLOUR
                    )
            if blend is not None and end + 40 < layout.plot_right:
                _draw_blend(draw, end + 18, centre, blend, layout.plot_right, font, lane_bg)
            continue
        text = first_fitting(font, candidates, x0 - layout.plot_left - 14)
        if text:
            draw_text(draw, x0 - 8, centre, text, font, MUTED_TEXT, align="right", background=lane_bg)
        if blend is not None:
            if layout.plot_right - x1 > 40:
                _draw_blend(draw, x1 + 10, centre, blend, layout.plot_right, font, lane_bg)
            else:
                _diamond(draw, x1 - 8, centre, 4, BLEND_MARKER)

    if layout.caption_y is not None:
        final = windows[-1]
        span = f"{format_timestamp(final.start_seconds)} - {format_timestamp(final.end_seconds)}"
        text = first_fitting(
            font,
            [
                f"final pass {final.iteration}, sized to the audio: {span}, {final.window_frames} f "
                f"({final.new_frames} new)",
                f"final pass {final.iteration}, sized to the audio: {span}",
                f"final pass {final.iteration}, sized to the audio",
            ],
            layout.plot_right - layout.plot_left,
        )
        if text:
            right = min(layout.plot_right, round(layout.x(final.end_seconds)))
            draw_text(draw, right, layout.caption_y, text, font, MUTED_TEXT, align="right")


def _nice_step(minimum: int) -> int:
    """Smallest of 1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, ... that is ``>= minimum``."""
    scale = 1
    while True:
        for base in (1, 2, 2.5, 5):
            step = base * scale
            if step == int(step) and step >= minimum:
                return int(step)
        scale *= 10


def _draw_axis(draw: ImageDraw.ImageDraw, layout: TimelineLayout, font) -> None:
    y = layout.axis_y
    draw.line([(layout.plot_left, y), (layout.plot_right, y)], fill=AXIS)
    plot_width = layout.plot_right - layout.plot_left
    step = tick_step(layout.total_seconds, plot_width, _MIN_TICK_SPACING)
    last_right = -math.inf
    for k in range(int(math.floor(layout.total_seconds / step + 1e-9)) + 1):
        x = round(layout.x(k * step))
        draw.line([(x, y), (x, y + 5)], fill=AXIS)
        label = format_timestamp(k * step)
        width = text_width(font, label)
        left = min(x - width / 2, layout.width - _PAD / 2 - width)
        if left < last_right + 10:
            continue  # would touch the previous label
        draw_text(draw, left, y + 16, label, font, TEXT)
        last_right = left + width
    draw_text(draw, _PAD, y + 16, "time", font, MUTED_TEXT)


# ----------------------------------------------------------------------------- public API


CUT_LINE = (214, 40, 160)
"""Colour of the segment cuts of ``plan --segments``."""


def render_timeline(
    plan: RenderPlan,
    waveform: torch.Tensor | None,
    sample_rate: int | None,
    width: int = 1600,
    cuts: Sequence[float] = (),
) -> Image.Image:
    """Draw ``plan`` as an RGB timeline picture ``width`` px wide (see the module docstring).

    ``cuts``: segment cut points (seconds) of ``render --segments``, drawn as labelled lines
    across the waveform and the passes.

    ``waveform`` is the track's audio, ``[B, C, N]`` samples (``[C, N]`` and ``[N]`` accepted)
    at ``sample_rate`` Hz, so ``N / sample_rate`` seconds long; it is drawn from 0 s on the same
    axis as the passes (batch item 0, channels averaged). ``None`` draws a flat line instead and
    ignores ``sample_rate``. The time axis runs from 0 to ``max(audio_seconds, rendered_seconds)``
    seconds; the height follows from the number of passes and whether there is a schedule, and
    stays under about 1,150 px for any track length.

    Raises ``ValueError`` for an invalid waveform or sample rate, or ``width < MIN_WIDTH``.
    """
    layout = timeline_layout(plan, width)
    font, title_font = load_font(_FONT_SIZE), load_font(_TITLE_SIZE)
    image = Image.new("RGB", (layout.width, layout.height), BACKGROUND)
    draw = ImageDraw.Draw(image)

    for n, line in enumerate(layout.title_lines):
        draw_text(draw, _PAD, _PAD + n * (_LINE + 2) + _LINE / 2, line, title_font, TEXT)
    _draw_legend(image, draw, layout, font)
    _draw_waveform(image, draw, layout, plan, waveform, sample_rate, font)
    sections = _schedule_sections(plan, layout.total_seconds) if plan.selections else []
    _draw_lanes(draw, layout, plan, sections, font)
    if plan.selections:  # over the grid lines: its sections start on them anyway
        _draw_schedule(draw, layout, plan, sections, font)
    if waveform is None:  # after the grid lines, so they do not cross it
        draw_text(
            draw,
            layout.plot_left + 8,
            layout.wave_top + 12,
            "no waveform given",
            font,
            MUTED_TEXT,
            background=BAND_BACKGROUND,
        )
    audio_end_x = round(layout.x(plan.loop.audio_seconds))
    draw.line([(audio_end_x, layout.wave_top), (audio_end_x, layout.lanes_bottom)], fill=AUDIO_END_LINE)
    for number, cut in enumerate(cuts, 1):
        x = round(layout.x(cut))
        draw.line([(x, layout.wave_top), (x, layout.lanes_bottom)], fill=CUT_LINE, width=3)
        draw_text(draw, x + 4, layout.wave_top + 10, f"cut {number}", font, CUT_LINE, background=BAND_BACKGROUND)
    _draw_axis(draw, layout, font)
    return image
