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
from collections.abc import Callable
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


class BlockPeakTracker:
    """``p_b`` of step 1 in a stream: :meth:`feed` ``[C, n]`` float32 chunks, then :meth:`finish`.

    The work is done in spans of ``chunk`` samples counted from the track's first sample (a
    multiple of ``BLOCK``), each oversampled with 64 samples of real context either side (zeros
    only at the track's ends), so the peaks do not depend on how the track is fed. A span is
    processed once the input reaches 64 samples past its end; the tracker holds at most
    ``chunk + 128`` samples plus the latest feed. ``keep=False`` keeps only the running maximum
    (the true peak of everything fed) instead of the ``ceil(N / BLOCK)`` float32 peaks (4 bytes
    per 16 samples: 40 MB for an hour at 44.1 kHz); ``expected`` (samples) sizes that array once.
    ``known(start, stop)``, with ``keep=False``: the peak of span ``[start, stop)`` when the caller
    already knows it (``None`` otherwise); such a span is not oversampled."""

    context = 64

    def __init__(self, oversampling: int = 4, chunk: int = 1 << 19, keep: bool = True, expected: int = 0,
                 known: Callable[[int, int], float | None] | None = None):
        self.oversampling = oversampling
        self.known = None if keep else known
        self.chunk = max(BLOCK, chunk // BLOCK * BLOCK)
        self.keep = keep
        self.peaks = np.zeros(math.ceil(max(expected, 1) / BLOCK) if keep else 0, np.float32)
        self.blocks = 0
        self.maximum = 0.0
        self.rest: torch.Tensor | None = None
        self.rest_start = 0  # track index of rest[:, 0]
        self.next_start = 0  # first sample of the next span to process

    def feed(self, x: torch.Tensor) -> None:
        buffer = torch.cat([self.rest, x], dim=-1) if self.rest is not None and self.rest.shape[-1] else x
        end = self.rest_start + buffer.shape[-1]
        while self.next_start + self.chunk + self.context <= end:
            self._span(buffer, self.next_start + self.chunk, end)
        keep_from = max(self.rest_start, self.next_start - self.context)
        self.rest = buffer[:, keep_from - self.rest_start:].clone()
        self.rest_start = keep_from

    def finish(self) -> None:
        """Process what is left; the input's end is the track's end."""
        if self.rest is None:
            return
        end = self.rest_start + self.rest.shape[-1]
        while self.next_start < end:
            self._span(self.rest, min(end, self.next_start + self.chunk), end)
        self.rest = None

    def _span(self, buffer: torch.Tensor, stop: int, end: int) -> None:
        import torchaudio.functional as AF

        start = self.next_start
        value = None if self.known is None else self.known(start, stop)
        if value is not None:
            self.maximum = max(self.maximum, value)
            self.blocks += math.ceil((stop - start) / BLOCK)
            self.next_start = stop
            return
        lo, hi = max(0, start - self.context), min(end, stop + self.context)
        piece = buffer[:, lo - self.rest_start: hi - self.rest_start].to(torch.float32)
        if self.oversampling > 1:
            up = AF.resample(piece, 1, self.oversampling)[:, (start - lo) * self.oversampling:
                                                          (stop - lo) * self.oversampling]
            mag = up.abs().amax(0).view(-1, self.oversampling).amax(1)
            mag = torch.maximum(mag, piece[:, start - lo: stop - lo].abs().amax(0))
        else:
            mag = piece[:, start - lo: stop - lo].abs().amax(0)
        count = math.ceil((stop - start) / BLOCK)
        mag = torch.nn.functional.pad(mag, (0, count * BLOCK - mag.shape[0])).view(count, BLOCK).amax(1).numpy()
        self.maximum = max(self.maximum, float(mag.max()))
        if self.keep:
            if self.blocks + count > len(self.peaks):
                grown = np.zeros(max(self.blocks + count, len(self.peaks) * 5 // 4), np.float32)
                grown[: self.blocks] = self.peaks[: self.blocks]
                self.peaks = grown
            self.peaks[self.blocks: self.blocks + count] = mag
        self.blocks += count
        self.next_start = stop

    def result(self) -> np.ndarray:
        """The block peaks ``[ceil(N / BLOCK)]`` float32 (after :meth:`finish`)."""
        return self.peaks[: self.blocks]

    def peak_db(self) -> float:
        """True peak of everything fed, ``20 log10(max p_b)`` (dBTP; ``-inf`` for silence)."""
        return 20 * math.log10(self.maximum) if self.maximum > 0 else -math.inf


def block_true_peaks(x: torch.Tensor, oversampling: int = 4, chunk: int = 1 << 19) -> np.ndarray:
    """``p_b`` of step 1 for ``x`` ``[C, N]`` float32 -> ``[ceil(N / BLOCK)]`` float32 (a
    :class:`BlockPeakTracker` fed the whole signal)."""
    tracker = BlockPeakTracker(oversampling, chunk, expected=x.shape[-1])
    tracker.feed(x)
    tracker.finish()
    return tracker.result()


def limiter_reach(settings: LimiterSettings, rate: int) -> tuple[int, int]:
    """``(A, H)``: look-ahead and hold in blocks, ``A = max(1, round(lookahead_ms 1e-3 rate / BLOCK))``,
    ``H = max(0, round(hold_ms 1e-3 rate / BLOCK))``."""
    ahead = max(1, int(round(settings.lookahead_ms * 1e-3 * rate / BLOCK)))
    hold = max(0, int(round(settings.hold_ms * 1e-3 * rate / BLOCK)))
    return ahead, hold


def limits(peaks: np.ndarray, gain: float, ceiling: float) -> bool:
    """True when some block needs limiting: ``n_b < 1`` for the largest peak (``n_b`` falls as ``p_b``
    rises, so this is ``min_b n_b < 1``, i.e. :func:`gain_curve` is below 1 somewhere)."""
    top = float(peaks.max()) if len(peaks) else 0.0
    return ceiling / max(gain * top, 1e-30) < 1.0


def gain_curve(peaks: np.ndarray, gain: float, ceiling: float, rate: int, settings: LimiterSettings,
               start: int = 0, stop: int | None = None) -> np.ndarray:
    """``G_b`` of steps 2-4 (linear, 0..1) for blocks ``start <= b < stop`` (default: all), from
    block peaks ``peaks`` (the whole track's), make-up ``gain`` and ``ceiling`` (linear).

    ``G_b`` reads ``p_j`` for ``b - A - H - 1 <= j <= b + A + 1`` only, and every window (the
    minimum and the mean, :func:`torch.nn.functional.max_pool1d` / ``avg_pool1d``) is reduced on
    its own, so a range gives the same values, bit for bit, as the same blocks of the whole curve.
    Long ranges run in pieces of ``CHUNK_BLOCKS`` (bounded temporaries)."""
    stop = len(peaks) if stop is None else min(stop, len(peaks))
    start = max(0, min(start, stop))
    out = np.empty(stop - start, np.float32)
    for lo in range(start, stop, CHUNK_BLOCKS):
        hi = min(stop, lo + CHUNK_BLOCKS)
        out[lo - start: hi - start] = _curve_range(peaks, gain, ceiling, rate, settings, lo, hi)
    return out


def _curve_range(peaks: np.ndarray, gain: float, ceiling: float, rate: int, settings: LimiterSettings,
                 start: int, stop: int) -> np.ndarray:
    ahead, hold = limiter_reach(settings, rate)
    first, last = start - ahead - hold - 1, stop + ahead + 1  # p_j needed: first <= j < last
    lo, hi = max(0, first), min(len(peaks), last)
    need = np.minimum(1.0, ceiling / np.maximum(gain * peaks[lo:hi].astype(np.float64), 1e-30))
    if need.min() >= 1.0:
        return np.ones(stop - start, np.float32)
    t = torch.from_numpy(need).view(1, 1, -1)
    padded = torch.nn.functional.pad(t, (lo - first, last - hi), value=1.0)  # n_j = 1 outside the track
    width = hold + ahead + 3
    # m_b for b in [start - A, stop): the minimum of n_j over [b - H - 1, b + A + 1]
    m = -torch.nn.functional.max_pool1d(-padded, width, stride=1)
    m = m.view(-1)
    if start - ahead < 0:  # before the start: as the first block (covers its peak)
        m[: ahead - start] = m[ahead - start]
    smooth = torch.nn.functional.avg_pool1d(m.view(1, 1, -1), ahead + 1, stride=1).view(-1)  # mean over [b - A, b]
    return np.minimum(smooth.numpy(), 1.0).astype(np.float32)


def apply_gain(x: torch.Tensor, gain: float, curve: np.ndarray, skip: int = 0) -> torch.Tensor:
    """``g G x`` for ``x`` ``[..., C, n]`` in place (``G`` per block, repeated over its samples).

    ``curve[0]`` is the gain of the block holding ``x[..., 0]``, which is sample ``skip`` (0..15)
    of that block: a chunk starting at track sample ``s`` takes ``curve = G[s // BLOCK:]`` and
    ``skip = s % BLOCK``."""
    n = x.shape[-1]
    step = CHUNK_BLOCKS * BLOCK
    for start in range(0, n, step):
        stop = min(n, start + step)
        a = skip + start
        g = torch.from_numpy(curve[a // BLOCK: math.ceil((skip + stop) / BLOCK)]).repeat_interleave(BLOCK)
        g = g[a % BLOCK: a % BLOCK + stop - start]
        x[..., start:stop] *= (gain * g).to(x.dtype)
    return x
