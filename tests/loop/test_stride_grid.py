"""Hand-typed strides are checked against the loop's latent grid (``stride * fps`` a multiple of 8)."""

from __future__ import annotations

import logging
import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ltx_audioloop.loop.geometry import (
    COMMON_FRAME_RATES,
    DEFAULT_FPS,
    DEFAULT_STRIDE_SECONDS,
    LTX_TEMPORAL_SCALE,
    check_stride_on_grid,
    geometry_from_stride,
    loop_geometry,
    nearest_grid_stride,
    stride_grid_problem,
)
from ltx_audioloop.nodes import NODE_CLASS_MAPPINGS

fps_values = st.sampled_from([8, 12, 15, 23.976, 24, 25, 29.97, 30, 48, 50, 60])


@given(latents=st.integers(1, 500), fps=fps_values)
def test_every_whole_latent_stride_passes(latents, fps):
    stride = latents * LTX_TEMPORAL_SCALE / fps
    assert stride_grid_problem(stride, fps) is None
    assert check_stride_on_grid(stride, fps) == stride
    assert nearest_grid_stride(stride, fps) == pytest.approx(stride)


@given(stride=st.floats(0.05, 600.0), fps=fps_values)
def test_nearest_stride_is_on_the_grid_and_nearest(stride, fps):
    nearest = nearest_grid_stride(stride, fps)
    latents = nearest * fps / LTX_TEMPORAL_SCALE
    assert latents >= 1 - 1e-9 and abs(latents - round(latents)) < 1e-6
    # no grid stride (>= 1 latent) is closer than half a latent frame's seconds, unless clamped at 1
    step = LTX_TEMPORAL_SCALE / fps
    assert abs(nearest - stride) <= step / 2 + 1e-9 or nearest == pytest.approx(step)


@given(stride=st.floats(0.05, 600.0), fps=fps_values)
def test_an_off_grid_stride_is_named_with_its_fix(stride, fps):
    frames = stride * fps
    on_grid = round(frames / 8) >= 1 and abs(round(frames / 8) * 8 - frames) <= 1e-3
    problem = stride_grid_problem(stride, fps)
    assert (problem is None) == on_grid
    if problem is not None:
        assert "stride_seconds=" in problem and f"{nearest_grid_stride(stride, fps):g}" in problem
        with pytest.raises(ValueError, match="nearest valid stride"):
            check_stride_on_grid(stride, fps)


def test_the_checks_agree_with_geometry_from_stride():
    geo = loop_geometry(19.88, 2.0, 25)
    assert stride_grid_problem(geo.stride_seconds, geo.fps) is None
    assert geometry_from_stride(19.88, geo.stride_seconds, 25) == geometry_from_stride(19.88, 17.92, 25)
    with pytest.raises(ValueError):
        geometry_from_stride(19.88, 17.9, 25)
    assert stride_grid_problem(17.9, 25) is not None


@pytest.mark.parametrize("bad", [0, -1.0, math.nan, math.inf, "x"])
def test_non_positive_or_non_numeric_strides_are_errors(bad):
    with pytest.raises(ValueError, match="stride_seconds"):
        stride_grid_problem(bad, 25)


def test_batch_encode_refuses_an_off_grid_stride_at_its_frame_rate(fake_clip):
    node = NODE_CLASS_MAPPINGS["TimestampPromptScheduleBatchEncode"]()
    with pytest.raises(ValueError, match=r"TimestampPromptScheduleBatchEncode: stride_seconds=17\.9 .*17\.92"):
        node.execute(fake_clip, "0:00+: a", 17.9, 60.0, True, 25.0)
    # 17.92 s is 430.08 frames at 24 fps: wrong for a 24 fps video; 18 s is the nearest stride there
    with pytest.raises(ValueError, match=r"nearest valid stride is 18\b"):
        node.execute(fake_clip, "0:00+: a", 17.92, 60.0, True, 24.0)
    conds, count, _, _ = node.execute(fake_clip, "0:00+: a", DEFAULT_STRIDE_SECONDS, 60.0, True, float(DEFAULT_FPS))
    assert count == len(conds)


def test_batch_encode_without_frame_rate_only_warns(caplog, fake_clip):
    node = NODE_CLASS_MAPPINGS["TimestampPromptScheduleBatchEncode"]()
    with caplog.at_level(logging.WARNING, logger="ltx_audioloop"):
        node.execute(fake_clip, "0:00+: a", 17.81, 60.0, True, 0.0)
    assert "stride_seconds=17.81" in caplog.text and "nearest valid stride is 17.92" in caplog.text


def test_nodes_without_fps_warn_once_and_still_run(caplog):
    images = torch.rand(2, 4, 4, 3)
    with caplog.at_level(logging.WARNING, logger="ltx_audioloop"):
        for iteration in range(3):
            NODE_CLASS_MAPPINGS["TimestampPromptSchedule"]().execute(iteration, 17.83, "0:00+: a", 0.0, True)
        NODE_CLASS_MAPPINGS["KeyframeImageSchedule"]().execute(images, 1, 17.84, "0:00+: 0\n0:30: 1", 0.0)
        NODE_CLASS_MAPPINGS["VideoFrameExtract"]().execute(images, 1, 17.85, 30.0)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("TimestampPromptSchedule: stride_seconds=17.83" in w for w in warnings) == 1
    assert any("KeyframeImageSchedule: stride_seconds=17.84" in w for w in warnings)
    assert any("VideoFrameExtract: stride_seconds=17.85" in w for w in warnings)


def test_wired_strides_raise_no_warning(caplog):
    """A stride wired from the controller at any common rate is on that rate's grid: no warning."""
    with caplog.at_level(logging.WARNING, logger="ltx_audioloop"):
        for fps in COMMON_FRAME_RATES:
            stride = loop_geometry(19.88, 2.0, fps).stride_seconds
            NODE_CLASS_MAPPINGS["TimestampPromptSchedule"]().execute(2, stride, "0:00+: a", 0.0, True)
    assert "stride_seconds" not in caplog.text
