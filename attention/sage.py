"""SageAttention through ComfyUI's per-model attention override, with a PyTorch fallback.

ComfyUI calls ``transformer_options["optimized_attention_override"](func, q, k, v, heads,
mask=None, attn_precision=None, skip_reshape=False, skip_output_reshape=False, **kwargs)`` for
every attention call that carries ``transformer_options`` (``func`` is the attention ComfyUI
would have used). ``SageAttentionOverride`` is that callable:

* ``choose_kernel`` (router.py) picks the kernel per call;
* SageAttention kernels get fp16/bf16 tensors: float32 inputs are cast (bf16 where the GPU
  supports it, else fp16) and the output is cast back;
* tensors over 2**31 - 1 elements are processed in batch x head slices (32-bit indexing);
* a kernel that raises falls back to PyTorch attention for that call (``fallback_on_error``),
  logged once per kernel and error type;
* without the ``sageattention`` package or without CUDA every call runs PyTorch's
  ``scaled_dot_product_attention``, after one warning per process.

``sageattention`` is optional and imported lazily; it is never a dependency of the package.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Optional

import torch

from .router import DEFAULT_MODE, SAGE3_KERNELS, check_mode, choose_kernel
from .sdpa import (
    INDEX_LIMIT,
    as_4d_mask,
    chunked_over_batch_heads,
    merge_heads,
    needs_chunking,
    sdpa_attention,
    split_heads,
)

log = logging.getLogger(__name__)

_WARNED: set = set()
"""Keys of warnings already logged in this process (a handful of fixed strings: bounded)."""


def warn_once(key: str, message: str) -> bool:
    """Log ``message`` as a warning the first time ``key`` is seen; return whether it logged."""
    if key in _WARNED:
        return False
    _WARNED.add(key)
    log.warning(message)
    return True


@dataclass(frozen=True)
class SageStatus:
    """What this machine can run: SageAttention 2 (``sageattention``), SageAttention 3, CUDA."""

    sage2: bool
    sage3: bool
    cuda: bool
    detail: str = ""

    @property
    def usable(self) -> bool:
        return self.cuda and (self.sage2 or self.sage3)


@functools.lru_cache(maxsize=1)
def sage_status() -> SageStatus:
    """Detect SageAttention and CUDA once per process (cached: the answer cannot change)."""
    details = []
    try:
        import sageattention  # noqa: F401

        sage2 = True
    except Exception as err:  # broken builds raise OSError/RuntimeError as well as ImportError
        sage2 = False
        details.append(f"sageattention: {type(err).__name__}: {err}")
    try:
        import sageattn3  # noqa: F401

        sage3 = True
    except Exception:
        sage3 = False
    cuda = bool(torch.cuda.is_available())
    if not cuda:
        details.append("CUDA is not available")
    return SageStatus(sage2=sage2, sage3=sage3, cuda=cuda, detail="; ".join(details))


def warn_if_unusable(status: SageStatus, mode: str) -> None:
    """The single "running without SageAttention" warning of this process."""
    if mode == "disabled" or status.usable:
        return
    warn_once(
        "sage-unusable",
        "AudioLoopHelperSageAttention: SageAttention cannot run here (%s); every attention call "
        "of the patched model uses PyTorch's scaled_dot_product_attention instead. Install the "
        "'sageattention' package on an NVIDIA GPU to get the speed-up." % (status.detail or "unknown reason"),
    )


def _sage_dtype(device: torch.device) -> torch.dtype:
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def _sage2(name: str, q, k, v, layout: str, scale, mask):
    import sageattention as sa

    extra = {} if scale is None else {"sm_scale": scale}
    if mask is not None:
        extra["attn_mask"] = mask
    common = dict(tensor_layout=layout, is_causal=False, **extra)
    if name == "sageattn":
        return sa.sageattn(q, k, v, **common)
    if name == "sageattn_qk_int8_pv_fp16_cuda":
        return sa.sageattn_qk_int8_pv_fp16_cuda(q, k, v, pv_accum_dtype="fp32", **common)
    if name == "sageattn_qk_int8_pv_fp16_triton":
        return sa.sageattn_qk_int8_pv_fp16_triton(q, k, v, **common)
    if name == "sageattn_qk_int8_pv_fp8_cuda":
        return sa.sageattn_qk_int8_pv_fp8_cuda(q, k, v, pv_accum_dtype="fp32+fp32", **common)
    if name == "sageattn_qk_int8_pv_fp8_cuda++":
        return sa.sageattn_qk_int8_pv_fp8_cuda(q, k, v, pv_accum_dtype="fp32+fp16", **common)
    if name == "sageattn_qk_int8_pv_fp8_cuda_sm90":
        return sa.sageattn_qk_int8_pv_fp8_cuda_sm90(q, k, v, pv_accum_dtype="fp32+fp32", **common)
    raise ValueError(f"unknown SageAttention 2 kernel {name!r}")


def _sage3(name: str, q, k, v, layout: str, scale, mask):
    from sageattn3 import sageattn3_blackwell

    if layout == "NHD":
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))
    if scale is not None:  # the kernel always uses head_dim ** -0.5: fold a custom scale into q
        q = q * (scale * q.shape[-1] ** 0.5)
    out = sageattn3_blackwell(q, k, v, is_causal=False, per_block_mean=name == "sageattn3_per_block_mean")
    return out.transpose(1, 2) if layout == "NHD" else out


def _call_sage_kernel(name: str, q, k, v, layout: str, scale=None, mask=None) -> torch.Tensor:
    if name in SAGE3_KERNELS:
        return _sage3(name, q, k, v, layout, scale, mask)
    return _sage2(name, q, k, v, layout, scale, mask)


@functools.lru_cache(maxsize=1)
def _compile_opaque_kernel() -> Callable[..., torch.Tensor]:
    """``_call_sage_kernel`` wrapped in ``torch.compiler.disable``, built on the first kernel call.

    The kernels are opaque to torch.compile and must stay out of a compiled model's graph; the
    wrapper is made lazily because ``torch.compiler.disable`` imports ``torch._dynamo`` (about
    a second), which would otherwise be paid at every ComfyUI start.
    """
    disable = getattr(getattr(torch, "compiler", None), "disable", None)
    return disable(_call_sage_kernel) if callable(disable) else _call_sage_kernel


def run_sage_kernel(name: str, q, k, v, layout: str, scale=None, mask=None) -> torch.Tensor:
    """Call one SageAttention kernel on ``[B, H, N, D]`` (``"HND"``) or ``[B, N, H, D]`` (``"NHD"``)."""
    return _compile_opaque_kernel()(name, q, k, v, layout, scale, mask)


KernelFn = Callable[..., torch.Tensor]


class SageAttentionOverride:
    """The ``optimized_attention_override`` callable the SageAttention node installs.

    ``counts`` (kernel -> calls) and ``last`` (kernel, reason) record the routing of every call;
    ``fallbacks`` counts calls a kernel error sent to PyTorch. ``kernel_fn`` and
    ``sage_device_types`` exist so the routing can be exercised on machines without a GPU.
    """

    def __init__(
        self,
        mode: str = DEFAULT_MODE,
        fallback_on_error: bool = True,
        skip_under_seq_len: int = 0,
        status: Optional[SageStatus] = None,
        kernel_fn: KernelFn = run_sage_kernel,
        sage_device_types: tuple = ("cuda",),
        index_limit: int = INDEX_LIMIT,
    ):
        self.mode = check_mode(mode)
        if skip_under_seq_len < 0:
            raise ValueError(f"skip_under_seq_len={skip_under_seq_len} must be >= 0 (0 turns the skip off)")
        self.fallback_on_error = bool(fallback_on_error)
        self.skip_under_seq_len = int(skip_under_seq_len)
        self.status = status if status is not None else sage_status()
        self.kernel_fn = kernel_fn
        self.sage_device_types = tuple(sage_device_types)
        self.index_limit = int(index_limit)
        self.counts: Counter = Counter()
        self.fallbacks = 0
        self.last: tuple[str, str] = ("", "")
        self._logged_errors: set = set()

    def __repr__(self) -> str:
        return f"SageAttentionOverride(mode={self.mode!r}, counts={dict(self.counts)})"

    def route(self, q, heads: int, mask, skip_reshape: bool, low_precision_allowed: bool = True) -> tuple[str, str]:
        """The (kernel, reason) this override picks for a call, without running it."""
        if skip_reshape:
            q_len, head_dim = q.shape[2], q.shape[3]
        else:
            q_len, head_dim = q.shape[1], q.shape[-1] // heads
        return choose_kernel(
            self.mode,
            has_mask=mask is not None,
            q_len=q_len,
            head_dim=head_dim,
            on_cuda=q.device.type in self.sage_device_types,
            sage2_available=self.status.sage2,
            sage3_available=self.status.sage3,
            skip_under_seq_len=self.skip_under_seq_len,
            low_precision_allowed=low_precision_allowed,
        )

    def __call__(self, func, q, k, v, heads, mask=None, attn_precision=None, skip_reshape=False,
                 skip_output_reshape=False, **kwargs):
        allowed = kwargs.get("low_precision_attention", True) is not False
        kernel, reason = self.route(q, heads, mask, skip_reshape, allowed)
        self.counts[kernel] += 1
        self.last = (kernel, reason)
        if kernel == "sdpa":
            if reason == "unavailable" and self.status.usable:
                warn_once(f"sage-unavailable-{self.mode}", f"AudioLoopHelperSageAttention mode {self.mode!r} "
                          "cannot run some calls (its kernel family is not installed, or the tensors are not "
                          "on CUDA); those calls use PyTorch attention.")
            return self._sdpa(q, k, v, heads, mask, skip_reshape, skip_output_reshape, kwargs)
        if kernel == "sageattn" and mask is not None:
            warn_once("sage-auto-mask", "AudioLoopHelperSageAttention mode 'auto' passes attention masks to "
                      "SageAttention; upstream SageAttention 2 kernels ignore masks. If guides leak or "
                      "frames turn grey, use mode 'auto_mask_aware'.")
        try:
            return self._sage(kernel, q, k, v, heads, mask, skip_reshape, skip_output_reshape, kwargs.get("scale"))
        except Exception as err:
            if not self.fallback_on_error:
                raise
            self.fallbacks += 1
            key = (kernel, type(err).__name__)
            if key not in self._logged_errors and len(self._logged_errors) < 32:
                self._logged_errors.add(key)
                log.warning("SageAttention kernel %s failed on q %s (%s: %s); this call and later failures "
                            "like it use PyTorch attention.", kernel, tuple(q.shape), type(err).__name__, err)
            return self._sdpa(q, k, v, heads, mask, skip_reshape, skip_output_reshape, kwargs)

    def _sdpa(self, q, k, v, heads, mask, skip_reshape, skip_output_reshape, kwargs):
        extra = {name: kwargs[name] for name in ("scale",) if name in kwargs}
        return sdpa_attention(q, k, v, heads, mask=mask, skip_reshape=skip_reshape,
                              skip_output_reshape=skip_output_reshape, limit=self.index_limit, **extra)

    def _sage(self, kernel, q, k, v, heads, mask, skip_reshape, skip_output_reshape, scale):
        in_dtype = q.dtype
        if in_dtype not in (torch.float16, torch.bfloat16) or k.dtype != in_dtype or v.dtype != in_dtype:
            work = _sage_dtype(q.device)
            q, k, v = q.to(work), k.to(work), v.to(work)
        mask4 = as_4d_mask(mask)
        if needs_chunking(q, k, v, limit=self.index_limit):
            q4, k4, v4 = split_heads(q, k, v, heads, skip_reshape)

            def run(qs, ks, vs, ms):
                return self.kernel_fn(kernel, qs, ks, vs, "HND", scale, ms)

            out = merge_heads(chunked_over_batch_heads(run, q4, k4, v4, mask4, limit=self.index_limit),
                              skip_output_reshape)
        elif skip_reshape:
            out = merge_heads(self.kernel_fn(kernel, q, k, v, "HND", scale, mask4), skip_output_reshape)
        else:
            b = q.shape[0]
            dim_head = q.shape[-1] // heads
            qn, kn, vn = (t.reshape(b, -1, heads, dim_head) for t in (q, k, v))
            out = self.kernel_fn(kernel, qn, kn, vn, "NHD", scale, mask4)
            out = out.transpose(1, 2) if skip_output_reshape else out.reshape(b, -1, heads * dim_head)
        return out.to(in_dtype)


def apply_sage_attention(model, mode: str = DEFAULT_MODE, fallback_on_error: bool = True,
                         skip_under_seq_len: int = 0, status: Optional[SageStatus] = None):
    """Return a clone of ComfyUI ``ModelPatcher`` ``model`` whose attention goes through the override.

    ``disabled`` returns ``model`` itself, untouched. Otherwise the clone's
    ``model_options["transformer_options"]["optimized_attention_override"]`` is set; the original
    model and its other clones keep their attention.
    """
    check_mode(mode)
    if mode == "disabled":
        return model
    override = SageAttentionOverride(mode, fallback_on_error, skip_under_seq_len, status=status)
    warn_if_unusable(override.status, mode)
    clone = model.clone()
    transformer_options = clone.model_options.setdefault("transformer_options", {})
    transformer_options["optimized_attention_override"] = override
    return clone
