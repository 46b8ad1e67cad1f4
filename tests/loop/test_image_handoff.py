"""Image-space loop hand-off: context, trim and join lengths match the latent loop's geometry."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltx_audioloop.loop.geometry import loop_geometry
from ltx_audioloop.loop.image_handoff import image_context, image_trim, join_images
from ltx_audioloop.nodes import NODE_CLASS_MAPPINGS


@settings(max_examples=60, deadline=None)
@given(window=st.floats(6.0, 30.0), overlap=st.floats(0.2, 5.0), fps=st.sampled_from([24, 25, 30]))
def test_trim_leaves_exactly_one_stride_and_context_is_the_tail(window, overlap, fps):
    geometry = loop_geometry(window, overlap, fps)
    frames = geometry.window_frames
    window_images = torch.arange(frames, dtype=torch.float32).view(frames, 1, 1, 1).expand(frames, 2, 2, 3)
    kept = image_trim(window_images, geometry.overlap_frames)
    assert kept.shape[0] == geometry.stride_frames
    context = image_context(window_images, geometry.overlap_frames)
    assert context.shape[0] == geometry.overlap_frames == 8 * (geometry.overlap_latents - 1) + 1
    assert int(context[-1, 0, 0, 0]) == frames - 1


def test_join_and_zero_iterations():
    initial, loop = torch.rand(497, 4, 4, 3), torch.rand(896, 4, 4, 3)
    assert join_images(initial, loop, 2, 1393).shape[0] == 1393
    assert join_images(initial, initial, 0).shape[0] == 497
    with pytest.raises(ValueError, match="plan expects"):
        join_images(initial, loop, 2, 1400)


@pytest.mark.parametrize("call", [
    lambda: image_context(torch.rand(5, 2, 2, 3), 6),
    lambda: image_trim(torch.rand(5, 2, 2, 3), 5),
    lambda: image_trim(torch.rand(5, 2, 2), 1),
    lambda: join_images(torch.rand(5, 2, 2, 3), torch.rand(5, 3, 2, 3), 1),
])
def test_bad_inputs_are_errors(call):
    with pytest.raises(ValueError):
        call()


def test_nodes():
    images = torch.rand(497, 4, 4, 3)
    (context,) = NODE_CLASS_MAPPINGS["ImageContextExtract"]().execute(images, 49)
    (kept,) = NODE_CLASS_MAPPINGS["ImageOverlapTrim"]().execute(images, 49)
    (joined,) = NODE_CLASS_MAPPINGS["AudioLoopJoinImages"]().execute(images, kept, 1)
    assert context.shape[0] == 49 and kept.shape[0] == 448 and joined.shape[0] == 945
