"""Shared bits of the node classes: categories and reusable input specs."""

from __future__ import annotations

from ..loop.geometry import DEFAULT_FPS, DEFAULT_STRIDE_SECONDS

CATEGORY_LOOP = "LTX Audio Loop/loop"
CATEGORY_SCHEDULE = "LTX Audio Loop/schedule"
CATEGORY_LATENT = "LTX Audio Loop/latent"
CATEGORY_CONDITIONING = "LTX Audio Loop/conditioning"
CATEGORY_UTILITY = "LTX Audio Loop/utility"
CATEGORY_ATTENTION = "LTX Audio Loop/attention"

MAX_SEED = 0xFFFFFFFFFFFFFFFF

ANY = "*"
"""ComfyUI's wildcard socket type; the per-iteration conditioning list travels on it."""


def current_iteration_input(default: int = 1) -> tuple:
    return (
        "INT",
        {
            "default": default,
            "min": 0,
            "max": 100000,
            "tooltip": "Pass index: 0 = initial render, 1, 2, ... = TensorLoopOpen's current_iteration.",
        },
    )


def stride_input() -> tuple:
    return (
        "FLOAT",
        {
            "default": DEFAULT_STRIDE_SECONDS,
            "min": 0.01,
            "max": 3600.0,
            "step": 0.01,
            "tooltip": "Effective stride in seconds: wire AudioLoopController's stride_seconds.",
        },
    )


def fps_input(tooltip: str = "Video frame rate.") -> tuple:
    """Integer frame-rate input (1..240 fps), default :data:`~..loop.geometry.DEFAULT_FPS`."""
    return ("INT", {"default": DEFAULT_FPS, "min": 1, "max": 240, "tooltip": tooltip})


def blend_input() -> tuple:
    return (
        "FLOAT",
        {
            "default": 0.0,
            "min": 0.0,
            "max": 3600.0,
            "step": 0.5,
            "tooltip": "Raised-cosine ramp width in seconds across each boundary. 0 = clean switch; "
            "values up to one stride still switch cleanly; 2 x stride mixes 15% into the iterations "
            "either side. Never a 50/50 mix.",
        },
    )


def snap_input() -> tuple:
    return (
        "BOOLEAN",
        {
            "default": True,
            "tooltip": "Move every schedule boundary to the nearest iteration start so each iteration "
            "runs one prompt. Turn off only to switch at the first iteration starting after a boundary.",
        },
    )


def schedule_validation(schedule, convert=str, what: str = "prompt"):
    """``True`` or the parse error text, for VALIDATE_INPUTS (schedule absent when linked)."""
    if schedule is None:
        return True
    from ..loop.schedule import ScheduleError, parse_schedule

    try:
        parse_schedule(schedule, convert, what)
    except ScheduleError as err:
        return str(err)
    return True


def image_to_tensor(image):
    """A PIL image as a ComfyUI ``IMAGE``: float32 ``[1, H, W, 3]``, values in 0..1 (``byte / 255``)."""
    import numpy as np
    import torch

    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(np.ascontiguousarray(array)).unsqueeze(0)
