"""Metrics on small synthetic videos made here with PyAV: an injected seam, a colour ramp and an
audio offset must be recovered within tolerance."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ltx_audioloop.tools.cli import main
from ltx_audioloop.tools.metrics.color import delta_e76, srgb_to_lab
from ltx_audioloop.tools.metrics.offset import estimate_offset
from ltx_audioloop.tools.metrics.report import boundary_frames, compute_metrics
from ltx_audioloop.tools.runs.tracker import RunTracker
from tests.conftest import write_audio_pyav
from tests.support.media import FPS, synthetic_frames, write_video

RATE = 16000


def bursts(seconds, rate=RATE, seed=3):
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * rate), np.float32)
    t = 0.1
    while t < seconds - 0.1:
        start = int(t * rate)
        out[start:start + int(0.03 * rate)] = rng.uniform(-0.6, 0.6, int(0.03 * rate))
        t += rng.uniform(0.15, 0.45)
    return out


def test_lab_reference_values():
    np.testing.assert_allclose(srgb_to_lab([255, 255, 255]), [100, 0, 0], atol=0.01)
    np.testing.assert_allclose(srgb_to_lab([0, 0, 0]), [0, 0, 0], atol=1e-9)
    np.testing.assert_allclose(srgb_to_lab([255, 0, 0]), [53.24, 80.09, 67.20], atol=0.02)
    np.testing.assert_allclose(srgb_to_lab([0, 0, 255]), [32.30, 79.19, -107.86], atol=0.02)
    np.testing.assert_allclose(srgb_to_lab([119, 119, 119])[0], 50.0, atol=0.1)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255))
def test_lab_ranges_and_neutral_axis(r, g, b):
    lab = srgb_to_lab([r, g, b])
    assert -1e-9 <= lab[0] <= 100 + 1e-4  # the published matrix maps white to L* = 100 +- 4e-6
    grey = srgb_to_lab([r, r, r])
    assert abs(grey[1]) < 1e-3 and abs(grey[2]) < 1e-3
    assert delta_e76(lab, lab) == 0


@settings(max_examples=30, deadline=None)
@given(st.floats(-1.0, 1.0))
def test_offset_recovers_shift(shift_s):
    src = bursts(6.0)
    shift = int(round(shift_s * RATE))
    shifted = np.concatenate([np.zeros(shift, np.float32), src])[: len(src)] if shift >= 0 else \
        np.concatenate([src[-shift:], np.zeros(-shift, np.float32)])
    result = estimate_offset(src, shifted, RATE)
    assert result["offset_s"] == pytest.approx(shift / RATE, abs=0.011)


def test_boundaries_from_default_geometry():
    boundaries, first, stride = boundary_frames(2000, 25.0)
    assert (first, stride) == (497, 448) and boundaries == [497, 945, 1393, 1841]
    assert boundary_frames(100, 25.0, stride_s=1.28)[0] == [32, 64, 96]
    with pytest.raises(ValueError, match="--stride"):
        boundary_frames(100, 25.0, stride_s=0)


def test_seam_drift_offset_and_durations_recovered(tmp_path):
    n = 112  # 4.48 s; boundaries at 40 and 72 (first 1.6 s, stride 1.28 s)
    frames = synthetic_frames(n, seam_at=72, red_per_second=0.04)
    source = bursts(n / FPS)
    delay = int(0.2 * RATE)
    track = np.concatenate([np.zeros(delay, np.float32), source])[: len(source)]
    video, audio = tmp_path / "render.mp4", tmp_path / "source.wav"
    write_video(video, frames, track)
    write_audio_pyav(audio, source, RATE)
    heard = []
    report = compute_metrics(video, audio, stride_s=1.28, first_s=1.6, progress=lambda *a: heard.append(a))
    stages = [stage for stage, _ in heard]
    assert {"video frames", "video's audio", "source audio", "offset"} <= set(stages)
    assert all(0.0 <= fraction <= 1.0 for _, fraction in heard) and heard[-1] == ("offset", 1.0)
    seams = {s["frame"]: s["score"] for s in report["seams"]}
    assert set(seams) == {40, 72, 104}
    assert seams[72] > 3.0 and seams[40] < 2.0 and seams[104] < 2.0
    # colour drift per window vs the same computation on the frames before encoding
    expected = [srgb_to_lab(frames[a:b]).reshape(-1, 3).mean(axis=0) for a, b in [(0, 40), (40, 72), (72, 104),
                                                                                   (104, 112)]]
    drift = [w["drift_de"] for w in report["drift"]]
    assert len(drift) == 4 and drift[0] == 0
    for got, lab in zip(drift[1:], expected[1:]):
        assert got == pytest.approx(float(delta_e76(lab, expected[0])), abs=1.0)
    assert drift[1] < drift[2] < drift[3]
    assert report["offset"]["offset_s"] == pytest.approx(0.2, abs=0.03)
    d = report["durations"]
    assert d["video_frames"] == n and d["video_s"] == pytest.approx(4.48)
    assert d["video_minus_source_s"] == pytest.approx(0.0, abs=1e-6)
    assert abs(d["audio_minus_video_s"]) < 0.07  # AAC frames are 1024 samples (64 ms at 16 kHz)


def test_metrics_cli_writes_json_png_and_tracks(tmp_path, capsys):
    video = tmp_path / "render.mp4"
    write_video(video, synthetic_frames(60, seam_at=30))
    db = tmp_path / "runs.duckdb"
    assert main(["metrics", str(video), "--stride", "0.4", "--first", "1.2", "--db", str(db),
                 "--json-out", str(tmp_path / "m.json")]) == 0
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["summary"]["seam_max"] > 3 and report["seams"][0]["frame"] == 30
    from PIL import Image

    assert Image.open(report["png"]).size == (960, 600)
    row = RunTracker(db).get(report["run_id"])
    assert row["kind"] == "metrics" and row["metrics"]["summary"]["seam_max"] == report["summary"]["seam_max"]
    capsys.readouterr()
    assert main(["runs", "--db", str(db)]) == 0
    assert "metrics" in capsys.readouterr().out


def test_metrics_progress_line_on_a_terminal_and_quiet(tmp_path, capsys):
    from ltx_audioloop.audio.progress import TerminalProgress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    video = tmp_path / "render.mp4"
    write_video(video, synthetic_frames(60, seam_at=30))
    screen = Terminal()
    progress = TerminalProgress("metrics", stream=screen, interval=0.0)
    compute_metrics(video, None, stride_s=0.4, first_s=1.2, progress=progress)
    assert "metrics: video frames" in screen.getvalue()
    assert main(["metrics", str(video), "--stride", "0.4", "--first", "1.2", "--no-track", "--quiet",
                 "--json-out", str(tmp_path / "m.json")]) == 0
    assert "metrics:" not in capsys.readouterr().err  # --quiet (and a pipe) draw nothing


def test_metrics_refuses_missing_file(tmp_path, capsys):
    assert main(["metrics", str(tmp_path / "nope.mp4"), "--no-track"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_runs_compare_merges_metrics_of_each_render(tmp_path, capsys):
    db = tmp_path / "runs.duckdb"
    tracker = RunTracker(db)
    ids = []
    for seam_at, seed in ((20, 1), (None, 2)):
        video = tmp_path / f"render{seed}.mp4"
        write_video(video, synthetic_frames(40, seam_at=seam_at))
        run_id = tracker.start("render", {"audio": "song.wav"}, seed=seed)
        tracker.finish(run_id, "success", outputs=[{"kind": "images", "path": str(video)}])
        assert main(["metrics", str(video), "--stride", "0.8", "--db", str(db), "--json-out",
                     str(tmp_path / f"m{seed}.json")]) == 0
        assert tracker.latest_metrics(run_id)["parent_run_id"] == run_id
        ids.append(run_id)
    capsys.readouterr()
    assert main(["runs", "--db", str(db), "--compare", ids[0][:10], ids[1][:10], "--json"]) == 0
    rows = {r["field"]: (r["a"], r["b"]) for r in json.loads(capsys.readouterr().out)}
    assert rows["seed"] == (1, 2)
    seam_a, seam_b = rows["metrics.seam_max"]
    assert seam_a > 3 > seam_b


def _encoder_delayed(src: np.ndarray, delay_s: float) -> np.ndarray:
    shift = int(round(delay_s * RATE))
    return np.concatenate([np.zeros(shift, np.float32), src])[: len(src)]


@pytest.mark.parametrize("period_s", [1.0 / 0.7, 0.5, 0.8])
def test_offset_on_periodic_material_is_the_true_one_and_flagged(period_s):
    """An on/off envelope repeats every period: shifts one period apart fit equally, so the answer
    must be the true (smallest) one and say that it is ambiguous."""
    rng = np.random.default_rng(3)
    t = np.arange(int(30 * RATE)) / RATE
    gate = (np.mod(t, period_s) < period_s / 2).astype(np.float32)
    src = (gate * 0.3 * np.sin(2 * np.pi * 220 * t) + 0.001 * rng.standard_normal(len(t))).astype(np.float32)
    result = estimate_offset(src, _encoder_delayed(src, 0.22), RATE)
    assert result["offset_s"] == pytest.approx(0.22, abs=0.011)
    if period_s < 2.0:
        assert result["ambiguous"] and len(result["candidates_s"]) >= 2


def test_offset_on_a_steady_tone_is_not_given():
    t = np.arange(int(20 * RATE)) / RATE
    src = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    result = estimate_offset(src, _encoder_delayed(src, 0.2), RATE)
    assert result["offset_s"] is None and "nothing to align" in result["reason"]
