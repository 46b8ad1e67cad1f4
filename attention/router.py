"""Which attention kernel serves one call: the routing policy of the SageAttention node.

The policy is a pure function of the mode and the call (mask or not, query length, head size,
device) so that it can be tested without a GPU and logged per call.

Kernel names returned:

* ``"sdpa"``: ``torch.nn.functional.scaled_dot_product_attention`` (honours every mask);
* ``"sageattn"``: SageAttention's own dispatcher, which picks the fastest SageAttention 2 kernel
  for the GPU architecture (sm80 fp16 CUDA, sm86 Triton, sm89/sm120 fp8 CUDA, sm90 fp8 sm90);
* any explicit kernel name from ``SAGE_KERNELS``.

Upstream SageAttention 2 kernels take ``attn_mask`` through ``**kwargs`` and ignore it, so a
masked call sent to them attends to positions the model meant to hide (LTX guide masks,
padded text). Every mode except ``auto`` therefore sends masked calls to ``sdpa``; ``auto`` passes
the mask to SageAttention's dispatcher (for builds whose dispatcher honours masks) and the
node warns once when it does.
"""

from __future__ import annotations

SAGE2_KERNELS = (
    "sageattn_qk_int8_pv_fp16_cuda",
    "sageattn_qk_int8_pv_fp16_triton",
    "sageattn_qk_int8_pv_fp8_cuda",
    "sageattn_qk_int8_pv_fp8_cuda++",
    "sageattn_qk_int8_pv_fp8_cuda_sm90",
)
SAGE3_KERNELS = ("sageattn3", "sageattn3_per_block_mean")
SAGE_KERNELS = SAGE2_KERNELS + SAGE3_KERNELS

MODES = ("disabled", "auto_mask_aware", "auto") + SAGE_KERNELS
"""Every mode the node offers, on every machine: a saved workflow's mode always validates, and
a kernel this machine cannot run falls back to PyTorch attention at run time (warned once)."""

DEFAULT_MODE = "auto_mask_aware"

MAX_SAGE2_HEAD_DIM = 128
"""SageAttention 2 kernels handle head sizes up to 128 (LTX-2: video 128, audio 64)."""
MAX_SAGE3_HEAD_DIM = 255


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode={mode!r} is not a SageAttention mode; choose one of {', '.join(MODES)}")
    return mode


def choose_kernel(
    mode: str,
    *,
    has_mask: bool,
    q_len: int,
    head_dim: int,
    on_cuda: bool,
    sage2_available: bool,
    sage3_available: bool = False,
    skip_under_seq_len: int = 0,
    low_precision_allowed: bool = True,
) -> tuple[str, str]:
    """Return ``(kernel, reason)`` for one attention call.

    Order of the rules (first match wins):

    1. ``disabled`` or ``low_precision_allowed`` False -> ``sdpa``;
    2. not on CUDA, or the kernel family is not installed -> ``sdpa`` ("unavailable");
    3. ``0 < q_len < skip_under_seq_len`` -> ``sdpa`` ("short");
    4. head size beyond the kernel family's limit -> ``sdpa``;
    5. a mask: ``auto`` -> ``sageattn`` with the mask; every other mode -> ``sdpa`` ("mask");
    6. no mask: ``auto`` / ``auto_mask_aware`` -> ``sageattn``; an explicit kernel -> itself.
    """
    check_mode(mode)
    if mode == "disabled":
        return "sdpa", "disabled"
    if not low_precision_allowed:
        return "sdpa", "low_precision_attention is off for this call"
    wants_sage3 = mode in SAGE3_KERNELS
    available = sage3_available if wants_sage3 else sage2_available
    if not on_cuda or not available:
        return "sdpa", "unavailable"
    if skip_under_seq_len > 0 and q_len < skip_under_seq_len:
        return "sdpa", "short"
    if head_dim > (MAX_SAGE3_HEAD_DIM if wants_sage3 else MAX_SAGE2_HEAD_DIM):
        return "sdpa", "head_dim"
    if has_mask:
        if mode == "auto":
            return "sageattn", "mask passed to sageattn"
        return "sdpa", "mask"
    if mode in ("auto", "auto_mask_aware"):
        return "sageattn", "auto"
    return mode, "explicit"
