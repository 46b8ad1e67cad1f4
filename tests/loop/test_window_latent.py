"""The iteration's window latent and the frozen audio latent, on LTX-shaped tensors."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltx_audioloop.loop.geometry import loop_geometry
from ltx_audioloop.loop.latents import extract_context
from ltx_audioloop.loop.window_latent import freeze_audio, window_from_context
from ltx_audioloop.nodes import NODE_CLASS_MAPPINGS


@settings(max_examples=40, deadline=None)
@given(context_frames=st.integers(1, 12), extra=st.integers(1, 20), batch=st.integers(1, 2))
def test_window_keeps_context_and_masks_exactly_after_it(context_frames, extra, batch):
    context = {"samples": torch.randn(batch, 128, context_frames, 2, 3), "noise_mask": torch.ones(1)}
    window = window_from_context(context, context_frames + extra)
    samples, mask = window["samples"], window["noise_mask"]
    assert samples.shape == (batch, 128, context_frames + extra, 2, 3)
    assert torch.equal(samples[:, :, :context_frames], context["samples"])
    assert not samples[:, :, context_frames:].any()
    assert mask.shape == (batch, 1, context_frames + extra, 1, 1)
    assert not mask[:, :, :context_frames].any()
    assert bool((mask[:, :, context_frames:] == 1).all())


def test_window_follows_the_loop_geometry_at_ltx_sizes():
    geometry = loop_geometry(19.88, 2.0, 25)
    previous = {"samples": torch.randn(1, 128, geometry.window_latents, 14, 26)}
    context = extract_context(previous, geometry.overlap_latents)
    window = window_from_context(context, geometry.window_latents)
    assert window["samples"].shape[2] == 63
    assert int((window["noise_mask"] == 0).sum()) == geometry.overlap_latents
    assert torch.equal(window["samples"][:, :, :7], previous["samples"][:, :, -7:])


@pytest.mark.parametrize("frames", [3, 2])
def test_window_without_new_frames_is_an_error(frames):
    with pytest.raises(ValueError, match="window_latent_frames"):
        window_from_context({"samples": torch.zeros(1, 128, 3, 2, 2)}, frames)


def test_window_rejects_audio_latent():
    with pytest.raises(ValueError, match="video latent"):
        window_from_context({"samples": torch.zeros(1, 8, 30, 16), "type": "audio"}, 10)


def test_freeze_audio_masks_every_element_and_keeps_samples():
    audio = {"samples": torch.randn(1, 8, 497, 16), "type": "audio"}
    frozen = freeze_audio(audio)
    assert frozen["samples"] is audio["samples"]
    assert frozen["type"] == "audio"
    assert frozen["noise_mask"].shape == audio["samples"].shape and not frozen["noise_mask"].any()
    assert "noise_mask" not in audio


@pytest.mark.parametrize("bad", [None, {"samples": torch.zeros(1, 128, 3, 2, 2)}, {"x": 1}])
def test_freeze_audio_rejects_non_audio(bad):
    with pytest.raises(ValueError, match="audio_latent"):
        freeze_audio(bad)


def test_nodes_call_the_operations():
    context = {"samples": torch.randn(1, 128, 7, 14, 26)}
    (window,) = NODE_CLASS_MAPPINGS["AudioLoopWindowLatent"]().execute(context, 63)
    assert window["samples"].shape[2] == 63
    (frozen,) = NODE_CLASS_MAPPINGS["FreezeAudioLatent"]().execute({"samples": torch.zeros(1, 8, 10, 16)})
    assert frozen["noise_mask"].sum() == 0
