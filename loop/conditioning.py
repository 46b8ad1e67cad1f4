"""Conditioning operations: blending two prompts, per-iteration lists, frame-rate metadata.

ComfyUI CONDITIONING is a list of ``[tensor [B, T, D], dict]`` pairs. LTX-2's Gemma encoder gives
no ``pooled_output``; the dict may hold ``attention_mask`` (``[B, T]``), ``frame_rate`` and guide
entries (``keyframe_idxs``, guide attention entries) added by LTXVAddGuide.

Blend of A and B with factor ``f`` (0 = all A, 1 = all B), entry by entry::

    tokens  = (1 - f) * A + f * B            in float32, cast back to A's dtype
    pooled  = (1 - f) * pooled_A + f * pooled_B      when both have one
    mask    = max(mask_A, mask_B)            a token is attended if either side has it

Token sequences of different lengths are zero-padded to the longer one and the mask marks
padded positions 0; a side without a mask counts as all ones over its own tokens. Batches of
1 broadcast against batch ``B``. All other metadata (frame rate, guide entries) is taken as a
whole from the dominant side (A when ``f < 0.5``, else B), so keyframe indices and guide
attention entries always belong together.
"""

from __future__ import annotations

import math
from typing import Any

import torch

_BLENDED_KEYS = ("pooled_output", "attention_mask")


def _check_conditioning(name: str, cond: Any) -> list:
    if not isinstance(cond, list) or not cond:
        raise ValueError(f"{name} must be a non-empty CONDITIONING list, got {type(cond).__name__}")
    for n, pair in enumerate(cond):
        if (
            not isinstance(pair, (list, tuple))
            or len(pair) != 2
            or not isinstance(pair[0], torch.Tensor)
            or pair[0].ndim != 3
            or not isinstance(pair[1], dict)
        ):
            raise ValueError(f"{name} entry {n} is not a [tensor [batch, tokens, dim], dict] pair")
    return cond


def check_factor(blend_factor: Any) -> float:
    """``blend_factor`` as a float in ``[0, 1]``, or a ``ValueError`` naming it."""
    try:
        factor = float(blend_factor)
    except (TypeError, ValueError):
        raise ValueError(f"blend_factor must be a number in 0..1, got {blend_factor!r}") from None
    if not math.isfinite(factor) or not 0.0 <= factor <= 1.0:
        raise ValueError(f"blend_factor must be in 0..1 (0 = all A, 1 = all B), got {blend_factor!r}")
    return factor


