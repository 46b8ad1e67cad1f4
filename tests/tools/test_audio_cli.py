"""``ltx-audioloop analyze`` on a 3-minute song written by the test, and the vocal/pitch node."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from ltx_audioloop.audio.save import save_audio
from ltx_audioloop.loop.geometry import loop_geometry
from ltx_audioloop.loop.schedule import parse_schedule, snap_entries
from ltx_audioloop.nodes import NODE_CLASS_MAPPINGS
from ltx_audioloop.tools.cli import main

RATE = 44_100
SUBJECT = "a man with a grey beard in a blue denim shirt"


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    """3 minutes, stereo, 44.1 kHz: a 96 BPM beat, sung harmonic lines in louder blocks."""
    rng = np.random.default_rng(11)
    t = np.arange(180 * RATE) / RATE
    beat = 60.0 / 96
    kick = np.exp(-np.mod(t, beat) * 25) * np.sin(2 * math.pi * 55 * t)
    level = np.interp(t, [0, 20, 20.5, 80, 80.5, 110, 110.5, 170, 180], [0.2, 0.2, 0.6, 0.6, 1, 1, 0.6, 0.6, 0.1])
    sung = ((t > 20) & (t < 170)).astype(float)
    pitch = 196 * 2 ** (np.floor(t / (2 * beat)) % 5 / 12 + 0.03 * np.sin(2 * math.pi * 5.5 * t))  # vibrato
    phase = 2 * math.pi * np.cumsum(pitch) / RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 10)) * sung
    mono = level * (0.4 * kick + 0.12 * voice + 0.01 * rng.standard_normal(len(t)))
    wave = torch.from_numpy(np.stack([mono, np.roll(mono, 30)])).float().unsqueeze(0)
    return save_audio({"waveform": wave, "sample_rate": RATE}, tmp_path_factory.mktemp("song") / "song.wav")


def test_analyze_a_three_minute_song(song, tmp_path, capsys):
    png, schedule_file = tmp_path / "analysis.png", tmp_path / "schedule.txt"
    args = ["analyze", str(song), "--subject", SUBJECT, "--content", "music", "--json", "--png", str(png),
            "--schedule", str(schedule_file), "--llm-prompt"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["duration_s"] == pytest.approx(180.0, abs=0.01)
    assert data["tempo_bpm"] == pytest.approx(96.0, abs=1.0)
    assert data["vocal_fraction"] > 0.5
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = schedule_file.read_text(encoding="utf-8")
    assert text == data["schedule"]
    stride = loop_geometry(19.88, 2.0, 25).stride_seconds
    entries = parse_schedule(text)
    assert [e.line for e in snap_entries(entries, stride)] == [e.line for e in entries]
    for entry in entries:
        assert abs(entry.start - round(entry.start / stride) * stride) < 0.01
        assert entry.value.startswith(SUBJECT + " is ")
        assert "static camera" in entry.value
    assert any("is singing" in e.value for e in entries)
    assert NODE_CLASS_MAPPINGS["TimestampPromptSchedule"].VALIDATE_INPUTS(schedule=text) is True
    assert SUBJECT in data["llm_system_prompt"]
    assert set(data["timings_s"]) >= {"spectrogram", "rhythm", "voice", "sections", "loudness", "total"}


def test_analyze_prints_a_report(song, capsys):
    assert main(["analyze", str(song), "--fps", "24", "--overlap", "3"]) == 0
    out = capsys.readouterr().out
    for needle in ("Tempo:", "Loudness:", "Sections:", "Schedule (stride", "Analysis time"):
        assert needle in out
    stride = loop_geometry(19.88, 3.0, 24).stride_seconds
    schedule = out[out.index("Schedule (stride"):].split("\n", 1)[1]
    schedule = schedule[: schedule.index("Analysis time")]
    for entry in parse_schedule(schedule):
        assert abs(entry.start - round(entry.start / stride) * stride) < 0.01


@pytest.mark.parametrize(("args", "needle"), [(["analyze", "missing.wav"], "not found"),
                                               (["analyze", "--overlap", "30"], "overlap_seconds"),
                                               (["analyze", "--subject", "a\nb"], "subject")])
def test_analyze_bad_input(args, needle, capsys, song):
    if args[1] != "missing.wav":
        args = args[:1] + [str(song)] + args[1:]
    assert main(args) == 2
    assert needle in capsys.readouterr().err


def test_vocal_pitch_node_downmixes_channels_not_batch():
    rate = 16_000
    t = torch.arange(rate * 3, dtype=torch.float64) / rate

    def sung(hz):  # harmonics with a 5.5 Hz vibrato: a steady tone would be a pad, not a voice
        phase = 2 * math.pi * torch.cumsum(hz * 2 ** (0.025 * torch.sin(2 * math.pi * 5.5 * t)), 0) / rate
        return sum(torch.sin(k * phase) / k for k in range(1, 8)).float() * 0.2

    first = torch.stack([sung(440), sung(440)])
    second = torch.stack([sung(330), torch.zeros(len(t))])
    batch = torch.stack([first, second])  # [2, 2, N]
    node = NODE_CLASS_MAPPINGS["AudioVocalPitch"]()
    report, fraction, low, median, high = node.execute({"waveform": batch, "sample_rate": rate})
    assert median == pytest.approx(440.0, rel=0.01) and fraction > 0.9
    assert "item 0:" in report and "item 1:" in report and "E4" in report  # 330 Hz, item 1 kept apart
    silent = node.execute({"waveform": torch.zeros(1, 1, rate), "sample_rate": rate})
    assert silent[1:] == (0.0, 0.0, 0.0, 0.0) and "no vocal activity" in silent[0]
