"""Bad numbers, broken files and interrupted runs give one clear line (never a traceback) and
return quickly: plan --blend, schedules in odd encodings or empty, huge times, truncated WAV,
audit on malformed files, metrics on NaN audio, node frame_rate, runs --limit, Ctrl-C, closed pipes."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time

import numpy as np
import pytest

from ltx_audioloop.loop.schedule import ScheduleError, parse_schedule, parse_timestamp, select_iterations
from ltx_audioloop.tools.cli import main
from ltx_audioloop.tools.commands import plan as plan_command
from tests.conftest import write_audio_pyav, write_wav


@pytest.mark.parametrize("blend", [1e8, 1e10, 1e308])
def test_huge_blend_is_refused_at_once_and_bounded_below_the_cap(blend, capsys):
    started = time.monotonic()
    assert main(["plan", "--blend", str(blend)]) == 2
    assert "--blend must be seconds in 0..3600" in capsys.readouterr().err
    entries = parse_schedule("0:00: a\n0:30: b\n")
    with pytest.raises(ScheduleError, match="blend_seconds"):
        select_iterations(entries, 17.92, 10, blend)
    selections = select_iterations(entries, 0.01, 5, 3600.0)  # the cap with the smallest stride
    assert len(selections) == 5 and all(s.blend < 0.5 for s in selections)
    assert time.monotonic() - started < 2


def test_schedule_files_empty_latin1_utf16_and_huge_times(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert main(["plan", "--schedule", str(empty)]) == 2
    assert "empty.txt is empty" in capsys.readouterr().err
    latin = tmp_path / "latin.txt"
    latin.write_bytes("0:00+: caf\u00e9 singer\n".encode("latin-1"))
    assert main(["plan", "--schedule", str(latin)]) == 2
    err = capsys.readouterr().err
    assert "latin.txt" in err and "UTF-8" in err
    utf16 = tmp_path / "utf16.txt"
    utf16.write_bytes("0:00+: caf\u00e9 singer\n".encode("utf-16"))
    assert main(["plan", "--schedule", str(utf16), "--json"]) == 0
    assert "caf\u00e9 singer" in capsys.readouterr().out
    huge = tmp_path / "huge.txt"
    huge.write_text("9" * 5000 + ": x\n")
    assert main(["plan", "--schedule", str(huge)]) == 2
    assert "too large a time" in capsys.readouterr().err
    with pytest.raises(ScheduleError):
        parse_timestamp("1" * 10 + ":00")


def test_truncated_wav_is_planned_with_a_warning(tmp_path, caplog, capsys):
    full = write_wav(tmp_path / "full.wav", seconds=20.0)
    truncated = tmp_path / "cut.wav"
    truncated.write_bytes(full.read_bytes()[: 44 + 2 * 8000 * 3])
    with caplog.at_level(logging.WARNING):
        assert main(["plan", str(truncated)]) == 0
    assert "header says 20.0 s but only 3.0 s" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert main(["plan", str(full)]) == 0
    assert "truncated" not in caplog.text


@pytest.mark.parametrize(
    "text",
    [
        "[" * 5000 + "]" * 5000,
        json.dumps({"nodes": [{"id": None, "type": "LoadAudio"}], "links": []}),
        json.dumps({"1": {"class_type": "LoadAudio", "inputs": ["a.wav"]}}),
        json.dumps({"1": {"class_type": "AudioPreprocessForLTX", "inputs": {"audio": ["1", 0]}}}),
        json.dumps(
            {
                "1": {"class_type": "AudioLoopPlanner", "inputs": {"audio": ["2", 0]}},
                "2": {"class_type": "AudioPreprocessForLTX", "inputs": {"audio": ["1", 0]}},
            }
        ),
        '{"1": {"class_type": "AudioLoopController", "inputs": {"window_seconds": NaN}}}',
    ],
)
def test_audit_reports_malformed_files_cycles_and_nan_as_errors(tmp_path, capsys, text):
    path = tmp_path / "wf.json"
    path.write_text(text)
    assert main(["audit", str(path)]) == 1
    out = capsys.readouterr().out
    assert "ERROR" in out and ("readable" in out or "no_dependency_cycle" in out or "finite_number_literals" in out)


def test_metrics_refuses_nan_audio(tmp_path, capsys):
    from tests.support.media import synthetic_frames, write_video

    video = tmp_path / "render.mp4"
    write_video(video, synthetic_frames(25), audio=np.zeros(16000, np.float32))
    nan = write_audio_pyav(tmp_path / "nan.wav", np.full(16000, np.nan, np.float32), 16000, codec="pcm_f32le")
    assert main(["metrics", str(video), "--audio", str(nan), "--no-track", "--json-out", str(tmp_path / "m.json")]) == 2
    assert "NaN or infinite" in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize("rate", [float("nan"), float("inf"), -1.0, 5000.0])
def test_batch_encode_refuses_bad_frame_rate(rate):
    from ltx_audioloop.nodes.schedule_nodes import TimestampPromptScheduleBatchEncode

    with pytest.raises(ValueError, match="frame_rate"):
        TimestampPromptScheduleBatchEncode().execute(object(), "0:00+: a", 17.92, 60.0, True, rate)


def test_runs_limit_ctrl_c_and_closed_pipe(tmp_path, capsys, monkeypatch):
    assert main(["runs", "--limit", "-1", "--db", str(tmp_path / "r.duckdb")]) == 2
    assert "--limit" in capsys.readouterr().err

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(plan_command, "run", interrupted)
    assert main(["plan"]) == 130
    assert capsys.readouterr().err.strip() == "ltx-audioloop plan: interrupted"


def test_closed_pipe_exits_quietly(tmp_path):
    reader = subprocess.Popen(
        [sys.executable, "-m", "ltx_audioloop", "workflows", "--api", "Music video from a song (latent loop)"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    reader.stdout.close()
    _, err = reader.communicate(timeout=60)
    assert b"Traceback" not in err and reader.returncode in (0, 141)
