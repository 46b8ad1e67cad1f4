"""IMAGE batch helpers for keyframe schedules: validation, frame picking, blending."""

from __future__ import annotations

from typing import Any

import torch

from .conditioning import check_factor


def check_images(images: Any, name: str = "images") -> torch.Tensor:
    """A ComfyUI IMAGE ``[B, H, W, C]`` with at least one image, or a ``ValueError`` naming it."""
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"{name} must be an IMAGE batch [batch, height, width, channels], got {shape}")
    if images.shape[0] < 1:
        raise ValueError(f"{name} is an empty batch; load at least one image")
    return images


def frame_at(images: torch.Tensor, index: int) -> torch.Tensor:
    """Image ``index`` as a one-image batch (a view, no copy)."""
    return images[index : index + 1]


def blend_images(image_a: Any, image_b: Any, blend_factor: float) -> torch.Tensor:
    """``(1 - f) * A + f * B``; ``f = 0`` returns A and ``f = 1`` returns B untouched.

    Both batches must have the same height, width and channels; a batch of 1 broadcasts.
    """
    a = check_images(image_a, "image_a")
    b = check_images(image_b, "image_b")
    factor = check_factor(blend_factor)
    if factor == 0.0:
        return a
    if factor == 1.0:
        return b
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(
            f"image_a {tuple(a.shape[1:3])} and image_b {tuple(b.shape[1:3])} differ in size or channels; "
            "resize both keyframes to the render resolution first"
        )
    if a.shape[0] != b.shape[0] and 1 not in (a.shape[0], b.shape[0]):
        raise ValueError(f"image_a has {a.shape[0]} images and image_b {b.shape[0]}; they must match or one must be 1")
    return torch.lerp(a.to(torch.float32), b.to(device=a.device, dtype=torch.float32), factor).to(a.dtype)
