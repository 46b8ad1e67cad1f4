"""Hand-off between loop iterations in image space (decode and re-encode every window).

IMAGE batches are ``[frames, height, width, channels]``. With ``P_o`` effective overlap pixel
frames (AudioLoopController's ``overlap_frames``, ``8 * (L_o - 1) + 1``):

* context = the last ``P_o`` frames of the previous window; VAE-encoded they are exactly the
  ``L_o`` context latent frames of the latent loop;
* after sampling and decoding a window of ``F_w`` frames, its first ``P_o`` frames re-render
  the context and are dropped, leaving ``F_w - P_o`` new frames (one stride).

All results are views of the input batch (no copy) except the join.
"""

from __future__ import annotations

from typing import Any

import torch


def _images(value: Any, name: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.ndim != 4:
        raise ValueError(f"{name} must be an IMAGE batch [frames, height, width, channels]")
    return value


def _count(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return value


def image_context(images: Any, overlap_frames: int) -> torch.Tensor:
    """The last ``overlap_frames`` frames of ``images`` (a view)."""
    batch = _images(images, "images")
    count = _count("overlap_frames", overlap_frames, 1)
    if count > batch.shape[0]:
        raise ValueError(f"overlap_frames ({count}) exceeds the {batch.shape[0]} frames of the previous window")
    return batch[-count:]


def image_trim(images: Any, overlap_frames: int) -> torch.Tensor:
    """``images`` without its first ``overlap_frames`` frames (a view); nothing left is an error."""
    batch = _images(images, "images")
    count = _count("overlap_frames", overlap_frames, 0)
    if count >= batch.shape[0]:
        raise ValueError(
            f"overlap_frames ({count}) leaves none of the window's {batch.shape[0]} frames: wire "
            "AudioLoopController.overlap_frames and decode the whole window"
        )
    return batch[count:]


def join_images(initial: Any, loop_output: Any, loop_iterations: int, expected_frames: int = 0) -> torch.Tensor:
    """Initial render's frames, then the loop's (``loop_iterations == 0``: the initial frames alone)."""
    first = _images(initial, "initial")
    if _count("total_iterations", loop_iterations, 0) == 0:
        joined = first
    else:
        rest = _images(loop_output, "loop_output")
        if first.shape[1:] != rest.shape[1:]:
            raise ValueError(
                f"initial frames {tuple(first.shape[1:])} and loop frames {tuple(rest.shape[1:])} differ in size"
            )
        joined = torch.cat([first, rest.to(device=first.device, dtype=first.dtype)], dim=0)
    if expected_frames and joined.shape[0] != expected_frames:
        raise ValueError(
            f"the joined video has {joined.shape[0]} frames but the plan expects {expected_frames}: check that "
            "total_iterations and overlap_frames come from the planner and controller"
        )
    return joined
