"""Batch-encoded prompt schedules and the bounded text-encode cache.

The text encoder is a small stand-in with ComfyUI CLIP's interface (``tokenize`` and
``encode_from_tokens_scheduled``) that counts its calls, so the tests can assert how often the
expensive encoder would run.
"""

from __future__ import annotations

import functools
import gc
import math
import weakref

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltx_audioloop.loop.conditioning import blend_conditioning
from ltx_audioloop.loop.geometry import loop_geometry, plan_loop
from ltx_audioloop.loop.prompt_list import build_conditioning_schedule, entries_needed
from ltx_audioloop.loop.text_cache import TextEncodeCache, encode_with_clip
from ltx_audioloop.nodes import NODE_CLASS_MAPPINGS
from tests.conftest import FakeClip

STRIDE = 17.92  # window 19.88 s, overlap 2 s, 25 fps
DIM = 64
TOKENS = 16


def batch_encode(clip, schedule, *, duration=180.0, stride=STRIDE, snap=True, frame_rate=25.0, blend=0.0):
    node = NODE_CLASS_MAPPINGS["TimestampPromptScheduleBatchEncode"]()
    return node.execute(clip, schedule, stride, duration, snap, frame_rate, blend)


REPEATS = "0:00-0:36: A singer\n0:36-1:12: B close-up\n1:12-1:48: A singer\n1:48+: C wide shot"


# --------------------------------------------------------------------------------------------
# TimestampPromptScheduleBatchEncode / build_conditioning_schedule


def test_repeated_prompts_encoded_once_and_shared():
    clip = FakeClip()
    conds, count, report, encoded = batch_encode(clip, REPEATS)
    assert count == len(conds) == entries_needed(180.0, STRIDE) == 12
    assert sorted(clip.calls) == ["A singer", "B close-up", "C wide shot"]
    assert encoded == len(clip.calls) == 3
    # boundaries 36, 72, 108 s snap to 2, 4 and 6 strides
    runs = ["A", "A", "B", "B", "A", "A"] + ["C"] * 6
    first = {}
    for i, label in enumerate(runs):
        if label in first:
            assert conds[i] is conds[first[label]], f"iteration {i} does not share {label}'s conditioning"
        else:
            first[label] = i
    assert conds[0] is not conds[2] and conds[2] is not conds[6]
    # entries are the encoder's output with frame_rate written in
    fresh = FakeClip()
    for label, text in (("A", "A singer"), ("B", "B close-up"), ("C", "C wide shot")):
        expected = encode_with_clip(fresh, text)
        got = conds[first[label]]
        assert torch.equal(got[0][0], expected[0][0])
        assert got[0][1]["frame_rate"] == 25.0
        assert torch.equal(got[0][1]["attention_mask"], expected[0][1]["attention_mask"])
    assert "3 distinct prompt(s) encoded once, 12 iteration entries" in report


def test_prompt_collapsing_under_snapping_is_never_encoded():
    clip = FakeClip()
    schedule = "0:00-0:20: first\n0:20-0:25: too short to run\n0:25+: second"
    conds, count, report, encoded = batch_encode(clip, schedule)
    assert "too short to run" not in clip.calls
    assert clip.calls == ["first", "second"] and encoded == 2
    assert conds[0] is not conds[1] and all(c is conds[1] for c in conds[1:])
    assert "too short" not in report
    # without snapping the short entry is still skipped by every iteration start (0, 17.92, 35.84 ...)
    clip2 = FakeClip()
    batch_encode(clip2, schedule, snap=False)
    assert "too short to run" not in clip2.calls and len(clip2.calls) == 2


def test_blended_entries_equal_blend_of_the_two_prompts():
    clip = FakeClip()
    schedule = "0:00+: calm verse\n0:54: loud chorus"  # 54 s snaps to 3 strides
    blend = 2 * STRIDE
    result = build_conditioning_schedule(schedule, lambda t: encode_with_clip(clip, t), STRIDE, 12, blend, True, 25.0)
    assert clip.calls == ["calm verse", "loud chorus"]
    conds = result.conditioning_list
    factors = [s.blend for s in result.selections]
    ramp_quarter = 0.5 - 0.5 * math.cos(math.pi * 0.25)  # 0.146 either side of the boundary
    assert factors[2] == pytest.approx(ramp_quarter) and factors[3] == pytest.approx(ramp_quarter)
    assert [f for i, f in enumerate(factors) if i not in (2, 3)] == [0.0] * 10
    verse, chorus = conds[0], conds[5]
    assert conds[1] is verse and conds[11] is chorus
    for i, (a, b) in ((2, (verse, chorus)), (3, (chorus, verse))):
        sel = result.selections[i]
        expected = blend_conditioning(a, b, sel.blend)
        assert torch.equal(conds[i][0][0], expected[0][0])
        torch.testing.assert_close(conds[i][0][0], (1 - sel.blend) * a[0][0] + sel.blend * b[0][0])
        assert conds[i][0][1]["frame_rate"] == 25.0
    # the node gives the same list with the same two encoder calls
    clip2 = FakeClip()
    node_conds, _, _, encoded = batch_encode(clip2, schedule, blend=blend)
    assert encoded == 2 and len(clip2.calls) == 2
    assert torch.equal(node_conds[2][0][0], conds[2][0][0])


