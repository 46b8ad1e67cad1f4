"""Latent hand-off between loop iterations: context, trim, crossfade, noise-mask stripping.

Real tensors of LTX-2 video latent shape ``[1, 128, F, 14, 26]`` (smaller where hypothesis
explores), real code paths, and a whole-loop simulation that checks the accumulated video is
exactly as long as the plan says, with the trim path and with the crossfade path.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltx_audioloop.loop.geometry import frames_to_latents, latents_to_frames, loop_geometry, plan_loop
from ltx_audioloop.loop.latents import (
    crossfade_overlap,
    crossfade_weights,
    extract_context,
    latent_pixel_frames,
    strip_noise_mask,
    trim_overlap,
    video_samples,
)
from ltx_audioloop.nodes import NODE_CLASS_MAPPINGS

C, H, W = 128, 14, 26


def video_latent(frames: int, *, channels: int = C, h: int = H, w: int = W, seed: int = 0, dtype=torch.float32,
                 **extra) -> dict:
    gen = torch.Generator().manual_seed(seed)
    samples = torch.randn(1, channels, frames, h, w, generator=gen).to(dtype)
    return {"samples": samples, **extra}


def shares_storage(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


class FakeNestedTensor:
    """Shape of ComfyUI's NestedTensor: a container with ``.tensors`` (video, audio)."""

    def __init__(self, *tensors: torch.Tensor) -> None:
        self.tensors = list(tensors)

    def unbind(self):
        return self.tensors


# --------------------------------------------------------------------------------------------
# extract_context / trim_overlap: views, shapes, key handling


def test_extract_context_is_view_of_last_frames_at_ltx_size():
    lat = video_latent(63, noise_mask=torch.ones(1, 1, 63, H, W), batch_index=[0], type="video")
    out = extract_context(lat, 7)
    s = out["samples"]
    assert s.shape == (1, C, 7, H, W)
    assert shares_storage(s, lat["samples"])
    # the view starts 56 frames into the time axis: offset = 56 * H * W elements
    assert s.storage_offset() == 56 * H * W
    assert torch.equal(s, lat["samples"][:, :, 56:])
    assert "noise_mask" not in out
    assert out["batch_index"] == [0] and out["type"] == "video"
    # input dict untouched
    assert set(lat) == {"samples", "noise_mask", "batch_index", "type"}
    assert lat["samples"].shape == (1, C, 63, H, W)


def test_trim_overlap_is_view_without_context_at_ltx_size():
    lat = video_latent(63, noise_mask=torch.zeros(1, 1, 63, H, W), batch_index=[3], type="video")
    before = dict(lat)
    out = trim_overlap(lat, 7)
    s = out["samples"]
    assert s.shape == (1, C, 56, H, W)
    assert shares_storage(s, lat["samples"])
    assert s.data_ptr() == lat["samples"].data_ptr() + 7 * H * W * s.element_size()
    assert torch.equal(s, lat["samples"][:, :, 7:])
    assert "noise_mask" not in out and out["batch_index"] == [3] and out["type"] == "video"
    assert lat == before and lat is not out


def test_trim_zero_returns_all_frames_as_view():
    lat = video_latent(5, channels=4, h=2, w=3)
    out = trim_overlap(lat, 0)
    assert out["samples"].data_ptr() == lat["samples"].data_ptr()
    assert out["samples"].shape == lat["samples"].shape


@settings(max_examples=60, deadline=None)
@given(frames=st.integers(1, 40), data=st.data())
def test_extract_and_trim_shapes_for_all_valid_counts(frames, data):
    lat = video_latent(frames, channels=3, h=2, w=2, seed=frames)
    ctx_count = data.draw(st.integers(1, frames), label="context")
    trim_count = data.draw(st.integers(0, frames - 1), label="trim")
    ctx = extract_context(lat, ctx_count)["samples"]
    trimmed = trim_overlap(lat, trim_count)["samples"]
    assert ctx.shape[2] == ctx_count and trimmed.shape[2] == frames - trim_count
    assert shares_storage(ctx, lat["samples"]) and shares_storage(trimmed, lat["samples"])
    assert torch.equal(ctx, lat["samples"][:, :, frames - ctx_count:])
    assert torch.equal(trimmed, lat["samples"][:, :, trim_count:])
    # the context of a window is exactly what trimming the complementary count leaves
    if ctx_count < frames:
        assert torch.equal(ctx, trim_overlap(lat, frames - ctx_count)["samples"])


