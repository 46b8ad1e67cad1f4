"""Loudness (ITU-R BS.1770 LUFS), sample peak and true peak of AUDIO waveforms.

All functions take waveforms ``[..., C, N]`` (any leading batch dims) at ``sample_rate`` Hz and
return one value per leading index, in dB:

* **integrated loudness** (LUFS) from :func:`torchaudio.functional.loudness`: K-weighting,
  400 ms blocks every 100 ms, absolute gate -70 LUFS, relative gate -10 LU. torchaudio's
  filters clamp to -1..1, so the signal is scaled into ``+-0.25`` first and the scale is added
  back (``L(a x) = L(x) + 20 log10 a``); more than five channels are measured by
  :func:`gated_loudness` with torchaudio's K-weighting. Silence (every block gated) and audio
  shorter than one 400 ms block give ``-inf``, never NaN.
* **true peak** (dBTP): the sample peak of the signal oversampled ``4x`` with
  :func:`torchaudio.functional.resample` (band-limited sinc interpolation), so peaks between
  samples count. ``20 log10(max |x|)``; ``-inf`` for silence.
"""

from __future__ import annotations

import math

import torch

BLOCK_SECONDS = 0.4
"""BS.1770 gating block length (s)."""
BLOCK_STEP_SECONDS = 0.1
"""Step between gating blocks (s): 75 % overlap."""
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
K_OFFSET_DB = -0.691
CHANNEL_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)
"""BS.1770 weights of L, R, C, Ls, Rs; channels past the fifth count with weight 1.0."""
TRUE_PEAK_OVERSAMPLING = 4
_FILTER_HEADROOM = 0.25
_SILENCE = 1e-20


def db(power_ratio: float) -> float:
    """``10 log10(p)``; ``-inf`` for 0."""
    return 10.0 * math.log10(power_ratio) if power_ratio > 0 else -math.inf


def amplitude_db(amplitude: float) -> float:
    """``20 log10(a)``; ``-inf`` for 0."""
    return 20.0 * math.log10(amplitude) if amplitude > 0 else -math.inf


def channel_weights(channels: int, dtype=torch.float64, device=None) -> torch.Tensor:
    """BS.1770 channel weights ``g_c`` for ``channels`` channels."""
    weights = [CHANNEL_WEIGHTS[c] if c < len(CHANNEL_WEIGHTS) else 1.0 for c in range(channels)]
    return torch.tensor(weights, dtype=dtype, device=device)


