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
   0.05 LU of the target (secant steps, at most ``MAX_ROUNDS`` rounds); the true peak of the result is then
   measured (4x, every sample) and, should it still be above the ceiling, one more limiter pass
   with unity gain brings it under.

Filters are torchaudio's biquads (``highpass_biquad``, ``equalizer_biquad``) in float64; the chain
is linear and time-invariant, so it runs as one FFT convolution with the chain's impulse response
(the biquads applied to an impulse), which gives the same samples several times faster than
torchaudio's sample-by-sample ``lfilter``. A bell whose centre is not below 0.45 x the
sample rate is skipped (noted in the report). Every batch item gets its own gain; silence and
audio shorter than one 400 ms loudness block keep their level (gain 0 dB).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .limiter import LimiterSettings, apply_gain, block_true_peaks, gain_curve
from .loudness import measure_loudness, true_peak_db, true_peak_estimate_db
from .preprocess_settings import PreprocessSettings  # noqa: F401 (re-exported)
from .waveform import check_audio

MAX_ROUNDS = 8
"""Gain / limiter rounds at most (three or four are usual)."""




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


def _biquad_chain(x: torch.Tensor, sample_rate: int, settings: PreprocessSettings) -> tuple[torch.Tensor, list[str]]:
    """Stages 1-2 with torchaudio's biquads on ``[..., N]`` float64 already inside +-0.25."""
    import torchaudio.functional as AF

    notes = []
    nyquist_limit = 0.45 * sample_rate
    if settings.highpass_hz > 0:
        if settings.highpass_hz < nyquist_limit:
            x = AF.highpass_biquad(x, sample_rate, settings.highpass_hz, settings.highpass_q)
        else:
            notes.append(f"high-pass {settings.highpass_hz:g} Hz skipped (above 0.45 x {sample_rate} Hz)")
    for centre, gain in settings.bells():
        if gain == 0:
            continue
        if centre >= nyquist_limit:
            notes.append(f"{centre:g} Hz bell skipped (above 0.45 x {sample_rate} Hz)")
            continue
        x = AF.equalizer_biquad(x, sample_rate, centre, gain, settings.q)
    return x, notes


