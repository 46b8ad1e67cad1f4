"""Loop geometry: zero drift, full coverage, final window sized to the audio, runnable past the stop."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ltx_audioloop.loop.geometry import (
    AUDIO_LATENTS_PER_SECOND,
    frames_to_latents,
    geometry_from_stride,
    latents_to_frames,
    loop_geometry,
    plan_loop,
    snap_frames_up,
)

windows = st.floats(min_value=0.4, max_value=40.0, allow_nan=False)
fps_values = st.sampled_from([8, 12, 15, 23.976, 24, 25, 30, 48, 50, 60])


@st.composite
def geometries(draw):
    window = draw(windows)
    overlap = draw(st.floats(min_value=0.0, max_value=window * 0.999, allow_nan=False))
    assume(overlap < window)
    return loop_geometry(window, overlap, draw(fps_values))


audio_lengths = st.floats(min_value=0.05, max_value=3 * 3600.0, allow_nan=False)


@pytest.mark.parametrize(
    ("overlap", "stride"), [(1.0, 18.88), (2.0, 17.92), (3.0, 16.96), (4.0, 16.00)]
)
def test_reference_strides_at_19_88_s_and_25_fps(overlap, stride):
    geo = loop_geometry(19.88, overlap, 25)
    assert geo.window_frames == 497
    assert geo.window_latents == 63
    assert geo.stride_seconds == pytest.approx(stride, abs=1e-9)


def test_two_second_overlap_has_the_documented_effective_overlap():
    geo = loop_geometry(19.88, 2.0, 25)
    assert geo.overlap_latents == 7
    assert geo.overlap_frames == 49
    assert geo.overlap_seconds == pytest.approx(1.96)


def test_three_minute_song_plan_matches_the_acceptance_numbers():
    plan = plan_loop(180.0, loop_geometry(19.88, 2.0, 25))
    assert plan.geometry.stride_seconds == pytest.approx(17.92)
    assert 0 <= plan.rendered_seconds - 180.0 < 0.32
    assert plan.loop_iterations == 9
    assert plan.final_window_frames == 473
    # the old continuous-stride approach rendered ten full windows: 199 s
    assert plan.rendered_seconds < 181


@given(geometries())
@settings(max_examples=300, deadline=None)
def test_window_is_context_plus_stride_in_whole_latents(geo):
    assert (geo.window_frames - 1) % 8 == 0
    assert 1 <= geo.overlap_latents <= geo.window_latents - 1
    assert geo.window_frames == geo.overlap_frames + geo.stride_frames
    assert geo.stride_frames % 8 == 0
    assert geo.stride_seconds * geo.fps == pytest.approx(geo.stride_frames)


@given(geometries(), st.integers(min_value=1, max_value=500))
@settings(max_examples=300, deadline=None)
def test_zero_drift_audio_start_equals_video_frames_before_it(geo, iteration):
    """Audio of iteration i starts exactly where the video made by passes 0..i-1 (trimmed) ends, minus context."""
    video_frames_before = geo.window_frames + (iteration - 1) * geo.stride_frames
    new_region_start = video_frames_before / geo.fps
    assert geo.iteration_start_seconds(iteration) + geo.overlap_seconds == pytest.approx(new_region_start, abs=1e-9)


@given(geometries(), audio_lengths)
@settings(max_examples=400, deadline=None)
def test_windows_tile_the_audio_without_gap_or_sliver(geo, seconds):
    plan = plan_loop(seconds, geo)
    windows = plan.windows()
    assert windows[0].start_frame == 0 and windows[0].context_frames == 0
    covered = 0
    for previous, current in zip(windows, windows[1:]):
        # each loop window starts exactly where its context begins inside the previous window
        assert current.start_frame + current.context_frames == previous.start_frame + previous.window_frames
        assert current.context_latents == geo.overlap_latents
    for window in windows:
        assert (window.window_frames - 1) % 8 == 0
        assert window.new_frames > 0 and window.new_frames % (1 if window.iteration == 0 else 8) == 0
        covered += window.new_frames
    assert covered == plan.total_frames
    assert windows[-1].start_frame + windows[-1].window_frames == plan.total_frames
    # rendered length never short of the audio, and less than one latent frame longer
    assert plan.total_frames >= seconds * geo.fps - 1e-6
    assert plan.rendered_seconds - seconds < 8 / geo.fps + 1e-9
    # only the last window may be shorter than a full window
    assert all(w.window_frames == geo.window_frames for w in windows[1:-1])
    assert windows[-1].is_final and not any(w.is_final for w in windows[:-1])


@given(geometries(), audio_lengths)
@settings(max_examples=300, deadline=None)
def test_loop_iteration_count_is_minimal(geo, seconds):
    plan = plan_loop(seconds, geo)
    k = plan.loop_iterations
    reach_without_last = plan.initial_frames + (k - 1) * geo.stride_frames if k else 0
    if k:
        assert reach_without_last < plan.total_frames  # one fewer iteration would leave audio unrendered
    else:
        assert plan.initial_frames == plan.total_frames


@given(geometries(), audio_lengths, st.integers(min_value=1, max_value=50))
@settings(max_examples=300, deadline=None)
def test_body_stays_runnable_past_the_stop(geo, seconds, extra):
    plan = plan_loop(seconds, geo)
    window = plan.window(plan.loop_iterations + extra)
    assert window.past_end and window.is_final
    assert 0 <= window.start_seconds < seconds
    assert window.new_latents >= 1  # a trim of the context still leaves content
    assert (window.window_frames - 1) % 8 == 0


def test_audio_shorter_than_a_window_needs_no_loop_iteration():
    geo = loop_geometry(19.88, 2.0, 25)
    plan = plan_loop(7.3, geo)
    assert plan.loop_iterations == 0
    assert plan.initial_frames == snap_frames_up(math.ceil(7.3 * 25)) == 185
    assert plan.window(0).is_final
    assert plan.window(1).past_end and plan.window(1).start_frame == 0


def test_audio_latents_follow_the_25_per_second_rule():
    plan = plan_loop(60.0, loop_geometry(19.88, 2.0, 25))
    window = plan.window(1)
    assert window.audio_latents == math.ceil(497 / 25 * AUDIO_LATENTS_PER_SECOND)


@given(st.integers(min_value=1, max_value=10_000))
def test_latent_frame_conversions_round_trip(latents):
    assert frames_to_latents(latents_to_frames(latents)) == latents
    frames = latents_to_frames(latents)
    assert snap_frames_up(frames) == frames
    assert snap_frames_up(frames - 1 if frames > 1 else 1) == frames


@given(geometries())
@settings(max_examples=200, deadline=None)
def test_geometry_from_stride_rebuilds_the_controller_geometry(geo):
    rebuilt = geometry_from_stride(geo.requested_window_seconds, geo.stride_seconds, geo.fps)
    assert rebuilt.window_frames == geo.window_frames
    assert rebuilt.overlap_latents == geo.overlap_latents


@pytest.mark.parametrize(
    ("window", "overlap", "fps", "needle"),
    [
        (19.88, 19.88, 25, "overlap_seconds"),
        (19.88, 25.0, 25, "overlap_seconds"),
        (0.0, 0.0, 25, "window_seconds"),
        (-3, 1, 25, "window_seconds"),
        (19.88, -1, 25, "overlap_seconds"),
        (19.88, 2, 0, "fps"),
        (19.88, 2, -25, "fps"),
        (float("nan"), 2, 25, "window_seconds"),
        (19.88, float("inf"), 25, "overlap_seconds"),
        ("abc", 2, 25, "window_seconds"),
    ],
)
def test_bad_geometry_inputs_name_the_input(window, overlap, fps, needle):
    with pytest.raises(ValueError, match=needle):
        loop_geometry(window, overlap, fps)


def test_bad_stride_names_valid_values():
    with pytest.raises(ValueError, match="stride_seconds"):
        geometry_from_stride(19.88, 17.88, 25)


@pytest.mark.parametrize("seconds", [0, -1, float("nan"), float("inf")])
def test_bad_audio_length_is_an_error(seconds):
    with pytest.raises(ValueError, match="audio"):
        plan_loop(seconds, loop_geometry(19.88, 2, 25))


@pytest.mark.parametrize("iteration", [-1, 1.5, True, "2"])
def test_bad_iteration_is_an_error(iteration):
    plan = plan_loop(60, loop_geometry(19.88, 2, 25))
    with pytest.raises(ValueError, match="current_iteration"):
        plan.window(iteration)
