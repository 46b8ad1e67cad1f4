"""Streaming audio: length from the container without decoding, chunked analysis equal to whole-track."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ltx_audioloop.audio.features import FeatureBuilder, compute_spectrogram
from ltx_audioloop.audio.files import load_audio
from ltx_audioloop.audio.save import save_audio
from ltx_audioloop.audio.stream import StreamResampler, probe_audio, resample_mono


def _song(seconds: float, rate: int, channels: int) -> torch.Tensor:
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * rate)) / rate
    voice = sum(np.sin(2 * math.pi * k * 180 * (1 + 0.02 * np.sin(2 * math.pi * 5 * t)) * t) / k for k in range(1, 8))
    kick = np.exp(-np.mod(t, 0.5) * 20) * np.sin(2 * math.pi * 55 * t)
    mono = 0.2 * voice * (np.sin(2 * math.pi * 2 * t) > 0) + 0.4 * kick + 0.01 * rng.standard_normal(len(t))
    x = np.stack([mono * (1 - 0.1 * c) for c in range(channels)]).astype(np.float32)
    x[0, 1000:1004] = 1.0  # one clipped run
    return torch.from_numpy(x)


@pytest.mark.parametrize(("suffix", "rate", "channels"), [(".wav", 44_100, 2), (".flac", 48_000, 1)])
def test_length_rate_and_channels_come_from_the_headers(tmp_path, suffix, rate, channels):
    x = _song(3.3, rate, channels)
    path = save_audio({"waveform": x.unsqueeze(0), "sample_rate": rate}, tmp_path / f"a{suffix}")
    info = probe_audio(path)
    assert (info.sample_rate, info.channels, info.samples) == (rate, channels, x.shape[-1])
    assert info.duration == pytest.approx(3.3, abs=1 / rate)
    loaded = load_audio(path)["waveform"]
    assert loaded.shape == (1, channels, x.shape[-1]) and loaded.is_contiguous()


def test_resampler_gives_the_same_samples_in_any_chunking():
    x = np.random.default_rng(1).standard_normal(48_000 * 3).astype(np.float32)
    whole = resample_mono(x, 48_000, 22_050)
    r = StreamResampler(48_000, 22_050)
    parts = [r.feed(x[i: i + 777]) for i in range(0, len(x), 777)] + [r.finish()]
    pieces = np.concatenate(parts)[: len(whole)]
    assert np.array_equal(pieces, whole)
    click = np.zeros(44_100, np.float32)
    click[10_000] = 1.0
    assert int(np.argmax(resample_mono(click, 44_100, 22_050))) == 5_000  # time-aligned


@pytest.mark.parametrize("chunk", [997, 22_050, 100_000])
def test_chunked_features_equal_whole_track_features(chunk):
    rate = 44_100
    x = _song(8.0, rate, 2)
    whole = compute_spectrogram(x, rate)
    builder = FeatureBuilder(rate, 2)
    for start in range(0, x.shape[-1], chunk):
        builder.feed(x[:, start: start + chunk].numpy())
    parts = builder.finish()
    assert parts.frames == whole.frames
    np.testing.assert_allclose(parts.mel_db, whole.mel_db, atol=1e-3)
    np.testing.assert_allclose(parts.mean_square, whole.mean_square, rtol=1e-4, atol=1e-12)
    np.testing.assert_allclose(parts.k_mean_square, whole.k_mean_square, rtol=1e-4, atol=1e-12)
    assert np.array_equal(np.isfinite(parts.yin_f0), np.isfinite(whole.yin_f0))
    np.testing.assert_allclose(parts.yin_f0, whole.yin_f0, rtol=1e-4)
    assert parts.loudness_lufs() == pytest.approx(whole.loudness_lufs(), abs=1e-6)
    assert parts.true_peak_db == pytest.approx(whole.true_peak_db, abs=1e-6)
    assert parts.clipped_runs == whole.clipped_runs == 1
