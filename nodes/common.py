"""Shared bits of the node classes: the categories, the socket type of our own lists, shared inputs.

Every category and every input used by more than one node is defined here once; a node's own
inputs are written in its :class:`~.spec.NodeSpec` with the constructors of :mod:`.spec`.
"""

from __future__ import annotations

from ..loop.geometry import (
    DEFAULT_FPS,
    DEFAULT_GEOMETRY,
    DEFAULT_OVERLAP_SECONDS,
    DEFAULT_STRIDE_SECONDS,
    DEFAULT_WINDOW_SECONDS,
)
from .spec import Boolean, Float, Input, Int

CATEGORY_ROOT = "LTX Audio Loop"
CATEGORY_LOOP = f"{CATEGORY_ROOT}/loop"
CATEGORY_SCHEDULE = f"{CATEGORY_ROOT}/schedule"
CATEGORY_LATENT = f"{CATEGORY_ROOT}/latent"
CATEGORY_IMAGE = f"{CATEGORY_ROOT}/image"
CATEGORY_CONDITIONING = f"{CATEGORY_ROOT}/conditioning"
CATEGORY_AUDIO = f"{CATEGORY_ROOT}/audio"
CATEGORY_UTILITY = f"{CATEGORY_ROOT}/utility"
CATEGORY_ATTENTION = f"{CATEGORY_ROOT}/attention"

MAX_SEED = 0xFFFFFFFFFFFFFFFF
MAX_FRAMES = 10_000_000
"""Upper limit of the frame and latent-frame count inputs (far beyond any track)."""

CONDITIONING_LIST = "AUDIOLOOP_CONDITIONING_LIST"
"""Socket type of the per-iteration conditioning list (TimestampPromptScheduleBatchEncode ->
ConditioningSelectByIteration). A named type lets the editor connect only the two; ComfyUI-AudioLoopHelper
declares the same sockets as ``*``, which ComfyUI's validation and editor match with any type
(docs/nodes.md, "Sharing ids with ComfyUI-AudioLoopHelper")."""


def current_iteration_input(default: int = 1) -> Input:
    return Int("current_iteration", default=default, min=0, max=100000,
               tooltip="Pass index: 0 = initial render, 1, 2, ... = TensorLoopOpen's current_iteration.")


def stride_input() -> Input:
    return Float("stride_seconds", default=DEFAULT_STRIDE_SECONDS, min=0.01, max=3600.0, step=0.01,
                 tooltip="Effective stride in seconds: wire AudioLoopController's stride_seconds.")


def fps_input(tooltip: str = "Video frame rate.", optional: bool = False) -> Input:
    """Integer frame-rate input (1..240 fps), default :data:`~..loop.geometry.DEFAULT_FPS`."""
    return Int("fps", default=DEFAULT_FPS, min=1, max=240, tooltip=tooltip, optional=optional)


def window_seconds_input(tooltip: str | None = None) -> Input:
    if tooltip is None:
        tooltip = (f"Length of one generation window in seconds ({DEFAULT_WINDOW_SECONDS:g} s = "
                   f"{DEFAULT_GEOMETRY.window_frames} frames at {DEFAULT_FPS} fps). "
                   "Rounded to the nearest 8k+1 frames.")
    return Float("window_seconds", default=DEFAULT_WINDOW_SECONDS, min=0.01, max=3600.0, step=0.01, tooltip=tooltip)


def overlap_seconds_input(tooltip: str | None = None, optional: bool = False) -> Input:
    if tooltip is None:
        tooltip = ("Target overlap in seconds; rounded to whole latent frames (8 frames each). "
                   "The effective overlap and stride are on the outputs. 2-3 s is typical.")
    return Float("overlap_seconds", default=DEFAULT_OVERLAP_SECONDS, min=0.0, max=3600.0, step=0.01,
                 tooltip=tooltip, optional=optional)


def frame_count_input(name: str, default: int, minimum: int, tooltip: str, maximum: int = MAX_FRAMES,
                      optional: bool = False) -> Input:
    """A count of frames, latent frames or iterations (integer widget, no step)."""
    return Int(name, default=default, min=minimum, max=maximum, tooltip=tooltip, optional=optional)


def blend_input(optional: bool = False) -> Input:
    return Float("blend_seconds", default=0.0, min=0.0, max=3600.0, step=0.5, optional=optional,
                 tooltip="Raised-cosine ramp width in seconds across each boundary. 0 = clean switch; "
                 "values up to one stride still switch cleanly; 2 x stride mixes 15% into the iterations "
                 "either side. Never a 50/50 mix.")


def snap_input(optional: bool = False) -> Input:
    return Boolean("snap_boundaries", default=True, optional=optional,
                   tooltip="Move every schedule boundary to the nearest iteration start so each iteration "
                   "runs one prompt. Turn off only to switch at the first iteration starting after a boundary.")


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
