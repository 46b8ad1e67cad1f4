"""NAG: the formula against a plain reference, and the patch on a stand-in of ComfyUI's LTX-2 AV model.

The stand-in below has the attribute paths and call signatures of ComfyUI's
``comfy/ldm/lightricks/av_model.py`` (``transformer_blocks[i].attn2`` / ``.audio_attn2``,
``_apply_text_cross_attention(x, context, attn, scale_shift_table, prompt_scale_shift_table,
timestep, prompt_timestep, attention_mask, transformer_options)``, ``CrossAttention.forward(x,
context, mask, pe, k_pe, transformer_options)``, ``preprocess_text_embeds`` and
``_prepare_context``), and ``FakePatcher`` has the parts of ComfyUI's ``ModelPatcher`` the
patch uses (``clone``, ``model_options``, ``add_object_patch``, ``get_model_object``,
``patch_model`` / ``unpatch_model`` with ``comfy.utils.set_attr`` semantics).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from ltx_audioloop.attention.nag import PRESETS, NagParams, nag_combine
from ltx_audioloop.attention.nag_context import NegativeContext
from ltx_audioloop.attention.nag_patch import PATCH_KEY, apply_nag, guided_rows
from ltx_audioloop.nodes import NODE_CLASS_MAPPINGS
from tests.conftest import FakePatcher

# ----------------------------------------------------------------------------------------------
# plain reference of the formula


def reference_nag(z_pos, z_neg, s, alpha, tau):
    """Token by token in float64, exactly as the formula reads."""
    zp = np.asarray(z_pos, dtype=np.float64)
    zn = np.asarray(z_neg, dtype=np.float64)
    out = np.empty_like(zp)
    for idx in np.ndindex(*zp.shape[:-1]):
        p = zp[idx]
        g = s * p - (s - 1) * zn[idx]
        norm_p = np.abs(p).sum()
        norm_g = np.abs(g).sum()
        if norm_g > tau * norm_p:
            g = g * (tau * norm_p / norm_g)
        out[idx] = alpha * g + (1 - alpha) * p
    return out


@settings(max_examples=60, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 3), st.integers(1, 6), st.integers(1, 17)),
    scale=st.floats(1.0, 20.0),
    alpha=st.floats(0.0, 1.0),
    tau=st.floats(0.05, 6.0),
    seed=st.integers(0, 2**31 - 1),
    spread=st.floats(0.01, 10.0),
)
def test_nag_combine_matches_the_formula(shape, scale, alpha, tau, seed, spread):
    gen = torch.Generator().manual_seed(seed)
    z_pos = torch.randn(shape, generator=gen, dtype=torch.float64)
    z_neg = z_pos + spread * torch.randn(shape, generator=gen, dtype=torch.float64)
    expected = reference_nag(z_pos.numpy(), z_neg.numpy(), scale, alpha, tau)
    got = nag_combine(z_pos.float(), z_neg.float(), scale, alpha, tau)
    assert got.dtype == torch.float32
    tol = 1e-5 * (1 + scale) * (1 + np.abs(expected).max())
    np.testing.assert_allclose(got.double().numpy(), expected, atol=tol, rtol=1e-4)


def test_nag_combine_edge_cases_and_inputs_untouched():
    z_pos = torch.tensor([[0.0, 0.0, 0.0], [1.0, -2.0, 0.5]])
    z_neg = torch.tensor([[1.0, 1.0, 1.0], [1.0, -2.0, 0.5]])
    before = (z_pos.clone(), z_neg.clone())
    out = nag_combine(z_pos, z_neg, 11.0, 0.25, 2.5)
    assert torch.equal(out[0], torch.zeros(3))  # ||z+|| = 0: g is scaled to 0, (1 - alpha) * 0 = 0
    assert torch.allclose(out[1], z_pos[1])  # z- = z+: g = z+
    assert torch.equal(z_pos, before[0]) and torch.equal(z_neg, before[1])
    half = nag_combine(z_pos.bfloat16(), z_neg.bfloat16(), 3.0, 0.2, 2.0)
    assert half.dtype == torch.bfloat16
    with pytest.raises(ValueError, match="same shape"):
        nag_combine(z_pos, z_neg[:1], 3.0, 0.2, 2.0)


def test_ratio_never_exceeds_tau_before_mixing():
    gen = torch.Generator().manual_seed(3)
    z_pos = torch.randn(4, 50, 64, generator=gen)
    z_neg = -3 * z_pos + torch.randn(4, 50, 64, generator=gen)
    tau = 1.7
    g = nag_combine(z_pos, z_neg, 9.0, 1.0, tau)  # alpha 1: the output is the rescaled g itself
    ratio = g.abs().sum(-1) / z_pos.abs().sum(-1)
    assert ratio.max().item() <= tau * (1 + 1e-5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"scale": 0.5}, "nag_scale"), ({"alpha": 1.5}, "nag_alpha"), ({"tau": 0.0}, "nag_tau"),
     ({"scale": float("nan")}, "nag_scale")],
)
def test_params_reject_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NagParams(**kwargs)


def test_presets_are_valid_params():
    for scale, alpha, tau in PRESETS.values():
        NagParams(scale, alpha, tau)
    assert PRESETS["kjnodes"] == (11.0, 0.25, 2.5)
    assert NagParams(1.0, 0.25, 2.5).is_identity and NagParams(5.0, 0.0, 2.5).is_identity


@pytest.mark.parametrize(
    ("batch", "chunks", "rows"),
    [(2, None, None), (2, [0], None), (2, [1, 0], [1]), (4, [0, 1], [0, 1]), (3, [0, 1], None),
     (2, [1, 1], []), (6, [0, 1, 0], [0, 1, 4, 5])],
)
def test_guided_rows_follow_cond_or_uncond(batch, chunks, rows):
    assert guided_rows(batch, chunks) == rows


# ----------------------------------------------------------------------------------------------
# stand-in of ComfyUI's LTX-2 AV model (attribute names and signatures of av_model.py / model.py)


def plain_attention(q, k, v, heads, mask=None):
    """softmax(q k^T / sqrt(d) + mask) v written out, [B, N, H*D] layout."""
    b, nq, inner = q.shape
    d = inner // heads
    qh, kh, vh = (t.reshape(b, -1, heads, d).transpose(1, 2) for t in (q, k, v))
    scores = qh @ kh.transpose(-1, -2) / math.sqrt(d)
    if mask is not None:
        scores = scores + mask.reshape(mask.shape[0], 1, -1, mask.shape[-1]).to(scores.dtype)
    out = scores.softmax(-1) @ vh
    return out.transpose(1, 2).reshape(b, nq, inner)


def comfy_like_attention(q, k, v, heads, mask=None, attn_precision=None, transformer_options=None):
    """What ComfyUI's wrap_attn does: an optimized_attention_override gets (func, *args, **kwargs)."""
    override = (transformer_options or {}).get("optimized_attention_override")
    if override is not None:
        return override(lambda *a, **kw: plain_attention(a[0], a[1], a[2], a[3], kw.get("mask")),
                        q, k, v, heads, mask=mask, attn_precision=attn_precision,
                        transformer_options=transformer_options, _inside_attn_wrapper=True)
    return plain_attention(q, k, v, heads, mask)


