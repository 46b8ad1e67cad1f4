"""The preprocess chain in a stream: the file-to-file path against the in-memory path, and every
chunked piece (overlap-add EQ, block peaks, gain curve ranges, gain application, file chunking)
against its whole-signal result."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltx_audioloop.audio.equaliser import OverlapAddFilter, equalise
from ltx_audioloop.audio.files import load_audio
from ltx_audioloop.audio.limiter import (
    BLOCK,
    BlockPeakTracker,
    LimiterSettings,
    apply_gain,
    block_true_peaks,
    gain_curve,
)
from ltx_audioloop.audio.loudness import true_peak_db
from ltx_audioloop.audio.preprocess import PreprocessSettings, preprocess_audio
from ltx_audioloop.audio.preprocess_file import preprocess_file
from ltx_audioloop.audio.save import save_audio

SPEC = PreprocessSettings()
QUANTUM = 2 * 256 / (2**31 - 256)
"""Two steps of 24-bit PCM (2.4e-7): rounding on writing, and the writer's scale 2^31 - 256 read back as 2^31 - 1."""


def split(n: int, cuts: list[int]) -> list[tuple[int, int]]:
    """Ranges covering ``0..n`` cut at ``cuts`` (any values; clipped, sorted, deduplicated)."""
    edges = sorted({0, n, *(min(n, max(0, c)) for c in cuts)})
    return list(zip(edges[:-1], edges[1:]))


def music_like(seconds: float, rate: int, channels: int, level: float, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    tones = sum(np.sin(2 * math.pi * f * t + rng.uniform(0, 6)) for f in (110, 220, 330, 880, 2500, 5000)) / 6
    noise = rng.standard_normal((channels, len(t))) * 0.3
    x = level * (tones[None, :] + noise) * (0.6 + 0.4 * np.sin(2 * math.pi * 0.5 * t))[None, :]
    return torch.from_numpy(x).float()


def peaky(seconds: float, rate: int, channels: int, seed: int) -> torch.Tensor:
    """Sparse clicks over quiet noise: the limiter has to work for the loudness target."""
    g = torch.Generator().manual_seed(seed)
    x = 0.01 * torch.randn(channels, int(seconds * rate), generator=g)
    x[..., :: rate // 3] += 0.9
    x[..., 5:: rate // 5] -= 0.7
    return x


# --- chunked pieces against the whole signal -------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 3000), st.lists(st.integers(0, 3000), max_size=8), st.integers(1, 60), st.booleans())
def test_overlap_add_in_any_chunking_equals_the_whole_and_the_convolution(n, cuts, taps, double):
    rng = np.random.default_rng(n)
    h = torch.from_numpy(rng.standard_normal(taps))
    dtype = torch.float64 if double else torch.float32
    x = torch.from_numpy(rng.standard_normal((2, n))).to(dtype)
    whole = OverlapAddFilter(h, 128)
    reference = torch.cat([whole.feed(x), *[t for t in [whole.finish()] if t is not None]], dim=-1)
    stream = OverlapAddFilter(h, 128)
    pieces = [stream.feed(x[:, a:b]) for a, b in split(n, cuts)]
    last = stream.finish()
    joined = torch.cat(pieces + ([last] if last is not None else []), dim=-1)
    assert joined.dtype == dtype and joined.shape == x.shape
    assert torch.equal(joined, reference)
    direct = np.stack([np.convolve(row, h.numpy())[:n] for row in x.double().numpy()])
    assert np.allclose(joined.double().numpy(), direct, atol=1e-5 if dtype == torch.float32 else 1e-10)


def test_equalise_is_the_overlap_add_filter_fed_whole():
    rate = 16_000
    x = music_like(2.0, rate, 2, 0.1, 0)
    y, _ = equalise(x, rate, SPEC, fft_size=1 << 13)
    from ltx_audioloop.audio.equaliser import chain_impulse_response

    stream = OverlapAddFilter(chain_impulse_response(rate, SPEC)[0], 1 << 13)
    pieces = [stream.feed(x[:, a:a + 777]) for a in range(0, x.shape[-1], 777)]
    assert torch.equal(torch.cat(pieces + [stream.finish()], dim=-1), y)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 5000), st.lists(st.integers(0, 5000), max_size=6), st.sampled_from([16, 48, 256, 1024]),
       st.sampled_from([1, 2, 4]))
def test_block_peaks_do_not_depend_on_the_feeding(n, cuts, span, oversampling):
    rng = np.random.default_rng(n + span)
    x = torch.from_numpy(rng.standard_normal((2, n)).astype(np.float32))
    reference = block_true_peaks(x, oversampling, span)
    tracker = BlockPeakTracker(oversampling, span, expected=n // 3)
    for a, b in split(n, cuts):
        tracker.feed(x[:, a:b])
    tracker.finish()
    assert len(reference) == math.ceil(n / BLOCK)
    assert np.array_equal(tracker.result(), reference)
    if n > 64:  # the spans' peaks agree with oversampling the whole signal at once (context 64)
        import torchaudio.functional as AF

        up = AF.resample(x, 1, oversampling).abs().amax(0) if oversampling > 1 else x.abs().amax(0)
        assert tracker.maximum == pytest.approx(max(float(up.max()), float(x.abs().max())), rel=1e-5)


def old_gain_curve(peaks, gain, ceiling, rate, settings):
    """The limiter's ``G_b`` as first written (whole track, running sum for the mean)."""
    ahead = max(1, int(round(settings.lookahead_ms * 1e-3 * rate / BLOCK)))
    hold = max(0, int(round(settings.hold_ms * 1e-3 * rate / BLOCK)))
    need = np.minimum(1.0, ceiling / np.maximum(gain * peaks.astype(np.float64), 1e-30))
    padded = np.concatenate([np.ones(hold + 1), need, np.ones(ahead + 1)])
    m = np.array([padded[b: b + hold + ahead + 3].min() for b in range(len(peaks))])
    m = np.concatenate([np.full(ahead, m[0]), m])
    csum = np.concatenate([[0.0], np.cumsum(m)])
    return np.minimum((csum[ahead + 1:] - csum[: -ahead - 1]) / (ahead + 1), 1.0)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3000), st.integers(0, 3000), st.integers(0, 3000), st.sampled_from([0.5, 5.0, 20.0]),
       st.sampled_from([0.0, 20.0, 200.0]), st.floats(0.5, 8.0))
