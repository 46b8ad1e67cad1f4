"""NAG on ComfyUI's native LTX-2 AV model: where the patch attaches and what one call does.

Attachment: every ``BasicAVTransformerBlock`` runs its text cross-attentions through
``self._apply_text_cross_attention(x, context, attn, scale_shift_table,
prompt_scale_shift_table, timestep, prompt_timestep, attention_mask, transformer_options)``
with ``attn`` = ``self.attn2`` (video) or ``self.audio_attn2`` (audio). The patch replaces that
method per block through a ``ModelPatcher`` object patch on a clone (key
``diffusion_model.transformer_blocks.<i>._apply_text_cross_attention``), so it is active only
while ComfyUI has that clone patched in, and it calls the block's own method with ``attn``
swapped for ``NagAttention``. The block's own code therefore still does the query modulation
and the output gate of LTX-2.3's cross-attention AdaLN.

One call of ``NagAttention`` (``CrossAttention.forward`` with a second, negative pass):

* ``q = q_norm(to_q(x))``; ``z+ = attention(q, k_norm(to_k(c+)), to_v(c+), mask)``;
* for the rows being guided: ``c-`` = the projected negative context (for LTX-2.3's AdaLN the
  same key/value modulation ``c- * (1 + scale_kv) + shift_kv`` as the prompt gets, from the
  block's ``prompt_scale_shift_table`` and the call's ``prompt_timestep``);
  ``z- = attention(q, k_norm(to_k(c-)), to_v(c-))`` (no mask: the prompt's mask belongs to the
  prompt's tokens, and the negative may have another token count);
* ``z = nag_combine(z+, z-)`` on those rows, ``z+`` elsewhere; then the per-head gate (if the
  model has one) and ``to_out``, exactly as ``CrossAttention.forward``.

Rows: with CFG > 1 ComfyUI runs prompt and negative prompt in one batch and lists the chunks in
``transformer_options["cond_or_uncond"]`` (0 = prompt, 1 = negative prompt). NAG guides only
the prompt chunks; the negative-prompt chunks run unchanged (classic CFG still uses them).
Without that list every row is guided.
"""

from __future__ import annotations

import functools
import logging
import weakref
from typing import Optional

import torch

from .nag import NagParams, nag_combine
from .nag_context import NegativeContext
from .sage import warn_once
from .sdpa import sdpa_attention

log = logging.getLogger(__name__)

PATCH_KEY = "diffusion_model.transformer_blocks.{index}._apply_text_cross_attention"


@functools.lru_cache(maxsize=1)
def _comfy_attention():
    """ComfyUI's attention module, or None outside ComfyUI (cached: one import attempt)."""
    try:
        import comfy.ldm.modules.attention as attention

        return attention
    except Exception:
        return None


def run_attention(q, k, v, heads: int, mask, attn_precision, transformer_options) -> torch.Tensor:
    """Attention the way ``CrossAttention.forward`` calls it.

    Inside ComfyUI: ``optimized_attention`` (``optimized_attention_masked`` with a mask), which
    applies the model's ``optimized_attention_override`` (the SageAttention node). Outside
    ComfyUI: PyTorch attention, through the same override when one is set.
    """
    comfy_attention = _comfy_attention()
    if comfy_attention is not None:
        if mask is None:
            return comfy_attention.optimized_attention(q, k, v, heads, attn_precision=attn_precision,
                                                       transformer_options=transformer_options)
        return comfy_attention.optimized_attention_masked(q, k, v, heads, mask, attn_precision=attn_precision,
                                                          transformer_options=transformer_options)
    override = (transformer_options or {}).get("optimized_attention_override")
    if override is not None:
        return override(sdpa_attention, q, k, v, heads, mask=mask, attn_precision=attn_precision,
                        transformer_options=transformer_options, _inside_attn_wrapper=True)
    return sdpa_attention(q, k, v, heads, mask=mask)


def guided_rows(batch: int, cond_or_uncond) -> Optional[list]:
    """Batch rows NAG guides: ``None`` = all rows; a list of row indices otherwise (may be empty).

    ``cond_or_uncond`` lists equal-sized batch chunks, 0 for prompt and 1 for negative prompt.
    """
    if not cond_or_uncond:
        return None
    chunks = len(cond_or_uncond)
    if batch % chunks:
        warn_once("nag-odd-batch", f"NAG: batch {batch} does not split into {chunks} cond/uncond chunks; "
                  "guiding every row")
        return None
    per = batch // chunks
    rows = [i * per + j for i, kind in enumerate(cond_or_uncond) if kind == 0 for j in range(per)]
    return None if len(rows) == batch else rows


def kv_modulation(prompt_scale_shift_table, prompt_timestep, batch: int, like: torch.Tensor):
    """``(shift_kv, scale_kv)``, each ``[batch, 1, C]``: LTX-2.3's AdaLN of the text keys/values."""
    table = prompt_scale_shift_table[None, None].to(device=like.device, dtype=like.dtype)
    shift_kv, scale_kv = (table + prompt_timestep.reshape(batch, prompt_timestep.shape[1], 2, -1)).unbind(dim=2)
    return shift_kv, scale_kv


