"""Latent hand-off between loop iterations: context, trim, crossfade, mask stripping.

LTX-2 video latents are ``[B, 128, F_lat, H/32, W/32]``; the time axis is dim 2. All
functions here take and return ComfyUI LATENT dicts and never copy the samples: slices are
views of the input tensor (``torch`` basic slicing), only the crossfade region of
:func:`crossfade_overlap` is new memory. ``noise_mask`` is always dropped, because a stale
mask from the previous sampler pass would otherwise be cloned by the next mask node and
freeze frames that must be generated (the mask means 1 = generate, 0 = keep).

Audio+video latents (``samples`` a NestedTensor of video and audio parts) are rejected with
a message: the two parts count time in different units (8 pixel frames vs 1/25 s), so the
loop carries the video latent alone and the audio is sliced from the track each iteration.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .geometry import latents_to_frames

TIME_AXIS = 2
_DROPPED_KEYS = ("noise_mask",)


def _is_nested(samples: Any) -> bool:
    return not isinstance(samples, torch.Tensor) and hasattr(samples, "tensors")


def video_samples(latent: Any, name: str = "latent") -> torch.Tensor:
    """The ``[B, C, F, H, W]`` samples of a video LATENT, or a ``ValueError`` naming ``name``."""
    if not isinstance(latent, dict) or "samples" not in latent:
        raise ValueError(f"{name} must be a LATENT (a dict with 'samples'), got {type(latent).__name__}")
    samples = latent["samples"]
    if _is_nested(samples):
        raise ValueError(
            f"{name} is an audio+video latent. Its video and audio parts count time in different "
            "units, so they cannot be cut by one frame count: split it with LTXVSeparateAVLatent "
            "and pass the video latent here."
        )
    if not isinstance(samples, torch.Tensor) or samples.ndim != 5:
        shape = tuple(samples.shape) if isinstance(samples, torch.Tensor) else type(samples).__name__
        kind = " (an audio latent)" if latent.get("type") == "audio" else ""
        raise ValueError(
            f"{name} must be a video latent [batch, channels, frames, height, width]; got "
            f"{shape}{kind}. Pass the video part of the LTX latent."
        )
    return samples


def _check_count(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return value


def strip_noise_mask(latent: dict) -> dict:
    """Shallow copy of ``latent`` without ``noise_mask`` (samples shared, not copied)."""
    if not isinstance(latent, dict):
        raise ValueError(f"latent must be a LATENT dict, got {type(latent).__name__}")
    return {k: v for k, v in latent.items() if k not in _DROPPED_KEYS}


def _with_samples(latent: dict, samples: torch.Tensor) -> dict:
    out = strip_noise_mask(latent)
    out["samples"] = samples
    return out


def extract_context(latent: dict, overlap_latent_frames: int) -> dict:
    """The last ``L_o`` latent frames as the next iteration's context (a view, mask stripped).

    ``1 <= L_o <= F_lat``; a larger count is an error, not a silent shorter context.
    """
    samples = video_samples(latent)
    count = _check_count("overlap_latent_frames", overlap_latent_frames, 1)
    frames = samples.shape[TIME_AXIS]
    if count > frames:
        raise ValueError(
            f"overlap_latent_frames={count} is more than the {frames} latent frames in the latent; "
            "wire overlap_latent_frames from AudioLoopController and the sampler output here."
        )
    return _with_samples(latent, samples[:, :, frames - count :])


def trim_overlap(latent: dict, overlap_latent_frames: int) -> dict:
    """Drop the first ``L_o`` latent frames (the context), keeping only new content (a view).

    ``0 <= L_o < F_lat``: a count that would leave nothing is an error.
    """
    samples = video_samples(latent)
    count = _check_count("overlap_latent_frames", overlap_latent_frames, 0)
    frames = samples.shape[TIME_AXIS]
    if count >= frames:
        raise ValueError(
            f"overlap_latent_frames={count} would trim all {frames} latent frames and leave no new "
            "content; the sampler window must be longer than its context."
        )
    return _with_samples(latent, samples[:, :, count:])


def crossfade_weights(count: int, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """Weight of the *new* pass for each of ``M`` crossfaded latents.

    ``w_j = (1 - cos(pi * (j + 1/2) / M)) / 2`` for ``j = 0 .. M-1``: rises from near 0 to
    near 1, symmetric (``w_j + w_{M-1-j} = 1``), never exactly 0 or 1.
    """
    j = torch.arange(count, device=device, dtype=torch.float64)
    return (0.5 - 0.5 * torch.cos(math.pi * (j + 0.5) / count)).to(dtype)


def crossfade_overlap(previous: dict, current: dict, overlap_latent_frames: int, crossfade_latent_frames: int) -> dict:
    """Blend the end of the context region with the previous pass instead of a hard cut.

    ``current`` is this pass's sampler output whose first ``L_o`` latents are the context
    that ``previous`` ended with. Latents ``1 .. L_o-1`` of the context hold the same 8 pixel
    frames as the last ``L_o-1`` latents of ``previous`` (latent 0 holds a single frame), so up to
    ``M = L_o - 1`` of them can be crossfaded. The output is::

        [ (1 - w) * previous[-M:] + w * current[L_o-M : L_o] ,  current[L_o:] ]

    ``M + (F_lat - L_o)`` latents: the trim path's new frames preceded by ``M`` blended ones.
    To keep the video exactly as long as the trim path, the accumulation drops the last ``M``
    latents of every pass before appending the next (TensorLoopClose's overlap mode ``end``
    with ``M`` frames, which re-appends the final tail; the initial render is cut the same
    way). With ``M = 0`` this is :func:`trim_overlap`.
    """
    prev = video_samples(previous, "previous")
    cur = video_samples(current, "current")
    overlap = _check_count("overlap_latent_frames", overlap_latent_frames, 1)
    count = _check_count("crossfade_latent_frames", crossfade_latent_frames, 0)
    if count == 0:
        return trim_overlap(current, overlap)
    if count > overlap - 1:
        raise ValueError(
            f"crossfade_latent_frames={count} must be at most overlap_latent_frames - 1 = {overlap - 1}: "
            "only context latents after the first hold the same frames as the previous pass."
        )
    frames = cur.shape[TIME_AXIS]
    # At least one new latent; fewer than M is fine (the final pass is sized to the remaining
    # audio and may add only one): TensorLoopClose 'end' still keeps the length exact.
    if frames - overlap < 1:
        raise ValueError(
            f"current has {frames - overlap} new latent frames after its {overlap}-latent context; "
            "the sampler window must be longer than its context."
        )
    if prev.shape[TIME_AXIS] < count:
        raise ValueError(f"previous has {prev.shape[TIME_AXIS]} latent frames, fewer than "
                         f"crossfade_latent_frames={count}")
    if prev.shape[:2] != cur.shape[:2] or prev.shape[3:] != cur.shape[3:]:
        raise ValueError(
            f"previous {tuple(prev.shape)} and current {tuple(cur.shape)} differ outside the time axis; "
            "both must come from the same loop at the same resolution."
        )
    weights = crossfade_weights(count, device=cur.device, dtype=torch.float32).view(1, 1, count, 1, 1)
    old = prev[:, :, -count:].to(device=cur.device, dtype=torch.float32)
    new = cur[:, :, overlap - count : overlap].to(torch.float32)
    blended = (old + (new - old) * weights).to(cur.dtype)
    return _with_samples(current, torch.cat([blended, cur[:, :, overlap:]], dim=TIME_AXIS))


def latent_pixel_frames(latent: dict) -> int:
    """Pixel frames the video latent decodes to: ``8 * (F_lat - 1) + 1``."""
    return latents_to_frames(video_samples(latent).shape[TIME_AXIS])


def join_loop_output(initial: dict, loop_output: dict, loop_iterations: int, expected_frames: int = 0) -> dict:
    """The whole video latent: the initial render followed by the loop's accumulated output.

    TensorLoopClose returns its ``initial_value`` itself when told to run 0 iterations, so for
    ``loop_iterations == 0`` the initial render is returned alone (concatenating would double
    it). With ``expected_frames > 0`` (the planner's ``rendered_frames``) a result that decodes
    to another pixel-frame count is an error: it means the loop geometry was mis-wired.
    """
    first = video_samples(initial, "initial")
    count = _check_count("total_iterations", loop_iterations, 0)
    if count == 0:
        samples = first
    else:
        rest = video_samples(loop_output, "loop_output")
        if first.shape[:2] != rest.shape[:2] or first.shape[3:] != rest.shape[3:]:
            raise ValueError(
                f"initial {tuple(first.shape)} and loop_output {tuple(rest.shape)} differ outside the time axis; "
                "both must be video latents of the same render"
            )
        samples = torch.cat([first, rest.to(device=first.device, dtype=first.dtype)], dim=TIME_AXIS)
    frames = latents_to_frames(samples.shape[TIME_AXIS])
    if expected_frames and frames != expected_frames:
        raise ValueError(
            f"the joined latent decodes to {frames} frames but the plan expects {expected_frames}: check that "
            "total_iterations, overlap_latent_frames and window_frames come from the planner and controller"
        )
    return _with_samples(initial, samples)
