"""Segment plans (cuts on the stride grid, lengths adding up to the track) and the joined video."""

from __future__ import annotations

import json
import math

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ltx_audioloop.loop.geometry import frames_covering, loop_geometry
from ltx_audioloop.tools.cli import main
from ltx_audioloop.tools.render.segments import plan_segments, quietness_from_levels, segment_count, shift_schedule
from tests.conftest import write_png, write_wav
from tests.support.fake_comfy import FakeComfy, make_graph, write_workflow


@settings(max_examples=200, deadline=None)
@given(seconds=st.floats(5, 4000), window=st.floats(2, 30), overlap_share=st.floats(0.05, 0.6),
       fps=st.sampled_from([24.0, 25.0, 30.0]), count=st.integers(1, 40), crossfade=st.integers(0, 4),
       marks=st.lists(st.floats(0, 4000), max_size=6))
def test_segments_sit_on_the_grid_and_add_up_to_the_track(seconds, window, overlap_share, fps, count, crossfade, marks):
    geometry = loop_geometry(window, window * overlap_share, fps)
    total = frames_covering(seconds, fps)
    grid_points = len(range(geometry.stride_frames, total, geometry.stride_frames))
    if count - 1 > grid_points:
        with pytest.raises(ValueError, match="at most"):
            plan_segments(seconds, geometry, count)
        return
    try:
        segments = plan_segments(seconds, geometry, count, boundaries=marks, crossfade=crossfade,
                                 quietness=lambda t: (math.sin(t) + 1) / 2)
    except ValueError as err:
        assert "crossfade" in str(err)
        return
    assert len(segments) == count
    assert segments[0].start == 0 and segments[-1].end == total
    assert sum(s.frames for s in segments) == total
    for a, b in zip(segments, segments[1:]):
        assert a.end == b.start and a.end % geometry.stride_frames == 0
        assert a.render_end == a.end + crossfade
    assert segments[-1].render_end == total
    assert all(s.rendered_frames >= s.render_end - s.start for s in segments)
    # joining with the crossfade gives back exactly the track's frames
    assert sum(s.render_end - s.start for s in segments) - crossfade * (count - 1) == total


def test_cuts_prefer_section_boundaries_and_quiet_moments():
    geometry = loop_geometry(19.88, 2.0, 25.0)  # stride 448 frames = 17.92 s
    plain = plan_segments(200.0, geometry, 2)
    assert plain[0].end == 2688  # nearest grid point to the middle (frame 2500)
    with_section = plan_segments(200.0, geometry, 2, boundaries=[90.0])
    assert with_section[0].end == 2240  # a section starts at 90 s, by the 2240-frame grid point (89.6 s)
    times = np.arange(0, 200, 0.1)
    quiet = quietness_from_levels(times, np.where(np.abs(times - 89.6) < 1, -60.0, -10.0))
    assert plan_segments(200.0, geometry, 2, quietness=quiet)[0].end == 2240


def test_segment_count_and_schedule_shift():
    assert segment_count(100.0, None, 30.0) == 3
    assert segment_count(100.0, 4, None) == 4
    with pytest.raises(ValueError, match="exactly one"):
        segment_count(100.0, 2, 30.0)
    with pytest.raises(ValueError, match="--segments"):
        segment_count(100.0, 0, None)
    text = "0:00-0:30: verse\n0:30-1:10: chorus\n1:10+: outro\n"
    assert shift_schedule(text, 20.0, 60.0) == "0:00-0:10: verse\n0:10+: chorus\n"
    assert shift_schedule(text, 75.0, 90.0) == "0:00+: outro\n"


def grey_levels(path) -> list[int]:
    with av.open(str(path)) as container:
        return [int(frame.to_ndarray(format="rgb24").mean().round()) for frame in container.decode(video=0)]


def test_segmented_render_joins_to_the_audio_length(tmp_path, capsys):
    server = FakeComfy(real_video=True, serial=True)
    try:
        audio = write_wav(tmp_path / "song.wav", seconds=5.02, rate=8000)
        image = write_png(tmp_path / "face.png")
        workflow = write_workflow(tmp_path, make_graph(steps=1, passes=1, loop=False))
        out = tmp_path / "out"
        args = [
            "render",
            str(audio),
            str(image),
            "--workflow",
            str(workflow),
            "--server",
            server.url,
            "--out",
            str(out),
            "--segments",
            "3",
            "--window",
            "1",
            "--overlap",
            "0.3",
            "--no-analyze",
            "--poll",
            "0.05",
            "--db",
            str(tmp_path / "runs.duckdb"),
        ]
        assert main(args) == 0, capsys.readouterr()
        joined = out / "joined.mp4"
        levels = grey_levels(joined)
        assert len(levels) == math.ceil(5.02 * 25)  # 126 frames for 5.02 s
        with av.open(str(joined)) as container:
            samples = sum(frame.samples for frame in container.decode(audio=0))
        assert samples == round(126 * 8000 / 25)  # the original audio once, as long as the video
        # each segment restarts its own frame count at its cut (grid of 24 frames)
        cuts = [i for i in range(1, len(levels)) if levels[i] < levels[i - 1] - 10]
        assert cuts and all(c % 24 == 0 for c in cuts) and len(cuts) == 2
        report = out / "metrics.json"
        assert (
            main(
                [
                    "metrics",
                    str(joined),
                    "--cuts",
                    ",".join(str(c) for c in cuts),
                    "--window",
                    "1",
                    "--overlap",
                    "0.3",
                    "--json-out",
                    str(report),
                    "--no-track",
                ]
            )
            == 0
        )
        scored = json.loads(report.read_text())
        assert [s["frame"] for s in scored["cut_seams"]] == cuts and scored["summary"]["cut_seam_max"] > 3
        assert main(args) == 0  # run again: every segment skipped, joined again
        assert "segment-000: skipped" in capsys.readouterr().out
    finally:
        server.loop.call_soon_threadsafe(server.loop.stop)