def chain_impulse_response(sample_rate: int, settings: PreprocessSettings) -> tuple[torch.Tensor, list[str]]:
    """Impulse response ``h`` of the EQ chain: torchaudio's biquads run on a unit impulse (scaled
    by 0.1 against their clamp, then scaled back), long enough that the energy left past its end
    is below 1e-14 of the total (at most 2^20 samples)."""
    length = 1 << max(12, math.ceil(math.log2(sample_rate * 0.25)))
    while True:
        impulse = torch.zeros(length, dtype=torch.float64)
        impulse[0] = 0.1
        h, notes = _biquad_chain(impulse, sample_rate, settings)
        h = h / 0.1
        energy = h.square()
        tail = float(energy[length // 2:].sum()) / max(float(energy.sum()), 1e-300)
        if tail < 1e-14 or length >= 1 << 20:
            return h[: length // 2], notes
        length *= 2


def equalise(waveform: torch.Tensor, sample_rate: int, settings: PreprocessSettings,
             fft_size: int = 1 << 18) -> tuple[torch.Tensor, list[str]]:
    """The EQ stages (1-2) on ``[..., N]``: the chain's impulse response (:func:`chain_impulse_response`)
    applied by FFT overlap-add (``fft_size``-point transforms in float64, blocks of
    ``fft_size - len(h) + 1`` samples). Same samples as running the biquads one by one (the tail
    left out is below -140 dB), many times faster than torchaudio's sample-by-sample ``lfilter``.
    Returns the input's floating dtype (float32 in, float32 out: one extra waveform of memory) and
    notes on skipped stages."""
    h, notes = chain_impulse_response(sample_rate, settings)
    x = waveform if waveform.is_floating_point() else waveform.to(torch.float32)
    n, taps = x.shape[-1], h.shape[0]
    size = max(fft_size, 1 << math.ceil(math.log2(2 * taps)))
    block = size - taps + 1
    spectrum = torch.fft.rfft(h, n=size)
    out = torch.zeros_like(x)
    for start in range(0, n, block):
        piece = torch.fft.irfft(torch.fft.rfft(x[..., start: start + block].to(torch.float64), n=size) * spectrum,
                                n=size)
        stop = min(n, start + size)
        out[..., start:stop] += piece[..., : stop - start].to(out.dtype)
    return out, notes


def _limited_loudness(y: torch.Tensor, rate: int, gain: float, curve, chunk: int = 1 << 20) -> float:
    """Loudness of ``gain * G * y`` without holding it (chunk by chunk)."""
    from .features import _LoudnessFrames, frames_loudness

    frames = _LoudnessFrames(rate, y.shape[0])
    n = y.shape[-1]
    for start in range(0, n, chunk):
        piece = y[..., start: start + chunk].clone()
        stop = start + piece.shape[-1]
        apply_gain(piece, gain, curve[start // 16: -(-stop // 16)])
        frames.feed(piece.numpy(), final=stop >= n)
    return frames_loudness(frames.result(y.shape[0]), frames.frame_seconds, n / rate)


def _level_item(y: torch.Tensor, rate: int, settings: PreprocessSettings, limiter: LimiterSettings,
                lufs_eq: float) -> tuple[float, float, float]:
    """Steps 3-4 on one EQ'd item ``[C, N]`` float32, in place: ``(gain_db, limiting_db, limited_fraction)``."""
    if not math.isfinite(lufs_eq):
        return 0.0, 0.0, 0.0
    gain_db = min(settings.target_lufs - lufs_eq, settings.max_gain_db)
    ceiling = 10 ** ((settings.ceiling_dbtp - limiter.margin_db) / 20)
    peaks = block_true_peaks(y, limiter.oversampling)
    previous = None
    for _ in range(MAX_ROUNDS):
        curve = gain_curve(peaks, 10 ** (gain_db / 20), ceiling, rate, limiter)
        if curve.min() >= 1.0:
            break  # no limiting: the gain alone reaches the target
        reached = _limited_loudness(y, rate, 10 ** (gain_db / 20), curve)
        shortfall = settings.target_lufs - reached
        if abs(shortfall) < 0.05 or gain_db >= settings.max_gain_db:
            break
        # secant step: limiting harder gives less than 1 LU per dB of gain
        slope = 1.0
        if previous is not None and abs(gain_db - previous[0]) > 1e-6:
            slope = min(1.0, max(0.05, (reached - previous[1]) / (gain_db - previous[0])))
        previous = (gain_db, reached)
        gain_db = min(gain_db + shortfall / slope, settings.max_gain_db)
    curve = gain_curve(peaks, 10 ** (gain_db / 20), ceiling, rate, limiter)
    apply_gain(y, 10 ** (gain_db / 20), curve)
    final_peak = float(true_peak_db(y, rate))
    if final_peak > settings.ceiling_dbtp:  # modulation put a peak a hair over: one more pass at unity gain
        more = gain_curve(block_true_peaks(y, limiter.oversampling), 1.0,
                          10 ** ((settings.ceiling_dbtp - limiter.margin_db) / 20), rate, limiter)
        apply_gain(y, 1.0, more)
        curve = curve * more
    smallest = float(curve.min())
    return gain_db, -20 * math.log10(max(smallest, 1e-12)), float((curve < 0.9999).mean())


def preprocess_audio(audio: dict, settings: PreprocessSettings | None = None, limiter: LimiterSettings | None = None,
                     progress=None) -> tuple[dict, list[ItemReport], list[str]]:
    """Run the chain (module docstring) on every batch item of an AUDIO value.

    Returns the new AUDIO (same shape, dtype, device and sample rate), one :class:`ItemReport` per
    batch item and notes (skipped stages). Works item by item in float32 (the EQ in float64
    blocks): the memory is the input, the output and a few block-sized buffers.
    """
    from .progress import report

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
        lufs_before = measure_loudness(x, rate)
        peak_before = true_peak_estimate_db(x, rate)
        report(progress, "equalising", (i + 0.2) / items)
        y, notes = equalise(x, rate, settings)
        del x
        report(progress, "limiting", (i + 0.5) / items)
        gain_db, limiting_db, fraction = _level_item(y, rate, settings, limiter, measure_loudness(y, rate))
        reports.append(ItemReport(lufs_before, peak_before, measure_loudness(y, rate), float(true_peak_db(y, rate)),
                                  gain_db, limiting_db > 0.005, limiting_db, fraction))
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
