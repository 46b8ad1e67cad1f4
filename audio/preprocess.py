"""Prepare a track for lip sync: EQ toward the consonant bands, loudness to -16 LUFS, -2 dBTP ceiling.

The chain, every value a field of :class:`PreprocessSettings` (defaults in brackets):

1. high-pass at ``highpass_hz`` [80 Hz] (2nd order, Q ``highpass_q`` [0.707]): rumble out;
2. peaking bells of width ``q`` [1.0] at ``cut1_hz`` / ``cut1_db`` [200 Hz, -3 dB] (boom) and
   ``cut2_hz`` / ``cut2_db`` [400 Hz, -2 dB] (box), ``presence_hz`` / ``presence_db``
   [3 kHz, +4 dB] (intelligibility) and ``sibilance_hz`` / ``sibilance_db`` [6.5 kHz, +3 dB];
3. a gain ``g = target_lufs - L`` [target -16 LUFS], with ``L`` the BS.1770 integrated loudness
   after EQ, limited to ``max_gain_db`` [+30 dB] so a near-silent input is not blown up into noise;
4. the ceiling: a look-ahead true-peak limiter (:mod:`.limiter`, 4x oversampled detection) holds
   the peaks ``margin_db`` under ``ceiling_dbtp`` [-2 dBTP]. Limiting lowers the loudness, so the
   gain is raised by the shortfall and the limiter rerun until the measured loudness is within
   0.05 LU of the target (secant steps, at most ``MAX_ROUNDS`` rounds); the true peak of the
   result is then measured (4x; a span the limiter left alone as ``g`` times its block peaks,
   :meth:`Levelling.unlimited_peak`) and, should it still be above the ceiling, one more limiter
   pass with unity gain brings it under.

The EQ is torchaudio's biquads in float64, run as one FFT overlap-add convolution with the
chain's impulse response (:mod:`.equaliser`: same samples, several times faster than
``lfilter``). A stage whose frequency is not below 0.45 x the sample rate is skipped (noted in
the report). Every batch item gets its own gain; silence and audio shorter than one 400 ms
loudness block keep their level (gain 0 dB).

Steps 3-4 work on a signal they can *replay*: a callable giving the EQ'd signal again as
``[C, n]`` float32 chunks (:class:`Levelling`, :func:`plan_levelling`). Every quantity is
accumulated chunk by chunk with state carried across chunks (BS.1770 frame energies,
:class:`.limiter.BlockPeakTracker` on the track's own grid, the limiter's gain curve per block
range), so the result does not depend on the chunking: :func:`preprocess_audio` replays slices of
the EQ'd waveform it holds, :func:`.preprocess_file.preprocess_file` decodes and equalises the
file again for each pass and holds only the block peaks (4 bytes per 16 samples) and chunks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from .equaliser import _biquad_chain, chain_impulse_response, equalise  # noqa: F401 (re-exported)
from .limiter import (
    BLOCK,
    CHUNK_BLOCKS,
    BlockPeakTracker,
    LimiterSettings,
    apply_gain,
    block_true_peaks,
    gain_curve,
    limiter_reach,
    limits,
)
from .preprocess_settings import PreprocessSettings  # noqa: F401 (re-exported)
from .progress import report
from .waveform import check_audio

MAX_ROUNDS = 8
"""Gain / limiter rounds at most (three or four are usual)."""
SLICE = 1 << 20
"""Samples per slice when the in-memory path walks a held waveform."""

Replay = Callable[[str], Iterator[torch.Tensor]]
"""``replay(stage)``: the EQ'd signal again, in order, as fresh ``[C, n]`` float32 chunks the
caller may change; ``stage`` names the pass for progress."""


@dataclass
class ItemReport:
    """Before/after figures of one batch item (LUFS, dBTP, dB); the after figures are measured on
    the output (BS.1770 integrated loudness, 4x true peak). ``peak_before`` is the fast estimate."""

    lufs_before: float
    peak_before: float
    lufs_after: float
    peak_after: float
    gain_db: float
    ceiling_limited: bool
    """True when the limiter reduced the gain anywhere."""
    limiting_db: float = 0.0
    """Largest gain reduction of the limiter (dB, >= 0)."""
    limited_fraction: float = 0.0
    """Share of the time the limiter reduced the gain (0..1)."""


class LoudnessMeter:
    """BS.1770 integrated loudness (LUFS) of a signal fed in ``[C, n]`` chunks: the K-weighted
    energies of ~46 ms frames (:func:`.loudness.measure_loudness`'s method; O(duration / 46 ms)
    memory) gated at the end. Any chunking gives the same frames."""

    def __init__(self, rate: int, channels: int):
        from .features import _LoudnessFrames

        self.rate, self.channels, self.samples = rate, channels, 0
        self.frames = _LoudnessFrames(rate, channels)

    def feed(self, chunk) -> None:
        chunk = chunk.numpy() if isinstance(chunk, torch.Tensor) else chunk
        self.frames.feed(chunk)
        self.samples += chunk.shape[-1]

    def lufs(self) -> float:
        """The loudness of everything fed (call once, at the end)."""
        from .features import frames_loudness

        self.frames.feed(np.zeros((self.channels, 0), np.float32), final=True)
        return frames_loudness(self.frames.result(self.channels), self.frames.frame_seconds, self.samples / self.rate)


class InputMeter:
    """``lufs_before`` and ``peak_before`` of the report, fed the unprocessed chunks: loudness as
    :class:`LoudnessMeter`, true peak by the analysis' estimate (the loudest 2,048-sample blocks
    oversampled 4x, :class:`.features._PeakTracker`)."""

    def __init__(self, rate: int, channels: int):
        from .features import _PeakTracker

        self.loudness = LoudnessMeter(rate, channels)
        self.peaks = _PeakTracker(channels)

    def feed(self, chunk: np.ndarray) -> None:
        self.loudness.feed(chunk)
        self.peaks.feed(chunk)

    def result(self) -> tuple[float, float]:
        """``(LUFS, dBTP)``."""
        return self.loudness.lufs(), self.peaks.finish()[1]


class OutputMeter:
    """``lufs_after`` and ``peak_after`` (LUFS, dBTP) of the output, fed its chunks: loudness as
    :class:`LoudnessMeter`, true peak as the largest 4x-oversampled block peak
    (:class:`.limiter.BlockPeakTracker` without keeping the blocks; 4x whatever the limiter's
    detection, as :func:`.loudness.true_peak_db`). The final ceiling check reads this peak.

    With the ``level`` that made the output, a span the limiter left alone is not oversampled
    again (:meth:`Levelling.unlimited_peak`): there the output is ``g y`` and its peak ``g max p_b``."""

    def __init__(self, rate: int, channels: int, level: Levelling | None = None):
        from .loudness import TRUE_PEAK_OVERSAMPLING

        self.loudness = LoudnessMeter(rate, channels)
        known = level.unlimited_peak if level is not None and level.oversampling == TRUE_PEAK_OVERSAMPLING else None
        self.peaks = BlockPeakTracker(TRUE_PEAK_OVERSAMPLING, keep=False, known=known)

    def feed(self, chunk: torch.Tensor) -> None:
        self.loudness.feed(chunk)
        self.peaks.feed(chunk)

    def result(self) -> tuple[float, float]:
        self.peaks.finish()
        return self.loudness.lufs(), self.peaks.peak_db()


@dataclass
class Levelling:
    """Steps 3-4 decided for one item: ``y = g G x`` with make-up ``g = 10^(gain_db / 20)`` and the
    limiter's ``G`` from the EQ'd signal's block peaks ``peaks`` (``None``: silent or too short,
    nothing is applied) against ``ceiling`` (linear, ``ceiling_dbtp - margin_db``); ``more``: the
    block peaks of that output when its true peak still passed the ceiling, for one more limiter
    pass at unity gain (``y' = G' y``)."""

    gain_db: float
    peaks: np.ndarray | None
    ceiling: float
    rate: int
    limiter: LimiterSettings
    more: np.ndarray | None = None

    @property
    def gain(self) -> float:
        return 10 ** (self.gain_db / 20)

    @property
    def oversampling(self) -> int:
        return self.limiter.oversampling

    def limits(self) -> bool:
        return self.peaks is not None and limits(self.peaks, self.gain, self.ceiling)

    def unlimited_peak(self, start: int, stop: int) -> float | None:
        """The 4x true peak of output samples ``[start, stop)`` when the limiter left them and 64
        samples either side alone (``G_b = 1``, no extra pass): ``g max p_b`` over their blocks,
        which is what oversampling ``g y`` gives (up to float rounding; the resampler is linear).
        ``G_b = 1`` for ``lo <= b < hi`` exactly when no ``n_j < 1`` for
        ``lo - A - H - 1 <= j <= hi + A`` (:mod:`.limiter`); ``None`` when that does not hold."""
        if self.peaks is None or self.more is not None:
            return None
        ahead, hold = limiter_reach(self.limiter, self.rate)
        lo, hi = max(0, start - 64) // BLOCK, math.ceil((stop + 64) / BLOCK)
        window = self.peaks[max(0, lo - ahead - hold - 1): hi + ahead + 1]
        if limits(window, self.gain, self.ceiling):
            return None
        own = self.peaks[start // BLOCK: math.ceil(stop / BLOCK)]
        return self.gain * float(own.max()) if len(own) else 0.0

    def apply(self, chunk: torch.Tensor, first: int, extra_only: bool = False) -> torch.Tensor:
        """Apply to ``chunk`` ``[C, n]`` (track samples ``first .. first + n``) in place: ``g G``
        then, with :attr:`more`, ``G'``; ``extra_only``: ``G'`` alone (on an output that has ``g G``)."""
        if self.peaks is None:
            return chunk
        lo, hi = first // BLOCK, math.ceil((first + chunk.shape[-1]) / BLOCK)
        if not extra_only:
            apply_gain(chunk, self.gain, gain_curve(self.peaks, self.gain, self.ceiling, self.rate, self.limiter,
                                                    lo, hi), first - lo * BLOCK)
        if self.more is not None:
            apply_gain(chunk, 1.0, gain_curve(self.more, 1.0, self.ceiling, self.rate, self.limiter, lo, hi),
                       first - lo * BLOCK)
        return chunk

    def stats(self) -> tuple[float, float]:
        """``(limiting_db, limited_fraction)``: ``-20 log10(min_b G_b G'_b)`` and the share of
        blocks with ``G_b G'_b < 0.9999``."""
        if self.peaks is None:
            return 0.0, 0.0
        smallest, limited = 1.0, 0
        for lo in range(0, len(self.peaks), CHUNK_BLOCKS):
            curve = gain_curve(self.peaks, self.gain, self.ceiling, self.rate, self.limiter, lo, lo + CHUNK_BLOCKS)
            if self.more is not None:
                curve = curve * gain_curve(self.more, 1.0, self.ceiling, self.rate, self.limiter, lo, lo + CHUNK_BLOCKS)
            smallest = min(smallest, float(curve.min()))
            limited += int((curve < 0.9999).sum())
        return -20 * math.log10(max(smallest, 1e-12)), limited / max(1, len(self.peaks))


def limited_loudness(replay: Replay, level: Levelling, channels: int, stage: str) -> float:
    """Loudness (LUFS) of ``g G y`` over one replay of ``y``, never holding it."""
    meter = LoudnessMeter(level.rate, channels)
    done = 0
    for chunk in replay(stage):
        level.apply(chunk, done)
        meter.feed(chunk)
        done += chunk.shape[-1]
    return meter.lufs()


def plan_levelling(replay: Replay, peaks: np.ndarray, channels: int, rate: int, settings: PreprocessSettings,
                   limiter: LimiterSettings, lufs_eq: float) -> Levelling:
    """Steps 3-4 (module docstring): the gain ``g = target - L`` (capped), then while the limiter
    acts and the loudness reached misses the target by 0.05 LU or more, a secant step
    ``g += shortfall / slope`` (slope in LU per dB from the last two rounds, within 0.05..1; 1 at
    first). Each round replays the signal once (:func:`limited_loudness`)."""
    ceiling = 10 ** ((settings.ceiling_dbtp - limiter.margin_db) / 20)
    if not math.isfinite(lufs_eq):
        return Levelling(0.0, None, ceiling, rate, limiter)
    gain_db = min(settings.target_lufs - lufs_eq, settings.max_gain_db)
    previous = None
    for round_index in range(MAX_ROUNDS):
        level = Levelling(gain_db, peaks, ceiling, rate, limiter)
        if not level.limits():
            break  # no limiting: the gain alone reaches the target
        reached = limited_loudness(replay, level, channels, f"limiter round {round_index + 1}")
        shortfall = settings.target_lufs - reached
        if abs(shortfall) < 0.05 or gain_db >= settings.max_gain_db:
            break
        # secant step: limiting harder gives less than 1 LU per dB of gain
        slope = 1.0
        if previous is not None and abs(gain_db - previous[0]) > 1e-6:
            slope = min(1.0, max(0.05, (reached - previous[1]) / (gain_db - previous[0])))
        previous = (gain_db, reached)
        gain_db = min(gain_db + shortfall / slope, settings.max_gain_db)
    return Levelling(gain_db, peaks, ceiling, rate, limiter)


def _slices(x: torch.Tensor) -> Iterator[tuple[int, torch.Tensor]]:
    for start in range(0, x.shape[-1], SLICE):
        yield start, x[..., start: start + SLICE]


def _level_held(y: torch.Tensor, rate: int, settings: PreprocessSettings, limiter: LimiterSettings,
                progress, fraction: Callable[[float], float]) -> tuple[Levelling, float, float]:
    """Steps 3-4 on one held EQ'd item ``[C, N]`` float32, in place: the levelling and the output's
    ``(LUFS, dBTP)``."""
    channels = y.shape[0]
    report(progress, "measuring", fraction(0.3))
    meter = LoudnessMeter(rate, channels)
    for _, piece in _slices(y):
        meter.feed(piece)
    peaks = block_true_peaks(y, limiter.oversampling)

    def replay(stage: str) -> Iterator[torch.Tensor]:
        report(progress, stage, fraction(0.5))
        return (piece.clone() for _, piece in _slices(y))

    level = plan_levelling(replay, peaks, channels, rate, settings, limiter, meter.lufs())
    report(progress, "limiting", fraction(0.8))
    for start, piece in _slices(y):
        level.apply(piece, start)
    lufs_after, peak_after = _measure_held(y, rate, level)
    if level.peaks is not None and peak_after > settings.ceiling_dbtp:
        # modulation put a peak a hair over: one more pass at unity gain
        level.more = block_true_peaks(y, limiter.oversampling)
        for start, piece in _slices(y):
            level.apply(piece, start, extra_only=True)
        lufs_after, peak_after = _measure_held(y, rate, level)
    return level, lufs_after, peak_after


def _measure_held(y: torch.Tensor, rate: int, level: Levelling) -> tuple[float, float]:
    meter = OutputMeter(rate, y.shape[0], level)
    for _, piece in _slices(y):
        meter.feed(piece)
    return meter.result()


def preprocess_audio(audio: dict, settings: PreprocessSettings | None = None, limiter: LimiterSettings | None = None,
                     progress=None) -> tuple[dict, list[ItemReport], list[str]]:
    """Run the chain (module docstring) on every batch item of an AUDIO value.

    Returns the new AUDIO (same shape, dtype, device and sample rate), one :class:`ItemReport` per
    batch item and notes (skipped stages). Works item by item in float32 (the EQ in float64
    blocks): the memory is the input, the output and a few block-sized buffers.
    """
    settings = (settings or PreprocessSettings()).validate()
    limiter = (limiter or LimiterSettings()).validate()
    waveform, rate = check_audio(audio)
    source = waveform.detach()
    out_dtype = source.dtype if source.is_floating_point() else torch.float32
    out = torch.empty(source.shape, dtype=out_dtype, device=source.device)
    reports, notes = [], []
    items = source.shape[0]
    for i in range(items):
        x = source[i].to("cpu", torch.float32)
        report(progress, "measuring", i / items)
        before = InputMeter(rate, x.shape[0])
        for _, piece in _slices(x):
            before.feed(piece.numpy())
        lufs_before, peak_before = before.result()
        report(progress, "equalising", (i + 0.2) / items)
        y, notes = equalise(x, rate, settings)
        del x
        level, lufs_after, peak_after = _level_held(y, rate, settings, limiter, progress,
                                                     lambda f, i=i: (i + f) / items)
        limiting_db, fraction = level.stats()
        reports.append(ItemReport(lufs_before, peak_before, lufs_after, peak_after, level.gain_db,
                                  limiting_db > 0.005, limiting_db, fraction))
        if not bool(torch.isfinite(y).all()):  # cannot happen with finite gains; never hand on NaN
            raise ValueError("preprocessing produced non-finite samples; please report this input")
        out[i] = y.to(device=source.device, dtype=out_dtype)
        report(progress, "limiting", (i + 1) / items)
    return {"waveform": out, "sample_rate": rate}, reports, notes


def format_preprocess_report(reports: list[ItemReport], settings: PreprocessSettings, notes: list[str]) -> str:
    """A short before/after report, one line per batch item."""
    s = settings
    head = (f"EQ: HP {s.highpass_hz:g} Hz, {s.cut1_hz:g} Hz {s.cut1_db:+g} dB, {s.cut2_hz:g} Hz {s.cut2_db:+g} dB, "
            f"{s.presence_hz:g} Hz {s.presence_db:+g} dB, {s.sibilance_hz:g} Hz {s.sibilance_db:+g} dB (Q {s.q:g}); "
            f"target {s.target_lufs:g} LUFS, true-peak limiter at {s.ceiling_dbtp:g} dBTP")
    lines = [head]
    for i, r in enumerate(reports):
        prefix = f"item {i}: " if len(reports) > 1 else ""
        if not math.isfinite(r.lufs_before):
            lines.append(f"{prefix}silent or shorter than 0.4 s: level unchanged (gain 0 dB)")
            continue
        tail = (f", limiter up to {r.limiting_db:.1f} dB on {100 * r.limited_fraction:.1f}% of the time"
                if r.ceiling_limited else ", no limiting")
        if r.gain_db >= s.max_gain_db - 1e-9:
            tail += f" (gain capped at +{s.max_gain_db:g} dB)"
        lines.append(
            f"{prefix}{r.lufs_before:.1f} LUFS / {r.peak_before:.1f} dBTP -> measured {r.lufs_after:.1f} LUFS / "
            f"{r.peak_after:.1f} dBTP; gain {r.gain_db:+.1f} dB{tail}"
        )
    lines.extend(f"note: {n}" for n in notes)
    return "\n".join(lines)