def test_strip_noise_mask_keeps_other_keys_and_shares_samples():
    lat = video_latent(3, channels=2, h=2, w=2, noise_mask=torch.ones(1), batch_index=[1, 2], type="video")
    out = strip_noise_mask(lat)
    assert out is not lat
    assert out["samples"] is lat["samples"]
    assert set(out) == {"samples", "batch_index", "type"}
    assert "noise_mask" in lat
    node_out = NODE_CLASS_MAPPINGS["StripLatentNoiseMask"]().execute(lat)[0]
    assert node_out == out


def test_latent_pixel_frames():
    assert latent_pixel_frames(video_latent(63, channels=1, h=1, w=1)) == 497
    assert latent_pixel_frames(video_latent(1, channels=1, h=1, w=1)) == 1


# --------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize("fn", [extract_context, trim_overlap])
@pytest.mark.parametrize("count", [-1, True, False, 2.0, "3", None])
def test_bad_count_types_and_negatives(fn, count):
    lat = video_latent(8, channels=2, h=2, w=2)
    with pytest.raises(ValueError, match="overlap_latent_frames"):
        fn(lat, count)


def test_extract_count_larger_than_frames():
    lat = video_latent(8, channels=2, h=2, w=2)
    with pytest.raises(ValueError, match="overlap_latent_frames=9 is more than the 8"):
        extract_context(lat, 9)
    with pytest.raises(ValueError, match="overlap_latent_frames"):
        extract_context(lat, 0)


@pytest.mark.parametrize("count", [8, 9, 100])
def test_trim_that_leaves_nothing(count):
    lat = video_latent(8, channels=2, h=2, w=2)
    with pytest.raises(ValueError, match=f"overlap_latent_frames={count} would trim all 8"):
        trim_overlap(lat, count)


@pytest.mark.parametrize("fn", [extract_context, trim_overlap])
def test_audio_latent_rejected(fn):
    audio = {"samples": torch.zeros(1, 8, 100, 16), "type": "audio"}
    with pytest.raises(ValueError, match=r"latent must be a video latent.*audio latent"):
        fn(audio, 1)


@pytest.mark.parametrize("fn", [extract_context, trim_overlap])
def test_av_nested_latent_rejected(fn):
    av = {"samples": FakeNestedTensor(torch.zeros(1, C, 4, 2, 2), torch.zeros(1, 8, 25, 16)), "type": "audio"}
    with pytest.raises(ValueError, match="latent is an audio\\+video latent.*LTXVSeparateAVLatent"):
        fn(av, 1)


@pytest.mark.parametrize("bad", [None, torch.zeros(1, C, 4, 2, 2), [1, 2], {"noise_mask": 1}, {"samples": "x"}])
def test_non_latent_inputs_rejected(bad):
    with pytest.raises(ValueError, match="latent"):
        extract_context(bad, 1)
    with pytest.raises(ValueError, match="latent"):
        trim_overlap(bad, 0)


def test_strip_noise_mask_non_dict():
    with pytest.raises(ValueError, match="latent must be a LATENT dict"):
        strip_noise_mask(torch.zeros(1))


def test_video_samples_names_the_input():
    with pytest.raises(ValueError, match="^previous must be"):
        video_samples(None, "previous")


# --------------------------------------------------------------------------------------------
# crossfade