def test_frame_rate_zero_leaves_metadata_as_encoded():
    clip = FakeClip()
    conds, _, _, _ = batch_encode(clip, "0:00+: only", frame_rate=0.0)
    assert set(conds[0][0][1]) == {"attention_mask"}
    # 18 s = 432 frames = 54 latent frames at 24 fps: a stride on the 24 fps grid
    conds24, _, _, _ = batch_encode(FakeClip(), "0:00+: only", frame_rate=24.0, stride=18.0)
    assert conds24[0][0][1]["frame_rate"] == 24.0


def test_batch_encode_needs_a_clip():
    with pytest.raises(ValueError, match="clip is missing"):
        batch_encode(None, "0:00+: x")


def test_select_inside_simulated_loop_never_encodes():
    clip = FakeClip()
    conds, count, _, _ = batch_encode(clip, REPEATS)
    calls_before = len(clip.calls)
    select = NODE_CLASS_MAPPINGS["ConditioningSelectByIteration"]()
    seen = []
    for iteration in range(1, 11):
        (c,) = select.execute(conds, iteration)
        assert c is conds[min(iteration, count - 1)]
        seen.append(c)
    assert len(clip.calls) == calls_before
    assert seen[-1] is conds[10]


# --------------------------------------------------------------------------------------------
# entries_needed


@settings(max_examples=100, deadline=None)
@given(k=st.integers(1, 200), stride_latents=st.integers(1, 100), fps=st.sampled_from([24, 25, 30]))
def test_entries_needed_exact_multiples(k, stride_latents, fps):
    stride = stride_latents * 8 / fps
    assert entries_needed(k * stride, stride) == k + 1
    assert entries_needed(k * stride + 0.01, stride) == k + 2


@settings(max_examples=150, deadline=None)
@given(
    seconds=st.floats(0.5, 900.0),
    window=st.floats(2.0, 30.0),
    overlap_fraction=st.floats(0.0, 0.9),
    fps=st.sampled_from([24, 25, 30]),
)
def test_entries_cover_every_pass(seconds, window, overlap_fraction, fps):
    geo = loop_geometry(window, window * overlap_fraction, fps)
    plan = plan_loop(seconds, geo)
    needed = entries_needed(seconds, geo.stride_seconds)
    assert needed == max(1, math.ceil(seconds / geo.stride_seconds - 1e-9) + 1)
    assert plan.loop_iterations + 1 <= needed  # passes 0 .. K each have their own entry


@pytest.mark.parametrize("args", [(0, 1), (-1, 1), (float("nan"), 1), (10, 0), (10, float("inf"))])
def test_entries_needed_errors(args):
    with pytest.raises(ValueError):
        entries_needed(*args)


# --------------------------------------------------------------------------------------------
# CachedTextEncode_AudioLoop and TextEncodeCache


@pytest.fixture
def cached_node():
    node_cls = NODE_CLASS_MAPPINGS["CachedTextEncode_AudioLoop"]
    node_cls.cache.clear()
    yield node_cls()
    node_cls.cache.clear()


def test_cached_node_hits_and_misses(cached_node):
    clip = FakeClip()
    first = cached_node.execute(clip, "a red coat")[0]
    second = cached_node.execute(clip, "a red coat")[0]
    assert clip.calls == ["a red coat"]
    assert second is not first and second[0][0] is first[0][0]
    cached_node.execute(clip, "a red coat ")  # not byte-identical
    assert clip.calls == ["a red coat", "a red coat "]
    other = FakeClip()
    third = cached_node.execute(other, "a red coat")[0]
    assert other.calls == ["a red coat"]
    assert torch.equal(third[0][0], first[0][0])
    with pytest.raises(ValueError, match="clip is missing"):
        cached_node.execute(None, "x")