def k_weight(waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """The K-weighted signal (torchaudio's BS.1770 pre-filter and RLB high-pass), float64.

    The input is scaled into +-0.25 before the (clamping) torchaudio filters and scaled back.
    """
    import torchaudio.functional as AF

    x = waveform.to(torch.float64)
    scale = _headroom_scale(x)
    x = AF.treble_biquad(x * scale, sample_rate, 4.0, 1500.0, 1 / math.sqrt(2))
    x = AF.highpass_biquad(x, sample_rate, 38.0, 0.5)
    return x / scale


def _headroom_scale(x: torch.Tensor) -> float:
    peak = float(x.abs().max()) if x.numel() else 0.0
    return 1.0 if peak <= _FILTER_HEADROOM else _FILTER_HEADROOM / peak


def gated_loudness(block_energy: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """BS.1770 gating of per-channel block mean squares ``[..., C, J]`` -> LUFS ``[...]``.

    ``l_j = -0.691 + 10 log10(sum_c g_c z_cj)``; blocks with ``l_j <= -70`` are dropped, then
    blocks below (loudness of the kept blocks - 10 LU); the result is
    ``-0.691 + 10 log10(sum_c g_c mean_j z_cj)`` over what is left (``-inf`` when nothing is).
    """
    z = block_energy.to(torch.float64)
    g = weights.to(z).unsqueeze(-1)
    block = K_OFFSET_DB + 10 * torch.log10((g * z).sum(-2).clamp_min(_SILENCE))
    keep = block > ABSOLUTE_GATE_LUFS

    def level(mask: torch.Tensor) -> torch.Tensor:
        count = mask.sum(-1)
        mean = (z * mask.unsqueeze(-2)).sum(-1) / count.clamp_min(1).unsqueeze(-1)
        value = K_OFFSET_DB + 10 * torch.log10((g.squeeze(-1) * mean).sum(-1).clamp_min(_SILENCE))
        return torch.where(count > 0, value, torch.full_like(value, -math.inf))

    relative = level(keep) + RELATIVE_GATE_LU
    return level(keep & (block > relative.unsqueeze(-1)))


def integrated_loudness(waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """Integrated loudness in LUFS of ``[..., C, N]`` -> ``[...]`` (float64; ``-inf`` = silent/too short)."""
    import torchaudio.functional as AF

    x = waveform.to(torch.float64)
    lead = x.shape[:-2]
    block = int(round(BLOCK_SECONDS * sample_rate))
    if x.shape[-1] < block:
        return torch.full(lead, -math.inf, dtype=torch.float64)
    channels = x.shape[-2]
    if channels <= len(CHANNEL_WEIGHTS):
        scale = _headroom_scale(x)
        value = AF.loudness(x * scale, sample_rate) - 20 * math.log10(scale)
        return torch.where(torch.isfinite(value), value, torch.full_like(value, -math.inf))
    step = int(round(BLOCK_STEP_SECONDS * sample_rate))
    energy = k_weight(x, sample_rate).square().unfold(-1, block, step).mean(-1)
    return gated_loudness(energy, channel_weights(channels))


def sample_peak_db(waveform: torch.Tensor) -> torch.Tensor:
    """``20 log10(max |x|)`` over channels and samples of ``[..., C, N]`` -> ``[...]``."""
    peak = waveform.to(torch.float64).abs().amax(dim=(-2, -1))
    return 20 * torch.log10(peak.clamp_min(1e-30)).where(peak > 0, torch.tensor(-math.inf, dtype=torch.float64))


def true_peak_db(waveform: torch.Tensor, sample_rate: int, chunk_seconds: float = 10.0) -> torch.Tensor:
    """True peak in dBTP of ``[..., C, N]`` -> ``[...]``: peak of the 4x oversampled signal.

    Works through the track in chunks of ``chunk_seconds`` with 64 samples of context either
    side, so memory stays bounded for long tracks.
    """
    import torchaudio.functional as AF

    x = waveform.to(torch.float32)
    lead = x.shape[:-1]
    n = x.shape[-1]
    chunk = max(1024, int(chunk_seconds * sample_rate))
    context = 64
    peak = torch.zeros(lead, dtype=torch.float64)
    for start in range(0, n, chunk):
        lo, hi = max(0, start - context), min(n, start + chunk + context)
        up = AF.resample(x[..., lo:hi], 1, TRUE_PEAK_OVERSAMPLING)
        keep = up[..., (start - lo) * TRUE_PEAK_OVERSAMPLING: (min(n, start + chunk) - lo) * TRUE_PEAK_OVERSAMPLING]
        peak = torch.maximum(peak, keep.abs().amax(-1).to(torch.float64))
    # Oversampling never lowers the peak below the samples themselves.
    peak = torch.maximum(peak, x.abs().amax(-1).to(torch.float64)).amax(-1)
    return 20 * torch.log10(peak.clamp_min(1e-30)).where(peak > 0, torch.tensor(-math.inf, dtype=torch.float64))


def true_peak_estimate_db(waveform: torch.Tensor, sample_rate: int, block: int = 2048,
                          within_db: float = 3.0, max_blocks: int = 160) -> float:
    """Fast true peak of one ``[C, N]`` waveform: only the loudest blocks are oversampled.

    Blocks of ``block`` samples whose sample peak is within ``within_db`` of the track's sample
    peak (at most ``max_blocks``, loudest first) are oversampled 4x; the result is the larger of
    their true peak and the sample peak. It equals :func:`true_peak_db` unless a quieter block
    overshoots between samples by more than ``within_db`` (real recordings overshoot by well
    under 3 dB).
    """
    import torchaudio.functional as AF

    x = waveform.to(torch.float32)
    n = x.shape[-1]
    sample_peak = float(x.abs().max()) if x.numel() else 0.0
    if sample_peak <= 0:
        return -math.inf
    blocks = math.ceil(n / block)
    folded = x.abs().amax(0)
    folded = torch.nn.functional.pad(folded, (0, blocks * block - n))
    block_peaks = folded.view(blocks, block).amax(1)
    threshold = sample_peak * 10 ** (-within_db / 20)
    order = torch.argsort(block_peaks, descending=True)[:max_blocks]
    order = order[block_peaks[order] >= threshold]
    if not len(order):
        return amplitude_db(sample_peak)
    context = 64
    span = block + 2 * context
    pieces = torch.zeros(len(order), x.shape[0], span)
    for row, index in enumerate(order.tolist()):
        lo, hi = index * block - context, (index + 1) * block + context
        piece = x[:, max(0, lo): min(n, hi)]
        pieces[row, :, max(0, -lo): max(0, -lo) + piece.shape[-1]] = piece
    up = AF.resample(pieces, 1, TRUE_PEAK_OVERSAMPLING)
    return amplitude_db(max(sample_peak, float(up.abs().max())))



def measure_loudness(waveform: torch.Tensor, sample_rate: int, chunk: int = 1 << 20) -> float:
    """Integrated loudness (LUFS) of one ``[C, N]`` waveform, chunk by chunk in bounded memory: the
    K-weighted energies of ~46 ms frames by Parseval (:class:`.features.FeatureBuilder`'s loudness
    frames) under the BS.1770 gates; within about 0.1 LU of :func:`integrated_loudness`, several
    times faster than filtering sample by sample."""
    from .features import _LoudnessFrames, frames_loudness

    frames = _LoudnessFrames(sample_rate, waveform.shape[0])
    n = waveform.shape[-1]
    for start in range(0, n, chunk):
        frames.feed(waveform[..., start: start + chunk].detach().to("cpu", torch.float32).numpy(),
                    final=start + chunk >= n)
    return frames_loudness(frames.result(waveform.shape[0]), frames.frame_seconds, n / sample_rate)
