"""Vocal activity and pitch range, from the shared spectrogram plus YIN where a voice may be.

1. **Candidates** (cheap, every frame, from the power spectrum ``P``): a frame may hold a voice
   when it is loud enough (within ``GATE_DB`` of the track's 95th-percentile frame level and above
   -60 dBFS), at least ``VOICE_RATIO`` of its energy lies in the voice band 60-4000 Hz and at
   least ``FORMANT_RATIO`` in 300-4000 Hz (harmonics and formants: a bass line has little there),
   and the voice band is tonal (spectral flatness, geometric over arithmetic mean of the band's
   power, below ``MAX_FLATNESS``).
2. **YIN** (de Cheveigne & Kawahara 2002) only on every 2nd of those frames, on the downmix at
   11.025 kHz: window ``W = 512`` samples (46 ms), difference ``d(l) = sum_j (x_j - x_{j+l})^2``
   via FFT, cumulative mean normalised ``d'(l) = d(l) l / sum_{k<=l} d(k)``; the period is the first local minimum of
   ``d'`` below ``YIN_THRESHOLD`` between ``rate / FMAX_HZ`` and ``rate / FMIN_HZ`` lags (else the
   global minimum), refined by parabolic interpolation; ``f0 = rate / l``. A frame is voiced when
   ``d'`` there is below ``VOICED_MAX``.
3. **Vocal activity** = candidate and voiced, then gaps shorter than 0.2 s are closed and islands
   shorter than 0.12 s removed.

A pure tone below 300 Hz is not a voice by rule 1 (no harmonics); a voice at that pitch is. This
cannot tell a voice from another pitched instrument with harmonics in the range (a violin counts);
``--content`` sets what the track is. Pitch range = 5th..95th percentile of ``f0`` over vocal
frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .features import Spectrogram, resample_poly

VOICE_BAND_HZ = (60.0, 4000.0)
VOICE_RATIO = 0.35
FORMANT_BAND_HZ = (300.0, 4000.0)
FORMANT_RATIO = 0.1
"""A voice puts a tenth or more of its energy into its harmonics and formants at 300-4000 Hz; a bass
line or a kick drum does not."""
MAX_FLATNESS = 0.3
GATE_DB = 35.0
FMIN_HZ = 65.0
FMAX_HZ = 1100.0
YIN_RATE = 11_025
"""YIN runs on the downmix at half the analysis rate (f0 <= 1.1 kHz needs no more)."""
YIN_WINDOW = 512
YIN_STEP = 2
"""YIN runs on every 2nd candidate frame (46 ms apart); the frame after takes its result."""
YIN_THRESHOLD = 0.15
VOICED_MAX = 0.3
_NOTES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


@dataclass
class VoiceAnalysis:
    """Per-frame vocal activity and pitch, and their summary."""

    active: np.ndarray
    """``[T]`` bool: a voice (or a pitched line in the voice range) sounds in this frame."""
    f0: np.ndarray
    """``[T]`` Hz, NaN where not active."""
    fraction: float
    """Active frames over frames that are not silent (0..1)."""
    pitch_low_hz: float
    pitch_median_hz: float
    pitch_high_hz: float
    voice_to_noise_db: float
    """Voice-band level of active frames over the quietest non-active ones (``inf`` when the pauses
    are digital silence, NaN when there is no voice or no pause)."""


def note_name(hz: float) -> str:
    """Nearest equal-tempered note (A4 = 440 Hz), e.g. ``A3``; ``-`` for no pitch."""
    if not (hz > 0 and math.isfinite(hz)):
        return "-"
    midi = int(round(69 + 12 * math.log2(hz / 440.0)))
    return f"{_NOTES[midi % 12]}{midi // 12 - 1}"


def candidate_frames(spec: Spectrogram) -> np.ndarray:
    """Frames that may hold a voice (step 1 of the module docstring)."""
    band = spec.band_mask(*VOICE_BAND_HZ)
    power = spec.power
    total = power[1:].sum(axis=0) + 1e-20
    band_power = power[band]
    ratio = band_power.sum(axis=0) / total
    flatness = np.exp(np.mean(np.log(band_power + 1e-20), axis=0)) / (band_power.mean(axis=0) + 1e-20)
    level = spec.frame_db()
    loud = level > max(float(np.percentile(level, 95)) - GATE_DB, -60.0)
    upper = power[spec.band_mask(*FORMANT_BAND_HZ)].sum(axis=0) / total
    return loud & (ratio >= VOICE_RATIO) & (upper >= FORMANT_RATIO) & (flatness <= MAX_FLATNESS)


def yin(mono: np.ndarray, centres: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """``(f0_hz, aperiodicity)`` of the frames centred at sample indices ``centres``."""
    if len(centres) == 0:
        return np.zeros(0), np.zeros(0)
    w = YIN_WINDOW
    max_lag = int(math.ceil(rate / FMIN_HZ))
    min_lag = max(2, int(math.floor(rate / FMAX_HZ)) - 1)
    span = w + max_lag
    padded = np.pad(mono.astype(np.float64), (w // 2, span))
    starts = centres.astype(np.int64)  # centre c -> window starts at c - w/2, shifted by the pad
    frames = padded[starts[:, None] + np.arange(span)[None, :]]
    size = 1 << (span + w - 1).bit_length()
    a = np.fft.rfft(frames[:, :w], size)
    b = np.fft.rfft(frames, size)
    r = np.fft.irfft(b * np.conj(a), size)[:, : max_lag + 1]
    sq = np.cumsum(frames**2, axis=1)
    sq = np.concatenate([np.zeros((len(frames), 1)), sq], axis=1)
    e0 = sq[:, w][:, None]
    lags = np.arange(max_lag + 1)
    e_lag = sq[:, lags + w] - sq[:, lags]
    d = np.maximum(e0 + e_lag - 2 * r, 0.0)
    cum = np.cumsum(d[:, 1:], axis=1)
    cmnd = np.ones_like(d)
    cmnd[:, 1:] = d[:, 1:] * lags[1:] / np.maximum(cum, 1e-20)
    region = cmnd[:, min_lag: max_lag]
    is_min = np.zeros_like(region, dtype=bool)
    is_min[:, 1:-1] = (region[:, 1:-1] <= region[:, :-2]) & (region[:, 1:-1] <= region[:, 2:])
    below = is_min & (region < YIN_THRESHOLD)
    first = np.where(below.any(axis=1), below.argmax(axis=1), region.argmin(axis=1))
    lag = first + min_lag
    rows = np.arange(len(frames))
    lag_safe = np.clip(lag, 1, max_lag - 1)
    y0, y1, y2 = cmnd[rows, lag_safe - 1], cmnd[rows, lag_safe], cmnd[rows, lag_safe + 1]
    denominator = y0 - 2 * y1 + y2
    shift = np.where(np.abs(denominator) > 1e-12, 0.5 * (y0 - y2) / np.where(denominator == 0, 1, denominator), 0.0)
    refined = lag_safe + np.clip(shift, -1, 1)
    return rate / refined, y1


def _yin_signal(spec: Spectrogram) -> np.ndarray:
    return resample_poly(spec.mono, spec.rate, YIN_RATE)


def _clean(active: np.ndarray, frame_seconds: float) -> np.ndarray:
    from scipy import ndimage

    close = max(1, int(round(0.2 / frame_seconds)))
    open_ = max(1, int(round(0.12 / frame_seconds)))
    out = ndimage.binary_closing(active, structure=np.ones(close, dtype=bool))
    out = ndimage.binary_opening(out, structure=np.ones(open_, dtype=bool))
    return out & (active | ndimage.binary_dilation(active, np.ones(close, dtype=bool)))


def analyse_voice(spec: Spectrogram) -> VoiceAnalysis:
    """Vocal activity, pitch and voice-to-noise of a spectrogram (see the module docstring)."""
    candidates = candidate_frames(spec)
    index = np.flatnonzero(candidates)
    f0 = np.full(spec.frames, np.nan)
    voiced = np.zeros(spec.frames, dtype=bool)
    index = index[index % YIN_STEP == 0]
    if len(index):
        low_rate = _yin_signal(spec)
        centres = np.round(index * spec.hop * YIN_RATE / spec.rate).astype(np.int64)
        hz, aperiodicity = yin(low_rate, centres, YIN_RATE)
        ok = (aperiodicity < VOICED_MAX) & (hz >= FMIN_HZ * 0.98) & (hz <= FMAX_HZ * 1.02)
        for step in range(YIN_STEP):
            target = index[ok] + step
            target = target[target < spec.frames]
            keep = candidates[target]
            voiced[target[keep]] = True
            f0[target[keep]] = hz[ok][: len(target)][keep]
    active = _clean(voiced, spec.frame_seconds)
    f0 = np.where(active, f0, np.nan)
    level = spec.frame_db()
    sounding = level > -90.0
    fraction = float(active[sounding].mean()) if sounding.any() else 0.0
    pitches = f0[np.isfinite(f0)]
    if len(pitches):
        low, median, high = (float(v) for v in np.percentile(pitches, [5, 50, 95]))
    else:
        low = median = high = float("nan")
    return VoiceAnalysis(
        active=active, f0=f0, fraction=fraction, pitch_low_hz=low, pitch_median_hz=median,
        pitch_high_hz=high, voice_to_noise_db=_voice_to_noise(spec, active),
    )


def _voice_to_noise(spec: Spectrogram, active: np.ndarray) -> float:
    """``10 log10(median voice-band power of active frames / 10th percentile of the others)``."""
    band = spec.band_mask(*VOICE_BAND_HZ)
    power = spec.power[band].sum(axis=0)
    if not active.any() or active.all():
        return float("nan")
    voice = float(np.median(power[active]))
    noise = float(np.percentile(power[~active], 10))
    if voice <= 0:
        return float("nan")
    if noise <= voice * 1e-12:
        return float("inf")
    return 10 * math.log10(voice / noise)