def test_gain_curve_ranges_equal_the_whole_curve(blocks, a, b, lookahead, hold, gain):
    rng = np.random.default_rng(blocks)
    peaks = (np.abs(rng.standard_normal(blocks)) * (rng.random(blocks) < 0.05)).astype(np.float32)
    limiter = LimiterSettings(lookahead_ms=lookahead, hold_ms=hold)
    whole = gain_curve(peaks, gain, 0.5, 44_100, limiter)
    assert np.allclose(whole, old_gain_curve(peaks, gain, 0.5, 44_100, limiter), atol=1e-6)
    start, stop = sorted((a, b))
    part = gain_curve(peaks, gain, 0.5, 44_100, limiter, start, stop)
    assert np.array_equal(part, whole[start: min(stop, blocks)])


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4000), st.lists(st.integers(0, 4000), max_size=6), st.floats(0.1, 4.0))
def test_gain_applied_in_chunks_at_any_offset_equals_the_whole(n, cuts, gain):
    rng = np.random.default_rng(n)
    x = torch.from_numpy(rng.standard_normal((2, n)).astype(np.float32))
    curve = rng.random(math.ceil(n / BLOCK)).astype(np.float32)
    whole = apply_gain(x.clone(), gain, curve)
    pieces = []
    for a, b in split(n, cuts):
        lo = a // BLOCK
        pieces.append(apply_gain(x[:, a:b].clone(), gain, curve[lo:], a - lo * BLOCK))
    assert torch.equal(torch.cat(pieces, dim=-1), whole)


# --- the file path against the in-memory path ------------------------------------------------