def test_cache_is_bounded_lru():
    cache = TextEncodeCache(capacity=3)
    clip = FakeClip()
    encode = lambda t: encode_with_clip(clip, t)  # noqa: E731
    for text in ("a", "b", "c"):
        cache.get_or_encode(clip, text, encode)
    cache.get_or_encode(clip, "a", encode)  # a is now the most recent: b is least recent
    cache.get_or_encode(clip, "d", encode)  # evicts b
    assert len(cache) == 3
    assert clip.calls == ["a", "b", "c", "d"]
    for text in ("a", "c", "d"):
        cache.get_or_encode(clip, text, encode)
    assert clip.calls == ["a", "b", "c", "d"]
    cache.get_or_encode(clip, "b", encode)  # miss; evicts the least recent of a, c, d: a
    cache.get_or_encode(clip, "a", encode)
    assert clip.calls == ["a", "b", "c", "d", "b", "a"]
    assert len(cache) == 3 and cache.hits == 4 and cache.misses == 6


@settings(max_examples=40, deadline=None)
@given(capacity=st.integers(1, 6), texts=st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=40))
def test_cache_matches_reference_lru(capacity, texts):
    cache = TextEncodeCache(capacity=capacity)
    clip = FakeClip(dim=2, tokens=1)
    model: list[str] = []  # reference LRU, most recent last
    expected_calls = []
    for text in texts:
        cache.get_or_encode(clip, text, lambda t: encode_with_clip(clip, t))
        if text in model:
            model.remove(text)
        else:
            expected_calls.append(text)
        model.append(text)
        del model[:-capacity]
    assert clip.calls == expected_calls
    assert len(cache) == len(model) == min(capacity, len(set(texts)))


def test_cache_capacity_must_be_positive():
    with pytest.raises(ValueError, match="capacity"):
        TextEncodeCache(capacity=0)
    with pytest.raises(ValueError, match="text must be a string"):
        TextEncodeCache().get_or_encode(FakeClip(), None, lambda t: [])


def test_mutating_result_does_not_change_cache():
    cache = TextEncodeCache(capacity=4)
    clip = FakeClip()
    encode = lambda t: encode_with_clip(clip, t)  # noqa: E731
    first = cache.get_or_encode(clip, "x", encode)
    first.append(["junk", {}])
    first[0][1]["frame_rate"] = 99.0
    first[0][1].pop("attention_mask")
    first[0][0] = torch.zeros(1)
    second = cache.get_or_encode(clip, "x", encode)
    assert len(second) == 1
    assert set(second[0][1]) == {"attention_mask"}
    assert second[0][0].shape == (1, TOKENS, DIM)
    assert clip.calls == ["x"]
    # the value returned on the miss is not the stored structure either
    second[0][1]["k"] = 1
    assert "k" not in cache.get_or_encode(clip, "x", encode)[0][1]


def test_dead_encoder_with_reused_id_does_not_hit():
    cache = TextEncodeCache(capacity=8)
    text = "same words"
    old = FakeClip(dim=3)
    stale = cache.get_or_encode(old, text, functools.partial(encode_with_clip, old))
    old_id = id(old)
    ref = weakref.ref(old)
    del old
    gc.collect()
    assert ref() is None
    # CPython usually hands the freed slot to the next object of the same size; try a few times
    keep = []
    new = None
    for _ in range(64):
        candidate = FakeClip(dim=5)
        if id(candidate) == old_id:
            new = candidate
            break
        keep.append(candidate)
    if new is None:
        # No natural collision: plant the dead entry under the new object's id, which is exactly
        # the state a reused id produces.
        new = FakeClip(dim=5)
        key_old = next(iter(cache._entries))
        cache._entries[(id(new), text)] = cache._entries.pop(key_old)
    assert (id(new), text) in cache._entries
    assert cache._entries[(id(new), text)][0]() is None  # the stored weak reference is dead
    result = cache.get_or_encode(new, text, lambda t: encode_with_clip(new, t))
    assert new.calls == [text], "a dead encoder's entry was returned for a new encoder"
    assert result[0][0].shape[-1] == 5 and stale[0][0].shape[-1] == 3
    assert cache.hits == 0 and cache.misses == 2
    assert cache._entries[(id(new), text)][0]() is new
    # and now the new encoder hits
    cache.get_or_encode(new, text, lambda t: encode_with_clip(new, t))
    assert new.calls == [text] and cache.hits == 1


def test_cache_does_not_keep_encoder_alive():
    cache = TextEncodeCache()
    clip = FakeClip()
    ref = weakref.ref(clip)
    cache.get_or_encode(clip, "t", functools.partial(encode_with_clip, clip))
    del clip
    gc.collect()
    assert ref() is None
