"""The analysis picture: waveform, sections, beats, voice and pitch, loop windows, warnings.

Drawn with Pillow on one time axis ``0 .. duration`` seconds (``x = left + t / D * width``).
Rows from the top: a title (length, tempo, loudness, content), the waveform envelope, the
sections as coloured bands with their labels, a tick per beat, the vocal activity (filled) with
the pitch as a line (log frequency, 65-1100 Hz), the loop passes (pass ``k`` starts at ``k S``;
alternate shading, grid lines through every row), the time axis, then the warnings as text.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image, ImageDraw

from ..audio.analysis import AudioAnalysis
from ..audio.pitch import FMAX_HZ, FMIN_HZ
from ..audio.waveform import envelope
from ..loop.geometry import LoopGeometry, plan_loop
from ..loop.schedule import format_timestamp
from .drawing import (
    AXIS,
    BACKGROUND,
    BAND_BACKGROUND,
    GRID,
    MUTED_TEXT,
    TEXT,
    WAVEFORM,
    draw_text,
    fit_text,
    load_font,
    text_width,
    tick_step,
)

# Colours of this picture (RGB); background, text, bands, waveform and grid are drawing's.
BEAT = AXIS
VOICE = (190, 226, 214)
PITCH = (28, 120, 96)
PASS_A = (122, 166, 226)
PASS_B = (168, 198, 238)
WARNING = (170, 60, 30)
SECTION_COLOURS = {
    "intro": (228, 212, 240),
    "verse": (190, 226, 214),
    "chorus": (253, 226, 170),
    "bridge": (206, 212, 246),
    "break": (226, 226, 226),
    "outro": (250, 200, 196),
    "speech": (196, 230, 200),
    "pause": (232, 228, 214),
    "silence": (240, 240, 240),
}
_PAD, _GUTTER, _RIGHT, _LINE = 14, 78, 22, 19
_ROWS = (("waveform", 110), ("sections", 30), ("beats", 18), ("voice", 60), ("passes", 26))


def render_analysis(analysis: AudioAnalysis, waveform, sample_rate: int, geometry: LoopGeometry | None = None,
                    width: int = 1600) -> Image.Image:
    """The picture of an analysis; ``waveform`` ``[B, C, N]`` or ``[C, N]`` (item 0 is drawn), or
    ``None`` to draw the min/max envelope the analysis kept (an analysed file never held whole)."""
    if isinstance(width, bool) or not isinstance(width, int) or width < 480:
        raise ValueError(f"picture width must be a whole number of pixels >= 480, got {width!r}")
    font, title_font = load_font(13), load_font(15)
    left, right = _GUTTER, width - _RIGHT
    duration = max(analysis.duration, 1e-6)

    def x(t: float) -> int:
        return round(left + min(max(t, 0.0), duration) / duration * (right - left))

    warnings = [w.message for w in analysis.warnings]
    warning_lines = []
    for message in warnings:
        warning_lines.extend(_wrap(font, "! " + message, width - 2 * _PAD))
    title = _title(analysis, geometry)
    title_lines = _wrap(title_font, title, width - 2 * _PAD)
    top = _PAD + len(title_lines) * (_LINE + 2) + 6
    rows = {}
    y = top
    for name, height in _ROWS:
        if name == "passes" and geometry is None:
            continue
        rows[name] = (y, y + height)
        y += height + 8
    axis_y = y
    height = axis_y + 34 + (len(warning_lines) * _LINE + 8 if warning_lines else 0) + _PAD
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for n, line in enumerate(title_lines):
        draw_text(draw, _PAD, _PAD + n * (_LINE + 2) + _LINE / 2, line, title_font, TEXT)
    for name, (a, b) in rows.items():
        draw.rectangle([left, a, right, b], fill=BAND_BACKGROUND)
        draw_text(draw, left - 8, (a + b) / 2, name, font, MUTED_TEXT, align="right")

    # Waveform envelope.
    a, b = rows["waveform"]
    if waveform is None:
        lows, highs = _stored_envelope(analysis, right - left)
    else:
        lows, highs = envelope(_as_tensor(waveform), sample_rate, right - left)
    mid, half = (a + b) / 2, (b - a) / 2 - 2
    scale = max(float(highs.abs().max()), float(lows.abs().max()), 1e-9)
    for i in range(len(lows)):
        px = left + round(i * (right - left) / len(lows))
        draw.line([(px, mid - float(highs[i]) / scale * half), (px, mid - float(lows[i]) / scale * half)],
                  fill=WAVEFORM)

    # Sections.
    a, b = rows["sections"]
    for s in analysis.sections:
        x0, x1 = x(s.start), max(x(s.start) + 1, x(s.end))
        draw.rectangle([x0, a, x1 - 1, b], fill=SECTION_COLOURS.get(s.label, BAND_BACKGROUND), outline=BACKGROUND)
        label = fit_text(font, s.label, x1 - x0 - 8, min_chars=1)
        if label:
            draw_text(draw, x0 + 4, (a + b) / 2, label, font, TEXT)

    # Beats.
    a, b = rows["beats"]
    for t in analysis.rhythm.beats:
        draw.line([(x(t), a + 3), (x(t), b - 3)], fill=BEAT)

    # Voice activity and pitch.
    a, b = rows["voice"]
    spec = analysis.spectrogram
    active = analysis.voice.active
    times = spec.times()
    edges = np.flatnonzero(np.diff(np.concatenate([[0], active.astype(np.int8), [0]])))
    for start, stop in zip(edges[::2], edges[1::2]):
        draw.rectangle([x(times[start]), a + 1, max(x(times[start]) + 1, x(times[min(stop, len(times) - 1)])), b - 1],
                       fill=VOICE)
    lo, hi = math.log(FMIN_HZ), math.log(FMAX_HZ)
    points = [(x(t), b - 2 - (math.log(f) - lo) / (hi - lo) * (b - a - 4))
              for t, f in zip(times, analysis.voice.f0) if math.isfinite(f)]
    for px, py in points:
        draw.point((px, py), fill=PITCH)

    # Loop passes and grid.
    if geometry is not None:
        a, b = rows["passes"]
        plan = plan_loop(analysis.duration, geometry)
        for window in plan.windows():
            x0 = x(window.start_seconds)
            x1 = x(window.end_seconds) if window.is_final else x(window.start_seconds + geometry.stride_seconds)
            fill = PASS_A if window.iteration % 2 == 0 else PASS_B
            draw.rectangle([x0, a + 3, max(x0 + 1, x1 - 1), b - 3], fill=fill)
            text = fit_text(font, "init" if window.iteration == 0 else str(window.iteration), x1 - x0 - 6, 1)
            if text:
                draw_text(draw, x0 + 3, (a + b) / 2, text, font, TEXT)
            if window.iteration > 0:
                gx = x(window.start_seconds)
                for yy in range(top, b, 8):
                    draw.line([(gx, yy), (gx, min(b, yy + 3))], fill=GRID)

    # Axis.
    draw.line([(left, axis_y), (right, axis_y)], fill=MUTED_TEXT)
    step = tick_step(duration, right - left)
    k = 0
    while k * step <= duration + 1e-9:
        px = x(k * step)
        draw.line([(px, axis_y), (px, axis_y + 5)], fill=MUTED_TEXT)
        draw_text(draw, px, axis_y + 16, format_timestamp(k * step), font, MUTED_TEXT, align="centre")
        k += 1
    y = axis_y + 34
    for line in warning_lines:
        draw_text(draw, _PAD, y + _LINE / 2, line, font, WARNING)
        y += _LINE
    return image


def _title(analysis: AudioAnalysis, geometry: LoopGeometry | None) -> str:
    a = analysis
    parts = [f"{format_timestamp(a.duration)} ({a.duration:.1f} s), {a.content}"]
    parts.append(f"{a.rhythm.tempo_bpm:.0f} BPM" if a.rhythm.tempo_bpm > 0 else "no steady beat")
    if math.isfinite(a.loudness_lufs):
        parts.append(f"{a.loudness_lufs:.1f} LUFS, true peak {a.true_peak_db:.1f} dBTP")
    parts.append(f"voice {100 * a.voice.fraction:.0f}%")
    if geometry is not None:
        parts.append(f"stride {geometry.stride_seconds:.2f} s, window {geometry.window_seconds:.2f} s")
    return "   |   ".join(parts)


def _wrap(font, text: str, width: float) -> list[str]:
    lines, current = [], ""
    for word in text.split(" "):
        trial = f"{current} {word}".strip()
        if current and text_width(font, trial) > width:
            lines.append(current)
            current = word
        else:
            current = trial
    if current:
        lines.append(current)
    return lines


def _stored_envelope(analysis: AudioAnalysis, points: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Min and max over ``points`` equal time bins of the analysis' kept envelope."""
    stored = analysis.spectrogram.envelope
    if stored is None or not len(stored[0]):
        return torch.zeros(1), torch.zeros(1)
    low, high = (torch.from_numpy(np.asarray(v, dtype=np.float32)) for v in stored)
    n = low.shape[0]
    points = max(1, min(points, n))
    edges = torch.linspace(0, n, points + 1).round().long()
    lows, highs = torch.empty(points), torch.empty(points)
    for i in range(points):
        lo, hi = int(edges[i]), max(int(edges[i + 1]), int(edges[i]) + 1)
        lows[i], highs[i] = low[lo:hi].min(), high[lo:hi].max()
    return lows, highs


def _as_tensor(waveform):
    import torch

    if isinstance(waveform, np.ndarray):
        waveform = torch.from_numpy(waveform)
    return waveform
