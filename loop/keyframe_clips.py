"""First-last-frame walkthrough: one clip per pair of consecutive keyframes, exact lengths.

A clip of ``N = 8k + 1`` pixel frames spans ``(N - 1) / fps`` seconds from its first frame to its
last. Consecutive clips share a keyframe (clip i ends on keyframe i+1, clip i+1 starts on it),
so the joined video drops the first frame of every clip after the first and lasts
``sum(N_i - 1) / fps`` seconds with ``1 + sum(N_i - 1)`` frames.

For a requested clip length of ``S`` seconds: ``N - 1 = 8 * max(1, round(S * fps / 8))``, the
nearest whole number of 8-frame latent steps; the clip is exactly ``S`` seconds whenever
``S * fps`` is a multiple of 8 (e.g. 8 s or 4.8 s at 25 fps) and otherwise within 4 frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class KeyframeClip:
    """Clip ``index`` (0-based) of a walkthrough through ``count + 1`` keyframes."""

    index: int
    count: int
    frames: int
    fps: float

    @property
    def seconds(self) -> float:
        return (self.frames - 1) / self.fps

    @property
    def start_seconds(self) -> float:
        return self.index * self.seconds


def clip_frames(clip_seconds: float, fps: float) -> int:
    """Pixel frames ``8k + 1`` of a clip spanning about ``clip_seconds`` (see module docstring)."""
    if (
        isinstance(clip_seconds, bool)
        or not isinstance(clip_seconds, (int, float))
        or not math.isfinite(clip_seconds)
        or clip_seconds <= 0
    ):
        raise ValueError(f"clip_seconds must be a positive number of seconds, got {clip_seconds!r}")
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be a positive frame rate, got {fps!r}")
    steps = max(1, round(clip_seconds * fps / 8))
    return 8 * steps + 1


def walkthrough_frames(clip_count: int, frames: int) -> int:
    """Pixel frames of the joined walkthrough: ``1 + clip_count * (frames - 1)``."""
    return 1 + clip_count * (frames - 1)


def keyframe_pair(images: torch.Tensor, current_iteration: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    """First and last keyframe of loop iteration ``current_iteration`` (1-based) and the clip count.

    Iteration ``i`` runs from keyframe ``i - 1`` to keyframe ``i``; iterations past the last pair
    (the loop body always runs once more than needed when stopped by a flag) get the last pair.
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError("images must be an IMAGE batch [count, height, width, channels] of the keyframes in order")
    count = images.shape[0] - 1
    if count < 1:
        raise ValueError(
            f"images holds {images.shape[0]} keyframe(s); a walkthrough needs at least 2 (batch them with ImageBatch)"
        )
    if isinstance(current_iteration, bool) or not isinstance(current_iteration, int) or current_iteration < 1:
        raise ValueError(f"current_iteration must be TensorLoopOpen's 1-based iteration, got {current_iteration!r}")
    index = min(current_iteration, count)
    return images[index - 1 : index], images[index : index + 1], count
