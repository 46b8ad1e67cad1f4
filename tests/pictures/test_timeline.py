"""Tests of the timeline picture (pictures/timeline.py).

Needs the package importable as ``ltx_audioloop`` (``pip install -e .`` from the repo root).
"""

import importlib
import importlib.util
import pathlib
import sys

import pytest
import torch
from PIL import Image

if importlib.util.find_spec("ltx_audioloop") is None:
    # An install problem, not a bug in the timeline: say how to fix it.
    raise ImportError(
        f"ltx_audioloop is not importable with {sys.executable}; install the package first: "
        f"pip install -e {pathlib.Path(__file__).resolve().parents[2]}"
    )

from ltx_audioloop.audio.files import demo_track
from ltx_audioloop.loop.geometry import loop_geometry
from ltx_audioloop.loop.plan import build_render_plan
from ltx_audioloop.pictures import timeline
from ltx_audioloop.pictures.timeline import render_timeline, timeline_layout

SCHEDULE = """\
0:00-0:24: intro, a woman in a red coat standing in the rain, wide shot, static camera
0:24-1:05: verse, she starts singing, medium shot, slow push in
1:05+: chorus, close-up, neon lights reflecting on her face
2:20: outro, she walks away down the street, wide shot
"""


def make_plan(seconds, schedule=None, blend_seconds=0.0, snap=True):
    return build_render_plan(seconds, loop_geometry(19.88, 2.0, 25), schedule, blend_seconds, snap)


@pytest.fixture(scope="module")
def track_180():
    return demo_track(180)


@pytest.fixture(scope="module")
def track_5():
    return demo_track(5)


@pytest.fixture(scope="module")
def plan_180():
    return make_plan(180, SCHEDULE, blend_seconds=40.0)


@pytest.fixture(scope="module")
def image_180(plan_180, track_180):
    return render_timeline(plan_180, track_180["waveform"], track_180["sample_rate"])


def pixel(image, x, y):
    return image.getpixel((int(round(x)), int(round(y))))


def test_three_minute_plan_with_schedule(plan_180, image_180):
    assert isinstance(image_180, Image.Image)
    assert image_180.mode == "RGB"
    assert image_180.width == 1600
    assert 300 < image_180.height < 1200
    layout = timeline_layout(plan_180)
    assert (layout.width, layout.height) == image_180.size
    assert plan_180.loop.loop_iterations + 1 == layout.passes <= timeline.UNCOMPRESSED_PASSES
    assert not layout.compressed
    assert layout.schedule_top is not None
    # Shared axis: 0 .. max(audio, rendered) seconds.
    assert layout.total_seconds == pytest.approx(max(plan_180.loop.audio_seconds, plan_180.loop.rendered_seconds))
    assert layout.x(0) == layout.plot_left
    assert layout.x(layout.total_seconds) == pytest.approx(layout.plot_right)


def test_short_audio_single_pass(track_5):
    plan = make_plan(5.0, SCHEDULE)
    assert plan.loop.loop_iterations == 0
    image = render_timeline(plan, track_5["waveform"], track_5["sample_rate"])
    assert image.mode == "RGB" and image.width == 1600
    assert 150 < image.height < 500
    layout = timeline_layout(plan)
    assert layout.passes == 1
    top, bottom = layout.lane_bar(0)
    # The only bar runs over the whole window: new frames (no context) from 0 s.
    assert pixel(image, layout.x(0) + 1, top) == timeline.NEW_COLOUR
    assert pixel(image, layout.x(plan.loop.rendered_seconds) - 3, top) == timeline.NEW_COLOUR


def test_sixty_minutes_many_passes_height_bounded():
    plan = make_plan(3600.0, SCHEDULE, blend_seconds=60.0)
    passes = plan.loop.loop_iterations + 1
    assert passes > 100
    image = render_timeline(plan, None, None)
    assert image.mode == "RGB" and image.width == 1600
    assert image.height < 1200
    layout = timeline_layout(plan)
    assert layout.compressed
    assert layout.lanes_bottom - layout.lanes_top <= timeline.MAX_LANE_AREA + 1
    # Even the last (thin) lane still has its bar where its window starts.
    last = plan.windows[-1]
    top, bottom = layout.lane_bar(last.iteration)
    column = [pixel(image, layout.x(last.start_seconds) + 1, y) for y in range(top, bottom + 1)]
    assert timeline.CONTEXT_COLOUR in column or timeline.NEW_COLOUR in column


@pytest.mark.parametrize("seconds", [3600.0, 4 * 3600.0])
def test_height_bounded_for_any_length(seconds):
    layout = timeline_layout(make_plan(seconds, SCHEDULE))
    assert layout.height < 1200


def test_without_waveform_draws_flat_line():
    plan = make_plan(75.0)
    image = render_timeline(plan, None, None)
    assert image.mode == "RGB" and image.width == 1600
    layout = timeline_layout(plan)
    assert layout.schedule_top is None
    mid = (layout.wave_top + layout.wave_bottom) / 2
    row = [pixel(image, x, mid) for x in range(layout.plot_left + 2, layout.plot_left + 200)]
    assert row.count(timeline.WAVEFORM) > 150
    # Nothing above or below the line inside the band but the band itself (and grid lines).
    assert pixel(image, layout.x(5.0), mid - 20) == timeline.BAND_BACKGROUND


