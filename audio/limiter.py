"""A look-ahead true-peak limiter, computed in bounded chunks.

For a signal ``x`` ``[C, N]`` (already EQ'd), a make-up gain ``g`` and a ceiling ``c`` (linear):

1. **detection**: ``p_b`` = the largest ``|x|`` of block ``b`` (``BLOCK`` samples, every channel)
   after ``oversampling`` x band-limited upsampling (torchaudio's sinc resampler, 64 samples of
   context), so peaks between samples count;
2. **needed gain** ``n_b = min(1, c / (g p_b))``;
3. **hold and look-ahead**: ``m_b = min n_j`` over ``b - H - 1 <= j <= b + A + 1`` blocks
   (``A`` = ``lookahead_ms``, ``H`` = ``hold_ms``), so the gain is already down when a peak
   arrives and stays down through dense peaks;
4. **smoothing**: ``G_b`` = mean of ``m_j`` over ``b - A <= j <= b``: the gain ramps linearly down
   over the look-ahead and back up over the look-ahead after the hold. Every window that covers a
   peak's block also covers the peak, so ``G_b <= n_b`` everywhere: the detected peaks end at or
   under the ceiling. The output is ``y = g G x`` (``G`` constant within a block).

Gain changes over a few milliseconds shift peaks between samples by a little; callers aim a
``margin_db`` under the ceiling and check the result (:mod:`.preprocess`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

BLOCK = 16
"""Samples per detection block (0.36 ms at 44.1 kHz)."""
CHUNK_BLOCKS = 1 << 15
"""Blocks processed at a time (about 12 s at 44.1 kHz)."""


@dataclass(frozen=True)
class LimiterSettings:
    """Look-ahead and hold in milliseconds, true-peak oversampling factor, aim under the ceiling (dB)."""

    lookahead_ms: float = 5.0
    hold_ms: float = 20.0
    oversampling: int = 4
    margin_db: float = 0.15

    def validate(self) -> "LimiterSettings":
        for name in ("lookahead_ms", "hold_ms", "margin_db"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"limiter {name} must be a finite number, got {value!r}")
        if not 0.5 <= self.lookahead_ms <= 50:
            raise ValueError(f"limiter lookahead_ms must be within 0.5..50 ms, got {self.lookahead_ms}")
        if not 0 <= self.hold_ms <= 500:
            raise ValueError(f"limiter hold_ms must be within 0..500 ms, got {self.hold_ms}")
        if not 0 <= self.margin_db <= 3:
            raise ValueError(f"limiter margin_db must be within 0..3 dB, got {self.margin_db}")
        if self.oversampling not in (1, 2, 4, 8):
            raise ValueError(f"limiter oversampling must be 1, 2, 4 or 8, got {self.oversampling}")
        return self


def block_true_peaks(x: torch.Tensor, oversampling: int = 4, chunk: int = 1 << 19) -> np.ndarray:
    """``p_b`` of step 1 for ``x`` ``[C, N]`` float32 -> ``[ceil(N / BLOCK)]`` float32."""
    import torchaudio.functional as AF

    n = x.shape[-1]
    blocks = math.ceil(n / BLOCK)
    out = np.zeros(blocks, np.float32)
    context = 64
    chunk = max(BLOCK, chunk // BLOCK * BLOCK)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        lo, hi = max(0, start - context), min(n, stop + context)
        piece = x[:, lo:hi].to(torch.float32)
        if oversampling > 1:
            up = AF.resample(piece, 1, oversampling)[:, (start - lo) * oversampling: (stop - lo) * oversampling]
            mag = up.abs().amax(0).view(-1, oversampling).amax(1)
            mag = torch.maximum(mag, piece[:, start - lo: stop - lo].abs().amax(0))
        else:
            mag = piece[:, start - lo: stop - lo].abs().amax(0)
        count = math.ceil((stop - start) / BLOCK)
        mag = torch.nn.functional.pad(mag, (0, count * BLOCK - mag.shape[0]))
        out[start // BLOCK: start // BLOCK + count] = mag.view(count, BLOCK).amax(1).numpy()
    return out


def gain_curve(peaks: np.ndarray, gain: float, ceiling: float, rate: int, settings: LimiterSettings) -> np.ndarray:
    """``G_b`` of steps 2-4 (linear, 0..1) for block peaks ``peaks``, make-up ``gain`` and ``ceiling`` (linear)."""
    ahead = max(1, int(round(settings.lookahead_ms * 1e-3 * rate / BLOCK)))
    hold = max(0, int(round(settings.hold_ms * 1e-3 * rate / BLOCK)))
    need = np.minimum(1.0, ceiling / np.maximum(gain * peaks.astype(np.float64), 1e-30))
    if need.min() >= 1.0:
        return np.ones_like(peaks, dtype=np.float32)
    t = torch.from_numpy(need).view(1, 1, -1)
    left, right = hold + 1, ahead + 1
    padded = torch.nn.functional.pad(t, (left, right), value=1.0)
    m = -torch.nn.functional.max_pool1d(-padded, left + right + 1, stride=1)  # min over [b - H - 1, b + A + 1]
    m = m.view(-1).numpy()
    m = np.concatenate([np.full(ahead, m[0]), m])  # before the start: as the first block (covers its peak)
    csum = np.concatenate([[0.0], np.cumsum(m)])
    smooth = (csum[ahead + 1:] - csum[: -ahead - 1]) / (ahead + 1)  # mean over [b - A, b]
    return np.minimum(smooth[: len(peaks)], 1.0).astype(np.float32)


def apply_gain(x: torch.Tensor, gain: float, curve: np.ndarray) -> torch.Tensor:
    """``g G x`` for ``x`` ``[..., C, N]`` (``G`` per block, repeated over its samples), in place when possible."""
    n = x.shape[-1]
    for start in range(0, n, CHUNK_BLOCKS * BLOCK):
        stop = min(n, start + CHUNK_BLOCKS * BLOCK)
        g = torch.from_numpy(curve[start // BLOCK: math.ceil(stop / BLOCK)]).repeat_interleave(BLOCK)[: stop - start]
        x[..., start:stop] *= (gain * g).to(x.dtype)
    return x
