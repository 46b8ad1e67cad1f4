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
3. **Movement** (what tells a voice from a pad, a chord or a bass line): over the mel bands centred
   in ``MOVEMENT_BAND_HZ`` (250-4000 Hz, where formants and the resolved harmonics lie), the
   change ``d_bi = M_bi - M_b,i-2`` (dB over 46 ms) is split into rises and falls,
   ``u_i = mean_b max(d_bi, 0)`` and ``v_i = mean_b max(-d_bi, 0)``; the movement is
   ``m_i = min(u_i, v_i)`` averaged over ``MOVEMENT_SECONDS`` (0.4 s). Formant transitions,
   syllables, intonation and vibrato make some bands rise while others fall at the same time, at
   2-8 Hz, all the time; a sustained pad or chord does not move, a drum hit rises (or decays) in
   every band at once, a chord change or a bass note moves only at the change.
4. **Vocal activity** = frames that are loud enough, whose 0.4 s neighbourhood holds at least
   ``TONAL_SHARE`` of candidate frames (step 1: this keeps noise, drums and bass-heavy frames out), and that lie in a
   run of ``m > MOVEMENT_LOW_DB`` containing ``m > MOVEMENT_HIGH_DB`` (hysteresis), or where YIN's
   pitch glides (at least ``GLIDE_SHARE`` of its steps in the 0.4 s around the frame lie in
   ``GLIDE_CENTS``: intonation and vibrato, which a held synthesised note lacks); then gaps shorter
   than 0.2 s are closed and islands shorter than 0.12 s removed. The pitch is YIN's where it
   judged the frame voiced (a pad under the voice can make YIN miss; the activity does not depend
   on it).

A steady tone is not a voice, however voice-like its spectrum; a sung note is, through its vibrato
and vowel. This cannot tell a voice from an expressive pitched instrument in the range (a violin
with vibrato counts); ``--content`` sets what the track is. Pitch range = 5th..95th percentile of
``f0`` over vocal frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .features import VOICE_BAND, YIN_RATE, YIN_STEP, Spectrogram

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
YIN_WINDOW = 512
YIN_MAX_LAG = int(math.ceil(YIN_RATE / FMIN_HZ))
YIN_SPAN = YIN_WINDOW + YIN_MAX_LAG
"""Samples (at ``YIN_RATE``) one YIN frame reads, from half a window before its centre."""
YIN_THRESHOLD = 0.15
VOICED_MAX = 0.3
MOVEMENT_BAND_HZ = (250.0, 4000.0)
MOVEMENT_LAG = 2
"""Frames between the two spectra compared (46 ms)."""
MOVEMENT_SECONDS = 0.4
MOVEMENT_HIGH_DB = 0.45
MOVEMENT_LOW_DB = 0.25
GLIDE_CENTS = (3.0, 100.0)
"""A step of YIN's pitch between its frames (46 ms apart) within this range is a glide or vibrato;
larger steps are note changes or octave errors, smaller ones a held synthesised pitch."""
GLIDE_SHARE = 0.5
TONAL_SHARE = 0.15
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


def local_candidates(voice_power: np.ndarray, formant_power: np.ndarray, total_power: np.ndarray,
                     flatness: np.ndarray, level_db: np.ndarray) -> np.ndarray:
    """Step 1 of the module docstring without the gate relative to the track (frames above -60 dBFS):
    what a frame alone says."""
    total = total_power + 1e-20
    return ((voice_power / total >= VOICE_RATIO) & (formant_power / total >= FORMANT_RATIO)
            & (flatness <= MAX_FLATNESS) & (level_db > -60.0))


def candidate_frames(spec: Spectrogram) -> np.ndarray:
    """Frames that may hold a voice (step 1 of the module docstring)."""
    level = spec.frame_db()
    loud = level > max(float(np.percentile(level, 95)) - GATE_DB, -60.0) if len(level) else level > 0
    bands = spec.band_power
    return loud & local_candidates(bands[VOICE_BAND], bands["formant 300-4000 Hz"], bands["total"],
                                   spec.voice_flatness, level)