def test_region_past_audio_end_is_shaded(track_5):
    plan = make_plan(5.0)
    assert plan.loop.rendered_seconds - plan.loop.audio_seconds > 0.1  # 129 frames = 5.16 s
    image = render_timeline(plan, track_5["waveform"], track_5["sample_rate"])
    layout = timeline_layout(plan)
    y = layout.wave_top + 3  # above the tallest envelope bar
    inside = pixel(image, layout.x(2.0), y)
    past = pixel(image, (layout.x(plan.loop.audio_seconds) + layout.x(plan.loop.rendered_seconds)) / 2, y)
    assert inside == timeline.BAND_BACKGROUND
    assert past != inside
    assert past in (timeline.PAST_END, timeline.PAST_END_HATCH)


def test_waveform_envelope_is_drawn(plan_180, image_180):
    layout = timeline_layout(plan_180)
    # The loud chorus of the demo song (24..40 s) reaches far from the centre line.
    top_rows = [
        pixel(image_180, x, layout.wave_top + 12)
        for x in range(int(layout.x(25.0)), int(layout.x(39.0)))
    ]
    assert timeline.WAVEFORM in top_rows


def test_pass_bars_start_at_their_window_start(plan_180, image_180):
    layout = timeline_layout(plan_180)
    for window in plan_180.windows:
        top, _ = layout.lane_bar(window.iteration)
        x0 = round(layout.x(window.start_seconds))
        expected = timeline.CONTEXT_COLOUR if window.context_frames else timeline.NEW_COLOUR
        assert pixel(image_180, x0 + 1, top) == expected, window
        assert pixel(image_180, x0 - 2, top) not in (timeline.CONTEXT_COLOUR, timeline.NEW_COLOUR), window
        if window.context_frames:
            # New frames follow the context, which ends after overlap_frames / fps seconds.
            x_new = layout.x(window.start_seconds + window.context_frames / window.fps)
            assert pixel(image_180, x_new + 2, top) == timeline.NEW_COLOUR, window


def test_pass_bar_found_by_column_scan(plan_180, image_180):
    """The bar colour appears in the column of a window start, inside that pass's lane only."""
    layout = timeline_layout(plan_180)
    window = plan_180.windows[3]
    x = layout.x(window.start_seconds) + 1
    hits = [y for y in range(layout.lanes_top, layout.lanes_bottom)
            if pixel(image_180, x, y) == timeline.CONTEXT_COLOUR]
    top, bottom = layout.lane_bar(3)
    assert hits and min(hits) >= top and max(hits) <= bottom


def test_schedule_band_sections(plan_180, image_180):
    layout = timeline_layout(plan_180)
    sections = plan_180.snapped_entries
    assert len(sections) == 4
    y = layout.schedule_top + 2
    ends = [s.start for s in sections[1:]] + [layout.total_seconds]
    for n, (entry, end) in enumerate(zip(sections, ends)):
        assert pixel(image_180, layout.x((entry.start + end) / 2), y) == timeline.SECTION_COLOURS[n]


def test_blend_markers_only_with_blending(track_180):
    layout_plan = make_plan(180, SCHEDULE, blend_seconds=40.0)
    assert any(s.blend > 0 for s in layout_plan.selections)
    plain_plan = make_plan(180, SCHEDULE, blend_seconds=0.0)
    for plan, expect in ((layout_plan, True), (plain_plan, False)):
        image = render_timeline(plan, track_180["waveform"], track_180["sample_rate"])
        layout = timeline_layout(plan)
        lanes = image.crop((layout.plot_left, layout.lanes_top, layout.plot_right, layout.lanes_bottom))
        colours = {c for _, c in lanes.getcolors(maxcolors=1 << 20)}
        assert (timeline.BLEND_MARKER in colours) is expect


def test_unsnapped_schedule_and_two_dimensional_waveform():
    plan = make_plan(75.0, "0:00-1:00: wide\n0:10-0:30: close-up\n0:45: end", snap=False)
    wave = torch.sin(torch.linspace(0, 2000, 75 * 8000)).unsqueeze(0) * 0.5  # [C, N]
    image = render_timeline(plan, wave, 8000, width=900)
    assert image.size[0] == 900 and image.mode == "RGB"


def test_render_is_deterministic(plan_180, image_180, track_180):
    again = render_timeline(plan_180, track_180["waveform"], track_180["sample_rate"])
    assert again.tobytes() == image_180.tobytes()


def test_invalid_arguments():
    plan = make_plan(30.0)
    with pytest.raises(ValueError):
        render_timeline(plan, None, None, width=100)
    with pytest.raises(ValueError):
        render_timeline(plan, torch.zeros(1, 1, 8000), None)
    with pytest.raises(ValueError):
        render_timeline(plan, torch.zeros(1, 1, 8000), 100)  # sample rate out of range



def test_prompts_in_any_script_are_drawn_on_every_pillow():
    """On Pillow < 10.1 the bitmap font takes Latin-1 only: such a schedule used to raise
    UnicodeEncodeError there (drawing.drawable replaces what it cannot draw)."""
    schedule = "0:00-0:30: \u96e8\u306e\u4e2d\u3067\u6b4c\u3046\u5973\u6027\n0:30+: \u591c\u306e\u8857 \U0001f3b5\n"
    plan = make_plan(60, schedule)
    image = render_timeline(plan, None, None)
    layout = timeline_layout(plan)
    assert image.size == (layout.width, layout.height)
