"""SageAttention node: routing, the PyTorch fallback, fp32 handling, 32-bit-index chunking, warnings.

No GPU and no ``sageattention`` here: the routing is checked with a recording kernel passed
through ``SageAttentionOverride(kernel_fn=..., sage_device_types=("cpu",))``; the recording
kernel drops the mask the way upstream SageAttention 2 kernels do, so a masked call that
reached it would give a visibly wrong result.
"""

from __future__ import annotations

import logging

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from ltx_audioloop.attention import sage
from ltx_audioloop.attention.router import DEFAULT_MODE, MODES, SAGE_KERNELS, choose_kernel
from ltx_audioloop.attention.sage import SageAttentionOverride, SageStatus, sage_status
from ltx_audioloop.attention.sdpa import chunked_over_batch_heads, sdpa_attention
from ltx_audioloop.nodes import NODE_CLASS_MAPPINGS
from tests.conftest import FakePatcher

AVAILABLE = SageStatus(sage2=True, sage3=True, cuda=True)


def reference_attention(q, k, v, heads, mask=None, skip_reshape=False, scale=None):
    """float64 softmax(q k^T * scale + mask) v, returned as [B, H, Nq, D]."""
    if not skip_reshape:
        b = q.shape[0]
        d = q.shape[-1] // heads
        q, k, v = (t.reshape(b, -1, heads, d).transpose(1, 2) for t in (q, k, v))
    q, k, v = q.double(), k.double(), v.double()
    if k.shape[1] != q.shape[1]:
        k = k.repeat_interleave(q.shape[1] // k.shape[1], 1)
        v = v.repeat_interleave(q.shape[1] // v.shape[1], 1)
    scores = q @ k.transpose(-1, -2) * (scale if scale is not None else q.shape[-1] ** -0.5)
    if mask is not None:
        m = mask
        while m.ndim < 4:
            m = m.unsqueeze(0) if m.ndim == 2 else m.unsqueeze(1)
        if m.dtype == torch.bool:
            scores = scores.masked_fill(~m, float("-inf"))
        else:
            scores = scores + m.double()
    return scores.softmax(-1) @ v


def to_layout(out4, skip_output_reshape):
    if skip_output_reshape:
        return out4
    b, h, n, d = out4.shape
    return out4.transpose(1, 2).reshape(b, n, h * d)


class RecordingKernel:
    """Stands in for SageAttention kernels on CPU: records names, dtypes and sizes; ignores masks."""

    def __init__(self, fail=False):
        self.calls = []
        self.fail = fail

    def __call__(self, name, q, k, v, layout, scale=None, mask=None):
        self.calls.append({"name": name, "dtype": q.dtype, "numel": max(q.numel(), k.numel(), v.numel()),
                           "layout": layout, "mask": mask is not None})
        if self.fail:
            raise RuntimeError("kernel exploded")
        if layout == "NHD":
            q, k, v = (t.transpose(1, 2) for t in (q, k, v))
        out = F.scaled_dot_product_attention(q.float(), k.float(), v.float(), scale=scale).to(q.dtype)
        return out.transpose(1, 2) if layout == "NHD" else out


def qkv(b=2, h=4, nq=9, nk=7, d=8, dtype=torch.float32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(b, n, h * d, generator=gen, dtype=dtype) for n in (nq, nk, nk))


# ----------------------------------------------------------------------------------------------
# PyTorch attention with ComfyUI's conventions


@pytest.mark.parametrize("skip_reshape", [False, True])
@pytest.mark.parametrize("skip_output_reshape", [False, True])
@pytest.mark.parametrize("mask_kind", [None, "2d", "3d", "4d", "bool"])
def test_sdpa_matches_reference(skip_reshape, skip_output_reshape, mask_kind):
    heads = 4
    q, k, v = qkv()
    if skip_reshape:
        q, k, v = (t.reshape(2, -1, heads, 8).transpose(1, 2) for t in (q, k, v))
    gen = torch.Generator().manual_seed(1)
    masks = {
        None: None,
        "2d": torch.randn(9, 7, generator=gen),
        "3d": torch.randn(2, 9, 7, generator=gen),
        "4d": torch.randn(2, heads, 1, 7, generator=gen),
        "bool": torch.rand(2, 1, 9, 7, generator=gen) > 0.3,
    }
    mask = masks[mask_kind]
    if mask_kind == "bool":
        mask[..., 0] = True  # every query keeps a key
    out = sdpa_attention(q, k, v, heads, mask=mask, skip_reshape=skip_reshape, skip_output_reshape=skip_output_reshape)
    want = to_layout(reference_attention(q, k, v, heads, mask, skip_reshape), skip_output_reshape)
    torch.testing.assert_close(out.double(), want, rtol=1e-5, atol=1e-5)


def test_sdpa_scale_and_grouped_heads():
    gen = torch.Generator().manual_seed(2)
    q = torch.randn(1, 8, 5, 16, generator=gen)
    k = torch.randn(1, 2, 6, 16, generator=gen)
    v = torch.randn(1, 2, 6, 16, generator=gen)
    out = sdpa_attention(q, k, v, 8, skip_reshape=True, skip_output_reshape=True, scale=0.3, enable_gqa=True)
    torch.testing.assert_close(out.double(), reference_attention(q, k, v, 8, None, True, 0.3), rtol=1e-5, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(b=st.integers(1, 3), h=st.integers(1, 5), nq=st.integers(1, 12), nk=st.integers(1, 12),
       d=st.sampled_from([2, 4, 8]), limit=st.integers(1, 400), mask_b=st.booleans(), mask_h=st.booleans())
def test_chunking_over_batch_and_heads_is_exact(b, h, nq, nk, d, limit, mask_b, mask_h):
    gen = torch.Generator().manual_seed(b * 1000 + h * 100 + nq * 10 + nk)
    q, k, v = (torch.randn(b, h, n, d, generator=gen) for n in (nq, nk, nk))
    mask = torch.randn(b if mask_b else 1, h if mask_h else 1, nq, nk, generator=gen)
    seen = []

    def fn(qs, ks, vs, ms):
        seen.append(max(qs.numel(), ks.numel(), vs.numel()))
        return F.scaled_dot_product_attention(qs, ks, vs, attn_mask=ms)

    out = chunked_over_batch_heads(fn, q, k, v, mask, limit=limit)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), rtol=1e-5, atol=1e-5)
    per_head = max(nq * d, nk * d)
    assert max(seen) <= max(limit, per_head)  # a slice exceeds the limit only when one head alone does


# ----------------------------------------------------------------------------------------------
# routing


@pytest.mark.parametrize(
    ("mode", "kwargs", "kernel"),
    [
        ("auto_mask_aware", {"has_mask": True}, "sdpa"),
        ("auto_mask_aware", {"has_mask": False}, "sageattn"),
        ("auto", {"has_mask": True}, "sageattn"),
        ("auto", {"has_mask": False}, "sageattn"),
        ("sageattn_qk_int8_pv_fp8_cuda++", {"has_mask": False}, "sageattn_qk_int8_pv_fp8_cuda++"),
        ("sageattn_qk_int8_pv_fp8_cuda++", {"has_mask": True}, "sdpa"),
        ("sageattn3", {"has_mask": False}, "sageattn3"),
        ("auto_mask_aware", {"has_mask": False, "on_cuda": False}, "sdpa"),
        ("auto_mask_aware", {"has_mask": False, "sage2_available": False}, "sdpa"),
        ("sageattn3", {"has_mask": False, "sage3_available": False}, "sdpa"),
        ("auto_mask_aware", {"has_mask": False, "q_len": 100, "skip_under_seq_len": 1024}, "sdpa"),
        ("auto_mask_aware", {"has_mask": False, "q_len": 2048, "skip_under_seq_len": 1024}, "sageattn"),
        ("auto_mask_aware", {"has_mask": False, "head_dim": 256}, "sdpa"),
        ("auto_mask_aware", {"has_mask": False, "low_precision_allowed": False}, "sdpa"),
        ("disabled", {"has_mask": False}, "sdpa"),
    ],
)
def test_choose_kernel(mode, kwargs, kernel):
    call = {"q_len": 21000, "head_dim": 128, "on_cuda": True, "sage2_available": True, "sage3_available": True}
    call.update(kwargs)
    assert choose_kernel(mode, **call)[0] == kernel


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError, match="mode='fastest'"):
        choose_kernel("fastest", has_mask=False, q_len=1, head_dim=64, on_cuda=True, sage2_available=True)


