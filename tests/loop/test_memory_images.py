"""Memory hygiene nodes and the keyframe image helpers.

ComfyUI is not installed in the test environment; where its memory manager matters, a small
stand-in module with ComfyUI's ``current_loaded_models`` / ``cleanup_models`` /
``soft_empty_cache`` names is put into ``sys.modules``.
"""

from __future__ import annotations

import gc
import sys
import types
import weakref

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltx_audioloop.loop.images import blend_images, check_images, frame_at
from ltx_audioloop.loop.memory import CLEANUP_MODES, prune_stale_entries, purge_comfy_memory, run_cleanup
from ltx_audioloop.loop.schedule import ScheduleError
from ltx_audioloop.nodes import NODE_CLASS_MAPPINGS


class Model:
    """Something big a loaded-model entry points at."""


class LoadedModel:
    """Like ComfyUI's LoadedModel: ``model`` dereferences a weak reference."""

    def __init__(self, model) -> None:
        self._ref = weakref.ref(model)

    @property
    def model(self):
        return self._ref()


def images(batch=3, h=8, w=12, c=3, seed=0, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(batch, h, w, c, generator=gen).to(dtype)


# --------------------------------------------------------------------------------------------
# prune_stale_entries / run_cleanup / nodes


def test_prune_removes_exactly_dead_entries_in_place():
    alive = [Model() for _ in range(3)]
    doomed = [Model() for _ in range(3)]
    entries = [LoadedModel(alive[0]), LoadedModel(doomed[0]), LoadedModel(alive[1]),
               LoadedModel(doomed[1]), LoadedModel(doomed[2]), LoadedModel(alive[2])]
    keep = [entries[0], entries[2], entries[5]]
    del doomed
    gc.collect()
    same_list = entries
    removed = prune_stale_entries(entries)
    assert removed == 3
    assert same_list is entries and entries == keep
    assert [e.model for e in entries] == alive
    assert prune_stale_entries(entries) == 0 and entries == keep


@settings(max_examples=50, deadline=None)
@given(pattern=st.lists(st.booleans(), max_size=30))
def test_prune_property(pattern):
    models = [Model() for _ in pattern]
    entries = [LoadedModel(m) for m in models]
    survivors = [e for e, live in zip(entries, pattern) if live]
    for i, live in enumerate(pattern):
        if not live:
            models[i] = None  # the last strong reference: freed at once, no gc needed
    assert prune_stale_entries(entries) == pattern.count(False)
    assert entries == survivors


def test_prune_treats_missing_model_attribute_as_stale():
    entries = [types.SimpleNamespace(model=1), types.SimpleNamespace(), types.SimpleNamespace(model=None)]
    assert prune_stale_entries(entries) == 2 and len(entries) == 1


def test_run_cleanup_always_collects_cycles_never_does_not():
    class Node:
        pass

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        def make_cycle():
            a, b = Node(), Node()
            a.other, b.other = b, a
            return weakref.ref(a)

        ref = make_cycle()
        assert isinstance(run_cleanup("never"), str)
        assert ref() is not None  # nothing collected the cycle
        report = run_cleanup("gpu_only")
        assert ref() is not None  # gpu_only only empties the CUDA cache
        assert report == run_cleanup("never") or "cuda" in report
        run_cleanup("always")
        assert ref() is None
    finally:
        if was_enabled:
            gc.enable()


@pytest.mark.parametrize("mode", CLEANUP_MODES)
def test_run_cleanup_reports_memory(mode):
    report = run_cleanup(mode)
    if torch.cuda.is_available():
        assert report.startswith("cuda allocated") and "peak" in report
    else:
        assert report == "cuda: not available"


@pytest.mark.parametrize("mode", ["sometimes", "", None, "ALWAYS"])
def test_run_cleanup_bad_mode(mode):
    with pytest.raises(ValueError, match="mode must be one of always, gpu_only, never"):
        run_cleanup(mode)


def test_iteration_cleanup_passes_latent_through():
    latent = {"samples": torch.zeros(1, 128, 2, 14, 26), "noise_mask": torch.ones(1)}
    node = NODE_CLASS_MAPPINGS["IterationCleanup"]()
    for mode in CLEANUP_MODES:
        out, report = node.execute(latent, mode)
        assert out is latent and isinstance(report, str) and report
    assert set(latent) == {"samples", "noise_mask"}
    with pytest.raises(ValueError):
        node.execute(latent, "bogus")
    assert not hasattr(NODE_CLASS_MAPPINGS["IterationCleanup"], "IS_CHANGED")  # cached like any node


def test_purge_vram_without_comfyui(monkeypatch):
    monkeypatch.setitem(sys.modules, "comfy", None)  # import comfy fails like on a bare install
    monkeypatch.setitem(sys.modules, "comfy.model_management", None)
    latent = {"samples": torch.zeros(1, 4, 2, 2, 2)}
    (out,) = NODE_CLASS_MAPPINGS["PurgeVRAM"]().execute(latent)
    assert out is latent
    assert purge_comfy_memory() == "ComfyUI not importable: ran gc only"


def test_purge_vram_with_comfy_memory_manager(monkeypatch):
    """Stand-in for comfy.model_management: stale entries go, cleanup hooks are called once."""
    calls = []
    alive = Model()
    doomed = Model()
    loaded = [LoadedModel(doomed), LoadedModel(alive)]
    del doomed
    gc.collect()
    mm = types.ModuleType("comfy.model_management")
    mm.current_loaded_models = loaded
    mm.cleanup_models = lambda: calls.append("cleanup_models")
    mm.soft_empty_cache = lambda: calls.append("soft_empty_cache")
    comfy = types.ModuleType("comfy")
    comfy.model_management = mm
    monkeypatch.setitem(sys.modules, "comfy", comfy)
    monkeypatch.setitem(sys.modules, "comfy.model_management", mm)
    report = purge_comfy_memory()
    assert report.startswith("removed 1 stale entries")
    assert mm.current_loaded_models is loaded and len(loaded) == 1 and loaded[0].model is alive
    assert calls == ["cleanup_models", "soft_empty_cache"]
    latent = {"samples": torch.zeros(1)}
    assert NODE_CLASS_MAPPINGS["PurgeVRAM"]().execute(latent)[0] is latent


# --------------------------------------------------------------------------------------------
# images


def test_blend_images_endpoints_are_inputs():
    a, b = images(seed=1), images(seed=2)
    assert blend_images(a, b, 0.0) is a
    assert blend_images(a, b, 1.0) is b
    node = NODE_CLASS_MAPPINGS["ImageBlend_AudioLoop"]()
    assert node.execute(a, b, 0)[0] is a and node.execute(a, b, 1)[0] is b


@settings(max_examples=50, deadline=None)
@given(
    batch_a=st.integers(1, 3),
    same_batch=st.booleans(),
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    c=st.sampled_from([1, 3, 4]),
    factor=st.floats(0.0, 1.0),
)
def test_blend_images_formula(batch_a, same_batch, h, w, c, factor):
    batch_b = batch_a if same_batch else 1
    a, b = images(batch_a, h, w, c, seed=1), images(batch_b, h, w, c, seed=2)
    out = blend_images(a, b, factor)
    if factor in (0.0, 1.0):  # the end points return that input as given, un-broadcast
        assert out is (a if factor == 0.0 else b)
    else:
        assert out.shape == (batch_a, h, w, c) and out.dtype == a.dtype
        torch.testing.assert_close(out, (1 - factor) * a + factor * b, atol=1e-6, rtol=1e-6)
        swapped = blend_images(b, a, factor)
        assert swapped.shape == (batch_a, h, w, c)
        torch.testing.assert_close(swapped, (1 - factor) * b + factor * a, atol=1e-6, rtol=1e-6)


def test_blend_images_keeps_dtype_of_a():
    a, b = images(seed=1, dtype=torch.float16), images(seed=2)
    out = blend_images(a, b, 0.5)
    assert out.dtype == torch.float16
    torch.testing.assert_close(out.float(), ((a.float() + b) / 2).half().float())


def test_blend_images_errors():
    a = images(2, 8, 12)
    with pytest.raises(ValueError, match="image_b .* empty batch"):
        blend_images(a, torch.zeros(0, 8, 12, 3), 0.5)
    with pytest.raises(ValueError, match="image_a .* empty batch"):
        blend_images(torch.zeros(0, 8, 12, 3), a, 0.5)
    with pytest.raises(ValueError, match=r"image_a \(8, 12\) and image_b \(8, 10\) differ"):
        blend_images(a, images(2, 8, 10), 0.5)
    with pytest.raises(ValueError, match="differ in size or channels"):
        blend_images(a, images(2, 8, 12, 4), 0.5)
    with pytest.raises(ValueError, match="image_a has 2 images and image_b 3"):
        blend_images(a, images(3, 8, 12), 0.5)
    with pytest.raises(ValueError, match="image_a must be an IMAGE batch"):
        blend_images(torch.zeros(8, 12, 3), a, 0.5)
    with pytest.raises(ValueError, match="blend_factor"):
        blend_images(a, a, 1.2)


def test_check_images_and_frame_at_view():
    batch = images(4)
    assert check_images(batch) is batch
    one = frame_at(batch, 2)
    assert one.shape == (1, 8, 12, 3)
    assert one.untyped_storage().data_ptr() == batch.untyped_storage().data_ptr()
    assert torch.equal(one[0], batch[2])
    with pytest.raises(ValueError, match="keyframes must be an IMAGE"):
        check_images("x", "keyframes")


KEYFRAMES = "0:00+: 0\n0:36: 1\n1:12+: 2"


def test_keyframe_schedule_picks_views_of_the_batch():
    batch = images(3, 16, 24)
    node = NODE_CLASS_MAPPINGS["KeyframeImageSchedule"]()
    expected = [0, 0, 1, 1, 2, 2, 2]  # 36 s and 72 s snap to iterations 2 and 4 at stride 17.92
    for iteration, index in enumerate(expected):
        image, next_image, factor, t, idx = node.execute(batch, iteration, 17.92, KEYFRAMES, 0.0)
        assert idx == index and factor == 0.0
        assert t == pytest.approx(iteration * 17.92)
        assert image.shape == (1, 16, 24, 3) and torch.equal(image[0], batch[index])
        assert image.untyped_storage().data_ptr() == batch.untyped_storage().data_ptr()
        assert next_image.shape == image.shape


def test_keyframe_schedule_blends_toward_neighbour():
    batch = images(3)
    node = NODE_CLASS_MAPPINGS["KeyframeImageSchedule"]()
    image, next_image, factor, _, idx = node.execute(batch, 1, 17.92, KEYFRAMES, 2 * 17.92)
    assert idx == 0 and torch.equal(next_image[0], batch[1])
    assert 0 < factor < 0.5
    blended = NODE_CLASS_MAPPINGS["ImageBlend_AudioLoop"]().execute(image, next_image, factor)[0]
    torch.testing.assert_close(blended, (1 - factor) * batch[0:1] + factor * batch[1:2])


def test_keyframe_schedule_index_beyond_batch_names_the_line():
    batch = images(2)
    node = NODE_CLASS_MAPPINGS["KeyframeImageSchedule"]()
    schedule = "# keyframes\n0:00+: 0\n\n0:30: 5"
    with pytest.raises(ScheduleError, match=r"schedule line 4: image index 5 but the batch has 2 image\(s\)"):
        node.execute(batch, 0, 17.92, schedule, 0.0)
    with pytest.raises(ValueError, match="empty batch"):
        node.execute(torch.zeros(0, 4, 4, 3), 0, 17.92, "0:00+: 0", 0.0)
    with pytest.raises(ScheduleError, match="schedule line 1"):
        node.execute(batch, 0, 17.92, "0:00+: first", 0.0)
    assert NODE_CLASS_MAPPINGS["KeyframeImageSchedule"].VALIDATE_INPUTS("0:00+: x") != True  # noqa: E712


def test_video_frame_extract_index_and_clamp():
    video = images(100, 4, 6)
    node = NODE_CLASS_MAPPINGS["VideoFrameExtract"]()
    image, index = node.execute(video, 2, 1.5, 25.0)
    assert index == 75 and torch.equal(image[0], video[75])
    assert image.untyped_storage().data_ptr() == video.untyped_storage().data_ptr()
    image, index = node.execute(video, 0, 17.92, 25.0)
    assert index == 0 and torch.equal(image[0], video[0])
    image, index = node.execute(video, 3, 17.92, 25.0)  # frame 1344 is past the 100-frame video
    assert index == 99 and torch.equal(image[0], video[99])
    with pytest.raises(ValueError, match="source_fps"):
        node.execute(video, 1, 17.92, 0)
    with pytest.raises(ValueError, match="current_iteration"):
        node.execute(video, -1, 17.92, 25.0)
    with pytest.raises(ValueError, match="empty batch"):
        node.execute(torch.zeros(0, 4, 6, 3), 0, 17.92, 25.0)


@settings(max_examples=50, deadline=None)
@given(frames=st.integers(1, 60), iteration=st.integers(0, 20), stride=st.floats(0.1, 5.0),
       fps=st.sampled_from([24.0, 25.0, 29.97]))
def test_video_frame_extract_property(frames, iteration, stride, fps):
    video = torch.arange(frames, dtype=torch.float32).view(frames, 1, 1, 1)
    image, index = NODE_CLASS_MAPPINGS["VideoFrameExtract"]().execute(video, iteration, stride, fps)
    exact = iteration * stride * fps  # the frame at the window start, in source frames
    assert 0 <= index < frames and image.item() == index
    if index < frames - 1:
        assert abs(index - exact) <= 0.5 + 1e-9  # nearest frame
    else:
        assert exact >= frames - 1.5  # the last frame: nearest, or clamped past the end


def test_video_frame_extract_rejects_a_non_positive_stride():
    import pytest
    import torch

    from ltx_audioloop.nodes import NODE_CLASS_MAPPINGS

    with pytest.raises(ValueError, match="stride_seconds"):
        NODE_CLASS_MAPPINGS["VideoFrameExtract"]().execute(torch.zeros(10, 8, 8, 3), 2, -17.92, 25.0)
