"""Audio/video offset: cross-correlation of onset envelopes, with an honest answer on rhythm and tones.

Envelope: RMS of ``hop``-second frames (10 ms), ``e = log(rms + 1e-4)``; onset strength
``o[t] = max(0, e[t] - e[t-1])`` (rises only); the first and last ``EDGE_S`` seconds are zeroed
(a file's start and end are not events of the music), then the mean is removed. The correlation
``c(k) = sum_t o_video[t] o_source[t - k]`` is computed for lags within ``+-max_lag`` (and at most
half the shorter envelope), normalised by ``sqrt(sum o_video^2 sum o_source^2)`` and divided by the
share of frames that overlap at that lag (so a lag one period away is not penalised for its shorter
overlap).

* **Nothing to align**: when either envelope has fewer than ``MIN_EVENTS`` onsets (rises of at
  least ``MIN_RISE``, about 0.9 dB in 10 ms), e.g. a steady tone, no offset is given
  (``offset_s`` None, ``reason`` says why) whatever the correlation says.
* **Periodic material** (a beat, an on/off envelope) correlates almost as well one period away.
  Every local maximum of ``c`` within ``AMBIGUOUS_RATIO`` (0.9) of the best is a candidate; the one
  closest to zero is chosen (a render is meant to be aligned, so the smallest shift that explains
  the audio is the likeliest), and ``ambiguous`` is set with the other candidates listed.
* The chosen lag is refined by a parabola through it and its neighbours.

Sign convention: ``offset_s > 0`` means the render's audio is **late**: a sound at source time
``t`` is heard at ``t + offset_s`` in the video. ``confidence`` is the peak's normalised
correlation (1 = identical envelopes); below ``MIN_CONFIDENCE`` (0.2) no offset is reported.
Lags are searched within ``+-max_lag`` and at most half the shorter envelope.
"""

from __future__ import annotations

import numpy as np

MIN_CONFIDENCE = 0.2
"""Below this normalised peak the envelopes do not match: offset is None."""
EDGE_S = 0.5
MIN_EVENTS = 3
MIN_RISE = 0.1
AMBIGUOUS_RATIO = 0.9


def onset_envelope(samples: np.ndarray, rate: int, hop_s: float = 0.01) -> np.ndarray:
    """Half-wave rectified rise of the log-RMS envelope, one value per ``hop_s`` seconds (edges not zeroed)."""
    hop = max(1, int(round(rate * hop_s)))
    n = len(samples) // hop
    if n < 2:
        return np.zeros(max(n, 0))
    frames = np.asarray(samples[: n * hop], dtype=np.float64).reshape(n, hop)
    energy = np.log(np.sqrt(np.mean(frames**2, axis=1)) + 1e-4)
    return np.maximum(0.0, np.diff(energy, prepend=energy[0]))


def _events(onset: np.ndarray) -> int:
    """Onsets: local maxima of at least ``MIN_RISE``."""
    if len(onset) < 3:
        return 0
    mid = onset[1:-1]
    return int(np.sum((mid >= MIN_RISE) & (mid >= onset[:-2]) & (mid > onset[2:])))


def estimate_offset(source: np.ndarray, video_audio: np.ndarray, rate: int, max_lag_s: float = 2.0,
                    hop_s: float = 0.01) -> dict:
    """``{"offset_s", "confidence", "ambiguous", "candidates_s", "events", "reason"}`` (module docstring;
    ``offset_s > 0``: the render's audio is late)."""
    a = onset_envelope(video_audio, rate, hop_s)
    b = onset_envelope(source, rate, hop_s)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):  # NaN/inf samples: nothing can be measured
        return {"offset_s": None, "confidence": 0.0, "ambiguous": False, "candidates_s": [], "events": 0,
                "reason": "the audio holds NaN or infinite samples"}
    edge = int(round(EDGE_S / hop_s))
    for x in (a, b):
        if len(x) > 4 * edge:
            x[:edge] = 0.0
            x[-edge:] = 0.0
    events = min(_events(a), _events(b))
    result = {"offset_s": None, "confidence": 0.0, "ambiguous": False, "candidates_s": [], "events": events,
              "reason": None}
    if events < MIN_EVENTS:
        result["reason"] = f"nothing to align: {events} onset(s) found (a steady sound has none)"
        return result
    a, b = a - a.mean(), b - b.mean()
    size = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    corr = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    max_lag = min(int(round(max_lag_s / hop_s)), min(len(a), len(b)) // 2)
    lags = np.arange(-max_lag, max_lag + 1)
    norm = float(np.sqrt(np.sum(a**2) * np.sum(b**2)))
    overlap = np.maximum(1, min(len(a), len(b)) - np.abs(lags)) / min(len(a), len(b))
    values = corr[lags % size] / (norm or 1.0) / overlap  # per overlapping frame: far lags are not penalised
    best = float(values.max())
    peaks = [i for i in range(len(values))
             if (i == 0 or values[i] >= values[i - 1]) and (i == len(values) - 1 or values[i] > values[i + 1])]
    close = [i for i in peaks if values[i] >= AMBIGUOUS_RATIO * best and best > 0]
    # distinct candidates: at least 5 hops apart, the best of each cluster
    distinct: list[int] = []
    for i in sorted(close, key=lambda j: -values[j]):
        if all(abs(i - j) >= 5 for j in distinct):
            distinct.append(i)
    i = min(distinct, key=lambda j: abs(lags[j])) if distinct else int(np.argmax(values))
    shift = 0.0
    if 0 < i < len(values) - 1:
        left, mid, right = values[i - 1], values[i], values[i + 1]
        denom = left - 2 * mid + right
        if denom < 0:
            shift = 0.5 * (left - right) / denom
    confidence = float(values[i])
    result.update(confidence=confidence, ambiguous=len(distinct) > 1,
                  candidates_s=sorted(round(float(lags[j] * hop_s), 3) for j in distinct))
    if confidence < MIN_CONFIDENCE:
        result["reason"] = f"the envelopes do not match (normalised correlation {confidence:.2f})"
        return result
    result["offset_s"] = float((lags[i] + shift) * hop_s)
    if result["ambiguous"]:
        result["reason"] = ("periodic material: offsets " + ", ".join(f"{c:+.2f} s" for c in result["candidates_s"])
                            + " fit almost equally; the one nearest zero is given")
    return result