def test_every_audioloophelper_mode_still_loads():
    audioloophelper = {"disabled", "auto_mask_aware", "auto", "sageattn_qk_int8_pv_fp16_triton",
                       "sageattn_qk_int8_pv_fp16_cuda", "sageattn_qk_int8_pv_fp8_cuda++",
                       "sageattn_qk_int8_pv_fp8_cuda_sm90", "sageattn3", "sageattn3_per_block_mean"}
    assert audioloophelper <= set(MODES)
    spec = NODE_CLASS_MAPPINGS["AudioLoopHelperSageAttention"].INPUT_TYPES()["required"]
    assert spec["mode"][0] == list(MODES) and spec["mode"][1]["default"] == DEFAULT_MODE == "auto_mask_aware"
    skip = spec["skip_under_seq_len"][1]
    assert (skip["default"], skip["min"], skip["max"]) == (0, 0, 8192)
    assert spec["fallback_on_error"][1]["default"] is True


@pytest.mark.parametrize("skip_reshape", [False, True])
def test_override_routes_masked_calls_to_a_mask_honouring_kernel(skip_reshape):
    kernel = RecordingKernel()
    override = SageAttentionOverride("auto_mask_aware", status=AVAILABLE, kernel_fn=kernel, sage_device_types=("cpu",))
    q, k, v = qkv(dtype=torch.bfloat16)
    if skip_reshape:
        q, k, v = (t.reshape(2, -1, 4, 8).transpose(1, 2) for t in (q, k, v))
    mask = torch.zeros(2, 1, 9, 7, dtype=torch.bfloat16)
    mask[..., :3] = -torch.finfo(torch.bfloat16).max
    masked = override(None, q, k, v, 4, mask=mask, skip_reshape=skip_reshape)
    assert override.last == ("sdpa", "mask") and kernel.calls == []
    want = to_layout(reference_attention(q, k, v, 4, mask, skip_reshape), False)
    torch.testing.assert_close(masked.double(), want, rtol=2e-2, atol=2e-2)
    plain = override(None, q, k, v, 4, skip_reshape=skip_reshape)
    assert override.last[0] == "sageattn" and kernel.calls[-1]["name"] == "sageattn"
    assert kernel.calls[-1]["layout"] == ("HND" if skip_reshape else "NHD")
    torch.testing.assert_close(plain.double(), to_layout(reference_attention(q, k, v, 4, None, skip_reshape), False),
                               rtol=2e-2, atol=2e-2)
    assert dict(override.counts) == {"sdpa": 1, "sageattn": 1}


