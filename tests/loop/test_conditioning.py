"""Conditioning blend, per-iteration selection and metadata helpers on real CONDITIONING values.

LTX-2.3 conditioning is ``[1, 1024, 3840]`` (Gemma 3 features); hypothesis explores smaller shapes.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltx_audioloop.loop.conditioning import (
    blend_conditioning,
    check_factor,
    copy_conditioning,
    select_by_iteration,
    with_metadata,
)
from ltx_audioloop.nodes import NODE_CLASS_MAPPINGS


def cond(batch=1, tokens=8, dim=16, seed=0, dtype=torch.float32, **meta) -> list:
    gen = torch.Generator().manual_seed(seed)
    return [[torch.randn(batch, tokens, dim, generator=gen).to(dtype), dict(meta)]]


def lerp32(a: torch.Tensor, b: torch.Tensor, f: float) -> torch.Tensor:
    return (1 - f) * a.float() + f * b.float()


# --------------------------------------------------------------------------------------------
# blend_conditioning


def test_factor_zero_and_one_return_inputs_as_given():
    a, b = cond(seed=1, frame_rate=25.0), cond(seed=2)
    assert blend_conditioning(a, b, 0.0) is a
    assert blend_conditioning(a, b, 1.0) is b
    assert blend_conditioning(a, b, 0) is a and blend_conditioning(a, b, 1) is b
    node = NODE_CLASS_MAPPINGS["AudioLoopConditioningBlend"]()
    assert node.execute(a, b, 0.0)[0] is a and node.execute(a, b, 1.0)[0] is b


def test_blend_at_ltx_size_bf16():
    a = cond(tokens=1024, dim=3840, seed=1, dtype=torch.bfloat16, frame_rate=25.0)
    b = cond(tokens=1024, dim=3840, seed=2, dtype=torch.bfloat16, frame_rate=25.0)
    out = blend_conditioning(a, b, 0.3)
    t, meta = out[0]
    assert t.shape == (1, 1024, 3840) and t.dtype == torch.bfloat16
    expected = lerp32(a[0][0], b[0][0], 0.3).to(torch.bfloat16)
    torch.testing.assert_close(t, expected, atol=1e-2, rtol=1e-2)
    assert meta == {"frame_rate": 25.0}
    assert a[0][1] == {"frame_rate": 25.0} and a[0][0].dtype == torch.bfloat16  # inputs untouched


@settings(max_examples=60, deadline=None)
@given(
    batch=st.integers(1, 3),
    tokens=st.integers(1, 24),
    dim=st.integers(1, 32),
    factor=st.floats(0.0, 1.0, allow_nan=False),
    seed=st.integers(0, 2**16),
)
def test_blend_equals_lerp_property(batch, tokens, dim, factor, seed):
    a = cond(batch, tokens, dim, seed=seed)
    b = cond(batch, tokens, dim, seed=seed + 1)
    out = blend_conditioning(a, b, factor)
    assert len(out) == 1
    t = out[0][0]
    assert t.shape == (batch, tokens, dim) and t.dtype == torch.float32
    torch.testing.assert_close(t, lerp32(a[0][0], b[0][0], factor), atol=1e-5, rtol=1e-5)
    # same lengths and no masks: no attention_mask invented
    if 0 < factor < 1:
        assert "attention_mask" not in out[0][1]


def test_batch_two_with_two_and_one_broadcast_to_three():
    a, b = cond(batch=2, seed=1), cond(batch=2, seed=2)
    t = blend_conditioning(a, b, 0.25)[0][0]
    assert t.shape[0] == 2
    torch.testing.assert_close(t, lerp32(a[0][0], b[0][0], 0.25))

    one, three = cond(batch=1, seed=3), cond(batch=3, seed=4)
    t = blend_conditioning(one, three, 0.4)[0][0]
    assert t.shape[0] == 3
    for i in range(3):
        torch.testing.assert_close(t[i], lerp32(one[0][0][0], three[0][0][i], 0.4))
    t2 = blend_conditioning(three, one, 0.4)[0][0]
    assert t2.shape[0] == 3
    torch.testing.assert_close(t2[1], lerp32(three[0][0][1], one[0][0][0], 0.4))

    with pytest.raises(ValueError, match="batch sizes 2 and 3"):
        blend_conditioning(cond(batch=2), cond(batch=3), 0.5)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_dtype_of_a_kept(dtype):
    a = cond(seed=1, dtype=dtype)
    b = cond(seed=2, dtype=torch.float32)
    t = blend_conditioning(a, b, 0.6)[0][0]
    assert t.dtype == dtype
    torch.testing.assert_close(t.float(), lerp32(a[0][0], b[0][0], 0.6).to(dtype).float())


def test_token_length_mismatch_pads_with_zeros_and_masks_padding():
    a = cond(tokens=5, dim=4, seed=1)
    b = cond(tokens=8, dim=4, seed=2)
    t, meta = blend_conditioning(a, b, 0.3)[0]
    assert t.shape == (1, 8, 4)
    padded_a = torch.cat([a[0][0], torch.zeros(1, 3, 4)], dim=1)
    torch.testing.assert_close(t, lerp32(padded_a, b[0][0], 0.3))
    # positions 5..7 exist only in B: A contributes zeros
    torch.testing.assert_close(t[:, 5:], 0.3 * b[0][0][:, 5:])
    # neither side had a mask: each counts as ones over its own tokens, so the max is all ones
    mask = meta["attention_mask"]
    assert mask.shape == (1, 8)
    assert torch.equal(mask, torch.ones(1, 8))


def test_masks_mark_padding_zero_and_combine_with_max():
    mask_a = torch.tensor([[1, 1, 1, 0, 0]], dtype=torch.int64)  # A: 3 real tokens of 5
    mask_b = torch.tensor([[1, 1, 0, 0, 0, 0, 0]], dtype=torch.int64)  # B: 2 real tokens of 7
    a = cond(tokens=5, dim=3, seed=1, attention_mask=mask_a)
    b = cond(tokens=7, dim=3, seed=2, attention_mask=mask_b)
    t, meta = blend_conditioning(a, b, 0.7)[0]
    assert t.shape == (1, 7, 3)
    mask = meta["attention_mask"]
    assert mask.dtype == torch.int64  # A's mask dtype kept
    assert mask.tolist() == [[1, 1, 1, 0, 0, 0, 0]]
    assert a[0][1]["attention_mask"] is mask_a and mask_a.tolist() == [[1, 1, 1, 0, 0]]


def test_mask_on_one_side_only():
    # A has a mask (4 of 6 attended); B has none and 4 tokens -> ones over its own 4 tokens
    mask_a = torch.tensor([[1.0, 1.0, 1.0, 1.0, 0.0, 0.0]])
    a = cond(tokens=6, dim=3, seed=1, attention_mask=mask_a)
    b = cond(tokens=4, dim=3, seed=2)
    meta = blend_conditioning(a, b, 0.5)[0][1]
    assert meta["attention_mask"].tolist() == [[1, 1, 1, 1, 0, 0]]
    # B missing the mask but longer than A's mask: ones over B's 6 tokens win via max
    mask_a2 = torch.tensor([[1.0, 0.0, 0.0]])
    a2 = cond(tokens=3, dim=3, seed=1, attention_mask=mask_a2)
    b2 = cond(tokens=6, dim=3, seed=2)
    meta2 = blend_conditioning(a2, b2, 0.2)[0][1]
    assert meta2["attention_mask"].tolist() == [[1, 1, 1, 1, 1, 1]]
    # only B has a mask, same length: A counts as all ones
    b3 = cond(tokens=3, dim=3, seed=2, attention_mask=torch.tensor([[1.0, 0.0, 0.0]]))
    meta3 = blend_conditioning(cond(tokens=3, dim=3), b3, 0.9)[0][1]
    assert meta3["attention_mask"].tolist() == [[1, 1, 1]]


def test_every_entry_blended_when_both_have_two():
    a = cond(seed=1) + cond(seed=2)
    b = cond(seed=3) + cond(seed=4)
    out = blend_conditioning(a, b, 0.35)
    assert len(out) == 2
    for i in range(2):
        torch.testing.assert_close(out[i][0], lerp32(a[i][0], b[i][0], 0.35))


def test_one_entry_side_broadcast():
    a = cond(seed=1) + cond(seed=2) + cond(seed=5)
    b = cond(seed=3)
    out = blend_conditioning(a, b, 0.2)
    assert len(out) == 3
    for i in range(3):
        torch.testing.assert_close(out[i][0], lerp32(a[i][0], b[0][0], 0.2))
    out2 = blend_conditioning(b, a, 0.2)
    assert len(out2) == 3
    torch.testing.assert_close(out2[2][0], lerp32(b[0][0], a[2][0], 0.2))
    with pytest.raises(ValueError, match="conditioning_a has 2 entries and conditioning_b 3"):
        blend_conditioning(cond() + cond(), cond() + cond() + cond(), 0.5)


@settings(max_examples=40, deadline=None)
@given(factor=st.floats(0.0, 1.0, allow_nan=False, exclude_min=True, exclude_max=True))
def test_guide_metadata_taken_whole_from_dominant_side(factor):
    meta_a = {"keyframe_idxs": torch.tensor([0, 8]), "frame_rate": 25.0, "guide_attention_entries": ["a1", "a2"]}
    meta_b = {"keyframe_idxs": torch.tensor([16]), "frame_rate": 24.0, "guide_attention_entries": ["b1"],
              "only_b": True}
    a = cond(seed=1, **meta_a)
    b = cond(seed=2, **meta_b)
    meta = blend_conditioning(a, b, factor)[0][1]
    source = meta_a if factor < 0.5 else meta_b
    assert set(meta) == set(source)
    for key, value in source.items():
        assert meta[key] is value
    # the inputs' dicts are not the output's
    assert meta is not a[0][1] and meta is not b[0][1]


def test_metadata_at_exactly_half_comes_from_b():
    a, b = cond(seed=1, frame_rate=25.0), cond(seed=2, frame_rate=30.0)
    assert blend_conditioning(a, b, 0.5)[0][1]["frame_rate"] == 30.0
    assert blend_conditioning(a, b, 0.4999)[0][1]["frame_rate"] == 25.0


def test_pooled_output_lerped_when_both_have_it():
    pa, pb = torch.randn(1, 6), torch.randn(1, 6)
    a = cond(seed=1, pooled_output=pa)
    b = cond(seed=2, pooled_output=pb)
    meta = blend_conditioning(a, b, 0.3)[0][1]
    torch.testing.assert_close(meta["pooled_output"], lerp32(pa, pb, 0.3))
    # only one side has it: the dominant side's is used, or none
    assert blend_conditioning(a, cond(seed=2), 0.3)[0][1]["pooled_output"] is pa
    assert "pooled_output" not in blend_conditioning(a, cond(seed=2), 0.7)[0][1]


@pytest.mark.parametrize("factor", [float("nan"), -0.1, 1.5, float("inf"), "abc", None])
def test_bad_factors(factor):
    with pytest.raises(ValueError, match="blend_factor"):
        blend_conditioning(cond(), cond(), factor)


def test_check_factor_accepts_numbers():
    assert check_factor(0) == 0.0 and check_factor("0.25") == 0.25 and check_factor(1) == 1.0


def test_different_embedding_dims():
    with pytest.raises(ValueError, match="different embedding sizes \\(16 and 8\\)"):
        blend_conditioning(cond(dim=16), cond(dim=8), 0.5)


@pytest.mark.parametrize(
    "bad",
    [
        [],
        None,
        "text",
        [[torch.zeros(4, 4), {}]],  # 2-D tensor
        [[torch.zeros(1, 4, 4)]],  # no dict
        [(torch.zeros(1, 4, 4), "meta")],
        [[torch.zeros(1, 4, 4), {}, 3]],
        [["tensor", {}]],
    ],
)
def test_malformed_conditioning(bad):
    with pytest.raises(ValueError, match="conditioning_a"):
        blend_conditioning(bad, cond(dim=4, tokens=4), 0.5)
    with pytest.raises(ValueError, match="conditioning_b"):
        blend_conditioning(cond(dim=4, tokens=4), bad, 0.5)


# --------------------------------------------------------------------------------------------
# select_by_iteration, with_metadata, copy_conditioning


def test_select_by_iteration_clamps_past_the_end():
    entries = [cond(seed=i) for i in range(4)]
    for i in range(4):
        assert select_by_iteration(entries, i) is entries[i]
    assert select_by_iteration(entries, 4) is entries[3]
    assert select_by_iteration(entries, 1000) is entries[3]
    assert select_by_iteration(tuple(entries), 2) is entries[2]
    node = NODE_CLASS_MAPPINGS["ConditioningSelectByIteration"]()
    assert node.execute(entries, 7)[0] is entries[3]


@settings(max_examples=50, deadline=None)
@given(length=st.integers(1, 20), index=st.integers(0, 100))
def test_select_by_iteration_property(length, index):
    entries = [[[torch.zeros(1, 1, 1), {"i": i}]] for i in range(length)]
    out = select_by_iteration(entries, index)
    assert out[0][1]["i"] == min(index, length - 1)


@pytest.mark.parametrize("bad_list", [[], None, "abc", ()])
def test_select_by_iteration_bad_list(bad_list):
    with pytest.raises(ValueError, match="conditioning_list"):
        select_by_iteration(bad_list, 0)


@pytest.mark.parametrize("bad_index", [-1, True, False, 1.0, "1", None])
def test_select_by_iteration_bad_index(bad_index):
    with pytest.raises(ValueError, match="current_iteration"):
        select_by_iteration([cond()], bad_index)


def test_with_metadata_does_not_mutate_input():
    original = cond(seed=1, frame_rate=24.0, keyframe_idxs=[0]) + cond(seed=2)
    snapshot = [dict(meta) for _, meta in original]
    out = with_metadata(original, frame_rate=25.0)
    assert [meta for _, meta in original] == snapshot
    assert all(meta["frame_rate"] == 25.0 for _, meta in out)
    assert out[0][1]["keyframe_idxs"] == [0]
    assert out is not original
    for (t_out, m_out), (t_in, m_in) in zip(out, original):
        assert t_out is t_in and m_out is not m_in


def test_copy_conditioning_independent_structure_shared_tensors():
    original = cond(seed=1, frame_rate=25.0)
    copied = copy_conditioning(original)
    copied.append(cond(seed=2)[0])
    copied[0][1]["frame_rate"] = 1.0
    copied[0][0] = torch.zeros(1)
    assert len(original) == 1 and original[0][1]["frame_rate"] == 25.0
    assert original[0][0].shape == (1, 8, 16)
    assert copy_conditioning(original)[0][0] is original[0][0]
