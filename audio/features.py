"""One spectrogram per track, and every frame feature the analysis derives from it.

The downmix is resampled to ``ANALYSIS_RATE`` (22.05 kHz: the 4-8 kHz band the LTX audio VAE
hears still fits under its 11.025 kHz Nyquist) and transformed once with a Hann STFT
(``N_FFT`` = 2048 samples = 92.9 ms, hop ``HOP`` = 512 samples = 23.2 ms, frames centred at
``t_i = i * HOP / ANALYSIS_RATE`` s). Everything else comes from that, except loudness:

* the power ``P = |X_m|^2`` of the downmix's spectrum ``X_m``;
* frame mean square ``ms_i = sum_k c_k P_ki / (N_FFT * sum_n w_n^2)`` (Parseval; ``c_k = 2``
  except DC and Nyquist), in dBFS as ``10 log10 ms_i``; a full-scale sine reads -3 dBFS;
* per-channel K-weighted mean squares of short rectangular frames at the track's own rate
  (``|H_K(f)|^2`` from torchaudio's own BS.1770 filters applied to an impulse), which give
  integrated loudness with the BS.1770 gates (:func:`loudness_frames`);
* a 64-band mel spectrogram (torchaudio's Slaney filter bank) in dB and the spectral flux
  onset envelope ``o_i = mean_b max(0, M_bi - M_b,i-1)`` (dB per frame).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from .loudness import BLOCK_SECONDS, BLOCK_STEP_SECONDS, channel_weights, gated_loudness

ANALYSIS_RATE = 22_050
N_FFT = 2048
HOP = 512
N_MELS = 64
MEL_FMIN = 30.0
DB_FLOOR = -120.0
CHUNK_FRAMES = 8192
"""Frames transformed at a time (about 3 min of STFT frames): bounds the transient memory."""
"""dBFS given to digital silence."""


@dataclass
class Spectrogram:
    """Frame features of one track (batch item) at ``ANALYSIS_RATE``."""

    power: np.ndarray
    """``[F, T]`` mono power spectrum ``|X_m|^2`` (float32)."""
    freqs: np.ndarray
    """``[F]`` bin frequencies in Hz."""
    mean_square: np.ndarray
    """``[T]`` frame mean square of the downmix (linear)."""
    k_mean_square: np.ndarray
    """``[C, J]`` K-weighted mean square per channel of consecutive ``k_frame_seconds`` frames."""
    k_frame_seconds: float
    mel_db: np.ndarray
    """``[N_MELS, T]`` mel spectrogram in dB (floor 80 dB below its maximum)."""
    onset: np.ndarray
    """``[T]`` spectral flux onset envelope."""
    mono: np.ndarray
    """``[M]`` downmix at ``ANALYSIS_RATE`` (for pitch tracking)."""
    duration: float
    """Track length in seconds (of the original samples)."""
    rate: int = ANALYSIS_RATE
    hop: int = HOP

    @property
    def frames(self) -> int:
        return self.power.shape[1]

    @property
    def frame_seconds(self) -> float:
        """Seconds between frames: ``HOP / ANALYSIS_RATE``."""
        return self.hop / self.rate

    def times(self) -> np.ndarray:
        """Frame centres in seconds."""
        return np.arange(self.frames) * self.frame_seconds

    def frame_db(self) -> np.ndarray:
        """Frame level in dBFS (``DB_FLOOR`` for silence)."""
        return np.maximum(10 * np.log10(np.maximum(self.mean_square, 1e-30)), DB_FLOOR)

    def band_mask(self, low_hz: float, high_hz: float) -> np.ndarray:
        return (self.freqs >= low_hz) & (self.freqs < high_hz)

    def loudness_lufs(self) -> float:
        """Integrated loudness (BS.1770 gates) from the K-weighted frames: 400 ms blocks every 100 ms,
        each the mean of the (about 46 ms) frames centred inside it."""
        z = self.k_mean_square
        t = (np.arange(z.shape[1]) + 0.5) * self.k_frame_seconds
        blocks = int(math.floor((self.duration - BLOCK_SECONDS) / BLOCK_STEP_SECONDS + 1e-9)) + 1
        if blocks < 1 or z.shape[1] == 0:
            return -math.inf
        starts = np.arange(blocks) * BLOCK_STEP_SECONDS
        lo = np.searchsorted(t, starts, side="left")
        hi = np.searchsorted(t, starts + BLOCK_SECONDS, side="left")
        cums = np.concatenate([np.zeros((z.shape[0], 1)), np.cumsum(z, axis=1, dtype=np.float64)], axis=1)
        counts = np.maximum(hi - lo, 1)
        energy = (cums[:, hi] - cums[:, lo]) / counts
        value = gated_loudness(torch.from_numpy(energy), channel_weights(z.shape[0]))
        return float(value)


@lru_cache(maxsize=4)
def _window(n_fft: int) -> torch.Tensor:
    return torch.hann_window(n_fft, periodic=True, dtype=torch.float32)


@lru_cache(maxsize=4)
def k_weighting_power(rate: int, n_fft: int) -> np.ndarray:
    """``|H_K(f_k)|^2`` at the ``n_fft // 2 + 1`` STFT bins: torchaudio's K-weighting filters
    (as in :func:`torchaudio.functional.loudness`) applied to an impulse, measured with a 4x
    longer FFT and read at every 4th bin. Cached per (rate, n_fft)."""
    import torchaudio.functional as AF

    length = 4 * n_fft
    impulse = torch.zeros(length, dtype=torch.float64)
    impulse[0] = 0.1  # torchaudio's filters clamp at 1; the response is linear, so scale back
    h = AF.treble_biquad(impulse, rate, 4.0, 1500.0, 1 / math.sqrt(2))
    h = AF.highpass_biquad(h, rate, 38.0, 0.5) / 0.1
    response = torch.fft.rfft(h).abs().square().numpy()
    return response[::4][: n_fft // 2 + 1].astype(np.float32)


@lru_cache(maxsize=4)
def _mel_bank(rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    import torchaudio.functional as AF

    bank = AF.melscale_fbanks(n_fft // 2 + 1, MEL_FMIN, rate / 2, n_mels, rate, norm="slaney", mel_scale="slaney")
    return bank.numpy().T.astype(np.float32)  # [n_mels, F]


def resample_poly(x: np.ndarray, rate: int, target: int) -> np.ndarray:
    """``x`` (last axis) from ``rate`` to ``target`` Hz with scipy's polyphase FIR resampler
    (Kaiser-windowed low-pass; about 2.5x faster than torchaudio's sinc resampler here)."""
    from math import gcd

    from scipy.signal import resample_poly as _resample_poly

    if rate == target:
        return x
    g = gcd(int(rate), int(target))
    return _resample_poly(x, target // g, rate // g, axis=-1).astype(np.float32)


def to_analysis_rate(waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """``waveform`` (float32, samples last) at ``ANALYSIS_RATE``."""
    x = waveform.to(torch.float32)
    if sample_rate == ANALYSIS_RATE:
        return x
    return torch.from_numpy(np.ascontiguousarray(resample_poly(x.numpy(), sample_rate, ANALYSIS_RATE)))


def loudness_frames(waveform: torch.Tensor, sample_rate: int) -> tuple[np.ndarray, float]:
    """K-weighted mean square of consecutive rectangular frames per channel, at the track's own rate.

    Frames of ``L = 2^round(log2(0.05 * rate))`` samples (about 46 ms); by Parseval a frame's
    K-weighted mean square is ``sum_k c_k |X_k|^2 |H_K(f_k)|^2 / L^2`` (``c_k = 2`` except DC and
    Nyquist). Returns ``([C, frames], frame_seconds)``.
    """
    length = 1 << max(6, int(round(math.log2(0.05 * sample_rate))))
    x = waveform.to(torch.float32)
    frames = max(1, math.ceil(x.shape[-1] / length))
    x = torch.nn.functional.pad(x, (0, frames * length - x.shape[-1])).view(x.shape[0], frames, length)
    weight = k_weighting_power(sample_rate, length) * 2.0
    weight[0] /= 2.0
    weight[-1] /= 2.0
    weight = torch.from_numpy(weight / float(length) ** 2)
    out = torch.empty(x.shape[0], frames)
    for a in range(0, frames, CHUNK_FRAMES):  # bounded memory for hour-long tracks
        spec = torch.fft.rfft(x[:, a: a + CHUNK_FRAMES])
        out[:, a: a + CHUNK_FRAMES] = (spec.real.square() + spec.imag.square()) @ weight
    return out.numpy(), length / sample_rate


def stft_power(mono: torch.Tensor) -> np.ndarray:
    """``|STFT|^2`` ``[N_FFT // 2 + 1, T]`` of a 1-D signal: Hann window, hop ``HOP``, frames centred at
    ``i * HOP`` (the signal is padded with ``N_FFT / 2`` zeros each side), computed ``CHUNK_FRAMES``
    frames at a time so only the float32 power array is held for a long track."""
    window = _window(N_FFT)
    frames = mono.shape[-1] // HOP + 1
    padded = torch.nn.functional.pad(mono, (N_FFT // 2, N_FFT // 2 + HOP))
    power = np.empty((N_FFT // 2 + 1, frames), dtype=np.float32)
    for a in range(0, frames, CHUNK_FRAMES):
        b = min(frames, a + CHUNK_FRAMES)
        segment = padded[a * HOP: (b - 1) * HOP + N_FFT]
        spec = torch.stft(segment, N_FFT, HOP, window=window, center=False, return_complex=True)
        power[:, a:b] = (spec.real.square() + spec.imag.square()).numpy()[:, : b - a]
    return power


def compute_spectrogram(waveform: torch.Tensor, sample_rate: int) -> Spectrogram:
    """Spectrogram and frame features of one ``[C, N]`` waveform (see the module docstring)."""
    if waveform.ndim != 2:
        raise ValueError(f"compute_spectrogram expects [channels, samples], got shape {tuple(waveform.shape)}")
    duration = waveform.shape[-1] / sample_rate
    source = waveform.detach().cpu().to(torch.float32)
    k_ms, k_seconds = loudness_frames(source, sample_rate)
    mono = to_analysis_rate(source.mean(dim=0), sample_rate)
    norm = N_FFT * float(_window(N_FFT).square().sum())
    bins = N_FFT // 2 + 1
    weight = np.full(bins, 2.0, dtype=np.float32)
    weight[0] = weight[-1] = 1.0
    power = stft_power(mono)
    mean_square = (weight / norm) @ power
    mel = _mel_bank(ANALYSIS_RATE, N_FFT, N_MELS) @ power
    mel_db = 10 * np.log10(np.maximum(mel, 1e-12))
    mel_db = np.maximum(mel_db, mel_db.max() - 80.0)
    onset = np.zeros(power.shape[1], dtype=np.float32)
    if power.shape[1] > 1:
        onset[1:] = np.maximum(np.diff(mel_db, axis=1), 0).mean(axis=0)
    return Spectrogram(
        power=power,
        freqs=np.arange(bins) * ANALYSIS_RATE / N_FFT,
        mean_square=mean_square.astype(np.float64),
        k_mean_square=k_ms.astype(np.float64),
        k_frame_seconds=k_seconds,
        mel_db=mel_db.astype(np.float32),
        onset=onset,
        mono=mono.numpy(),
        duration=duration,
    )