def yin(mono: np.ndarray, centres: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """``(f0_hz, aperiodicity)`` of the frames centred at sample indices ``centres``."""
    if len(centres) == 0:
        return np.zeros(0), np.zeros(0)
    w = YIN_WINDOW
    max_lag = YIN_MAX_LAG if rate == YIN_RATE else int(math.ceil(rate / FMIN_HZ))
    min_lag = max(2, int(math.floor(rate / FMAX_HZ)) - 1)
    span = w + max_lag
    padded = np.pad(mono.astype(np.float64), (w // 2, span))
    starts = centres.astype(np.int64)  # centre c -> window starts at c - w/2, shifted by the pad
    frames = padded[starts[:, None] + np.arange(span)[None, :]]
    size = 1 << (span - 1).bit_length()  # >= span: lags 0..max_lag of a w-sample window never wrap
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


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop (exclusive) indices of the runs of True in a 1-D bool array."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return edges[::2], edges[1::2]


def _clean(active: np.ndarray, frame_seconds: float) -> np.ndarray:
    """Gaps shorter than 0.2 s between active runs closed, then runs shorter than 0.12 s removed."""
    close = max(1, int(round(0.2 / frame_seconds)))
    open_ = max(1, int(round(0.12 / frame_seconds)))
    out = active.copy()
    starts, stops = _runs(active)
    for stop, start in zip(stops[:-1], starts[1:]):
        if start - stop < close:
            out[stop:start] = True
    starts, stops = _runs(out)
    for start, stop in zip(starts, stops):
        if stop - start < open_:
            out[start:stop] = False
    return out


def movement(spec: Spectrogram) -> np.ndarray:
    """``[T]`` dB: counter-movement of the mel bands in ``MOVEMENT_BAND_HZ`` (step 3 of the module
    docstring), averaged over ``MOVEMENT_SECONDS``."""
    if spec.frames == 0:
        return np.zeros(0)
    rows = _movement_rows(spec.mel_db.shape[0], spec.rate)
    counter = np.empty(spec.frames, dtype=spec.mel_db.dtype)
    for a in range(0, spec.frames, 16_384):  # in blocks of frames: bounded temporaries on an hour
        i = np.arange(a, min(spec.frames, a + 16_384))
        d = spec.mel_db[np.ix_(rows, i)] - spec.mel_db[np.ix_(rows, np.maximum(i - MOVEMENT_LAG, 0))]
        counter[i] = np.minimum(np.maximum(d, 0).mean(axis=0), np.maximum(-d, 0).mean(axis=0))
    return _moving_mean(counter, max(1, int(round(MOVEMENT_SECONDS / spec.frame_seconds))))


def _movement_rows(n_mels: int, rate: int) -> np.ndarray:
    """Mel bands (Slaney scale from ``MEL_FMIN`` to Nyquist) whose centre lies in ``MOVEMENT_BAND_HZ``."""
    from .features import MEL_FMIN

    def mel(f):
        f = np.asarray(f, dtype=np.float64)
        return np.where(f < 1000, 3 * f / 200, 15 + np.log(np.maximum(f, 1e-9) / 1000) / (np.log(6.4) / 27))

    def hz(m):
        return np.where(m < 15, 200 * m / 3, 1000 * np.exp((m - 15) * np.log(6.4) / 27))

    edges = hz(np.linspace(mel(MEL_FMIN), mel(rate / 2), n_mels + 2))
    lo, hi = MOVEMENT_BAND_HZ
    centres = edges[1:-1]
    return np.flatnonzero((centres >= lo) & (centres <= hi))


def _moving_mean(x: np.ndarray, n: int) -> np.ndarray:
    """Centred moving average over ``n`` frames (shorter at the ends)."""
    cums = np.concatenate([[0.0], np.cumsum(x, dtype=np.float64)])
    i = np.arange(len(x))
    lo = np.maximum(0, i - n // 2)
    hi = np.minimum(len(x), i - n // 2 + n)
    return (cums[hi] - cums[lo]) / (hi - lo)


def _gliding(frames: np.ndarray, hz: np.ndarray, total: int, window: int) -> np.ndarray:
    """``[total]`` bool: frames whose ``window`` neighbourhood has at least ``GLIDE_SHARE`` of YIN's
    consecutive steps (frames ``YIN_STEP`` apart) gliding by ``GLIDE_CENTS``."""
    glide = np.zeros(total)
    steps = np.zeros(total)
    if len(frames) > 1:
        adjacent = np.diff(frames) == YIN_STEP
        cents = np.abs(1200 * np.diff(np.log2(hz)))
        lo, hi = GLIDE_CENTS
        where = frames[1:][adjacent]
        steps[where] = 1.0
        glide[where] = ((cents >= lo) & (cents <= hi))[adjacent]
    counted = _moving_mean(steps, window)
    return (counted > 0) & (_moving_mean(glide, window) >= GLIDE_SHARE * np.maximum(counted, 1e-12))


def _hysteresis(weak: np.ndarray, strong: np.ndarray) -> np.ndarray:
    """Runs of ``weak`` that contain a ``strong`` frame."""
    out = np.zeros_like(weak)
    starts, stops = _runs(weak)
    for start, stop in zip(starts, stops):
        if strong[start:stop].any():
            out[start:stop] = True
    return out


def analyse_voice(spec: Spectrogram) -> VoiceAnalysis:
    """Vocal activity, pitch and voice-to-noise of a spectrogram (see the module docstring)."""
    candidates = candidate_frames(spec)
    level = spec.frame_db()
    loud = level > max(float(np.percentile(level, 95)) - GATE_DB, -60.0) if len(level) else level > 0
    window = max(1, int(round(MOVEMENT_SECONDS / spec.frame_seconds)))
    tonal = _moving_mean(candidates.astype(np.float64), window) >= TONAL_SHARE
    moving = movement(spec)
    gate = loud & tonal
    f0 = np.full(spec.frames, np.nan)
    index = np.flatnonzero(np.isfinite(spec.yin_f0))
    index = index[index % YIN_STEP == 0]
    gliding = np.zeros(spec.frames, dtype=bool)
    if len(index):
        hz, aperiodicity = spec.yin_f0[index], spec.yin_aperiodicity[index]
        ok = (aperiodicity < VOICED_MAX) & (hz >= FMIN_HZ * 0.98) & (hz <= FMAX_HZ * 1.02)
        for step in range(YIN_STEP):
            target = index[ok] + step
            keep = target < spec.frames
            f0[target[keep]] = hz[ok][keep]
        gliding = _gliding(index[ok], hz[ok], spec.frames, window)
    steps = _hysteresis(gate & (moving > MOVEMENT_LOW_DB), gate & (moving > MOVEMENT_HIGH_DB))
    active = _clean(steps | (gate & gliding), spec.frame_seconds)
    f0 = np.where(active & candidates, f0, np.nan)
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
    power = spec.band_power[VOICE_BAND]
    if not active.any() or active.all():
        return float("nan")
    voice = float(np.median(power[active]))
    noise = float(np.percentile(power[~active], 10))
    if voice <= 0:
        return float("nan")
    if noise <= voice * 1e-12:
        return float("inf")
    return 10 * math.log10(voice / noise)
