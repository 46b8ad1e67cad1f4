"""Watermark overlay: an RGBA image composited onto every output frame.

``out = frame * (1 - a) + mark * a`` with ``a = alpha / 255 * opacity``; the mark is scaled to
``scale`` of the frame width (aspect kept) and placed ``margin`` pixels from the chosen corner.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

ENV_WATERMARK = "LTX_AUDIOLOOP_WATERMARK"
POSITIONS = ("br", "bl", "tr", "tl")


class Watermark:
    """A loaded, scaled watermark ready to composite onto ``width x height`` RGB frames."""

    def __init__(self, path: str | Path, width: int, height: int, *, scale: float = 0.15, opacity: float = 1.0,
                 position: str = "br", margin: int = 8):
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"watermark {path}: no such file; refusing to assemble without it")
        if position not in POSITIONS:
            raise ValueError(f"watermark position {position!r}: use one of {', '.join(POSITIONS)}")
        if not 0 < scale <= 1 or not 0 < opacity <= 1:
            raise ValueError(f"watermark scale and opacity must be in (0, 1], got {scale} and {opacity}")
        try:
            with Image.open(path) as img:
                mark = img.convert("RGBA")
        except OSError as err:
            raise ValueError(f"watermark {path}: not a readable image: {err}") from None
        w = max(1, min(width - 2 * margin, int(round(width * scale))))
        h = max(1, min(height - 2 * margin, int(round(mark.height * w / mark.width))))
        rgba = np.asarray(mark.resize((w, h), Image.LANCZOS), dtype=np.float32)
        self.rgb = rgba[..., :3]
        self.alpha = rgba[..., 3:] / 255.0 * opacity
        x = margin if position[1] == "l" else width - margin - w
        y = margin if position[0] == "t" else height - margin - h
        self.box = (slice(y, y + h), slice(x, x + w))

    def apply(self, frame: np.ndarray) -> np.ndarray:
        """Composite onto an ``(H, W, 3)`` uint8 frame (returns a new array)."""
        out = frame.copy()
        region = out[self.box].astype(np.float32)
        out[self.box] = np.clip(region * (1 - self.alpha) + self.rgb * self.alpha + 0.5, 0, 255).astype(np.uint8)
        return out


def watermark_path(given: str | Path | None) -> Path | None:
    """``--watermark``, else ``$LTX_AUDIOLOOP_WATERMARK`` (so a service can make it mandatory), else None."""
    if given:
        return Path(given)
    env = os.environ.get(ENV_WATERMARK)
    return Path(env) if env else None