@settings(max_examples=100, deadline=None)
@given(m=st.integers(1, 200))
def test_crossfade_weights_symmetric_and_strictly_inside(m):
    w = crossfade_weights(m, dtype=torch.float64)
    assert w.shape == (m,)
    assert bool((w > 0).all()) and bool((w < 1).all())
    assert torch.allclose(w + w.flip(0), torch.ones(m, dtype=torch.float64), atol=1e-12)
    assert bool((w[1:] > w[:-1]).all())  # rising toward the new pass
    j = torch.arange(m, dtype=torch.float64)
    assert torch.allclose(w, (1 - torch.cos(math.pi * (j + 0.5) / m)) / 2, atol=1e-12)


def test_crossfade_at_ltx_size_matches_formula_and_trim():
    prev = video_latent(63, seed=1, noise_mask=torch.ones(1))
    cur = video_latent(63, seed=2, noise_mask=torch.ones(1), batch_index=[0])
    lo, m = 7, 3
    out = crossfade_overlap(prev, cur, lo, m)
    s = out["samples"]
    trimmed = trim_overlap(cur, lo)["samples"]
    assert s.shape[2] == trimmed.shape[2] + m == 63 - lo + m
    assert torch.equal(s[:, :, m:], trimmed)
    w = crossfade_weights(m).view(1, 1, m, 1, 1)
    expected = (1 - w) * prev["samples"][:, :, -m:] + w * cur["samples"][:, :, lo - m:lo]
    torch.testing.assert_close(s[:, :, :m], expected, atol=1e-5, rtol=1e-5)
    assert "noise_mask" not in out and out["batch_index"] == [0]
    assert "noise_mask" in cur and cur["samples"].shape[2] == 63  # input not mutated


@settings(max_examples=60, deadline=None)
@given(
    lo=st.integers(1, 8),
    new=st.integers(1, 10),
    prev_frames=st.integers(1, 12),
    data=st.data(),
    dtype=st.sampled_from([torch.float32, torch.bfloat16, torch.float16]),
)
def test_crossfade_property(lo, new, prev_frames, data, dtype):
    m = data.draw(st.integers(0, min(lo - 1, prev_frames)), label="m")
    prev = video_latent(prev_frames, channels=3, h=2, w=3, seed=prev_frames, dtype=dtype)
    cur = video_latent(lo + new, channels=3, h=2, w=3, seed=lo * 100 + new, dtype=dtype)
    out = crossfade_overlap(prev, cur, lo, m)["samples"]
    trimmed = trim_overlap(cur, lo)["samples"]
    assert out.dtype == dtype
    assert out.shape[2] == trimmed.shape[2] + m
    assert torch.equal(out[:, :, m:], trimmed)
    if m:
        w = crossfade_weights(m).view(1, 1, m, 1, 1)
        old = prev["samples"][:, :, -m:].float()
        newc = cur["samples"][:, :, lo - m:lo].float()
        expected = ((1 - w) * old + w * newc).to(dtype)
        tol = 1e-5 if dtype == torch.float32 else 1e-2
        torch.testing.assert_close(out[:, :, :m].float(), expected.float(), atol=tol, rtol=tol)
    else:
        assert shares_storage(out, cur["samples"])  # M = 0 is the trim path, a view


def test_crossfade_zero_equals_trim():
    prev, cur = video_latent(10, channels=2, h=2, w=2, seed=1), video_latent(10, channels=2, h=2, w=2, seed=2)
    a = crossfade_overlap(prev, cur, 3, 0)
    b = trim_overlap(cur, 3)
    assert torch.equal(a["samples"], b["samples"]) and a.keys() == b.keys()


def test_crossfade_node_returns_end_trim_count():
    prev, cur = video_latent(10, channels=2, h=2, w=2, seed=1), video_latent(10, channels=2, h=2, w=2, seed=2)
    out, end_trim = NODE_CLASS_MAPPINGS["LatentOverlapCrossfade"]().execute(prev, cur, 4, 2)
    assert end_trim == 2 and out["samples"].shape[2] == 10 - 4 + 2


