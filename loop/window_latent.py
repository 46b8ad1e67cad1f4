"""Build the latents one loop iteration samples: the video window and the frozen audio slice.

Video window, for context ``c`` of ``L_o`` latent frames and a window of ``L_w`` latent frames
(``L_w = (F_w - 1) / 8 + 1`` for ``F_w`` pixel frames):

* ``samples[:, :, :L_o] = c`` and ``samples[:, :, L_o:] = 0`` (shape ``[B, C, L_w, h, w]``);
* ``noise_mask[:, :, t] = 0`` for ``t < L_o`` (keep the context) and ``1`` after (generate),
  shape ``[B, 1, L_w, 1, 1]`` as ComfyUI's LTX nodes make it.

The mask starts generating exactly at the first latent frame after the context, which is the
effective overlap of the loop geometry, so no frame is half kept.

Audio: the slice's latent with ``noise_mask = 0`` over every element, so the sampler keeps the
audio as conditioning and generates only video (the audio-to-video recipe).
"""

from __future__ import annotations

from typing import Any

import torch

from .latents import strip_noise_mask, video_samples


def window_from_context(context: dict, window_latent_frames: int) -> dict:
    """The next window's video LATENT: context first, zeros after, mask 0 then 1 (see module)."""
    samples = video_samples(context, "context")
    if isinstance(window_latent_frames, bool) or not isinstance(window_latent_frames, int):
        raise ValueError(f"window_latent_frames must be a whole number, got {window_latent_frames!r}")
    context_frames = samples.shape[2]
    if window_latent_frames <= context_frames:
        raise ValueError(
            f"window_latent_frames ({window_latent_frames}) must exceed the context's {context_frames} latent "
            "frames, or the window generates nothing new: wire AudioLoopController.window_latent_frames "
            "and its overlap_latent_frames into the context extract"
        )
    batch, channels, _, height, width = samples.shape
    window = samples.new_zeros((batch, channels, window_latent_frames, height, width))
    window[:, :, :context_frames] = samples
    mask = samples.new_ones((batch, 1, window_latent_frames, 1, 1), dtype=torch.float32)
    mask[:, :, :context_frames] = 0.0
    out = strip_noise_mask(context)
    out["samples"] = window
    out["noise_mask"] = mask
    return out


def freeze_audio(audio_latent: Any) -> dict:
    """The audio LATENT with ``noise_mask`` zeros of its full shape: kept, not generated."""
    if not isinstance(audio_latent, dict) or not isinstance(audio_latent.get("samples"), torch.Tensor):
        raise ValueError("audio_latent must be a LATENT from LTXVAudioVAEEncode (a dict with a 'samples' tensor)")
    samples = audio_latent["samples"]
    if samples.ndim != 4:
        raise ValueError(
            f"audio_latent must be an LTX-2 audio latent [batch, 8, time, 16]; got shape {tuple(samples.shape)}. "
            "Pass LTXVAudioVAEEncode's output, not a video or audio+video latent"
        )
    out = dict(audio_latent)
    out["noise_mask"] = torch.zeros_like(samples, dtype=torch.float32)
    return out
