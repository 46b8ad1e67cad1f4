"""The lip-sync preprocessing chain: band gains, loudness and true peak against the spec, and safety
on silence, short clips, batches, channel counts and sample rates."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltx_audioloop.audio.files import load_audio
from ltx_audioloop.audio.limiter import LimiterSettings, gain_curve
from ltx_audioloop.audio.loudness import integrated_loudness, true_peak_db
from ltx_audioloop.audio.preprocess import (
    PreprocessSettings,
    _biquad_chain,
    chain_impulse_response,
    equalise,
    format_preprocess_report,
    preprocess_audio,
)
from ltx_audioloop.nodes import NODE_CLASS_MAPPINGS
from ltx_audioloop.tools.cli import main

SPEC = PreprocessSettings()
FLAT = PreprocessSettings(highpass_hz=0.0, cut1_db=0.0, cut2_db=0.0, presence_db=0.0, sibilance_db=0.0)


def gain_db(settings: PreprocessSettings, hz: float, rate: int = 48_000) -> float:
    """Steady-state gain of the EQ stages at ``hz`` from the chain's impulse response."""
    h, _ = chain_impulse_response(rate, settings)
    n = 1 << 20
    spectrum = torch.fft.rfft(h, n=n).abs()
    k = hz * n / rate
    lo = int(math.floor(k))
    value = spectrum[lo] + (spectrum[lo + 1] - spectrum[lo]) * (k - lo)
    return 20 * math.log10(float(value))