def _match_batch(a: torch.Tensor, b: torch.Tensor, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    if a.shape[0] == b.shape[0]:
        return a, b
    if a.shape[0] == 1:
        return a.expand(b.shape[0], *a.shape[1:]), b
    if b.shape[0] == 1:
        return a, b.expand(a.shape[0], *b.shape[1:])
    raise ValueError(f"{what}: batch sizes {a.shape[0]} and {b.shape[0]} differ and neither is 1")


def _pad_tokens(x: torch.Tensor, length: int) -> torch.Tensor:
    if x.shape[1] == length:
        return x
    pad = x.new_zeros((x.shape[0], length - x.shape[1], *x.shape[2:]))
    return torch.cat([x, pad], dim=1)


def _token_mask(meta: dict, tokens: torch.Tensor, length: int) -> torch.Tensor:
    """The side's attention mask ``[B, length]`` (ones over its own tokens when it has none)."""
    mask = meta.get("attention_mask")
    if mask is None:
        mask = torch.ones(tokens.shape[:2], device=tokens.device)
    mask = mask.reshape(mask.shape[0], -1)
    return _pad_tokens(mask.to(torch.float32).unsqueeze(-1), length).squeeze(-1)


def blend_pair(a: list, b: list, factor: float) -> list:
    """Blend one ``[tensor, dict]`` pair of A with one of B (see the module docstring)."""
    ta, tb = a[0], b[0]
    if ta.shape[2] != tb.shape[2]:
        raise ValueError(
            f"conditionings have different embedding sizes ({ta.shape[2]} and {tb.shape[2]}); "
            "blend prompts encoded by the same text encoder"
        )
    ta_b, tb_b = _match_batch(ta, tb.to(ta.device), "conditioning")
    length = max(ta.shape[1], tb.shape[1])
    blended = torch.lerp(
        _pad_tokens(ta_b, length).to(torch.float32), _pad_tokens(tb_b, length).to(torch.float32), factor
    ).to(ta.dtype)

    meta_a, meta_b = a[1], b[1]
    meta = dict(meta_a if factor < 0.5 else meta_b)
    for key in _BLENDED_KEYS:
        meta.pop(key, None)
    pa, pb = meta_a.get("pooled_output"), meta_b.get("pooled_output")
    if pa is not None and pb is not None:
        pa_b, pb_b = _match_batch(pa, pb.to(pa.device), "pooled_output")
        meta["pooled_output"] = torch.lerp(pa_b.to(torch.float32), pb_b.to(torch.float32), factor).to(pa.dtype)
    elif (pa if factor < 0.5 else pb) is not None:
        meta["pooled_output"] = pa if factor < 0.5 else pb
    has_mask = "attention_mask" in meta_a or "attention_mask" in meta_b
    if has_mask or ta.shape[1] != tb.shape[1]:
        ma = _token_mask(meta_a, ta, length)
        mb = _token_mask(meta_b, tb, length).to(ma.device)
        ma, mb = _match_batch(ma, mb, "attention_mask")
        template = meta_a.get("attention_mask", meta_b.get("attention_mask"))
        mask = torch.maximum(ma, mb)
        meta["attention_mask"] = mask.to(template.dtype) if template is not None else mask
    return [blended, meta]


def blend_conditioning(conditioning_a: list, conditioning_b: list, blend_factor: float) -> list:
    """``(1 - f) * A + f * B`` for every entry; ``f = 0`` returns A and ``f = 1`` returns B as given.

    Both must hold the same number of entries, or one of them a single entry that is blended
    into every entry of the other.
    """
    a = _check_conditioning("conditioning_a", conditioning_a)
    b = _check_conditioning("conditioning_b", conditioning_b)
    factor = check_factor(blend_factor)
    if factor == 0.0:
        return conditioning_a
    if factor == 1.0:
        return conditioning_b
    if len(a) != len(b) and 1 not in (len(a), len(b)):
        raise ValueError(
            f"conditioning_a has {len(a)} entries and conditioning_b {len(b)}; they must match or one must have 1"
        )
    count = max(len(a), len(b))
    return [blend_pair(a[min(i, len(a) - 1)], b[min(i, len(b) - 1)], factor) for i in range(count)]


def with_metadata(conditioning: list, **values: Any) -> list:
    """A new CONDITIONING with ``values`` set in every entry's dict (tensors shared)."""
    return [[tensor, {**meta, **values}] for tensor, meta in conditioning]


def copy_conditioning(conditioning: list) -> list:
    """New outer list, pairs and dicts around the same tensors: safe for callers that edit them."""
    return [[tensor, dict(meta)] for tensor, meta in conditioning]


def select_by_iteration(conditioning_list: Any, current_iteration: int) -> list:
    """Entry ``clamp(i, 0, len - 1)`` of a per-iteration list (entry 0 = the initial render)."""
    if not isinstance(conditioning_list, (list, tuple)) or not conditioning_list:
        raise ValueError(
            "conditioning_list must be the non-empty list from TimestampPromptScheduleBatchEncode, "
            f"got {type(conditioning_list).__name__}"
        )
    if isinstance(current_iteration, bool) or not isinstance(current_iteration, int) or current_iteration < 0:
        raise ValueError(f"current_iteration must be a whole number >= 0, got {current_iteration!r}")
    return conditioning_list[min(current_iteration, len(conditioning_list) - 1)]