def rms_norm(x, eps=1e-6):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


class CrossAttention(nn.Module):
    def __init__(self, query_dim, context_dim, heads, dim_head, gated):
        super().__init__()
        inner = heads * dim_head
        self.heads, self.dim_head, self.attn_precision = heads, dim_head, None
        self.q_norm = nn.RMSNorm(inner, eps=1e-5)
        self.k_norm = nn.RMSNorm(inner, eps=1e-5)
        self.to_q = nn.Linear(query_dim, inner)
        self.to_k = nn.Linear(context_dim, inner)
        self.to_v = nn.Linear(context_dim, inner)
        self.to_gate_logits = nn.Linear(query_dim, heads) if gated else None
        self.to_out = nn.Sequential(nn.Linear(inner, query_dim), nn.Dropout(0.0))

    def attend(self, x, context, mask=None, transformer_options={}):
        """The pre-projection attention output z (what NAG mixes)."""
        q = self.q_norm(self.to_q(x))
        k = self.k_norm(self.to_k(context))
        return comfy_like_attention(q, k, self.to_v(context), self.heads, mask, transformer_options=transformer_options)

    def finish(self, x, out):
        if self.to_gate_logits is not None:
            b, t, _ = out.shape
            gates = 2.0 * torch.sigmoid(self.to_gate_logits(x))
            out = (out.view(b, t, self.heads, self.dim_head) * gates.unsqueeze(-1)).view(b, t, -1)
        return self.to_out(out)

    def forward(self, x, context=None, mask=None, pe=None, k_pe=None, transformer_options={}):
        context = x if context is None else context
        return self.finish(x, self.attend(x, context, mask, transformer_options))


