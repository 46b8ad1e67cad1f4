"""The negative prompt of a NAG patch: projected by the model itself, following its device and dtype.

The text encoder's output for the negative prompt goes through the same two steps as the
prompt's context in ComfyUI's LTX-2 AV model:

1. ``diffusion_model.preprocess_text_embeds(context, unprocessed=...)`` (the embeddings
   connectors, and for LTX-2.3 the caption projection before them), which ComfyUI runs in
   ``LTXAV.extra_conds``;
2. ``diffusion_model._prepare_context(context, batch, [vx, ax])``, which splits video and audio
   channels (and for LTX-2.0 applies the caption projections), as the model's forward does.

The projection runs on the first cross-attention call of a sampling run, when ComfyUI has
loaded the model (with its LoRA weight patches) on the compute device: the very state in which
the model projects the prompt. It runs once per dtype; the result is kept on the CPU, and every
call gets a copy on the call's device and dtype, made again whenever either changes (offload to
CPU and reload, a cast to bf16 and back). The patch therefore never holds a tensor that an
offload/reload cycle can leave on the wrong device or in the wrong dtype.
"""

from __future__ import annotations

import threading
import weakref

import torch


def project_negative(diffusion_model, raw: torch.Tensor, unprocessed: bool, device, dtype):
    """Return ``(video_context [B, T, inner_dim], audio_context [B, T, audio_inner_dim])``.

    ``raw`` is the text encoder's output ``[B, T, D]`` (``CONDITIONING[0][0]``); ``unprocessed``
    is its ``unprocessed_ltxav_embeds`` flag. Runs under ``torch.no_grad``.
    """
    with torch.no_grad():
        ctx = raw.to(device=device, dtype=dtype)
        if hasattr(diffusion_model, "preprocess_text_embeds"):
            if unprocessed:
                ctx = diffusion_model.preprocess_text_embeds(ctx, unprocessed=True)
            else:
                ctx = diffusion_model.preprocess_text_embeds(ctx)
        batch = ctx.shape[0]
        vx = ctx.new_empty((batch, 0, diffusion_model.inner_dim))
        ax = ctx.new_empty((batch, 0, diffusion_model.audio_inner_dim))
        (video, audio), _ = diffusion_model._prepare_context(ctx, batch, [vx, ax], None)
    return video, audio


class NegativeContext:
    """Projected negative contexts of one NAG patch, shared by every block it patches.

    ``get(kind, device, dtype)`` (kind ``"video"`` or ``"audio"``) returns the context on that
    device and dtype. State: the raw conditioning on the CPU, at most one projection per dtype
    (CPU copies, a handful of dtypes at most) and one working copy for the last (device, dtype).
    ``projections`` counts model projections; ``transfers`` counts working copies made.
    """

    KINDS = ("video", "audio")

    def __init__(self, raw: torch.Tensor, unprocessed: bool, diffusion_model):
        if not isinstance(raw, torch.Tensor) or raw.ndim != 3:
            shape = tuple(raw.shape) if isinstance(raw, torch.Tensor) else type(raw).__name__
            raise ValueError(f"negative conditioning tensor must be [batch, tokens, channels], got {shape}; "
                             "connect the output of a CLIP Text Encode node for the LTX-2 text encoder")
        self.raw = raw.detach().to("cpu")
        self.unprocessed = bool(unprocessed)
        self._model = weakref.ref(diffusion_model)
        self._projected: dict = {}
        self._working = None
        self._lock = threading.Lock()
        self.projections = 0
        self.transfers = 0

    @property
    def batch(self) -> int:
        return self.raw.shape[0]

    def _projection(self, device, dtype):
        found = self._projected.get(dtype)
        if found is not None:
            return found
        model = self._model()
        if model is None:
            raise RuntimeError("the diffusion model of this NAG patch no longer exists; re-run the NAG node")
        video, audio = project_negative(model, self.raw, self.unprocessed, device, dtype)
        keep = "meta" if torch.device(device).type == "meta" else "cpu"
        found = (video.detach().to(keep), audio.detach().to(keep))
        self._projected[dtype] = found
        self.projections += 1
        return found

    def get(self, kind: str, device, dtype) -> torch.Tensor:
        if kind not in self.KINDS:
            raise ValueError(f"kind={kind!r} must be 'video' or 'audio'")
        device = torch.device(device)
        with self._lock:
            working = self._working
            if working is None or working[0] != device or working[1] != dtype:
                video, audio = self._projection(device, dtype)
                working = (device, dtype,
                           video.to(device=device, dtype=dtype), audio.to(device=device, dtype=dtype))
                self._working = working
                self.transfers += 1
        return working[2] if kind == "video" else working[3]

    def rows(self, kind: str, count: int, device, dtype) -> torch.Tensor:
        """The context for ``count`` batch rows: batch 1 repeated, or the batch itself (or tiled)."""
        ctx = self.get(kind, device, dtype)
        if ctx.shape[0] == count:
            return ctx
        if count % ctx.shape[0]:
            raise ValueError(f"negative conditioning has batch {ctx.shape[0]} but the model runs {count} "
                             "guided rows; use a negative conditioning with batch 1")
        return ctx.repeat(count // ctx.shape[0], 1, 1)
