"""One pass over a track, in bounded chunks, and every frame feature the analysis derives from it.

:class:`FeatureBuilder` takes the track as float32 ``[C, n]`` chunks of any size (decoded from a file
or sliced from a waveform) and keeps only per-frame numbers, so an hour costs a few tens of MB
beyond the chunk in hand. From each chunk:

* per-channel K-weighted mean squares of consecutive rectangular frames at the track's own rate
  (``L = 2^round(log2(0.05 rate))`` samples, about 46 ms; by Parseval
  ``sum_k c_k |X_k|^2 |H_K(f_k)|^2 / L^2`` with ``c_k = 2`` except DC and Nyquist and ``|H_K|^2``
  from torchaudio's own BS.1770 filters applied to an impulse), which give integrated loudness with
  the BS.1770 gates (:meth:`Spectrogram.loudness_lufs`);
* sample peak, true-peak candidates (blocks of 2048 samples within 3 dB of the running peak,
  oversampled 4x) and hard-clipped runs, carried across chunk edges;
* the downmix, resampled to ``ANALYSIS_RATE`` (22.05 kHz: the 4-8 kHz band the LTX audio VAE
  hears fits under its Nyquist) with :class:`.stream.StreamResampler`, and a Hann STFT of it
  (``N_FFT`` = 2048 samples = 92.9 ms, hop ``HOP`` = 512 samples = 23.2 ms, frames centred at
  ``t_i = i HOP / ANALYSIS_RATE`` s). Each batch of frames' power ``P = |X_m|^2`` ``[F, frames]``
  is reduced by one float32 matrix product ``W P`` with a precomputed ``[1 + 8 + 64, F]`` matrix
  to each frame's mean square ``ms_i = sum_k c_k P_ki / (N_FFT sum_n w_n^2)`` (Parseval; a
  full-scale sine reads -3 dBFS), the power of each band in :data:`BANDS` and a 64-band mel
  spectrum (torchaudio's Slaney filter bank); plus the voice-band flatness; then the power is
  dropped. Per-frame results go into buffers that double when full (an hour is ~60 MB of them);
* YIN pitch (:mod:`.pitch`) on the downmix at 11.025 kHz, on every 2nd frame that may hold a voice.

A track fed in one piece or in chunks gives the same numbers (the tests check it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from .loudness import (
    BLOCK_SECONDS,
    BLOCK_STEP_SECONDS,
    TRUE_PEAK_OVERSAMPLING,
    amplitude_db,
    channel_weights,
    gated_loudness,
)
from .stream import StreamResampler

ANALYSIS_RATE = 22_050
N_FFT = 2048
HOP = 512
N_MELS = 64
MEL_FMIN = 30.0
DB_FLOOR = -120.0
"""dBFS given to digital silence."""
FRAMES_PER_BATCH = 512
"""STFT frames transformed at a time (12 s): bounds the transient memory."""
CHUNK_SECONDS = 10.0
"""Chunk length when a whole waveform is fed (:func:`compute_spectrogram`)."""
BANDS = {
    "bass 60-300 Hz": (60.0, 300.0),
    "body 300-800 Hz": (300.0, 800.0),
    "mid 0.8-2 kHz": (800.0, 2000.0),
    "presence 2-4 kHz": (2000.0, 4000.0),
    "sibilance 4-8 kHz": (4000.0, 8000.0),
    "voice 60-4000 Hz": (60.0, 4000.0),
    "formant 300-4000 Hz": (300.0, 4000.0),
    "total": (1e-9, math.inf),
}
"""Bands whose power is kept per frame (Hz, lower edge included); ``total`` is every bin but DC."""
VOICE_BAND = "voice 60-4000 Hz"
YIN_RATE = 11_025
"""YIN runs on the downmix at half the analysis rate (f0 <= 1.1 kHz needs no more)."""
YIN_STEP = 2
"""YIN runs on every 2nd frame that may hold a voice (46 ms apart); the frame after takes its result."""
CANDIDATE_FLOOR_DB = -60.0
"""Frames quieter than this never hold a voice (the level gate relative to the track comes later)."""
TRUE_PEAK_BLOCK = 2048
TRUE_PEAK_WITHIN_DB = 3.0
TRUE_PEAK_MAX_BLOCKS = 160
ENVELOPE_PER_SECOND = 200
"""Min/max pairs of the downmix kept per second for the waveform picture."""


@dataclass
class Spectrogram:
    """Frame features of one track (batch item) at ``ANALYSIS_RATE``; see the module docstring."""

    mean_square: np.ndarray
    """``[T]`` frame mean square of the downmix (linear)."""
    band_power: dict[str, np.ndarray]
    """``{band: [T]}`` power of each band of :data:`BANDS` (linear, same scale as ``|X|^2``)."""
    voice_flatness: np.ndarray
    """``[T]`` spectral flatness (geometric / arithmetic mean of the power) over the voice band."""
    k_mean_square: np.ndarray
    """``[C, J]`` K-weighted mean square per channel of consecutive ``k_frame_seconds`` frames."""
    k_frame_seconds: float
    mel_db: np.ndarray
    """``[N_MELS, T]`` mel spectrogram in dB (floor 80 dB below its maximum)."""
    onset: np.ndarray
    """``[T]`` spectral flux onset envelope ``o_i = mean_b max(0, M_bi - M_b,i-1)`` (dB per frame)."""
    yin_f0: np.ndarray
    """``[T]`` YIN pitch in Hz where it ran (NaN elsewhere)."""
    yin_aperiodicity: np.ndarray
    """``[T]`` YIN's ``d'`` at the chosen lag where it ran (NaN elsewhere)."""
    duration: float
    """Track length in seconds (of the original samples)."""
    sample_peak: float = 0.0
    """Largest ``|x|`` over channels and samples."""
    true_peak_db: float = -math.inf
    clipped_runs: int = 0
    envelope: tuple[np.ndarray, np.ndarray] | None = None
    """Min and max of the downmix per ``1 / ENVELOPE_PER_SECOND`` s (for the picture)."""
    rate: int = ANALYSIS_RATE
    hop: int = HOP

    @property
    def frames(self) -> int:
        return self.mean_square.shape[0]

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

    def loudness_lufs(self) -> float:
        """Integrated loudness (BS.1770 gates) from the K-weighted frames: 400 ms blocks every 100 ms,
        each the mean of the (about 46 ms) frames centred inside it."""
        return frames_loudness(self.k_mean_square, self.k_frame_seconds, self.duration)


def frames_loudness(z: np.ndarray, frame_seconds: float, duration: float) -> float:
    """BS.1770 integrated loudness (LUFS) from per-channel frame mean squares ``z`` ``[C, J]``."""
    t = (np.arange(z.shape[1]) + 0.5) * frame_seconds
    blocks = int(math.floor((duration - BLOCK_SECONDS) / BLOCK_STEP_SECONDS + 1e-9)) + 1
    if blocks < 1 or z.shape[1] == 0:
        return -math.inf
    starts = np.arange(blocks) * BLOCK_STEP_SECONDS
    lo = np.searchsorted(t, starts, side="left")
    hi = np.searchsorted(t, starts + BLOCK_SECONDS, side="left")
    cums = np.concatenate([np.zeros((z.shape[0], 1)), np.cumsum(z, axis=1, dtype=np.float64)], axis=1)
    counts = np.maximum(hi - lo, 1)
    energy = (cums[:, hi] - cums[:, lo]) / counts
    return float(gated_loudness(torch.from_numpy(energy), channel_weights(z.shape[0])))


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


@lru_cache(maxsize=1)
def _frame_weights() -> tuple[torch.Tensor, tuple[int, int]]:
    """``([1 + len(BANDS) + N_MELS, F] float32 matrix, (lo, hi) voice-band bin range)`` for the STFT bins.

    Row 0 turns a frame's power into its mean square (``c_k / (N_FFT sum_n w_n^2)``), the next
    ``len(BANDS)`` rows are 0/1 masks of the bands, the last ``N_MELS`` the mel filter bank, so one
    matrix product ``weights @ P`` per batch gives every per-frame reduction at once. The voice band
    is a contiguous run of bins ``lo <= k < hi`` (for the flatness)."""
    freqs = np.arange(N_FFT // 2 + 1) * ANALYSIS_RATE / N_FFT
    rows = np.stack([((freqs >= lo) & (freqs < hi)).astype(np.float32) for lo, hi in BANDS.values()])
    parseval = np.full(N_FFT // 2 + 1, 2.0, dtype=np.float32)
    parseval[0] = parseval[-1] = 1.0
    parseval /= N_FFT * float(_window(N_FFT).square().sum())
    weights = np.concatenate([parseval[None], rows, _mel_bank(ANALYSIS_RATE, N_FFT, N_MELS)]).astype(np.float32)
    lo, hi = BANDS[VOICE_BAND]
    voice = np.flatnonzero((freqs >= lo) & (freqs < hi))
    return torch.from_numpy(weights), (int(voice[0]), int(voice[-1]) + 1)


class _Growing:
    """Rows ``[k, n]`` appended along the last axis into one buffer whose capacity doubles.

    An hour of frames kept as a list of per-batch arrays interleaves small long-lived blocks with
    the per-chunk temporaries on the heap, and the process's memory grew by ~300 MB of fragments
    over 60 minutes (measured); a few large buffers do not."""

    def __init__(self, rows: int | None, dtype, fill: float = 0.0):
        self.shape = () if rows is None else (rows,)
        self.fill = fill
        self.data = np.full(self.shape + (1024,), fill, dtype=dtype)
        self.size = 0

    def _reserve(self, stop: int) -> None:
        if stop > self.data.shape[-1]:
            bigger = np.full(self.shape + (max(stop, 2 * self.data.shape[-1]),), self.fill, dtype=self.data.dtype)
            bigger[..., : self.size] = self.data[..., : self.size]
            self.data = bigger

    def append(self, values: np.ndarray) -> None:
        n = values.shape[-1]
        self._reserve(self.size + n)
        self.data[..., self.size: self.size + n] = values
        self.size += n

    def put(self, index: np.ndarray, values: np.ndarray) -> None:
        """Write ``values`` at frame ``index`` (the buffer grows to hold them; unwritten frames keep ``fill``)."""
        if len(index):
            self._reserve(int(index.max()) + 1)
            self.size = max(self.size, int(index.max()) + 1)
            self.data[..., index] = values

    def result(self, size: int | None = None) -> np.ndarray:
        """The first ``size`` (default: all appended) frames, as a trimmed copy."""
        size = self.size if size is None else size
        self._reserve(size)
        out = self.data[..., :size].copy()
        self.data = self.data[..., :0]
        return out


class _LoudnessFrames:
    """K-weighted frame mean squares per channel (module docstring), fed in chunks."""

    def __init__(self, rate: int, channels: int):
        self.length = 1 << max(6, int(round(math.log2(0.05 * rate))))
        weight = k_weighting_power(rate, self.length) * 2.0
        weight[0] /= 2.0
        weight[-1] /= 2.0
        self.weight = torch.from_numpy(weight / float(self.length) ** 2)
        self.rest = np.zeros((channels, 0), np.float32)
        self.out = _Growing(channels, np.float64)
        self.frame_seconds = self.length / rate

    def feed(self, chunk: np.ndarray, final: bool = False) -> None:
        x = np.concatenate([self.rest, chunk], axis=1) if self.rest.shape[1] else chunk
        whole = x.shape[1] // self.length
        if final and x.shape[1] > whole * self.length:
            x = np.pad(x, ((0, 0), (0, (whole + 1) * self.length - x.shape[1])))
            whole += 1
        if whole:
            frames = torch.from_numpy(np.ascontiguousarray(x[:, : whole * self.length])).view(x.shape[0], whole, -1)
            spec = torch.fft.rfft(frames)
            self.out.append(((spec.real.square() + spec.imag.square()) @ self.weight).numpy())
        self.rest = x[:, whole * self.length:].copy()

    def result(self, channels: int) -> np.ndarray:
        return self.out.result()


class _PeakTracker:
    """Sample peak, true-peak estimate and hard-clipped runs, fed in chunks.

    True peak: blocks of ``TRUE_PEAK_BLOCK`` samples (counted from the track's start) whose sample
    peak is within ``TRUE_PEAK_WITHIN_DB`` of the running sample peak (at most
    ``TRUE_PEAK_MAX_BLOCKS`` per chunk, loudest first) are oversampled 4x with 64 samples of context
    either side; the estimate is the larger of their peak and the sample peak. It equals the 4x
    true peak of the whole track unless a quieter block overshoots between samples by more than
    3 dB. Clipping: runs of 3 or more consecutive samples at ``|x| >= 0.999`` in any channel."""

    context = 64

    def __init__(self, channels: int):
        self.sample_peak = 0.0
        self.over_peak = 0.0
        self.buffer = np.zeros((channels, 0), np.float32)
        self.buffer_start = 0  # track index of buffer[:, 0]
        self.next_block = 0
        self.clip_run = np.zeros(channels, dtype=np.int64)
        self.clipped = 0

    def feed(self, chunk: np.ndarray, final: bool = False) -> None:
        if chunk.shape[1]:
            self.sample_peak = max(self.sample_peak, float(np.abs(chunk).max()))
            self._clipping(chunk)
        self.buffer = np.concatenate([self.buffer, chunk], axis=1) if chunk.shape[1] else self.buffer
        end = self.buffer_start + self.buffer.shape[1]
        if final:
            last = math.ceil(end / TRUE_PEAK_BLOCK)
        else:
            last = max(self.next_block, (end - self.context) // TRUE_PEAK_BLOCK)
        if last > self.next_block:
            self._oversample(self.next_block, last, end)
            self.next_block = last
        keep_from = max(self.buffer_start, self.next_block * TRUE_PEAK_BLOCK - self.context)
        self.buffer = self.buffer[:, keep_from - self.buffer_start:].copy()
        self.buffer_start = keep_from

    def _oversample(self, first: int, last: int, end: int) -> None:
        import torchaudio.functional as AF

        a = first * TRUE_PEAK_BLOCK - self.buffer_start
        b = min(end, last * TRUE_PEAK_BLOCK) - self.buffer_start
        folded = np.abs(self.buffer[:, a:b]).max(axis=0)
        count = last - first
        folded = np.pad(folded, (0, count * TRUE_PEAK_BLOCK - folded.shape[0]))
        peaks = folded.reshape(count, TRUE_PEAK_BLOCK).max(axis=1)
        threshold = self.sample_peak * 10 ** (-TRUE_PEAK_WITHIN_DB / 20)
        order = np.argsort(-peaks, kind="stable")[:TRUE_PEAK_MAX_BLOCKS]
        order = order[(peaks[order] >= threshold) & (peaks[order] > 0)]
        if not len(order):
            return
        span = TRUE_PEAK_BLOCK + 2 * self.context
        pieces = np.zeros((len(order), self.buffer.shape[0], span), np.float32)
        for row, index in enumerate(order.tolist()):
            lo = (first + index) * TRUE_PEAK_BLOCK - self.context - self.buffer_start
            piece = self.buffer[:, max(0, lo): max(0, lo + span)]
            pieces[row, :, max(0, -lo): max(0, -lo) + piece.shape[1]] = piece
        up = AF.resample(torch.from_numpy(pieces), 1, TRUE_PEAK_OVERSAMPLING)
        self.over_peak = max(self.over_peak, float(up.abs().max()))

    def _clipping(self, chunk: np.ndarray) -> None:
        hot = np.abs(chunk) >= 0.999
        if not hot.any() and not self.clip_run.any():
            return
        for c in range(chunk.shape[0]):
            row = hot[c]
            carried = int(self.clip_run[c])
            self.clip_run[c] = 0
            edges = np.flatnonzero(np.diff(np.concatenate([[0], row.astype(np.int8), [0]])))
            starts, stops = edges[::2], edges[1::2]
            lengths = stops - starts
            if carried:
                if len(starts) and starts[0] == 0:
                    lengths[0] += carried
                else:
                    self.clipped += int(carried >= 3)
            if len(stops) and stops[-1] == len(row):
                self.clip_run[c] = lengths[-1]
                lengths = lengths[:-1]
            self.clipped += int((lengths >= 3).sum())

    def finish(self) -> tuple[float, float, int]:
        self.feed(np.zeros((self.buffer.shape[0], 0), np.float32), final=True)
        self.clipped += int((self.clip_run >= 3).sum())
        self.clip_run[:] = 0
        return self.sample_peak, amplitude_db(max(self.sample_peak, self.over_peak)), self.clipped


class FeatureBuilder:
    """The analysis features of one track, fed as float32 ``[C, n]`` chunks (module docstring).

    ``feed`` each chunk in order, then ``finish`` once for the :class:`Spectrogram`.
    """

    def __init__(self, sample_rate: int, channels: int):
        self.rate, self.channels = int(sample_rate), int(channels)
        self.samples = 0
        self._loudness = _LoudnessFrames(self.rate, self.channels)
        self._peaks = _PeakTracker(self.channels)
        self._to_analysis = StreamResampler(self.rate, ANALYSIS_RATE)
        self._to_yin = StreamResampler(ANALYSIS_RATE, YIN_RATE)
        self._mono = np.zeros(N_FFT // 2, np.float32)  # the STFT's leading zero padding
        self._mono_start = -(N_FFT // 2)
        self._mono_total = 0
        self._next_frame = 0
        self._yin_signal = np.zeros(0, np.float32)
        self._yin_start = 0
        self._yin_total = 0
        self._yin_pending: list[int] = []
        self._rows = {"ms": _Growing(None, np.float64), "mel": _Growing(N_MELS, np.float32),
                      "bands": _Growing(len(BANDS), np.float64), "flat": _Growing(None, np.float32),
                      "f0": _Growing(None, np.float64, np.nan), "aperiodicity": _Growing(None, np.float64, np.nan)}
        self._env_hop = max(1, self.rate // ENVELOPE_PER_SECOND)
        self._env_rest = np.zeros(0, np.float32)
        self._env = _Growing(2, np.float32)

    def feed(self, chunk: np.ndarray) -> None:
        chunk = np.ascontiguousarray(chunk, dtype=np.float32)  # reductions over channels are slow on a strided view
        if chunk.ndim != 2 or chunk.shape[0] != self.channels:
            raise ValueError(f"FeatureBuilder expects [{self.channels}, n] chunks, got shape {chunk.shape}")
        if not chunk.shape[1]:
            return
        self.samples += chunk.shape[1]
        self._loudness.feed(chunk)
        self._peaks.feed(chunk)
        mono = chunk.mean(axis=0) if self.channels > 1 else chunk[0]
        self._envelope(mono)
        self._analysis_samples(self._to_analysis.feed(mono))

    def _envelope(self, mono: np.ndarray, final: bool = False) -> None:
        x = np.concatenate([self._env_rest, mono])
        whole = len(x) // self._env_hop
        if whole:
            bins = x[: whole * self._env_hop].reshape(whole, self._env_hop)
            self._env.append(np.stack([bins.min(axis=1), bins.max(axis=1)]))
        self._env_rest = x[whole * self._env_hop:]
        if final and len(self._env_rest):
            self._env.append(np.array([[self._env_rest.min()], [self._env_rest.max()]], np.float32))
            self._env_rest = np.zeros(0, np.float32)

    def _analysis_samples(self, mono: np.ndarray, final: bool = False) -> None:
        self._mono_total += len(mono)
        self._mono = np.concatenate([self._mono, mono])
        self._yin_samples(self._to_yin.feed(mono))
        if final:
            self._yin_samples(self._to_yin.finish())
            frames = self._mono_total // HOP + 1
            self._mono = np.concatenate([self._mono, np.zeros(N_FFT // 2 + HOP, np.float32)])
        else:
            end = self._mono_start + len(self._mono)
            frames = max(self._next_frame, (end - N_FFT // 2) // HOP + 1)
            if frames - self._next_frame < FRAMES_PER_BATCH:
                return
        while self._next_frame < frames:
            stop = min(frames, self._next_frame + FRAMES_PER_BATCH)
            self._stft(self._next_frame, stop)
            self._next_frame = stop
        self._run_yin(final)
        keep = self._next_frame * HOP - N_FFT // 2
        self._mono = self._mono[keep - self._mono_start:].copy()
        self._mono_start = keep

    def _stft(self, first: int, stop: int) -> None:
        a = first * HOP - N_FFT // 2 - self._mono_start
        segment = torch.from_numpy(self._mono[a: a + (stop - first - 1) * HOP + N_FFT])
        spec = torch.stft(segment, N_FFT, HOP, window=_window(N_FFT), center=False, return_complex=True)
        power = (spec.real.square() + spec.imag.square())[:, : stop - first]
        weights, (lo, hi) = _frame_weights()
        reduced = (weights @ power).numpy()
        mean_square, bands, mel = reduced[0], reduced[1: 1 + len(BANDS)], reduced[1 + len(BANDS):]
        band = power[lo:hi]
        flatness = (torch.exp(torch.log(band + 1e-20).mean(dim=0)) / (band.mean(dim=0) + 1e-20)).numpy()
        self._rows["ms"].append(mean_square)
        self._rows["mel"].append(mel)
        self._rows["bands"].append(bands)
        self._rows["flat"].append(flatness)
        from .pitch import local_candidates

        level = 10 * np.log10(np.maximum(mean_square, 1e-30))
        names = list(BANDS)
        may = local_candidates(bands[names.index(VOICE_BAND)], bands[names.index("formant 300-4000 Hz")],
                               bands[names.index("total")], flatness, level)
        index = np.flatnonzero(may) + first
        self._yin_pending.extend(int(i) for i in index[index % YIN_STEP == 0])

    def _yin_samples(self, samples: np.ndarray) -> None:
        self._yin_total += len(samples)
        self._yin_signal = np.concatenate([self._yin_signal, samples])

    def _run_yin(self, final: bool) -> None:
        from .pitch import YIN_SPAN, YIN_WINDOW, yin

        centres = np.array(self._yin_pending, dtype=np.int64) * HOP * YIN_RATE // ANALYSIS_RATE
        end = self._yin_start + len(self._yin_signal)
        ready = np.ones(len(centres), bool) if final else centres - YIN_WINDOW // 2 + YIN_SPAN <= end
        if not len(centres):
            ready = np.zeros(0, bool)
        if ready.any():
            frames = np.array(self._yin_pending)[ready]
            hz, aperiodicity = yin(self._yin_signal, centres[ready] - self._yin_start, YIN_RATE)
            self._rows["f0"].put(frames, hz)
            self._rows["aperiodicity"].put(frames, aperiodicity)
            self._yin_pending = np.array(self._yin_pending)[~ready].tolist()
        # keep what the pending and the next frames still need
        next_centre = self._next_frame * HOP * YIN_RATE // ANALYSIS_RATE
        need = min([next_centre] + [c for c, r in zip(centres.tolist(), ready.tolist()) if not r]) - YIN_WINDOW // 2
        if need > self._yin_start:
            self._yin_signal = self._yin_signal[need - self._yin_start:].copy()
            self._yin_start = need

    def finish(self) -> Spectrogram:
        self._loudness.feed(np.zeros((self.channels, 0), np.float32), final=True)
        sample_peak, true_peak, clipped = self._peaks.finish()
        self._envelope(np.zeros(0, np.float32), final=True)
        expected = int(math.ceil(self.samples * ANALYSIS_RATE / self.rate))
        tail = self._to_analysis.finish()
        tail = tail[: max(0, expected - self._mono_total)]
        tail = np.pad(tail, (0, max(0, expected - self._mono_total - len(tail))))
        self._analysis_samples(tail, final=True)
        frames = self._next_frame
        rows = self._rows
        ms, mel, bands, flat = (rows[name].result() for name in ("ms", "mel", "bands", "flat"))
        mel_db = mel  # in place: an hour of mel frames is 40 MB a copy
        np.maximum(mel_db, 1e-12, out=mel_db)
        np.log10(mel_db, out=mel_db)
        mel_db *= 10
        if mel_db.size:
            np.maximum(mel_db, mel_db.max() - 80.0, out=mel_db)
        onset = np.zeros(frames, dtype=np.float32)
        for a in range(1, frames, 16_384):  # in blocks: bounded temporaries
            b = min(frames, a + 16_384)
            step = mel_db[:, a:b] - mel_db[:, a - 1: b - 1]
            np.maximum(step, 0, out=step)
            onset[a:b] = step.mean(axis=0)
        f0 = rows["f0"].result(frames)
        aperiodicity = rows["aperiodicity"].result(frames)
        envelope = self._env.result()
        return Spectrogram(
            mean_square=ms, band_power={name: bands[k] for k, name in enumerate(BANDS)},
            voice_flatness=flat, k_mean_square=self._loudness.result(self.channels),
            k_frame_seconds=self._loudness.frame_seconds, mel_db=mel_db, onset=onset,
            yin_f0=f0, yin_aperiodicity=aperiodicity, duration=self.samples / self.rate,
            sample_peak=sample_peak, true_peak_db=true_peak, clipped_runs=clipped,
            envelope=(envelope[0], envelope[1]),
        )


def compute_spectrogram(waveform: torch.Tensor, sample_rate: int, progress=None) -> Spectrogram:
    """Features of one ``[C, N]`` waveform, fed to a :class:`FeatureBuilder` in ``CHUNK_SECONDS`` chunks."""
    from .progress import report
    from .stream import iter_tensor_chunks

    if waveform.ndim != 2:
        raise ValueError(f"compute_spectrogram expects [channels, samples], got shape {tuple(waveform.shape)}")
    builder = FeatureBuilder(sample_rate, waveform.shape[0])
    step = max(1, int(CHUNK_SECONDS * sample_rate))
    n = waveform.shape[-1]
    for chunk in iter_tensor_chunks(waveform, step):
        builder.feed(chunk)
        report(progress, "analysing", builder.samples / n)
    return builder.finish()