def music_like(seconds: float, rate: int, channels: int = 2, level: float = 0.1, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    tones = sum(np.sin(2 * math.pi * f * t + rng.uniform(0, 6)) for f in (110, 220, 330, 880, 2500, 5000)) / 6
    noise = rng.standard_normal((channels, len(t))) * 0.3
    x = level * (tones[None, :] + noise) * (0.6 + 0.4 * np.sin(2 * math.pi * 0.5 * t))[None, :]
    return torch.from_numpy(x).float()


@pytest.mark.parametrize(("field", "hz", "db"), [("cut1_db", 200.0, -3.0), ("cut2_db", 400.0, -2.0),
                                                  ("presence_db", 3000.0, 4.0), ("sibilance_db", 6500.0, 3.0)])
def test_each_bell_alone_gives_its_gain_at_its_centre(field, hz, db):
    alone = replace(FLAT, **{field: db})
    assert gain_db(alone, hz) == pytest.approx(db, abs=0.02)
    assert abs(gain_db(alone, 1000.0 if hz > 1500 else 12_000.0)) < 0.5 * abs(db)


def test_highpass_is_minus_3_db_at_80_hz_and_cuts_rumble():
    alone = replace(FLAT, highpass_hz=80.0)
    assert gain_db(alone, 80.0) == pytest.approx(-3.01, abs=0.05)
    assert gain_db(alone, 20.0) < -20.0
    assert abs(gain_db(alone, 1000.0)) < 0.05


@pytest.mark.parametrize(("hz", "db"), [(200.0, -3.0), (400.0, -2.0), (3000.0, 4.0), (6500.0, 3.0)])
def test_full_chain_gain_is_the_sum_of_its_stages_and_near_the_spec(hz, db):
    stages = [replace(FLAT, highpass_hz=80.0), replace(FLAT, cut1_db=-3.0), replace(FLAT, cut2_db=-2.0),
              replace(FLAT, presence_db=4.0), replace(FLAT, sibilance_db=3.0)]
    chain = gain_db(SPEC, hz)
    assert chain == pytest.approx(sum(gain_db(s, hz) for s in stages), abs=0.02)
    assert chain == pytest.approx(db, abs=1.0)  # neighbouring Q=1 bells overlap a little


def test_measured_on_a_real_signal_the_chain_matches_its_response():
    rate = 44_100
    t = torch.arange(rate * 2, dtype=torch.float64) / rate
    for hz in (200.0, 3000.0, 6500.0):
        x = (0.1 * torch.sin(2 * math.pi * hz * t)).view(1, 1, -1)
        y, _ = equalise(x, rate, SPEC)
        measured = 20 * math.log10(float(y[..., rate:].square().mean().sqrt() / x[..., rate:].square().mean().sqrt()))
        assert measured == pytest.approx(gain_db(SPEC, hz, rate), abs=0.05)


def test_fft_application_equals_the_biquads_sample_by_sample():
    rate = 16_000
    x = music_like(3.0, rate, 2).double().unsqueeze(0)
    fast, _ = equalise(x, rate, SPEC, fft_size=1 << 14)  # several overlap-add blocks
    slow, _ = _biquad_chain(x, rate, SPEC)
    assert float((fast - slow).abs().max()) < 1e-9


@pytest.mark.parametrize(("rate", "channels"), [(16_000, 1), (44_100, 2), (48_000, 2), (48_000, 6)])
def test_output_loudness_and_true_peak(rate, channels):
    x = music_like(6.0, rate, channels, level=0.05)
    out, reports, notes = preprocess_audio({"waveform": x.unsqueeze(0), "sample_rate": rate})
    y = out["waveform"]
    assert y.shape == (1, channels, x.shape[-1]) and y.dtype == torch.float32 and out["sample_rate"] == rate
    lufs = float(integrated_loudness(y, rate)[0])
    peak = float(true_peak_db(y, rate)[0])
    assert peak <= SPEC.ceiling_dbtp + 0.02
    assert lufs == pytest.approx(SPEC.target_lufs, abs=0.2)
    assert reports[0].lufs_after == pytest.approx(lufs, abs=0.15)
    assert reports[0].peak_after == pytest.approx(peak, abs=0.01)
    assert notes == []


@pytest.mark.parametrize(("rate", "channels", "target"), [(48_000, 1, -16.0), (44_100, 2, -14.0), (22_050, 2, -20.0)])
def test_peaky_audio_reaches_the_target_under_the_ceiling_by_an_independent_meter(rate, channels, target):
    """Sparse clicks over quiet noise: gain alone would stop 8+ dB short; the limiter gets there.
    Loudness by pyloudnorm (its own K-weighting and gating), true peak by 4x oversampling."""
    pyloudnorm = pytest.importorskip("pyloudnorm")
    g = torch.Generator().manual_seed(rate)
    x = 0.01 * torch.randn(1, channels, rate * 6, generator=g)
    x[..., :: rate // 3] += 0.9  # clicks: high peaks, little loudness
    x[..., 5:: rate // 5] -= 0.7
    settings = replace(SPEC, target_lufs=target)
    out, reports, _ = preprocess_audio({"waveform": x, "sample_rate": rate}, settings)
    y = out["waveform"][0].double().numpy().T
    measured = pyloudnorm.Meter(rate).integrated_loudness(y)
    peak = float(true_peak_db(out["waveform"], rate)[0])
    assert measured == pytest.approx(target, abs=0.5)
    assert peak <= SPEC.ceiling_dbtp + 0.01
    r = reports[0]
    assert r.ceiling_limited and r.limiting_db > 3 and 0 < r.limited_fraction < 0.5
    assert r.lufs_after == pytest.approx(measured, abs=0.3)
    text = format_preprocess_report(reports, settings, [])
    assert "limiter up to" in text and "measured" in text


def test_limiter_gain_never_exceeds_what_each_peak_needs():
    """G_b <= min(1, c / (g p_b)) for every block, whatever the peaks, gain and settings."""
    rng = np.random.default_rng(5)
    for lookahead, hold in ((0.5, 0.0), (5.0, 20.0), (20.0, 200.0)):
        peaks = np.abs(rng.standard_normal(4000)).astype(np.float32) * (rng.random(4000) < 0.05)
        curve = gain_curve(peaks, 3.0, 0.5, 44_100, LimiterSettings(lookahead_ms=lookahead, hold_ms=hold))
        need = np.minimum(1.0, 0.5 / np.maximum(3.0 * peaks, 1e-30))
        assert np.all(curve <= need + 1e-6) and np.all(curve > 0) and np.all(curve <= 1)


def test_batch_items_get_their_own_gain():
    rate = 22_050
    x = torch.stack([music_like(4.0, rate, 2, 0.01, 1), music_like(4.0, rate, 2, 0.2, 2)])
    out, reports, _ = preprocess_audio({"waveform": x, "sample_rate": rate})
    lufs = integrated_loudness(out["waveform"], rate)
    for i in range(len(reports)):
        assert float(lufs[i]) == pytest.approx(-16.0, abs=0.2)
    assert reports[0].gain_db > reports[1].gain_db + 20


def test_silence_short_clips_and_near_silence_are_safe():
    for rate in (16_000, 44_100):
        silent = {"waveform": torch.zeros(2, 2, rate), "sample_rate": rate}
        out, reports, _ = preprocess_audio(silent)
        assert torch.equal(out["waveform"], silent["waveform"]) and all(r.gain_db == 0 for r in reports)
    short = torch.rand(1, 1, 1600) * 0.2 - 0.1  # 0.1 s: shorter than one loudness block
    out, reports, _ = preprocess_audio({"waveform": short, "sample_rate": 16_000})
    assert reports[0].gain_db == 0 and torch.isfinite(out["waveform"]).all()
    hiss = torch.randn(1, 1, 48_000) * 1e-6
    out, reports, _ = preprocess_audio({"waveform": hiss, "sample_rate": 48_000})
    assert reports[0].gain_db <= SPEC.max_gain_db + 1e-9
    assert float(out["waveform"].abs().max()) < 1e-6 * 10 ** (SPEC.max_gain_db / 20) * 10
    assert torch.isfinite(out["waveform"]).all()


def test_bells_above_the_band_of_a_low_rate_are_skipped_with_a_note():
    x = music_like(2.0, 8_000, 1)
    out, _, notes = preprocess_audio({"waveform": x.unsqueeze(0), "sample_rate": 8_000})
    assert any("6500 Hz bell skipped" in n for n in notes)
    assert torch.isfinite(out["waveform"]).all()


@pytest.mark.parametrize(("field", "value"), [("target_lufs", 3.0), ("ceiling_dbtp", 1.0), ("q", 0.0),
                                               ("highpass_hz", -1.0), ("presence_db", 40.0), ("cut1_hz", float("nan"))])
def test_bad_settings_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        preprocess_audio({"waveform": torch.zeros(1, 1, 100), "sample_rate": 16_000}, replace(SPEC, **{field: value}))


@settings(max_examples=15, deadline=None)
@given(st.floats(min_value=-30.0, max_value=-10.0), st.floats(min_value=-24.0, max_value=-8.0))
def test_any_target_is_met_or_held_by_the_ceiling(target, input_level_db):
    rate = 16_000
    x = music_like(2.0, rate, 1, 10 ** (input_level_db / 20), 3).unsqueeze(0)
    out, reports, _ = preprocess_audio({"waveform": x, "sample_rate": rate}, replace(SPEC, target_lufs=target))
    lufs = float(integrated_loudness(out["waveform"], rate)[0])
    peak = float(true_peak_db(out["waveform"], rate)[0])
    assert peak <= SPEC.ceiling_dbtp + 0.02
    assert lufs == pytest.approx(target, abs=0.2)


def test_node_and_command(tmp_path):
    rate = 44_100
    x = music_like(3.0, rate, 2, 0.02).unsqueeze(0)
    node = NODE_CLASS_MAPPINGS["AudioPreprocessForLTX"]()
    out, report = node.execute({"waveform": x, "sample_rate": rate}, 80.0, 200.0, -3.0, 400.0, -2.0, 3000.0, 4.0,
                               6500.0, 3.0, -16.0, -2.0)
    assert out["waveform"].shape == x.shape and "LUFS" in report and "->" in report

    from ltx_audioloop.audio.save import save_audio

    source = save_audio({"waveform": x, "sample_rate": rate}, tmp_path / "in.wav")
    target = tmp_path / "out.wav"
    assert main(["preprocess", str(source), str(target), "--target-lufs", "-18"]) == 0
    written = load_audio(target)
    assert written["sample_rate"] == rate and written["waveform"].shape[1] == 2
    assert float(integrated_loudness(written["waveform"], rate)[0]) == pytest.approx(-18.0, abs=0.15)
    assert main(["preprocess", str(source), str(source)]) == 2