def test_auto_mode_passes_the_mask_to_sage_and_warns_once(caplog, monkeypatch):
    monkeypatch.setattr(sage, "_WARNED", set())
    kernel = RecordingKernel()
    override = SageAttentionOverride("auto", status=AVAILABLE, kernel_fn=kernel, sage_device_types=("cpu",))
    q, k, v = qkv(dtype=torch.float16)
    with caplog.at_level(logging.WARNING, logger="ltx_audioloop.attention.sage"):
        for _ in range(3):
            override(None, q, k, v, 4, mask=torch.zeros(9, 7, dtype=torch.float16))
    assert [c["mask"] for c in kernel.calls] == [True, True, True]
    assert sum("auto_mask_aware" in r.getMessage() for r in caplog.records) == 1


def test_explicit_kernel_and_fp32_inputs_are_cast_and_restored():
    kernel = RecordingKernel()
    override = SageAttentionOverride("sageattn_qk_int8_pv_fp16_cuda", status=AVAILABLE, kernel_fn=kernel,
                                     sage_device_types=("cpu",))
    q, k, v = qkv(dtype=torch.float32)
    out = override(None, q, k, v, 4, skip_output_reshape=True)
    assert kernel.calls[-1]["name"] == "sageattn_qk_int8_pv_fp16_cuda"
    assert kernel.calls[-1]["dtype"] in (torch.float16, torch.bfloat16)
    assert out.dtype == torch.float32 and out.shape == (2, 4, 9, 8)
    torch.testing.assert_close(out.double(), reference_attention(q, k, v, 4), rtol=1e-2, atol=1e-2)