def test_crossfade_errors():
    prev = video_latent(10, channels=2, h=2, w=2, seed=1)
    cur = video_latent(10, channels=2, h=2, w=2, seed=2)
    with pytest.raises(ValueError, match="crossfade_latent_frames=3 must be at most overlap_latent_frames - 1 = 2"):
        crossfade_overlap(prev, cur, 3, 3)
    with pytest.raises(ValueError, match="crossfade_latent_frames"):
        crossfade_overlap(prev, cur, 3, -1)
    with pytest.raises(ValueError, match="crossfade_latent_frames"):
        crossfade_overlap(prev, cur, 3, True)
    with pytest.raises(ValueError, match="overlap_latent_frames"):
        crossfade_overlap(prev, cur, 0, 0)
    # no new frame after the context
    with pytest.raises(ValueError, match="current has 0 new latent frames"):
        crossfade_overlap(prev, video_latent(4, channels=2, h=2, w=2), 4, 2)
    # previous too short for the crossfade
    with pytest.raises(ValueError, match="previous has 1 latent frames"):
        crossfade_overlap(video_latent(1, channels=2, h=2, w=2), cur, 4, 2)
    # different channel count or resolution
    with pytest.raises(ValueError, match="differ outside the time axis"):
        crossfade_overlap(video_latent(10, channels=3, h=2, w=2), cur, 3, 2)
    with pytest.raises(ValueError, match="differ outside the time axis"):
        crossfade_overlap(video_latent(10, channels=2, h=4, w=2), cur, 3, 2)
    with pytest.raises(ValueError, match="^previous is an audio\\+video latent"):
        crossfade_overlap({"samples": FakeNestedTensor(torch.zeros(1))}, cur, 3, 2)
    with pytest.raises(ValueError, match="^current must be a video latent"):
        crossfade_overlap(prev, {"samples": torch.zeros(1, 8, 10, 16), "type": "audio"}, 3, 2)


def test_crossfade_final_pass_with_fewer_new_latents_than_crossfade():
    """A final pass sized to the remaining audio may add fewer latents than M; it must still work."""
    prev = video_latent(12, channels=2, h=2, w=2, seed=1)
    cur = video_latent(7 + 1, channels=2, h=2, w=2, seed=2)  # context 7, one new latent
    out = crossfade_overlap(prev, cur, 7, 3)["samples"]
    assert out.shape[2] == 3 + 1
    assert torch.equal(out[:, :, 3:], cur["samples"][:, :, 7:])


# --------------------------------------------------------------------------------------------
# whole-loop simulation: no drift with either path


