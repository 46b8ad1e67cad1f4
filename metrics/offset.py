"""Audio/video offset: cross-correlation of onset envelopes.

Envelope: RMS of ``hop``-second frames (10 ms), ``e = log(rms + 1e-4)``; onset strength
``o[t] = max(0, e[t] - e[t-1])`` (rises only), minus its mean. The lag ``k`` (in frames)
maximising ``sum_t o_video[t] * o_source[t - k]`` within ``+-max_lag`` is refined by a parabola
through the peak and its neighbours.

Sign convention: ``offset_s > 0`` means the render's audio is **late**: a sound at source time
``t`` is heard at ``t + offset_s`` in the video. ``confidence`` is the peak's normalised
correlation (1 = identical envelopes); below ``MIN_CONFIDENCE`` (0.2) no offset is reported.
Lags are searched within ``+-max_lag`` and at most half the shorter envelope.
"""

from __future__ import annotations

import numpy as np

MIN_CONFIDENCE = 0.2
"""Below this normalised peak the envelopes do not match (e.g. a steady tone): offset is None."""


def onset_envelope(samples: np.ndarray, rate: int, hop_s: float = 0.01) -> np.ndarray:
    """Half-wave rectified rise of the log-RMS envelope, one value per ``hop_s`` seconds."""
    hop = max(1, int(round(rate * hop_s)))
    n = len(samples) // hop
    if n < 2:
        return np.zeros(max(n, 0))
    frames = np.asarray(samples[: n * hop], dtype=np.float64).reshape(n, hop)
    energy = np.log(np.sqrt(np.mean(frames**2, axis=1)) + 1e-4)
    onset = np.maximum(0.0, np.diff(energy, prepend=energy[0]))
    return onset - onset.mean()


def estimate_offset(source: np.ndarray, video_audio: np.ndarray, rate: int, max_lag_s: float = 2.0,
                    hop_s: float = 0.01) -> dict:
    """``{"offset_s", "confidence"}`` with the sign convention of the module doc."""
    a = onset_envelope(video_audio, rate, hop_s)
    b = onset_envelope(source, rate, hop_s)
    if len(a) < 4 or len(b) < 4 or not a.any() or not b.any():
        return {"offset_s": None, "confidence": 0.0}
    if not (np.isfinite(a).all() and np.isfinite(b).all()):  # NaN/inf samples: nothing can be measured
        return {"offset_s": None, "confidence": 0.0}
    size = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    corr = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    # only lags where the envelopes overlap by at least half the shorter one
    max_lag = min(int(round(max_lag_s / hop_s)), min(len(a), len(b)) // 2)
    lags = np.arange(-max_lag, max_lag + 1)
    values = corr[lags % size]
    i = int(np.argmax(values))
    shift = 0.0
    if 0 < i < len(values) - 1:
        left, mid, right = values[i - 1], values[i], values[i + 1]
        denom = left - 2 * mid + right
        if denom < 0:
            shift = 0.5 * (left - right) / denom
    norm = float(np.sqrt(np.sum(a**2) * np.sum(b**2)))
    confidence = float(values[i] / norm) if norm else 0.0
    if confidence < MIN_CONFIDENCE:
        return {"offset_s": None, "confidence": confidence}
    return {"offset_s": float((lags[i] + shift) * hop_s), "confidence": confidence}
