"""The ``ltx-audioloop plan`` command on real audio files written by the test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ltx_audioloop.tools.cli import main
from tests.conftest import write_wav


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> Path:
    return write_wav(tmp_path_factory.mktemp("audio") / "song.wav", 180.0, rate=22_050, channels=2, tone_hz=220.0)


def test_plan_of_a_three_minute_track_as_json(song, capsys):
    assert main(["plan", str(song), "--window", "19.88", "--overlap", "2", "--fps", "25", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["stride_seconds"] == pytest.approx(17.92)
    assert data["audio_seconds"] == pytest.approx(180.0)
    assert 0 <= data["rendered_seconds"] - 180.0 < 0.32
    assert data["loop_iterations"] == 9 and len(data["iterations"]) == 10
    rows = data["iterations"]
    for previous, current in zip(rows, rows[1:]):
        assert current["audio_start_s"] == pytest.approx(previous["audio_start_s"] + 17.92)
    assert rows[-1]["window_frames"] == 473 and rows[-1]["is_final"]


def test_plan_with_schedule_and_png(song, tmp_path, capsys):
    schedule = tmp_path / "schedule.txt"
    schedule.write_text("0:00-1:15: verse prompt\n1:15+: chorus prompt\n", encoding="utf-8")
    png = tmp_path / "plan.png"
    assert main(["plan", str(song), "--schedule", str(schedule), "--png", str(png)]) == 0
    out = capsys.readouterr().out
    assert "verse prompt" in out and "chorus prompt" in out and "17.92" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plan_without_audio_uses_the_demo_song(capsys):
    assert main(["plan"]) == 0
    out = capsys.readouterr().out
    assert "demo song" in out and "loop iteration" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["plan", "missing.wav"], "not found"),
        (["plan", "--overlap", "30"], "overlap_seconds"),
        (["plan", "--fps", "0"], "fps"),
    ],
)
def test_bad_input_exits_2_with_a_message(args, needle, capsys):
    assert main(args) == 2
    assert needle in capsys.readouterr().err


def test_bad_schedule_names_the_line(tmp_path, capsys):
    schedule = tmp_path / "bad.txt"
    schedule.write_text("0:00+: fine\nVerse two starts here\n", encoding="utf-8")
    assert main(["plan", "--schedule", str(schedule)]) == 2
    assert "line 2" in capsys.readouterr().err


def test_not_an_audio_file(tmp_path, capsys):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio at all" * 10)
    assert main(["plan", str(junk)]) == 2
    assert "junk.wav" in capsys.readouterr().err


def test_module_entry_point_runs(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "ltx_audioloop", "plan", "--json"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["source"] == "demo"


def test_every_command_module_adds_exactly_its_names():
    """One way to register a subcommand: a module in tools/commands lists NAMES, adds exactly
    those with add_parsers, and runs them with run; no name is claimed twice."""
    import argparse

    from ltx_audioloop.tools.cli import build_parser
    from ltx_audioloop.tools.commands import MODULES, command_modules

    seen: list[str] = []
    for name, module in zip(MODULES, command_modules()):
        subparsers = argparse.ArgumentParser().add_subparsers(dest="command")
        module.add_parsers(subparsers)
        assert tuple(subparsers.choices) == module.NAMES, name
        assert callable(module.run), name
        seen += module.NAMES
    assert len(seen) == len(set(seen))
    _, runners = build_parser()
    assert list(runners) == seen and {"plan", "render", "serve", "analyze"} <= set(seen)