class NagAttention:
    """Stands in for one ``CrossAttention`` module for one call (see module doc)."""

    def __init__(self, module, kind: str, negative: NegativeContext, params: NagParams, kv=None):
        self.module = module
        self.kind = kind
        self.negative = negative
        self.params = params
        self.kv = kv

    def __call__(self, x, context=None, mask=None, pe=None, k_pe=None, transformer_options={}):
        if context is None or pe is not None or k_pe is not None:
            return self.module(x, context=context, mask=mask, pe=pe, k_pe=k_pe, transformer_options=transformer_options)
        attn = self.module
        rows = guided_rows(x.shape[0], (transformer_options or {}).get("cond_or_uncond"))
        q = attn.q_norm(attn.to_q(x))
        k = attn.k_norm(attn.to_k(context))
        v = attn.to_v(context)
        out = run_attention(q, k, v, attn.heads, mask, attn.attn_precision, transformer_options)
        del k, v
        if rows is None or rows:
            count = x.shape[0] if rows is None else len(rows)
            neg = self.negative.rows(self.kind, count, context.device, context.dtype)
            if self.kv is not None:
                shift_kv, scale_kv = kv_modulation(self.kv[0], self.kv[1], x.shape[0], x)
                if rows is not None:
                    shift_kv, scale_kv = shift_kv[rows], scale_kv[rows]
                neg = neg * (1 + scale_kv) + shift_kv
            q_rows = q if rows is None else q[rows]
            k_neg = attn.k_norm(attn.to_k(neg))
            v_neg = attn.to_v(neg)
            z_neg = run_attention(q_rows, k_neg, v_neg, attn.heads, None, attn.attn_precision, transformer_options)
            del k_neg, v_neg, q_rows
            p = self.params
            if rows is None:
                out = nag_combine(out, z_neg, p.scale, p.alpha, p.tau)
            else:
                index = torch.tensor(rows, device=out.device)
                out = out.index_copy(0, index, nag_combine(out[index], z_neg, p.scale, p.alpha, p.tau))
        gate = getattr(attn, "to_gate_logits", None)
        if gate is not None:
            b, t, _ = out.shape
            gates = 2.0 * torch.sigmoid(gate(x))
            gated = out.view(b, t, attn.heads, attn.dim_head) * gates.unsqueeze(-1)
            out = gated.view(b, t, attn.heads * attn.dim_head)
        return attn.to_out(out)


class NagBlockPatch:
    """Object patch for one block's ``_apply_text_cross_attention`` (see module doc).

    Holds the block weakly (the patch is stored on the block itself) and calls the block
    class's method with ``attn`` replaced by ``NagAttention``.
    """

    def __init__(self, block, negative: NegativeContext, params: NagParams):
        self._block = weakref.ref(block)
        self.negative = negative
        self.params = params
        self.calls = 0

    def __call__(
        self,
        x,
        context,
        attn,
        scale_shift_table,
        prompt_scale_shift_table,
        timestep,
        prompt_timestep,
        attention_mask,
        transformer_options,
    ):
        block = self._block()
        method = type(block)._apply_text_cross_attention
        kind = "video" if attn is block.attn2 else "audio" if attn is getattr(block, "audio_attn2", None) else None
        if kind is not None and context is not None:
            kv = None
            if getattr(block, "cross_attention_adaln", False):
                kv = (prompt_scale_shift_table, prompt_timestep)
            attn = NagAttention(attn, kind, self.negative, self.params, kv)
            self.calls += 1
        return method(
            block,
            x,
            context,
            attn,
            scale_shift_table,
            prompt_scale_shift_table,
            timestep,
            prompt_timestep,
            attention_mask,
            transformer_options,
        )


def _negative_entry(negative):
    if not isinstance(negative, (list, tuple)) or not negative:
        raise ValueError("negative conditioning is empty; connect a CLIP Text Encode output with the negative prompt")
    entry = negative[0]
    if not isinstance(entry, (list, tuple)) or len(entry) < 2 or not isinstance(entry[0], torch.Tensor):
        raise ValueError("negative conditioning must be a CONDITIONING list of [tensor, dict] pairs")
    if len(negative) > 1:
        log.warning("NAG: the negative conditioning has %d entries; only the first is used", len(negative))
    meta = entry[1] if isinstance(entry[1], dict) else {}
    if meta.get("attention_mask") is not None:
        log.warning(
            "NAG: the negative conditioning's attention_mask is ignored (LTX-2's text encoder "
            "trims padding, so its conditionings normally carry none)"
        )
    return entry[0], bool(meta.get("unprocessed_ltxav_embeds", False))


def apply_nag(model, negative, params: NagParams, enable: bool = True):
    """Return a clone of ComfyUI ``ModelPatcher`` ``model`` with NAG on every block's text cross-attention.

    ``negative`` is a CONDITIONING (its first entry is used). Returns ``model`` unchanged when
    ``enable`` is False or ``params`` can have no effect (scale 1 or alpha 0).
    """
    if not enable:
        return model
    if params.is_identity:
        log.info(
            "NAG: scale %s / alpha %s leaves every output unchanged; model not patched", params.scale, params.alpha
        )
        return model
    raw, unprocessed = _negative_entry(negative)
    diffusion_model = model.get_model_object("diffusion_model")
    blocks = getattr(diffusion_model, "transformer_blocks", None)
    if blocks is None or not hasattr(diffusion_model, "audio_inner_dim"):
        raise ValueError(
            f"model: {type(diffusion_model).__name__} is not ComfyUI's LTX-2 audio+video model; "
            "this NAG node patches LTXAVModel (load an LTX-2 / LTX-2.3 AV checkpoint)"
        )
    negative_context = NegativeContext(raw, unprocessed, diffusion_model)
    clone = model.clone()
    for index, block in enumerate(blocks):
        if not hasattr(type(block), "_apply_text_cross_attention"):
            raise ValueError(
                "model: this ComfyUI's LTX-2 block has no _apply_text_cross_attention step; "
                "update ComfyUI to 0.20 or later"
            )
        clone.add_object_patch(PATCH_KEY.format(index=index), NagBlockPatch(block, negative_context, params))
    return clone
