"""Schedules written from an analysis: accepted unchanged by the parser and the schedule nodes,
boundaries on the loop grid, one subject string, fitting verbs, close framing, static camera."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltx_audioloop.audio.analysis import analyse_track
from ltx_audioloop.audio.llm_prompt import llm_system_prompt
from ltx_audioloop.audio.schedule_writer import format_schedule, grid_time, schedule_lines
from ltx_audioloop.audio.sections import LABELS, Section
from ltx_audioloop.loop.geometry import loop_geometry, plan_loop
from ltx_audioloop.loop.schedule import parse_schedule, select_iterations, snap_entries
from ltx_audioloop.nodes import NODE_CLASS_MAPPINGS
from tests.conftest import FakeClip

SUBJECT = "a woman with short red hair in a green jacket"
RATE = 22_050


def make_sections(bounds: list[float], labels: list[str], vocal: list[float]) -> list[Section]:
    return [Section(a, b, label, -6.0, -3.0 if label == "chorus" else -8.0, v)
            for a, b, label, v in zip(bounds, bounds[1:], labels, vocal)]


def assert_on_grid(text: str, stride: float, duration: float, geometry) -> None:
    entries = parse_schedule(text)
    for entry in entries:
        for t in (entry.start, entry.end):
            if t is not None:
                k = round(t / stride)
                assert abs(t - k * stride) < 0.01, (t, stride)
    # Snapping moves nothing and drops nothing: the nodes run what is written.
    snapped = snap_entries(entries, stride)
    assert [e.line for e in snapped] == [e.line for e in entries]
    # With boundaries on the grid, snapping on and off select the same entry for every pass.
    passes = plan_loop(duration, geometry).loop_iterations + 1
    on = [s.current.line for s in select_iterations(entries, stride, passes, 0.0, True)]
    off = [s.current.line for s in select_iterations(entries, stride, passes, 0.0, False)]
    assert on == off


def check_rules(text: str, subject: str, content: str) -> None:
    entries = parse_schedule(text)
    for entry in entries:
        assert entry.value.startswith(subject + " is ")
        assert "static camera" in entry.value
        assert "wide" not in entry.value and "dolly" not in entry.value
        assert any(f in entry.value for f in ("medium shot", "medium close-up", "close-up"))
    verbs = {"music": ("is singing", "is dancing"), "speech": ("is telling a joke", "is pausing"),
             "instrumental": ("is playing",)}[content] + ("is silent, mouth closed",)  # a silence section
    assert all(any(v in e.value for v in verbs) for e in entries)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=1.0, max_value=60.0), min_size=1, max_size=12),
    st.data(),
    st.sampled_from([(19.88, 2.0, 25.0), (19.88, 3.0, 25.0), (10.0, 1.0, 24.0), (20.0, 2.0, 30.0), (8.0, 0.5, 23.976)]),
    st.sampled_from(["music", "speech", "instrumental"]),
)
def test_written_schedules_parse_and_sit_on_the_grid(lengths, data, geo, content):
    bounds = [0.0] + list(np.cumsum(lengths))
    labels = data.draw(st.lists(st.sampled_from(LABELS), min_size=len(lengths), max_size=len(lengths)))
    vocal = data.draw(st.lists(st.floats(0, 1), min_size=len(lengths), max_size=len(lengths)))
    geometry = loop_geometry(*geo)
    duration = bounds[-1]
    lines = schedule_lines(make_sections(bounds, labels, vocal), geometry, duration, content, SUBJECT, "Style: film")
    text = format_schedule(lines, "header line")
    assert_on_grid(text, geometry.stride_seconds, duration, geometry)
    check_rules(text, SUBJECT, content)
    entries = parse_schedule(text)
    assert entries[0].start == 0.0 and entries[-1].end is None
    for a, b in zip(entries, entries[1:]):
        assert a.end == b.start and a.value != b.value
    assert all(e.value.endswith(", Style: film") for e in entries)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=500), st.sampled_from([17.92, 16.96, 18.333333333333332, 17.866666666666667]))
def test_grid_time_is_at_most_a_centisecond_early(k, stride):
    t = k * stride
    from ltx_audioloop.loop.schedule import parse_timestamp

    written = parse_timestamp(grid_time(t))
    assert t - 0.01 - 1e-9 <= written <= t + 1e-9


def _song() -> dict:
    rng = np.random.default_rng(7)
    parts = []
    for seconds, gain, sung in [
        (16, 0.15, False),
        (30, 0.5, True),
        (26, 1.0, True),
        (20, 0.05, False),
        (28, 1.0, True),
    ]:
        t = np.arange(int(seconds * RATE)) / RATE
        voice = sum(np.sin(2 * math.pi * 220 * k * t) / k for k in range(1, 8)) if sung else 0
        kick = np.exp(-np.mod(t, 0.5) * 30) * np.sin(2 * math.pi * 60 * t)
        parts.append(gain * (0.3 * kick + 0.15 * voice + 0.02 * rng.standard_normal(len(t))))
    wave = torch.from_numpy(np.concatenate(parts)).float()
    return {"waveform": wave.view(1, 1, -1).repeat(1, 2, 1), "sample_rate": RATE}


@pytest.fixture(scope="module")
def song_analysis():
    song = _song()
    return song, analyse_track(song, "music")


def test_analysis_schedule_runs_unchanged_in_the_schedule_nodes(song_analysis):
    song, analysis = song_analysis
    geometry = loop_geometry(19.88, 2.0, 25)
    lines = schedule_lines(analysis.sections, geometry, analysis.duration, analysis.content, SUBJECT)
    text = format_schedule(lines, "from the test")
    assert len(lines) >= 2
    assert_on_grid(text, geometry.stride_seconds, analysis.duration, geometry)
    check_rules(text, SUBJECT, "music")
    assert any("is singing" in line.prompt for line in lines)

    node = NODE_CLASS_MAPPINGS["TimestampPromptSchedule"]
    assert node.VALIDATE_INPUTS(schedule=text) is True
    passes = plan_loop(analysis.duration, geometry).loop_iterations + 1
    expected = [
        next(line.prompt for line in reversed(lines) if line.start <= i * geometry.stride_seconds + 1e-6)
        for i in range(passes)
    ]
    for snap in (True, False):
        got = [node().execute(i, geometry.stride_seconds, text, 0.0, snap)[0] for i in range(passes)]
        assert got == expected

    clip = FakeClip(dim=8, tokens=4)
    batch = NODE_CLASS_MAPPINGS["TimestampPromptScheduleBatchEncode"]()
    conditioning, count, report, encoded = batch.execute(
        clip, text, geometry.stride_seconds, analysis.duration, True, 25.0
    )
    assert count >= passes and encoded == len({line.prompt for line in lines})
    assert sorted(set(clip.calls)) == sorted({line.prompt for line in lines})


def test_analyze_node_outputs(song_analysis):
    song, _ = song_analysis
    node = NODE_CLASS_MAPPINGS["AudioAnalyzeForLTX"]()
    report, image, schedule, tempo, lufs, stride = node.execute(song, 19.88, 2.0, 25, SUBJECT, "music", "")
    assert "Sections:" in report and "Tempo:" in report
    assert image.ndim == 4 and image.shape[0] == 1 and image.shape[-1] == 3
    assert image.dtype == torch.float32 and 0.0 <= float(image.min()) and float(image.max()) <= 1.0
    assert stride == pytest.approx(17.92)
    assert tempo == pytest.approx(120.0, abs=2.0)
    assert math.isfinite(lufs)
    assert NODE_CLASS_MAPPINGS["TimestampPromptSchedule"].VALIDATE_INPUTS(schedule=schedule) is True
    check_rules(schedule, SUBJECT, "music")


def test_speech_and_instrumental_verbs_and_default_subjects():
    sections = make_sections([0, 20, 40, 60], ["verse", "break", "chorus"], [0.8, 0.0, 0.9])
    geometry = loop_geometry(19.88, 2.0, 25)
    speech = format_schedule(schedule_lines(sections, geometry, 60.0, "speech"))
    check_rules(speech, "the comedian", "speech")
    assert "close-up," not in speech.replace("medium close-up", "")  # speech stays medium / medium close-up
    instrumental = format_schedule(schedule_lines(sections, geometry, 60.0, "instrumental"))
    check_rules(instrumental, "the musician", "instrumental")


@pytest.mark.parametrize("bad", ["two\nlines", "tab\there"])
def test_subject_must_be_one_clean_line(bad):
    sections = make_sections([0, 30], ["verse"], [1.0])
    with pytest.raises(ValueError, match="subject"):
        schedule_lines(sections, loop_geometry(19.88, 2.0, 25), 30.0, "music", bad)


def test_llm_prompt_states_the_rules_and_the_grid(song_analysis):
    _, analysis = song_analysis
    geometry = loop_geometry(19.88, 2.0, 25)
    prompt = llm_system_prompt(analysis, geometry, SUBJECT, "Style: film")
    assert f'"{SUBJECT}"' in prompt and "Style: film" in prompt
    assert "0:17.92" in prompt and "0:35.84" in prompt
    assert "static camera" in prompt and "wide shot" in prompt and "START+:" in prompt
    assert "is singing" in prompt
    generic = llm_system_prompt(analysis, geometry)
    assert "copied character for character" in generic


def test_verbs_follow_the_voice_in_what_each_entry_renders():
    geometry = loop_geometry(19.88, 2.0, 25)  # stride 17.92 s, effective overlap 1.96 s
    frame = 0.02
    duration = 120.0
    active = np.zeros(int(duration / frame), dtype=bool)
    active[int(44 / frame) : int(120 / frame)] = True  # singing from 0:44
    sections = make_sections([0, 44, 120], ["intro", "verse"], [0.0, 1.0])
    lines = schedule_lines(sections, geometry, duration, "music", SUBJECT, None, active, frame)
    # 0:44 snaps to 0:35.84: the intro entry covers 0:00-0:35.84 (+1.96 s of overlap): no voice there.
    assert [round(line.start, 2) for line in lines] == [0.0, 35.84]
    assert "is dancing" in lines[0].prompt and "is singing" in lines[1].prompt
    # A 0:30 start snaps to 0:35.84 as well, but now the intro's passes render 0:30-0:37.8 of singing.
    active[int(30 / frame) :] = True
    lines = schedule_lines(sections, geometry, duration, "music", SUBJECT, None, active, frame)
    assert all("is singing" in line.prompt for line in lines)
    speech = schedule_lines(
        make_sections([0, 40, 80, 120], ["verse", "break", "verse"], [1, 0, 1]),
        geometry,
        duration,
        "speech",
        None,
        None,
        active,
        frame,
    )
    assert all("is telling a joke" in line.prompt for line in speech)  # the 'break' holds speech
