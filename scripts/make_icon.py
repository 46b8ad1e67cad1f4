"""Draw the pack's registry icon, ``docs/icon.png``: a 400 x 400 px square.

A ring of audio bars (the track, looped) around a play triangle (the video), on a dark tile.
Deterministic: the same Pillow gives the same bytes. Run from a clone:
``.venv/bin/python scripts/make_icon.py``.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZE = 400          # px, the registry's maximum edge
SUPERSAMPLE = 4     # drawn at 4x and downsampled for smooth edges
BARS = 72           # audio bars around the ring
BACKGROUND = (22, 27, 46)
RING = ((42, 157, 143), (233, 196, 106), (231, 111, 81))  # colours along the ring, as in the workflows' groups
PLAY = (244, 241, 222)


def _ring_colour(fraction: float) -> tuple[int, int, int]:
    """Linear blend along RING for ``fraction`` in [0, 1)."""
    position = fraction * len(RING)
    a, b = RING[int(position) % len(RING)], RING[(int(position) + 1) % len(RING)]
    t = position - int(position)
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))


def draw_icon():
    from PIL import Image, ImageDraw

    big = SIZE * SUPERSAMPLE
    image = Image.new("RGB", (big, big), BACKGROUND)
    draw = ImageDraw.Draw(image)
    centre = big / 2
    inner = big * 0.27
    for index in range(BARS):
        angle = 2 * math.pi * index / BARS - math.pi / 2
        # a made-up but deterministic "song": two beats and a slow swell, amplitude 0.25..1
        amplitude = 0.25 + 0.75 * abs(math.sin(index * 0.55) * 0.6 + math.sin(index * 0.17) * 0.4)
        outer = inner + big * 0.19 * amplitude
        width = big * 0.016
        x0, y0 = centre + inner * math.cos(angle), centre + inner * math.sin(angle)
        x1, y1 = centre + outer * math.cos(angle), centre + outer * math.sin(angle)
        draw.line((x0, y0, x1, y1), fill=_ring_colour(index / BARS), width=round(width))
    radius = big * 0.17
    triangle = [(centre - radius * 0.5, centre - radius * 0.85), (centre - radius * 0.5, centre + radius * 0.85),
                (centre + radius * 0.95, centre)]
    draw.polygon(triangle, fill=PLAY)
    return image.resize((SIZE, SIZE), Image.LANCZOS)


def main() -> int:
    out = ROOT / "docs" / "icon.png"
    from ltx_audioloop.safeio import atomic_output

    with atomic_output(out) as temporary:
        draw_icon().save(temporary, format="PNG", optimize=True)
    print(out.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
