"""Attention kernels and NAG at LTX-2.3 window shapes: time per call and error against PyTorch SDPA.

Shapes (one 20 s window: 768x448, 497 frames = 63 latent frames of 14x24 patches, 25 fps):

* ``video self``:      q = k = 21,168 video tokens, 32 heads x 128
* ``video x text``:    q = 21,168, k = 1,024 text tokens (the connector pads to 1,024), 32 x 128
* ``audio self``:      q = k = 497 audio tokens (25 per second), 32 x 64
* ``audio x text``:    q = 497, k = 1,024, 32 x 64
* ``audio->video``:    q = 21,168, k = 497, 32 x 64
* ``video->audio``:    q = 497, k = 21,168, 32 x 64

``--small`` (automatic without CUDA) divides the video tokens by 16 (1,323 = 63 frames of 21
patches) and uses 8 heads, so the CPU finishes in seconds.

For each shape and each kernel available here: the best (minimum) milliseconds per call over
``--repeat`` calls after ``--warmup`` (the minimum is the figure least disturbed by other load
on a shared machine) and the largest absolute difference from float32 PyTorch SDPA on the
same inputs (inputs ~ N(0, 1), bf16 on CUDA, float32 and bf16 on CPU). Kernels: PyTorch SDPA
(model dtype), PyTorch SDPA through the 32-bit-index chunker (forced to slice), and every
SageAttention kernel this machine can run, called through ``SageAttentionOverride`` (so the
casts and layouts of the node are included). NAG: time of one block's text cross-attention
(projections, attention, output projection) without and with NAG, video and audio, and the
overhead in percent.

Run: ``python bench/attention.py [--small] [--repeat N] [--warmup N] [--device cuda|cpu]``
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import torch
from torch import nn

from ltx_audioloop.attention.nag import NagParams
from ltx_audioloop.attention.nag_context import NegativeContext
from ltx_audioloop.attention.nag_patch import NagAttention
from ltx_audioloop.attention.router import SAGE2_KERNELS, SAGE3_KERNELS
from ltx_audioloop.attention.sage import SageAttentionOverride, sage_status
from ltx_audioloop.attention.sdpa import sdpa_attention

VIDEO_TOKENS, AUDIO_TOKENS, TEXT_TOKENS = 63 * 14 * 24, 497, 1024


def shapes(small: bool):
    video = VIDEO_TOKENS // 16 if small else VIDEO_TOKENS
    heads = 8 if small else 32
    return [
        ("video self", video, video, heads, 128),
        ("video x text", video, TEXT_TOKENS, heads, 128),
        ("audio self", AUDIO_TOKENS, AUDIO_TOKENS, heads, 64),
        ("audio x text", AUDIO_TOKENS, TEXT_TOKENS, heads, 64),
        ("audio->video", video, AUDIO_TOKENS, heads, 64),
        ("video->audio", AUDIO_TOKENS, video, heads, 64),
    ]


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], torch.Tensor], device, warmup: int, repeat: int):
    out = None
    for _ in range(warmup):
        out = fn()
    sync(device)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        sync(device)
        times.append((time.perf_counter() - start) * 1e3)
    return min(times), out


def kernels(device, dtype, heads):
    """name -> callable(q, k, v) in ComfyUI's [B, N, H*D] layout."""
    out = {
        f"sdpa {str(dtype).split('.')[-1]}": lambda q, k, v: sdpa_attention(q, k, v, heads),
        "sdpa chunked": lambda q, k, v: sdpa_attention(q, k, v, heads, limit=max(q.numel(), k.numel()) // heads),
    }
    status = sage_status()
    if device.type == "cuda":
        names = (("auto",) + SAGE2_KERNELS if status.sage2 else ()) + (SAGE3_KERNELS if status.sage3 else ())
        for name in names:
            override = SageAttentionOverride(name, fallback_on_error=False, status=status)
            out[f"sage {name}"] = (lambda o: lambda q, k, v: o(None, q, k, v, heads))(override)
    return out


def bench_kernels(args, device, dtype):
    print(f"\nattention per call ({device.type}, inputs {str(dtype).split('.')[-1]}); "
          "error = max |out - SDPA float32|")
    print(f"{'shape':<14}{'q x k tokens':>16}{'heads x d':>11}  {'kernel':<40}{'ms':>10}{'max err':>11}")
    gen = torch.Generator(device=device).manual_seed(0)
    sdpa_ms = {}
    for name, nq, nk, heads, d in shapes(args.small):
        q = torch.randn(1, nq, heads * d, generator=gen, device=device)
        k = torch.randn(1, nk, heads * d, generator=gen, device=device)
        v = torch.randn(1, nk, heads * d, generator=gen, device=device)
        reference = sdpa_attention(q, k, v, heads).float()
        qd, kd, vd = (t.to(dtype) for t in (q, k, v))
        for kname, fn in kernels(device, dtype, heads).items():
            try:
                ms, out = timed(lambda: fn(qd, kd, vd), device, args.warmup, args.repeat)
                err = f"{(out.float() - reference).abs().max().item():.2e}"
                ms = f"{ms:.2f}"
            except Exception as exc:  # a kernel this GPU cannot run
                ms, err = "failed", type(exc).__name__
            if kname.startswith("sdpa ") and kname != "sdpa chunked" and ms != "failed":
                sdpa_ms[name] = float(ms)
            print(f"{name:<14}{f'{nq} x {nk}':>16}{f'{heads} x {d}':>11}  {kname:<40}{ms:>10}{err:>11}")
    return sdpa_ms


class _Attention(nn.Module):
    """CrossAttention's attributes (q/k norms, projections, per-head gate, output projection)."""

    def __init__(self, dim, heads, dim_head):
        super().__init__()
        inner = heads * dim_head
        self.heads, self.dim_head, self.attn_precision = heads, dim_head, None
        self.q_norm, self.k_norm = nn.RMSNorm(inner, eps=1e-5), nn.RMSNorm(inner, eps=1e-5)
        self.to_q, self.to_k, self.to_v = nn.Linear(dim, inner), nn.Linear(dim, inner), nn.Linear(dim, inner)
        self.to_gate_logits = nn.Linear(dim, heads)
        self.to_out = nn.Sequential(nn.Linear(inner, dim))

    def forward(self, x, context=None, mask=None, pe=None, k_pe=None, transformer_options={}):
        q, k, v = self.q_norm(self.to_q(x)), self.k_norm(self.to_k(context)), self.to_v(context)
        out = sdpa_attention(q, k, v, self.heads)
        b, t, _ = out.shape
        gates = 2.0 * torch.sigmoid(self.to_gate_logits(x))
        out = (out.view(b, t, self.heads, self.dim_head) * gates.unsqueeze(-1)).view(b, t, -1)
        return self.to_out(out)


class _ProjectedModel:
    """Just enough of LTXAVModel for NegativeContext: the context is already projected."""

    def __init__(self, inner_dim, audio_inner_dim):
        self.inner_dim, self.audio_inner_dim = inner_dim, audio_inner_dim

    def _prepare_context(self, context, batch, x, attention_mask=None):
        v, a = torch.split(context, [self.inner_dim, self.audio_inner_dim], dim=-1)
        return [v, a], attention_mask


def bench_nag(args, device, dtype, attention_ms):
    print(f"\nNAG per block, text cross-attention incl. projections ({device.type}, {str(dtype).split('.')[-1]})")
    print(f"{'branch':<8}{'q x k tokens':>16}{'plain ms':>10}{'NAG ms':>10}{'overhead':>10}")
    video = VIDEO_TOKENS // 16 if args.small else VIDEO_TOKENS
    heads = 8 if args.small else 32
    v_inner, a_inner = heads * 128, heads * 64
    model = _ProjectedModel(v_inner, a_inner)
    gen = torch.Generator(device=device).manual_seed(1)
    negative = NegativeContext(torch.randn(1, TEXT_TOKENS, v_inner + a_inner), False, model)
    extra = 0.0
    for kind, tokens, inner, dim_head in (("video", video, v_inner, 128), ("audio", AUDIO_TOKENS, a_inner, 64)):
        attn = _Attention(inner, heads, dim_head).to(device=device, dtype=dtype)
        x = torch.randn(1, tokens, inner, generator=gen, device=device).to(dtype)
        ctx = torch.randn(1, TEXT_TOKENS, inner, generator=gen, device=device).to(dtype)
        nag = NagAttention(attn, kind, negative, NagParams())
        plain_ms = nag_ms = float("inf")
        with torch.no_grad():
            for _ in range(3):  # interleaved rounds: slow phases of a shared machine hit both alike
                plain_ms = min(plain_ms, timed(lambda: attn(x, context=ctx), device, args.warmup, args.repeat)[0])
                nag_ms = min(nag_ms, timed(lambda: nag(x, context=ctx), device, args.warmup, args.repeat)[0])
        print(f"{kind:<8}{f'{tokens} x {TEXT_TOKENS}':>16}{plain_ms:>10.2f}{nag_ms:>10.2f}"
              f"{100 * (nag_ms / plain_ms - 1):>9.0f}%")
        extra += nag_ms - plain_ms
    total = sum(attention_ms.values())
    if total:
        print(f"NAG adds {extra:.2f} ms per block = {100 * extra / total:.0f}% of the block's six attention calls "
              f"({total:.2f} ms of SDPA above, projections and feed-forward not counted)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="CPU-sized shapes (automatic without CUDA)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type != "cuda":
        args.small = True
    if args.threads:
        torch.set_num_threads(args.threads)
    status = sage_status()
    print(f"torch {torch.__version__}, device {device}, SageAttention 2: {status.sage2}, SageAttention 3: "
          f"{status.sage3}, CUDA: {status.cuda}; shapes: "
          f"{'small (video tokens / 16, 8 heads)' if args.small else 'full'}")
    dtypes = [torch.bfloat16] if device.type == "cuda" else [torch.float32, torch.bfloat16]
    with torch.no_grad():
        measured = [bench_kernels(args, device, dtype) for dtype in dtypes]
        bench_nag(args, device, dtypes[0], measured[0])


if __name__ == "__main__":
    main()