def test_long_sequences_are_chunked_below_the_index_limit():
    kernel = RecordingKernel()
    limit = 200
    override = SageAttentionOverride("auto_mask_aware", status=AVAILABLE, kernel_fn=kernel,
                                     sage_device_types=("cpu",), index_limit=limit)
    q, k, v = qkv(b=2, h=4, nq=20, nk=11, d=8, dtype=torch.float16)  # q: 2*20*32 = 1280 elements
    out = override(None, q, k, v, 4)
    assert len(kernel.calls) > 1 and max(c["numel"] for c in kernel.calls) <= limit
    torch.testing.assert_close(out.double(), to_layout(reference_attention(q, k, v, 4), False), rtol=1e-2, atol=1e-2)
    fallback = SageAttentionOverride("auto_mask_aware", status=SageStatus(False, False, False), index_limit=limit)
    torch.testing.assert_close(fallback(None, q.float(), k.float(), v.float(), 4).double(),
                               to_layout(reference_attention(q, k, v, 4), False), rtol=1e-3, atol=1e-3)


def test_kernel_errors_fall_back_and_are_logged_once(caplog):
    kernel = RecordingKernel(fail=True)
    override = SageAttentionOverride("auto_mask_aware", status=AVAILABLE, kernel_fn=kernel, sage_device_types=("cpu",))
    q, k, v = qkv()
    with caplog.at_level(logging.WARNING, logger="ltx_audioloop.attention.sage"):
        outs = [override(None, q, k, v, 4) for _ in range(3)]
    assert override.fallbacks == 3
    assert sum("kernel exploded" in r.getMessage() for r in caplog.records) == 1
    expected = to_layout(reference_attention(q, k, v, 4), False)
    torch.testing.assert_close(outs[0].double(), expected, rtol=1e-5, atol=1e-5)
    strict = SageAttentionOverride(
        "auto_mask_aware", fallback_on_error=False, status=AVAILABLE, kernel_fn=kernel, sage_device_types=("cpu",)
    )
    with pytest.raises(RuntimeError, match="kernel exploded"):
        strict(None, q, k, v, 4)


def test_low_precision_off_uses_pytorch():
    kernel = RecordingKernel()
    override = SageAttentionOverride("auto", status=AVAILABLE, kernel_fn=kernel, sage_device_types=("cpu",))
    q, k, v = qkv()
    override(None, q, k, v, 4, low_precision_attention=False)
    assert kernel.calls == [] and override.last[0] == "sdpa"


# ----------------------------------------------------------------------------------------------
# the node on a machine without SageAttention (this one)


def test_node_without_sage_runs_pytorch_attention_after_one_warning(caplog, monkeypatch):
    monkeypatch.setattr(sage, "_WARNED", set())
    status = sage_status()
    if status.usable:
        pytest.skip("SageAttention and CUDA are present on this machine")
    node = NODE_CLASS_MAPPINGS["AudioLoopHelperSageAttention"]()
    base = FakePatcher()
    with caplog.at_level(logging.WARNING, logger="ltx_audioloop.attention.sage"):
        (first,) = node.execute(base, "auto_mask_aware", True, 0)
        (second,) = node.execute(first, "sageattn_qk_int8_pv_fp8_cuda++", True, 1024)
    assert sum("scaled_dot_product_attention" in r.getMessage() for r in caplog.records) == 1
    assert "optimized_attention_override" not in base.model_options["transformer_options"]
    override = second.model_options["transformer_options"]["optimized_attention_override"]
    q, k, v = qkv()
    mask = torch.randn(9, 7)
    for m in (None, mask):
        out = override(None, q, k, v, 4, mask=m, transformer_options={}, _inside_attn_wrapper=True)
        torch.testing.assert_close(
            out.double(), to_layout(reference_attention(q, k, v, 4, m), False), rtol=1e-5, atol=1e-5
        )
    assert set(override.counts) == {"sdpa"}
    (same,) = node.execute(base, "disabled", True, 0)
    assert same is base


def test_node_rejects_a_negative_skip():
    with pytest.raises(ValueError, match="skip_under_seq_len"):
        NODE_CLASS_MAPPINGS["AudioLoopHelperSageAttention"]().execute(FakePatcher(), "auto", True, -1)


def test_all_kernel_names_route_somewhere():
    for mode in SAGE_KERNELS:
        kernel, _ = choose_kernel(
            mode, has_mask=False, q_len=4096, head_dim=64, on_cuda=True, sage2_available=True, sage3_available=True
        )
        assert kernel == mode
