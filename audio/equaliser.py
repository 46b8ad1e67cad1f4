"""The preprocessing EQ (high-pass and bells) as one FIR filter, applied whole or in a stream.

The chain is torchaudio's biquads (``highpass_biquad``, ``equalizer_biquad``) in float64. It is
linear and time-invariant, so it runs as a convolution with its impulse response ``h`` (the
biquads applied to an impulse, cut where the energy left is below 1e-14 of the total, i.e. the
tail left out is below -140 dB), by FFT overlap-add:

* transforms of ``S`` points (``fft_size``, at least ``2 len(h)``), input blocks of
  ``B = S - len(h) + 1`` samples counted from the track's first sample;
* block ``k`` (input samples ``[kB, (k+1)B)``) gives ``S`` output samples from ``kB``: its first
  ``B`` plus the ``len(h) - 1`` carried into block ``k + 1``'s range;
* output sample ``t`` in block ``k`` is ``fl(tail_{k-1}(t) + piece_k(t))``, both terms rounded to
  the output's dtype first.

:class:`OverlapAddFilter` keeps the pending input (less than ``B`` samples) and the carried tail
(``len(h) - 1`` samples), so fed in any chunking it returns the same samples, bit for bit, as
:func:`equalise` on the whole signal (the block grid is the track's, not the chunks'). Memory: a
few ``S``-point transforms (``S = 2^18``: about 4 MB per channel), whatever the track's length.
A stage whose frequency is not below 0.45 x the sample rate is skipped (noted).
"""

from __future__ import annotations

import math

import torch

from .preprocess_settings import PreprocessSettings

FFT_SIZE = 1 << 18
"""Default overlap-add transform length (samples): about 6 s blocks at 44.1 kHz."""


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


class OverlapAddFilter:
    """FFT overlap-add convolution with ``h`` in a stream (module docstring): :meth:`feed` chunks
    ``[..., n]`` (any leading shape, the same every call), then :meth:`finish` once. Each call
    returns the output samples completed so far, in the input's floating dtype (float32 for
    integers); the outputs joined equal the whole-signal convolution cut to the input's length."""

    def __init__(self, h: torch.Tensor, fft_size: int = FFT_SIZE):
        self.taps = h.shape[0]
        self.size = max(fft_size, 1 << math.ceil(math.log2(2 * self.taps)))
        self.block = self.size - self.taps + 1
        self.spectrum = torch.fft.rfft(h.to(torch.float64), n=self.size)
        self.pending: list[torch.Tensor] = []
        self.held = 0
        self.tail: torch.Tensor | None = None

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        """One block (``<= B`` samples): its first ``len(x)`` output samples; the rest becomes the tail."""
        piece = torch.fft.irfft(torch.fft.rfft(x.to(torch.float64), n=self.size) * self.spectrum, n=self.size)
        piece = piece.to(x.dtype)
        if self.tail is not None:
            piece[..., : self.taps - 1] += self.tail
        self.tail = piece[..., self.block: self.block + self.taps - 1]
        return piece[..., : x.shape[-1]]

    def feed(self, chunk: torch.Tensor) -> torch.Tensor:
        if not chunk.is_floating_point():
            chunk = chunk.to(torch.float32)
        if self.held + chunk.shape[-1] < self.block:
            self.pending.append(chunk)
            self.held += chunk.shape[-1]
            return chunk[..., :0]
        x = torch.cat([*self.pending, chunk], dim=-1) if self.pending else chunk
        whole = x.shape[-1] // self.block
        out = torch.empty(x.shape[:-1] + (whole * self.block,), dtype=x.dtype)
        for k in range(whole):
            out[..., k * self.block: (k + 1) * self.block] = self._run(x[..., k * self.block: (k + 1) * self.block])
        rest = x[..., whole * self.block:]
        self.pending, self.held = ([rest.clone()], rest.shape[-1]) if rest.shape[-1] else ([], 0)
        return out

    def finish(self) -> torch.Tensor | None:
        """The last (partial) block's samples, or ``None`` when nothing is pending."""
        if not self.held:
            return None
        x = torch.cat(self.pending, dim=-1) if len(self.pending) > 1 else self.pending[0]
        self.pending, self.held = [], 0
        return self._run(x)


def equalise(waveform: torch.Tensor, sample_rate: int, settings: PreprocessSettings,
             fft_size: int = FFT_SIZE) -> tuple[torch.Tensor, list[str]]:
    """The EQ stages (1-2) on ``[..., N]`` (module docstring): same samples as running the biquads
    one by one, many times faster than torchaudio's sample-by-sample ``lfilter``. Returns the
    input's floating dtype (float32 in, float32 out: one extra waveform of memory) and notes on
    skipped stages."""
    h, notes = chain_impulse_response(sample_rate, settings)
    x = waveform if waveform.is_floating_point() else waveform.to(torch.float32)
    stream = OverlapAddFilter(h, fft_size)
    out = torch.empty_like(x)
    done = 0
    for start in range(0, x.shape[-1], stream.block):
        piece = stream.feed(x[..., start: start + stream.block])
        out[..., done: done + piece.shape[-1]] = piece
        done += piece.shape[-1]
    last = stream.finish()
    if last is not None:
        out[..., done:] = last
    return out, notes
