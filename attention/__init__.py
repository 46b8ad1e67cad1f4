"""Attention patches for ComfyUI's native LTX-2 audio+video model.

* ``nag``: normalized attention guidance (NAG) on the text cross-attention of every transformer
  block, so a negative prompt acts at CFG 1 (distilled LTX-2.3).
* ``sage``: a per-model attention override that routes calls to SageAttention kernels, sends
  masked calls to a kernel that honours masks, and falls back to PyTorch's
  ``scaled_dot_product_attention`` when SageAttention or CUDA is missing.

Nothing here imports ComfyUI at module level; the patch code imports it inside functions, and
every piece also runs on plain PyTorch modules with the same attribute names (tests do that).
"""

from .nag import NagParams, nag_combine
from .router import MODES, choose_kernel
from .sdpa import sdpa_attention

__all__ = ["MODES", "NagParams", "choose_kernel", "nag_combine", "sdpa_attention"]
