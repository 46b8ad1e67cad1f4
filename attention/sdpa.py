"""PyTorch attention with ComfyUI's calling convention, and the 32-bit-index chunker.

ComfyUI's attention functions take ``(q, k, v, heads, mask=None, attn_precision=None,
skip_reshape=False, skip_output_reshape=False, **kwargs)``:

* ``skip_reshape=False``: q, k, v are ``[B, N, heads * D]``; ``True``: ``[B, heads, N, D]``.
* ``skip_output_reshape=False``: the output is ``[B, Nq, heads * D]``; ``True``: ``[B, heads, Nq, D]``.
* ``mask``: additive float mask or boolean keep-mask, 2-D ``[Nq, Nk]``, 3-D ``[B, Nq, Nk]`` or
  4-D ``[B|1, heads|1, Nq|1, Nk]``; a missing batch or heads axis is added in front.
* ``scale`` (kwarg): softmax scale, default ``D ** -0.5``; ``enable_gqa``: k/v may have fewer heads.

``sdpa_attention`` reproduces that with ``torch.nn.functional.scaled_dot_product_attention``;
it is the fallback of the SageAttention node and runs on any device, CPU included.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn.functional as F

INDEX_LIMIT = 2**31 - 1
"""Largest element count a kernel with 32-bit indexing can address in one tensor."""


def split_heads(q, k, v, heads: int, skip_reshape: bool):
    """Return q, k, v as ``[B, H, N, D]`` views (no copy when already in that layout)."""
    if skip_reshape:
        return q, k, v
    b = q.shape[0]
    dim_head = q.shape[-1] // heads
    return tuple(t.reshape(b, -1, heads, dim_head).transpose(1, 2) for t in (q, k, v))


def merge_heads(out: torch.Tensor, skip_output_reshape: bool) -> torch.Tensor:
    """``[B, H, N, D]`` -> ComfyUI's output layout."""
    if skip_output_reshape:
        return out
    b, h, n, d = out.shape
    return out.transpose(1, 2).reshape(b, n, h * d)


def as_4d_mask(mask: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    """Add the missing batch and heads axes of a ComfyUI attention mask (2-D or 3-D -> 4-D)."""
    if mask is None:
        return None
    if mask.ndim == 2:
        mask = mask.unsqueeze(0)
    if mask.ndim == 3:
        mask = mask.unsqueeze(1)
    if mask.ndim != 4:
        raise ValueError(f"attention mask must have 2 to 4 dims, got shape {tuple(mask.shape)}; "
                         "pass [Nq, Nk], [B, Nq, Nk] or [B, heads, Nq, Nk]")
    return mask


def needs_chunking(*tensors: torch.Tensor, limit: int = INDEX_LIMIT) -> bool:
    """True when any tensor has more than ``limit`` elements (32-bit index overflow)."""
    return any(t is not None and t.numel() > limit for t in tensors)


def chunked_over_batch_heads(
    fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, Optional[torch.Tensor]], torch.Tensor],
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: Optional[torch.Tensor] = None,
    limit: int = INDEX_LIMIT,
) -> torch.Tensor:
    """Run ``fn(q, k, v, mask)`` on ``[B, H, N, D]`` tensors in batch x head slices.

    Each slice holds one batch item and ``hc`` heads, with
    ``hc = max(1, limit // max(Nq * Dq, Nk * Dk, Nk * Dv, Nq * Dv))``, so no q, k, v or output
    slice exceeds ``limit`` elements (unless one head alone does, which no real shape reaches).
    Slices are made contiguous; the results are written into one output ``[B, H, Nq, Dv]``.
    When nothing exceeds ``limit`` the call is made once, unchunked.
    """
    b, h, nq, dq = q.shape
    nk, dv = k.shape[2], v.shape[-1]
    out_numel = b * h * nq * dv
    if not needs_chunking(q, k, v, limit=limit) and out_numel <= limit:
        return fn(q, k, v, mask)
    per_head = max(nq * dq, nk * k.shape[-1], nk * dv, nq * dv)
    hc = max(1, limit // per_head)
    out = torch.empty((b, h, nq, dv), dtype=v.dtype, device=q.device)
    for bi in range(b):
        for h0 in range(0, h, hc):
            h1 = min(h, h0 + hc)
            m = None
            if mask is not None:
                mb = mask[bi:bi + 1] if mask.shape[0] > 1 else mask
                m = mb[:, h0:h1] if mb.shape[1] > 1 else mb
            qs, ks, vs = (t[bi:bi + 1, h0:h1].contiguous() for t in (q, k, v))
            out[bi:bi + 1, h0:h1] = fn(qs, ks, vs, m)
    return out


def _expand_kv_heads(q, k, v):
    if k.shape[1] != q.shape[1]:
        rep = q.shape[1] // k.shape[1]
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
    return k, v


def sdpa_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    heads: int,
    mask: Optional[torch.Tensor] = None,
    attn_precision=None,
    skip_reshape: bool = False,
    skip_output_reshape: bool = False,
    limit: int = INDEX_LIMIT,
    **kwargs,
) -> torch.Tensor:
    """softmax(q k^T * scale + mask) v with ComfyUI's argument and layout conventions.

    ``attn_precision`` is accepted and ignored, as ComfyUI's own PyTorch attention does.
    A float mask is cast to the query dtype; a boolean mask keeps positions that are True.
    Tensors over ``limit`` elements are processed in batch x head slices.
    """
    scale = kwargs.get("scale")
    q4, k4, v4 = split_heads(q, k, v, heads, skip_reshape)
    k4, v4 = _expand_kv_heads(q4, k4, v4)
    m4 = as_4d_mask(mask)
    if m4 is not None and m4.dtype != torch.bool and m4.dtype != q4.dtype:
        m4 = m4.to(q4.dtype)

    def run(qs, ks, vs, ms):
        extra = {} if scale is None else {"scale": scale}
        return F.scaled_dot_product_attention(qs, ks, vs, attn_mask=ms, dropout_p=0.0, is_causal=False, **extra)

    out = chunked_over_batch_heads(run, q4, k4, v4, m4, limit=limit)
    return merge_heads(out, skip_output_reshape)