MATERIALS = {
    "peaky stereo 48k": (lambda: peaky(6.0, 48_000, 2, 1), 48_000),
    "peaky mono 44.1k": (lambda: peaky(5.0, 44_100, 1, 2), 44_100),
    "music stereo 44.1k": (lambda: music_like(6.0, 44_100, 2, 0.05, 3), 44_100),
    "loud music mono 48k": (lambda: music_like(5.0, 48_000, 1, 0.4, 4), 48_000),
    "silence stereo 44.1k": (lambda: torch.zeros(2, 44_100 * 2), 44_100),
}


@pytest.mark.parametrize("name", list(MATERIALS))
def test_file_path_gives_the_in_memory_result(tmp_path, name):
    make, rate = MATERIALS[name]
    source = save_audio({"waveform": make().unsqueeze(0), "sample_rate": rate}, tmp_path / "in.wav")
    decoded = load_audio(source)  # what both paths see: the 24-bit samples
    held, held_reports, held_notes = preprocess_audio(decoded)
    reports, notes = preprocess_file(source, tmp_path / "out.flac", chunk_seconds=1.3)
    written = load_audio(tmp_path / "out.flac")["waveform"]
    assert written.shape == held["waveform"].shape and notes == held_notes
    assert float((written - held["waveform"].clamp(-1, 1)).abs().max()) <= QUANTUM
    r, h = reports[0], held_reports[0]
    assert r.gain_db == pytest.approx(h.gain_db, abs=1e-6)
    if math.isfinite(h.lufs_after):
        assert r.lufs_after == pytest.approx(h.lufs_after, abs=0.05)
        assert r.peak_after == pytest.approx(h.peak_after, abs=0.1)
        assert r.lufs_before == pytest.approx(h.lufs_before, abs=0.05)
        assert (r.ceiling_limited, r.limiting_db, r.limited_fraction) == pytest.approx(
            (h.ceiling_limited, h.limiting_db, h.limited_fraction), abs=1e-6)
        assert float(true_peak_db(written, rate)[0]) <= SPEC.ceiling_dbtp + 0.02
    else:
        assert r.gain_db == 0 and float(written.abs().max()) == 0


def test_peaky_file_reaches_the_target_by_an_independent_meter(tmp_path):
    pyloudnorm = pytest.importorskip("pyloudnorm")
    rate = 44_100
    source = save_audio({"waveform": peaky(8.0, rate, 2, 5).unsqueeze(0), "sample_rate": rate}, tmp_path / "in.wav")
    reports, _ = preprocess_file(source, tmp_path / "out.wav", PreprocessSettings(target_lufs=-14.0))
    written = load_audio(tmp_path / "out.wav")["waveform"]
    measured = pyloudnorm.Meter(rate).integrated_loudness(written[0].double().numpy().T)
    assert measured == pytest.approx(-14.0, abs=0.5)
    assert float(true_peak_db(written, rate)[0]) <= SPEC.ceiling_dbtp + 0.01
    assert reports[0].ceiling_limited and reports[0].limiting_db > 3


@settings(max_examples=6, deadline=None)
@given(st.floats(0.05, 4.0))
def test_decoded_chunk_length_does_not_change_the_file(tmp_path_factory, chunk_seconds):
    folder = tmp_path_factory.mktemp("chunks")
    rate = 22_050
    x = peaky(3.0, rate, 2, 7) + music_like(3.0, rate, 2, 0.05, 7)
    source = save_audio({"waveform": x.unsqueeze(0), "sample_rate": rate}, folder / "in.wav")
    preprocess_file(source, folder / "a.wav", chunk_seconds=10.0)
    preprocess_file(source, folder / "b.wav", chunk_seconds=chunk_seconds)
    assert (folder / "a.wav").read_bytes() == (folder / "b.wav").read_bytes()


