"""Frame math of the first-last-frame walkthrough and the per-iteration keyframe pair."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltx_audioloop.loop.keyframe_clips import clip_frames, keyframe_pair, walkthrough_frames
from ltx_audioloop.nodes import NODE_CLASS_MAPPINGS


@settings(max_examples=200, deadline=None)
@given(seconds=st.floats(0.1, 120), fps=st.sampled_from([8, 12, 24, 25, 30, 50, 60]))
def test_clip_frames_are_8k_plus_1_and_nearest_to_the_request(seconds, fps):
    frames = clip_frames(seconds, fps)
    assert (frames - 1) % 8 == 0 and frames >= 9
    span = frames - 1
    if seconds * fps >= 8:
        assert abs(span - seconds * fps) <= 4 + 1e-9


@pytest.mark.parametrize("seconds,fps,frames", [(8.0, 25, 201), (4.8, 25, 121), (19.88, 25, 497), (1.0, 24, 25)])
def test_exact_lengths_when_the_seconds_fit_the_latent_grid(seconds, fps, frames):
    assert clip_frames(seconds, fps) == frames


@settings(max_examples=100, deadline=None)
@given(count=st.integers(1, 30), steps=st.integers(1, 60))
def test_joined_walkthrough_shares_keyframes(count, steps):
    frames = 8 * steps + 1
    total = walkthrough_frames(count, frames)
    assert total == count * frames - (count - 1)
    # the latent trim of one frame per later clip removes exactly the shared keyframes
    latents_per_clip = (frames - 1) // 8 + 1
    joined_latents = latents_per_clip + (count - 1) * (latents_per_clip - 1)
    assert 8 * (joined_latents - 1) + 1 == total


def test_pairs_walk_the_batch_and_clamp_past_the_end():
    images = torch.arange(4, dtype=torch.float32).view(4, 1, 1, 1).expand(4, 8, 8, 3).contiguous()
    seen = []
    for iteration in range(1, 5):
        first, last, count = keyframe_pair(images, iteration)
        assert count == 3
        seen.append((int(first[0, 0, 0, 0]), int(last[0, 0, 0, 0])))
    assert seen == [(0, 1), (1, 2), (2, 3), (2, 3)]


@pytest.mark.parametrize("bad_images", [torch.zeros(1, 8, 8, 3), torch.zeros(8, 8, 3)])
def test_bad_batches_are_named(bad_images):
    with pytest.raises(ValueError, match="images"):
        keyframe_pair(bad_images, 1)


@pytest.mark.parametrize("seconds,fps", [(0, 25), (-1, 25), (float("nan"), 25), (8, 0)])
def test_bad_lengths_are_named(seconds, fps):
    with pytest.raises(ValueError):
        clip_frames(seconds, fps)


def test_node_outputs():
    node = NODE_CLASS_MAPPINGS["KeyframeClipPlan"]()
    first, last, frames, count, seconds, total = node.execute(torch.rand(3, 16, 16, 3), 2, 8.0, 25)
    assert first.shape == (1, 16, 16, 3) and frames == 201 and count == 2 and seconds == 8.0 and total == 401
