"""sRGB to CIE L*a*b* (D65) and colour differences.

Steps for 8-bit sRGB ``c`` in 0..255 (IEC 61966-2-1, CIE 15):

1. ``s = c / 255``; linear ``l = s / 12.92`` if ``s <= 0.04045`` else ``((s + 0.055) / 1.055) ** 2.4``;
2. ``XYZ = M @ l`` with the sRGB/D65 matrix ``M`` below (Y of white = 1);
3. normalise by the D65 white ``(0.95047, 1, 1.08883)``;
4. ``f(t) = t ** (1/3)`` if ``t > (6/29)**3`` else ``t / (3 (6/29)**2) + 4/29``;
5. ``L* = 116 f(Y) - 16``, ``a* = 500 (f(X) - f(Y))``, ``b* = 200 (f(Y) - f(Z))``.

``L*`` is 0..100; white maps to (100, 0, 0), sRGB red to about (53.24, 80.09, 67.20).
"""

from __future__ import annotations

import numpy as np

SRGB_TO_XYZ = np.array([
    [0.4124564, 0.3575761, 0.1804375],
    [0.2126729, 0.7151522, 0.0721750],
    [0.0193339, 0.1191920, 0.9503041],
])
D65_WHITE = np.array([0.95047, 1.0, 1.08883])
_DELTA = 6.0 / 29.0


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    """sRGB 0..255 (any shape ``(..., 3)``) to linear light 0..1 (float64)."""
    s = np.asarray(rgb, dtype=np.float64) / 255.0
    return np.where(s <= 0.04045, s / 12.92, ((s + 0.055) / 1.055) ** 2.4)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB 0..255 ``(..., 3)`` to CIE L*a*b* (D65) ``(..., 3)``; see module steps."""
    rgb = np.asarray(rgb)
    if rgb.shape[-1:] != (3,):
        raise ValueError(f"rgb must have 3 channels in its last axis, got shape {rgb.shape}")
    xyz = srgb_to_linear(rgb) @ SRGB_TO_XYZ.T / D65_WHITE
    f = np.where(xyz > _DELTA**3, np.cbrt(xyz), xyz / (3 * _DELTA**2) + 4.0 / 29.0)
    lab = np.empty_like(f)
    lab[..., 0] = 116.0 * f[..., 1] - 16.0
    lab[..., 1] = 500.0 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200.0 * (f[..., 1] - f[..., 2])
    return lab


def delta_e76(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIE 1976 colour difference: Euclidean distance in L*a*b* (about 1 = just noticeable, 2.3 JND)."""
    return np.sqrt(np.sum((np.asarray(lab1, dtype=np.float64) - np.asarray(lab2, dtype=np.float64)) ** 2, axis=-1))
