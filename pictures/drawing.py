"""Text and colours shared by every picture the package draws (Pillow only).

* :func:`load_font`: Pillow's built-in font at a pixel size, with one fallback for the Pillow
  versions the package allows (``pillow>=9.5``): ``ImageFont.load_default(size=...)`` needs
  Pillow 10.1+ built with FreeType; anything older (``TypeError``: no ``size`` parameter) or a
  build without FreeType (``ImportError``/``OSError``) gets the fixed bitmap font instead, about
  11 px high whatever the size asked for. Text then may come out smaller; every helper here
  measures the font it is given, so text still fits where it is placed. The bitmap font draws
  Latin-1 only (Pillow raises ``UnicodeEncodeError`` for anything else): :func:`drawable` turns
  ``\u2026`` into ``...`` and other characters into ``?`` for it, and the helpers here apply it.
* :func:`text_width`, :func:`fit_text`, :func:`first_fitting`: widths in pixels and text
  shortened (with an ellipsis) to a width, never wider than asked.
* :func:`draw_text`: text vertically centred on a row, left/right/centre aligned.
* the light palette the timeline and analysis pictures share (RGB tuples).

``PIL.ImageFont`` is imported on first use, not at import.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

# Light palette of the timeline and analysis pictures (RGB; module constants are immutable).
BACKGROUND = (252, 252, 250)
TEXT = (38, 42, 52)
MUTED_TEXT = (108, 114, 128)
BAND_BACKGROUND = (241, 244, 249)
"""Fill of a row (band) of a picture behind its content."""
BAND_BORDER = (212, 218, 228)
WAVEFORM = (66, 104, 166)
GRID = (176, 186, 204)
AXIS = (96, 104, 120)

ELLIPSIS = "..."
TRAILING = " ,;:-"
"""What :func:`fit_text` drops from the end of a shortened text before the ellipsis."""

_TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)


def load_font(size: int):
    """Pillow's default font at ``size`` px, or the bitmap font where this Pillow cannot scale it.

    See the module docstring for the fallback; :func:`load_font_from` does the work.
    """
    from PIL import ImageFont

    return load_font_from(ImageFont.load_default, size)


def load_font_from(load_default: Callable, size: int):
    """``load_default(size=size)``, or ``load_default()`` when that raises ``TypeError`` (Pillow
    < 10.1 has no ``size`` parameter), ``ImportError`` or ``OSError`` (no FreeType)."""
    try:
        return load_default(size=size)
    except (TypeError, ImportError, OSError):
        return load_default()


def drawable(font, text: str) -> str:
    """``text`` as ``font`` can draw it: unchanged for a FreeType font (a glyph it lacks draws as
    a box); for the bitmap fallback font the ellipsis character becomes ``...`` and every other
    non-Latin-1 character ``?``."""
    from PIL import ImageFont

    if isinstance(font, ImageFont.ImageFont):
        return text.replace("\u2026", "...").encode("latin-1", "replace").decode("latin-1")
    return text


def text_width(font, text: str) -> float:
    """Advance width of ``text`` in pixels (``font.getlength``; any Pillow >= 9.2 font has it)."""
    return font.getlength(drawable(font, text))


def fit_text(font, text: str, max_width: float, min_chars: int = 2, *, ellipsis: str = ELLIPSIS,
             trailing: str = TRAILING) -> str | None:
    """``text`` if it fits ``max_width`` px, else its longest prefix that fits followed by
    ``ellipsis`` (characters in ``trailing`` dropped from the end of the prefix first); ``None``
    when fewer than ``min_chars`` characters of ``text`` would be left or nothing fits. The result
    is never wider than ``max_width`` px.
    """
    if text_width(font, text) <= max_width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # longest prefix that fits together with the ellipsis (binary search)
        mid = (lo + hi + 1) // 2
        if text_width(font, text[:mid].rstrip(trailing) + ellipsis) <= max_width:
            lo = mid
        else:
            hi = mid - 1
    kept = text[:lo].rstrip(trailing)
    # widths grow with the prefix in practice; the last check keeps the promise if they do not
    while kept and text_width(font, kept + ellipsis) > max_width:
        kept = kept[:-1].rstrip(trailing)
    if len(kept) < max(min_chars, 1):
        return None
    return kept + ellipsis


def first_fitting(font, candidates: Sequence[str], max_width: float) -> str | None:
    """The first of ``candidates`` that fits ``max_width`` px unshortened, or ``None``."""
    for text in candidates:
        if text_width(font, text) <= max_width:
            return text
    return None


def draw_text(draw, x: float, y_middle: float, text: str, font, fill, align: str = "left",
              background=None) -> tuple[float, float]:
    """Draw ``text`` vertically centred on ``y_middle`` (the middle of "Ag"), starting at ``x``
    (``align="left"``), ending at it (``"right"``) or centred on it (``"centre"``), optionally on a
    ``background`` box; returns its horizontal extent ``(x0, x1)`` in pixels."""
    if align not in ("left", "right", "centre"):
        raise ValueError(f"align must be 'left', 'right' or 'centre', got {align!r}")
    width = text_width(font, text)
    _, top, _, bottom = font.getbbox("Ag")
    if align == "right":
        x -= width
    elif align == "centre":
        x -= width / 2
    if background is not None:
        draw.rectangle([round(x) - 3, round(y_middle - 8), round(x + width) + 3, round(y_middle + 7)], fill=background)
    draw.text((round(x), round(y_middle - (top + bottom) / 2)), drawable(font, text), font=font, fill=fill)
    return x, x + width


def tick_step(total_seconds: float, plot_width: float, min_spacing: float = 72) -> int:
    """Seconds between time-axis ticks: the smallest of 1, 2, 5, 10, 15, 30, 60, ... 7200 s (then
    multiples of 7200 s) that puts ticks at least ``min_spacing`` px apart on an axis of
    ``plot_width`` px for ``total_seconds`` s (tick spacing = ``step / total * width`` px)."""
    for step in _TICK_STEPS:
        if step / total_seconds * plot_width >= min_spacing:
            return step
    top = _TICK_STEPS[-1]
    return top * math.ceil(min_spacing * total_seconds / plot_width / top)