def simulate_loop(audio_seconds: float, m: int, window: float = 19.88, overlap: float = 2.0, fps: float = 25,
                  channels: int = 2, h: int = 1, w: int = 2):
    """Render a track with synthetic 'sampler' passes, accumulate with trim and with crossfade.

    The ground truth is a latent track ``G`` with the plan's total latent count. Pass ``i``'s
    sampler output is its context (taken from the previous pass's processed output with
    LatentContextExtract, plus a small perturbation: the sampler regenerates the context) followed
    by the new latents of ``G``. Trim path: accumulate every trimmed output after the initial render.
    Crossfade path (TensorLoopClose overlap 'end' = M): the initial render cut by M, each pass's
    crossfaded output minus its last M latents, then the final pass's tail of M re-appended.
    """
    geo = loop_geometry(window, overlap, fps)
    plan = plan_loop(audio_seconds, geo)
    lo = geo.overlap_latents
    total = frames_to_latents(plan.total_frames)
    gen = torch.Generator().manual_seed(int(audio_seconds * 100) + m)
    truth = torch.randn(1, channels, total, h, w, generator=gen)

    windows = plan.windows()
    initial = {"samples": truth[:, :, : windows[0].window_latents], "type": "video"}
    extract, trim = NODE_CLASS_MAPPINGS["LatentContextExtract"](), NODE_CLASS_MAPPINGS["LatentOverlapTrim"]()
    fade = NODE_CLASS_MAPPINGS["LatentOverlapCrossfade"]()

    results = {}
    for path in ("trim", "crossfade"):
        previous = initial
        position = windows[0].window_latents  # global latent index of the next new latent
        outputs = []
        seams = []
        for win in windows[1:]:
            assert win.context_latents == lo
            context = extract.execute(previous, lo)[0]["samples"]
            perturb = 0.01 * torch.randn(context.shape, generator=gen)
            new = truth[:, :, position: position + win.new_latents]
            sampled = {"samples": torch.cat([context + perturb, new], dim=2), "noise_mask": torch.ones(1)}
            assert sampled["samples"].shape[2] == win.window_latents
            if path == "trim":
                processed = trim.execute(sampled, lo)[0]
            else:
                processed, end_trim = fade.execute(previous, sampled, lo, m)
                assert end_trim == m
                seams.append((position, perturb[:, :, lo - m:]))
            outputs.append(processed["samples"])
            previous = processed
            position += win.new_latents
        if path == "trim":
            video = torch.cat([initial["samples"], *outputs], dim=2)
        else:
            cut = [o[:, :, : o.shape[2] - m] for o in outputs]
            tail = outputs[-1][:, :, outputs[-1].shape[2] - m:] if outputs else initial["samples"][:, :, :0]
            video = torch.cat([initial["samples"][:, :, : initial["samples"].shape[2] - m], *cut, tail], dim=2)
        results[path] = (video, seams)
    return plan, total, truth, results


@pytest.mark.parametrize("m", [0, 1, 3, 6])
def test_whole_loop_no_drift_three_minutes(m):
    plan, total, truth, results = simulate_loop(180.0, m)
    assert plan.loop_iterations == 9
    trim_video, _ = results["trim"]
    fade_video, seams = results["crossfade"]
    assert trim_video.shape[2] == fade_video.shape[2] == total == frames_to_latents(plan.total_frames)
    assert latents_to_frames(trim_video.shape[2]) == plan.total_frames
    # the trim path reproduces the track exactly
    assert torch.equal(trim_video, truth)
    # the crossfade path differs from the track only inside the M-latent seams, by w * perturbation
    torch.testing.assert_close(fade_video, expected_crossfade(truth, seams, m), atol=1e-6, rtol=1e-6)
    assert len(seams) == plan.loop_iterations


def expected_crossfade(truth: torch.Tensor, seams: list, m: int) -> torch.Tensor:
    expected = truth.clone()
    if m:
        weights = crossfade_weights(m).view(1, 1, m, 1, 1)
        for position, perturb in seams:
            expected[:, :, position - m: position] += weights * perturb
    return expected


@settings(max_examples=40, deadline=None)
@given(seconds=st.floats(20.0, 260.0), m=st.integers(0, 6))
def test_whole_loop_no_drift_any_length(seconds, m):
    plan, total, truth, results = simulate_loop(round(seconds, 2), m)
    trim_video, _ = results["trim"]
    fade_video, seams = results["crossfade"]
    assert trim_video.shape[2] == fade_video.shape[2] == total == frames_to_latents(plan.total_frames)
    assert torch.equal(trim_video, truth)
    torch.testing.assert_close(fade_video, expected_crossfade(truth, seams, m), atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("seconds", [20.0, 37.9, 38.2])
def test_whole_loop_final_pass_shorter_than_crossfade(seconds):
    """Tracks whose last pass adds only 1-2 latents still loop with M = 3 and keep their length."""
    plan, total, truth, results = simulate_loop(seconds, 3)
    assert plan.window(plan.loop_iterations).new_latents < 3
    fade_video, seams = results["crossfade"]
    assert fade_video.shape[2] == total == results["trim"][0].shape[2]
    torch.testing.assert_close(fade_video, expected_crossfade(truth, seams, 3), atol=1e-6, rtol=1e-6)