def test_a_peak_left_over_the_ceiling_gets_the_extra_pass_in_both_paths(tmp_path, caplog):
    """Detection on samples only (oversampling 1) misses the peaks between the samples of a tone at
    a quarter of the rate with a 45 degree phase (3 dB over its samples): the gain puts the samples
    1.5 dB under the ceiling, the 4x check finds the true peak over it and one more pass runs."""
    from ltx_audioloop.audio.loudness import measure_loudness

    rate = 16_000
    t = torch.arange(rate * 3, dtype=torch.float64) / rate
    x = (0.1 * torch.sin(2 * math.pi * rate / 4 * t + math.pi / 4)).float().view(1, -1)
    limiter = LimiterSettings(oversampling=1, margin_db=0.0)
    source = save_audio({"waveform": x.unsqueeze(0), "sample_rate": rate}, tmp_path / "in.wav")
    decoded = load_audio(source)
    sample_peak_db = 20 * math.log10(float(decoded["waveform"].abs().max()))
    ceiling = -12.0
    target = measure_loudness(decoded["waveform"][0], rate) + (ceiling - 1.5 - sample_peak_db)
    flat = PreprocessSettings(highpass_hz=0.0, cut1_db=0.0, cut2_db=0.0, presence_db=0.0, sibilance_db=0.0,
                              target_lufs=target, ceiling_dbtp=ceiling)
    held, held_reports, _ = preprocess_audio(decoded, flat, limiter)
    with caplog.at_level(logging.INFO, logger="ltx_audioloop"):
        reports, _ = preprocess_file(source, tmp_path / "out.wav", flat, limiter)
    assert "one more limiter pass" in caplog.text
    assert held_reports[0].peak_after > ceiling  # 1x detection cannot fix it: the check still ran
    written = load_audio(tmp_path / "out.wav")["waveform"]
    assert float((written - held["waveform"].clamp(-1, 1)).abs().max()) <= QUANTUM
    assert reports[0].peak_after == pytest.approx(held_reports[0].peak_after, abs=1e-6)


def test_short_clip_and_bad_files(tmp_path):
    rate = 16_000
    short = torch.rand(1, 1, 1600) * 0.2 - 0.1  # 0.1 s: shorter than one loudness block
    source = save_audio({"waveform": short, "sample_rate": rate}, tmp_path / "short.wav")
    reports, _ = preprocess_file(source, tmp_path / "out.wav")
    assert reports[0].gain_db == 0 and load_audio(tmp_path / "out.wav")["waveform"].shape == (1, 1, 1600)
    (tmp_path / "notes.txt").write_text("not audio")
    with pytest.raises(ValueError, match="notes.txt"):
        preprocess_file(tmp_path / "notes.txt", tmp_path / "never.wav")
    with pytest.raises(ValueError, match="not found"):
        preprocess_file(tmp_path / "missing.wav", tmp_path / "never.wav")
    assert not (tmp_path / "never.wav").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "out.wav", "short.wav"]  # no temporaries


@pytest.mark.parametrize("clicks", [False, True])
def test_output_peak_skips_only_what_the_limiter_left_alone(clicks):
    """Spans the limiter left alone take ``g max p_b`` instead of being oversampled again: the
    same true peak as measuring every span, with or without limiting elsewhere."""
    from ltx_audioloop.audio.preprocess import Levelling, OutputMeter

    rate = 44_100
    y = music_like(40.0, rate, 2, 0.05, 9)
    if clicks:
        y[:, 30 * rate:: rate // 4] += 0.9  # limiting only in the last 10 s
    peaks = block_true_peaks(y, 4)
    level = Levelling(6.0, peaks, 10 ** (-2.15 / 20), rate, LimiterSettings())
    out = y.clone()
    level.apply(out, 0)
    measured = {}
    for name, given_level in (("skipping", level), ("every span", None)):
        meter = OutputMeter(rate, 2, given_level)
        for start in range(0, out.shape[-1], 100_000):
            meter.feed(out[:, start: start + 100_000])
        measured[name] = meter.result()[1]
    assert measured["skipping"] == pytest.approx(measured["every span"], abs=1e-5)
    assert measured["every span"] == pytest.approx(float(true_peak_db(out, rate)), abs=1e-5)
    assert level.unlimited_peak(0, 1 << 19) is not None
    assert (level.unlimited_peak(30 * rate, 31 * rate) is None) == clicks