class AVBlock(nn.Module):
    def __init__(self, v_dim, a_dim, heads, dim_head, adaln, gated):
        super().__init__()
        self.cross_attention_adaln = adaln
        self.attn2 = CrossAttention(v_dim, v_dim, heads, dim_head, gated)
        self.audio_attn2 = CrossAttention(a_dim, a_dim, heads, a_dim // heads, gated)
        n = 9 if adaln else 6
        self.scale_shift_table = nn.Parameter(torch.randn(n, v_dim) * 0.1)
        self.audio_scale_shift_table = nn.Parameter(torch.randn(n, a_dim) * 0.1)
        if adaln:
            self.prompt_scale_shift_table = nn.Parameter(torch.randn(2, v_dim) * 0.1)
            self.audio_prompt_scale_shift_table = nn.Parameter(torch.randn(2, a_dim) * 0.1)

    @staticmethod
    def ada(table, batch, timestep, sl):
        n = table.shape[0]
        return (table[sl].unsqueeze(0).unsqueeze(0).to(timestep)
                + timestep.reshape(batch, timestep.shape[1], n, -1)[:, :, sl, :]).unbind(dim=2)

    def _apply_text_cross_attention(self, x, context, attn, scale_shift_table, prompt_scale_shift_table,
                                    timestep, prompt_timestep, attention_mask, transformer_options):
        if self.cross_attention_adaln:
            shift_q, scale_q, gate = self.ada(scale_shift_table, x.shape[0], timestep, slice(6, 9))
            shift_kv, scale_kv = (prompt_scale_shift_table[None, None].to(x)
                                  + prompt_timestep.reshape(x.shape[0], prompt_timestep.shape[1], 2, -1)).unbind(dim=2)
            attn_input = rms_norm(x) * (1 + scale_q) + shift_q
            kv = context * (1 + scale_kv) + shift_kv
            return attn(attn_input, context=kv, mask=attention_mask, transformer_options=transformer_options) * gate
        return attn(rms_norm(x), context=context, mask=attention_mask, transformer_options=transformer_options)

    def forward(self, x, v_context=None, a_context=None, attention_mask=None, v_timestep=None, a_timestep=None,
                transformer_options=None, v_prompt_timestep=None, a_prompt_timestep=None):
        vx, ax = x
        vx = vx + self._apply_text_cross_attention(vx, v_context, self.attn2, self.scale_shift_table,
                                                   getattr(self, "prompt_scale_shift_table", None), v_timestep,
                                                   v_prompt_timestep, attention_mask, transformer_options)
        ax = ax + self._apply_text_cross_attention(ax, a_context, self.audio_attn2, self.audio_scale_shift_table,
                                                   getattr(self, "audio_prompt_scale_shift_table", None), a_timestep,
                                                   a_prompt_timestep, attention_mask, transformer_options)
        return vx, ax


class TinyAVModel(nn.Module):
    """LTXAVModel's text path: preprocess_text_embeds (connector) -> _prepare_context (split) -> blocks."""

    def __init__(self, caption_channels=24, inner_dim=32, audio_inner_dim=16, heads=4, layers=2,
                 adaln=True, gated=True):
        super().__init__()
        self.caption_channels, self.inner_dim, self.audio_inner_dim = caption_channels, inner_dim, audio_inner_dim
        self.video_embeddings_connector = nn.Linear(caption_channels, inner_dim)
        self.audio_embeddings_connector = nn.Linear(caption_channels, audio_inner_dim)
        self.transformer_blocks = nn.ModuleList(
            [AVBlock(inner_dim, audio_inner_dim, heads, inner_dim // heads, adaln, gated) for _ in range(layers)])
        self.adaln = adaln

    def preprocess_text_embeds(self, context, unprocessed=False):
        if not unprocessed and context.shape[-1] == self.inner_dim + self.audio_inner_dim:
            return context
        register = torch.ones(context.shape[0], 3, context.shape[-1], dtype=context.dtype, device=context.device)
        padded = torch.cat([context, register], dim=1)  # the real connector appends registers too
        return torch.cat([torch.tanh(self.video_embeddings_connector(padded)),
                          torch.tanh(self.audio_embeddings_connector(padded))], dim=-1)

    def _prepare_context(self, context, batch_size, x, attention_mask=None):
        v, a = torch.split(context, [x[0].shape[-1], x[1].shape[-1]], dim=-1)
        return [v.reshape(batch_size, -1, x[0].shape[-1]), a.reshape(batch_size, -1, x[1].shape[-1])], attention_mask

    def forward(self, vx, ax, context, timestep, attention_mask=None, transformer_options=None):
        b = vx.shape[0]
        (v_ctx, a_ctx), mask = self._prepare_context(context, b, [vx, ax], attention_mask)
        n = 9 if self.adaln else 6
        v_t = timestep.view(b, 1, 1).expand(b, 1, n * self.inner_dim).to(vx) * 0.1
        a_t = timestep.view(b, 1, 1).expand(b, 1, n * self.audio_inner_dim).to(ax) * 0.1
        v_pt = timestep.view(b, 1, 1).expand(b, 1, 2 * self.inner_dim).to(vx) * 0.2
        a_pt = timestep.view(b, 1, 1).expand(b, 1, 2 * self.audio_inner_dim).to(ax) * 0.2
        x = (vx, ax)
        for block in self.transformer_blocks:
            x = block(x, v_context=v_ctx, a_context=a_ctx, attention_mask=mask, v_timestep=v_t, a_timestep=a_t,
                      transformer_options=transformer_options or {}, v_prompt_timestep=v_pt, a_prompt_timestep=a_pt)
        return x


class BaseModelStandIn(nn.Module):
    def __init__(self, diffusion_model):
        super().__init__()
        self.diffusion_model = diffusion_model


def make_model(seed=0, **kwargs):
    torch.manual_seed(seed)
    dm = TinyAVModel(**kwargs)
    return dm, FakePatcher(BaseModelStandIn(dm))


def run(patcher, raw_pos, vx, ax, t, cond_or_uncond=(0,), attention_mask=None, dtype=None):
    """One model call the way ComfyUI makes it: patch, project the prompt, forward, unpatch."""
    dm = patcher.model.diffusion_model
    dtype = dtype or next(dm.parameters()).dtype
    device = next(dm.parameters()).device
    patcher.patch_model()
    try:
        with torch.no_grad():
            ctx = dm.preprocess_text_embeds(raw_pos.to(device=device, dtype=dtype), unprocessed=True)
            ctx = ctx.expand(vx.shape[0], -1, -1)
            to = dict(patcher.model_options["transformer_options"], cond_or_uncond=list(cond_or_uncond))
            return dm(vx.to(device=device, dtype=dtype), ax.to(device=device, dtype=dtype), ctx,
                      t.to(device=device), attention_mask, to)
    finally:
        patcher.unpatch_model()


@pytest.fixture
def data():
    gen = torch.Generator().manual_seed(7)
    return {
        "pos": torch.randn(1, 5, 24, generator=gen),
        "neg": torch.randn(1, 9, 24, generator=gen),  # another token count than the prompt
        "vx": torch.randn(1, 11, 32, generator=gen),
        "ax": torch.randn(1, 6, 16, generator=gen),
        "t": torch.tensor([0.6]),
    }


def cond(tensor, **meta):
    return [[tensor, {"unprocessed_ltxav_embeds": True, **meta}]]


def expected_one_block(dm, data, params, mask=None):
    """Reference output of a 1-block stand-in with NAG, from the module's own pieces and reference_nag."""
    block = dm.transformer_blocks[0]
    with torch.no_grad():
        pos = dm.preprocess_text_embeds(data["pos"], unprocessed=True)
        neg = dm.preprocess_text_embeds(data["neg"], unprocessed=True)
        (v_pos, a_pos), _ = dm._prepare_context(pos, 1, [data["vx"], data["ax"]])
        (v_neg, a_neg), _ = dm._prepare_context(neg, 1, [data["vx"], data["ax"]])
        outs = []
        for x, c_pos, c_neg, attn, table, ptable, width in (
            (
                data["vx"],
                v_pos,
                v_neg,
                block.attn2,
                block.scale_shift_table,
                block.prompt_scale_shift_table,
                dm.inner_dim,
            ),
            (
                data["ax"],
                a_pos,
                a_neg,
                block.audio_attn2,
                block.audio_scale_shift_table,
                block.audio_prompt_scale_shift_table,
                dm.audio_inner_dim,
            ),
        ):
            t = data["t"].view(1, 1, 1)
            timestep = t.expand(1, 1, 9 * width) * 0.1
            prompt_t = t.expand(1, 1, 2 * width) * 0.2
            shift_q, scale_q, gate = block.ada(table, 1, timestep, slice(6, 9))
            shift_kv, scale_kv = (ptable[None, None] + prompt_t.reshape(1, 1, 2, -1)).unbind(dim=2)
            q_in = rms_norm(x) * (1 + scale_q) + shift_q
            z_pos = attn.attend(q_in, c_pos * (1 + scale_kv) + shift_kv, mask)
            z_neg = attn.attend(q_in, c_neg * (1 + scale_kv) + shift_kv, None)
            z = torch.from_numpy(reference_nag(z_pos.numpy(), z_neg.numpy(), params.scale, params.alpha, params.tau))
            outs.append(x + attn.finish(q_in, z.float()) * gate)
    return outs


@pytest.mark.parametrize("params", [NagParams(11.0, 0.25, 2.5), NagParams(3.0, 0.2, 2.0), NagParams(7.0, 1.0, 0.5)])
@pytest.mark.parametrize("masked", [False, True])
def test_patch_output_follows_the_formula(data, params, masked):
    dm, patcher = make_model(layers=1)
    mask = None
    if masked:  # additive mask over the prompt's 5 + 3 tokens: hide two of them
        mask = torch.zeros(1, 1, 1, 8)
        mask[..., 1] = mask[..., 6] = -torch.finfo(torch.float32).max
    patched = apply_nag(patcher, cond(data["neg"]), params)
    got = run(patched, data["pos"], data["vx"], data["ax"], data["t"], attention_mask=mask)
    want = expected_one_block(dm, data, params, mask)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("adaln,gated", [(True, True), (False, False)])
def test_patched_clone_changes_output_and_leaves_the_original_alone(data, adaln, gated):
    dm, patcher = make_model(adaln=adaln, gated=gated)
    before = run(patcher, data["pos"], data["vx"], data["ax"], data["t"])
    patched = apply_nag(patcher, cond(data["neg"]), NagParams())
    assert set(patched.object_patches) == {PATCH_KEY.format(index=i) for i in range(2)}
    assert patcher.object_patches == {}
    guided = run(patched, data["pos"], data["vx"], data["ax"], data["t"])
    after = run(patcher, data["pos"], data["vx"], data["ax"], data["t"])
    for b, g, a in zip(before, guided, after):
        assert (g - b).abs().max() > 1e-3  # NAG acts on video and audio
        assert torch.equal(a, b)  # the original model is untouched after the clone ran
    # a negative prompt equal to the prompt gives g = z+: the output equals the plain model's
    same = apply_nag(patcher, cond(data["pos"]), NagParams())
    for s, b in zip(run(same, data["pos"], data["vx"], data["ax"], data["t"]), before):
        torch.testing.assert_close(s, b, rtol=1e-5, atol=1e-5)


def test_disabled_or_identity_returns_the_model_itself(data):
    _, patcher = make_model()
    assert apply_nag(patcher, cond(data["neg"]), NagParams(), enable=False) is patcher
    assert apply_nag(patcher, cond(data["neg"]), NagParams(1.0, 0.25, 2.5)) is patcher
    assert apply_nag(patcher, cond(data["neg"]), NagParams(5.0, 0.0, 2.5)) is patcher


def test_cfg_batch_guides_only_the_prompt_rows(data):
    dm, patcher = make_model()
    patched = apply_nag(patcher, cond(data["neg"]), NagParams())
    single = run(patched, data["pos"], data["vx"], data["ax"], data["t"])
    two = {k: data[k].repeat(2, 1, 1) for k in ("vx", "ax")}
    t2 = data["t"].repeat(2)
    for order in ([1, 0], [0, 1]):
        plain = run(patcher, data["pos"], two["vx"], two["ax"], t2, cond_or_uncond=order)
        guided = run(patched, data["pos"], two["vx"], two["ax"], t2, cond_or_uncond=order)
        c, u = order.index(0), order.index(1)
        for g, p, s in zip(guided, plain, single):
            torch.testing.assert_close(g[u], p[u], rtol=1e-6, atol=1e-6)  # unguided row
            torch.testing.assert_close(g[c], s[0], rtol=1e-5, atol=1e-5)


def test_negative_follows_model_device_and_dtype_over_ten_iterations(data):
    """Ten loop iterations with offload/reload: fp32 -> bf16 -> fp32 ... then the meta device."""
    dm, patcher = make_model()
    weights = {k: v.clone() for k, v in dm.state_dict().items()}
    patched = apply_nag(patcher, cond(data["neg"]), NagParams())
    negative = next(iter(patched.object_patches.values())).negative
    assert negative.projections == 0  # projected on the first call, with the loaded model
    first = run(patched, data["pos"], data["vx"], data["ax"], data["t"])
    calls_before = sum(p.calls for p in patched.object_patches.values())
    for iteration in range(10):
        dtype = torch.bfloat16 if iteration % 2 else torch.float32
        dm.to(torch.float32)
        dm.load_state_dict(weights)  # the reload brings the same weights back
        dm.to(dtype)
        out = run(patched, data["pos"], data["vx"], data["ax"], data["t"])
        assert all(o.dtype == dtype for o in out)
        device, working_dtype = negative._working[:2]
        assert working_dtype == dtype and device.type == "cpu"
        plain = run(patcher, data["pos"], data["vx"], data["ax"], data["t"])
        assert all((o.float() - p.float()).abs().max() > 1e-3 for o, p in zip(out, plain))  # NAG still acts
        if dtype == torch.float32:
            for o, f in zip(out, first):
                assert torch.equal(o, f)  # nothing went stale: same result as the first fp32 call
    assert sum(p.calls for p in patched.object_patches.values()) == calls_before + 10 * 2 * 2
    assert negative.projections == 2  # once per dtype, never per call
    dm.to(torch.float32).to("meta")
    out = run(patched, data["pos"], data["vx"], data["ax"], data["t"], dtype=torch.float32)
    assert all(o.device.type == "meta" for o in out)
    assert negative._working[0].type == "meta"


def test_negative_context_batches_and_errors():
    dm, _ = make_model()
    negative = NegativeContext(torch.randn(2, 4, 24), True, dm)
    assert negative.rows("video", 2, "cpu", torch.float32).shape == (2, 7, 32)
    assert negative.rows("audio", 4, "cpu", torch.float32).shape == (4, 7, 16)
    with pytest.raises(ValueError, match="batch 2"):
        negative.rows("video", 3, "cpu", torch.float32)
    with pytest.raises(ValueError, match="kind"):
        negative.get("text", "cpu", torch.float32)
    with pytest.raises(ValueError, match=r"\[batch, tokens, channels\]"):
        NegativeContext(torch.randn(4, 24), True, dm)


def test_apply_nag_rejects_bad_inputs(data):
    _, patcher = make_model()
    with pytest.raises(ValueError, match="empty"):
        apply_nag(patcher, [], NagParams())
    other = FakePatcher(BaseModelStandIn(nn.Linear(2, 2)))
    with pytest.raises(ValueError, match="LTX-2 audio\\+video"):
        apply_nag(other, cond(data["neg"]), NagParams())


def test_node_builds_the_patched_clone(data):
    _, patcher = make_model()
    node = NODE_CLASS_MAPPINGS["AudioLoopLTX2NAG"]()
    (patched,) = node.execute(patcher, cond(data["neg"]), 11.0, 0.25, 2.5, True)
    assert patched is not patcher and len(patched.object_patches) == 2
    (same,) = node.execute(patcher, cond(data["neg"]), 11.0, 0.25, 2.5, False)
    assert same is patcher
    with pytest.raises(ValueError, match="nag_alpha"):
        node.execute(patcher, cond(data["neg"]), 11.0, 2.0, 2.5, True)


@pytest.mark.parametrize("batch,order", list(itertools.product([1, 2], [None])))
def test_guidance_without_cond_or_uncond_guides_every_row(data, batch, order):
    _, patcher = make_model(layers=1)
    patched = apply_nag(patcher, cond(data["neg"]), NagParams())
    vx, ax, t = data["vx"].repeat(batch, 1, 1), data["ax"].repeat(batch, 1, 1), data["t"].repeat(batch)
    guided = run(patched, data["pos"], vx, ax, t, cond_or_uncond=())
    single = run(patched, data["pos"], data["vx"], data["ax"], data["t"])
    for g, s in zip(guided, single):
        for row in range(batch):
            torch.testing.assert_close(g[row], s[0], rtol=1e-5, atol=1e-5)


def test_nag_attention_goes_through_the_sage_override(data):
    from ltx_audioloop.attention.sage import SageStatus, apply_sage_attention

    _, patcher = make_model()
    nag = apply_nag(patcher, cond(data["neg"]), NagParams())
    both = apply_sage_attention(nag, "auto_mask_aware", status=SageStatus(sage2=False, sage3=False, cuda=False))
    override = both.model_options["transformer_options"]["optimized_attention_override"]
    want = run(nag, data["pos"], data["vx"], data["ax"], data["t"])
    got = run(both, data["pos"], data["vx"], data["ax"], data["t"])
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-5)
    assert dict(override.counts) == {"sdpa": 2 * 2 * 2}  # 2 blocks x (video, audio) x (prompt, negative)
