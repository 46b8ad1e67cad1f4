"""Prompt and keyframe schedules: selection by iteration, batch encoding before the loop."""

from __future__ import annotations

import functools
import logging
import math

from ..loop.conditioning import select_by_iteration
from ..loop.geometry import COMMON_FRAME_RATES, DEFAULT_FPS, stride_grid_problem
from ..loop.images import blend_images, check_images, frame_at
from ..loop.prompt_list import build_conditioning_schedule, entries_needed
from ..loop.schedule import ScheduleError, parse_index, parse_schedule, select_iteration
from ..loop.text_cache import encode_with_clip
from .common import (
    CATEGORY_SCHEDULE,
    CONDITIONING_LIST,
    blend_input,
    current_iteration_input,
    fps_input,
    schedule_validation,
    snap_input,
    stride_input,
)
from .spec import Float, NodeSpec, Output, Socket, String, comfy_node

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=32)
def _warn_once(message: str) -> None:
    """Log ``message`` once: inside a loop the schedule nodes run every iteration with the same stride.

    A bounded cache (32 distinct messages) of what was already said; nothing else is kept.
    """
    log.warning(message)


def check_stride(node: str, stride_seconds, fps: float | None) -> None:
    """A hand-typed stride must be a whole number of latent frames (``stride * fps`` a multiple of 8).

    At a known ``fps`` an off-grid stride is a ``ValueError`` naming the input, the value and the
    nearest valid stride. A node without an fps input cannot know the video's rate: it logs a
    warning (with the nearest stride at the default fps) only when the stride fits none of the
    common frame rates. Non-positive strides are left to the node's own checks.
    """
    if fps:
        problem = stride_grid_problem(stride_seconds, fps)
        if problem is not None:
            raise ValueError(f"{node}: {problem}")
        return
    try:
        if any(stride_grid_problem(stride_seconds, rate) is None for rate in COMMON_FRAME_RATES):
            return
        problem = stride_grid_problem(stride_seconds, DEFAULT_FPS)
    except ValueError:
        return
    rates = ", ".join(str(rate) for rate in COMMON_FRAME_RATES)
    _warn_once(f"{node}: {problem} It fits none of {rates} fps either; this node has no fps input, so "
               "ignore this only if the loop runs at another frame rate.")

_PROMPT_SCHEDULE = String(
    "schedule", default="0:00+: default prompt", multiline=True,
    tooltip="One entry per line: 'START-END: prompt', 'START+: prompt' or 'START: prompt'. Times: M:SS, M:SS.ss, "
    "H:MM:SS or seconds; ranges with -, en dash or em dash. Blank lines and # comments are ignored; any "
    "other line is an error naming its line number.",
)


@comfy_node(NodeSpec(
    id="TimestampPromptSchedule",
    display_name="Timestamp Prompt Schedule",
    category=CATEGORY_SCHEDULE,
    description=(
        "Picks the prompt scheduled for this iteration's window start (iteration x stride). Boundaries snap "
        "to the stride grid so each iteration runs one prompt; blending is a symmetric raised-cosine ramp "
        "that never gives an iteration a 50/50 mix. Prefer TimestampPromptScheduleBatchEncode inside loops."
    ),
    inputs=(current_iteration_input(1), stride_input(), _PROMPT_SCHEDULE, blend_input(), snap_input()),
    outputs=(
        Output("prompt", "STRING", "Prompt in effect for this iteration."),
        Output("next_prompt", "STRING",
               "Prompt across the nearest boundary that this iteration blends toward (same as prompt when none)."),
        Output("blend_factor", "FLOAT", "Weight of next_prompt, always below 0.5: wire to the conditioning blend."),
        Output("current_time", "FLOAT", "Window start of this iteration in seconds."),
    ),
))
class TimestampPromptSchedule:
    """The prompt of one iteration, with the prompt it blends toward and the blend factor."""

    @classmethod
    def VALIDATE_INPUTS(cls, schedule=None):
        return schedule_validation(schedule)

    def execute(self, current_iteration, stride_seconds, schedule, blend_seconds, snap_boundaries=True):
        entries = parse_schedule(schedule)
        check_stride("TimestampPromptSchedule", stride_seconds, None)
        sel = select_iteration(entries, stride_seconds, current_iteration, blend_seconds, snap_boundaries)
        return (sel.current.value, sel.other.value, sel.blend, sel.time)


@comfy_node(NodeSpec(
    id="TimestampPromptScheduleBatchEncode",
    display_name="Timestamp Prompt Schedule (Batch Encode)",
    category=CATEGORY_SCHEDULE,
    description=(
        "Run outside the loop: encodes each distinct prompt of the schedule exactly once, blends where "
        "the schedule asks, and outputs one conditioning per iteration (entry 0 = initial render). Inside "
        "the loop, ConditioningSelectByIteration only picks an entry, so the text encoder never loads "
        "mid-render and never evicts the video model."
    ),
    inputs=(
        Socket("clip", "CLIP", tooltip="Text encoder (Gemma 3 for LTX-2.3)."),
        _PROMPT_SCHEDULE,
        stride_input(),
        Float("audio_duration", default=180.0, min=0.01, max=360000.0, step=0.1,
              tooltip="Track length in seconds (AudioLoopPlanner.audio_duration)."),
        snap_input(),
        Float("frame_rate", default=float(DEFAULT_FPS), min=0.0, max=1000.0, step=0.01,
              tooltip="frame_rate written into every conditioning, as LTXVConditioning "
              "does; 0 leaves the metadata as the encoder gave it."),
        blend_input(optional=True),
    ),
    outputs=(
        Output("conditioning_list", CONDITIONING_LIST,
               "Per-iteration conditioning list: wire to ConditioningSelectByIteration inside the loop."),
        Output("iteration_count", "INT",
               "Entries in the list (iterations 0 .. count-1; later iterations reuse the last)."),
        Output("report", "STRING", "Which prompt (and blend) each iteration runs."),
        Output("encoded_prompts", "INT", "Text-encoder calls made: the number of distinct prompts that run."),
    ),
))
class TimestampPromptScheduleBatchEncode:
    """Encodes every distinct scheduled prompt once, before the loop, into a per-iteration list."""

    @classmethod
    def VALIDATE_INPUTS(cls, schedule=None):
        return schedule_validation(schedule)

    def execute(self, clip, schedule, stride_seconds, audio_duration, snap_boundaries, frame_rate, blend_seconds=0.0):
        if clip is None:
            raise ValueError("clip is missing: connect the text encoder (the LTX-2 Gemma CLIP loader)")
        if isinstance(frame_rate, bool) or not isinstance(frame_rate, (int, float)) \
                or not (math.isfinite(frame_rate) and 0 <= frame_rate <= 1000):
            raise ValueError(f"frame_rate must be frames per second in 0..1000 (0 = leave the encoder's metadata), "
                             f"got {frame_rate!r}; use the video's frame rate, e.g. 25")
        count = entries_needed(audio_duration, stride_seconds)
        check_stride("TimestampPromptScheduleBatchEncode", stride_seconds, frame_rate or None)
        result = build_conditioning_schedule(
            schedule, lambda text: encode_with_clip(clip, text), stride_seconds, count,
            blend_seconds, snap_boundaries, frame_rate or None,
        )
        log.info("TimestampPromptScheduleBatchEncode: %d prompt(s) encoded for %d entries",
                 len(result.encoded_prompts), count)
        return (result.conditioning_list, count, result.report(), len(result.encoded_prompts))


@comfy_node(NodeSpec(
    id="ConditioningSelectByIteration",
    display_name="Conditioning Select (by Iteration)",
    category=CATEGORY_SCHEDULE,
    description=(
        "Returns entry current_iteration of the per-iteration conditioning list (the last entry past its end)."
    ),
    inputs=(
        Socket("conditioning_list", CONDITIONING_LIST,
               tooltip="conditioning_list from TimestampPromptScheduleBatchEncode."),
        current_iteration_input(0),
    ),
    outputs=(
        Output("conditioning", "CONDITIONING",
               "The pre-encoded conditioning of this iteration (the last entry past the list's end)."),
    ),
))
class ConditioningSelectByIteration:
    """Picks this iteration's conditioning from the batch-encoded list (no text encoder)."""

    def execute(self, conditioning_list, current_iteration):
        return (select_by_iteration(conditioning_list, current_iteration),)


@comfy_node(NodeSpec(
    id="KeyframeImageSchedule",
    display_name="Keyframe Image Schedule",
    category=CATEGORY_SCHEDULE,
    description=(
        "Maps schedule times to 0-based indices into an image batch, snapped to the stride grid and "
        "blended with the same raised-cosine ramp as prompts (wire next_image and blend_factor to ImageBlend)."
    ),
    inputs=(
        Socket("images", "IMAGE", tooltip="Keyframe batch; index 0 is the first image."),
        current_iteration_input(1),
        stride_input(),
        String("schedule", default="0:00+: 0", multiline=True,
               tooltip="Like the prompt schedule, with a 0-based image index per line."),
        blend_input(),
        snap_input(optional=True),
    ),
    outputs=(
        Output("image", "IMAGE", "Keyframe scheduled for this iteration."),
        Output("next_image", "IMAGE", "Keyframe it blends toward (the same image when not blending)."),
        Output("blend_factor", "FLOAT", "0 = image only, 1 = next_image only (wire to ImageBlend)."),
        Output("current_time", "FLOAT", "Start of this iteration in seconds of the track."),
        Output("image_index", "INT", "0-based index of the scheduled keyframe in the batch."),
    ),
))
class KeyframeImageSchedule:
    """Picks the keyframe image of an iteration from a batch, with the same snapping and blend as prompts."""

    @classmethod
    def VALIDATE_INPUTS(cls, schedule=None):
        return schedule_validation(schedule, parse_index, "image index")

    def execute(self, images, current_iteration, stride_seconds, schedule, blend_seconds, snap_boundaries=True):
        images = check_images(images)
        entries = parse_schedule(schedule, parse_index, "image index")
        for entry in entries:
            if entry.value >= images.shape[0]:
                raise ScheduleError(
                    f"schedule line {entry.line}: image index {entry.value} but the batch has "
                    f"{images.shape[0]} image(s) (indices 0..{images.shape[0] - 1})"
                )
        check_stride("KeyframeImageSchedule", stride_seconds, None)
        sel = select_iteration(entries, stride_seconds, current_iteration, blend_seconds, snap_boundaries)
        return (frame_at(images, sel.current.value), frame_at(images, sel.other.value), sel.blend, sel.time,
                sel.current.value)


@comfy_node(NodeSpec(
    id="VideoFrameExtract",
    display_name="Video Frame Extract",
    category=CATEGORY_SCHEDULE,
    description=(
        "Frame round(iteration x stride x source_fps) of a reference video batch (its last frame past its end)."
    ),
    inputs=(
        Socket("images", "IMAGE", tooltip="Reference video as an image batch."),
        current_iteration_input(1),
        stride_input(),
        Float("source_fps", default=float(DEFAULT_FPS), min=0.01, max=1000.0, step=0.01,
              tooltip="Frame rate of the reference video."),
    ),
    outputs=(
        Output("image", "IMAGE", "The reference video's frame at this iteration's start time."),
        Output("frame_index", "INT", "Index of that frame in the batch."),
    ),
))
class VideoFrameExtract:
    """The frame of a reference video at this iteration's window start."""

    def execute(self, images, current_iteration, stride_seconds, source_fps):
        images = check_images(images)
        if not source_fps or source_fps <= 0:
            raise ValueError(f"source_fps must be > 0, got {source_fps!r}")
        if not stride_seconds or stride_seconds <= 0:
            raise ValueError("stride_seconds must be > 0 (wire AudioLoopController.stride_seconds), got "
                             f"{stride_seconds!r}")
        if current_iteration < 0:
            raise ValueError(f"current_iteration must be >= 0, got {current_iteration}")
        # source_fps is the reference video's rate, not the loop's: the loop's grid is checked at the default.
        check_stride("VideoFrameExtract", stride_seconds, None)
        wanted = int(current_iteration * stride_seconds * source_fps + 0.5)
        index = min(wanted, images.shape[0] - 1)
        if index != wanted:
            log.warning("VideoFrameExtract: frame %d is past the %d-frame reference; using its last frame",
                        wanted, images.shape[0])
        return (frame_at(images, index), index)


@comfy_node(NodeSpec(
    id="ImageBlend_AudioLoop",
    display_name="Image Blend (Audio Loop)",
    category=CATEGORY_SCHEDULE,
    description="(1 - blend_factor) x image_a + blend_factor x image_b; 0 and 1 pass the image through untouched.",
    inputs=(
        Socket("image_a", "IMAGE", tooltip="Current keyframe."),
        Socket("image_b", "IMAGE", tooltip="Keyframe it blends toward."),
        Float("blend_factor", default=0.0, min=0.0, max=1.0, step=0.01, tooltip="0 = all A, 1 = all B."),
    ),
    outputs=(Output("image", "IMAGE", "(1 - blend_factor) x image_a + blend_factor x image_b."),),
))
class ImageBlend_AudioLoop:
    """Linear blend of two images (pairs with KeyframeImageSchedule)."""

    def execute(self, image_a, image_b, blend_factor):
        return (blend_images(image_a, image_b, blend_factor),)


@comfy_node(NodeSpec(
    id="KeyframeClipPlan",
    display_name="Keyframe Clip Plan (first-last frame)",
    category=CATEGORY_SCHEDULE,
    description=(
        "First-last-frame walkthrough: for loop iteration i, keyframes i-1 and i, the clip's pixel frames "
        "(8k+1, nearest to clip_seconds) and the number of clips (keyframes - 1) for TensorLoopOpen. "
        "Trim 1 latent frame at the start of every clip after the first (TensorLoopClose overlap 'start', 1) "
        "so shared keyframes are not doubled."
    ),
    inputs=(
        Socket("images", "IMAGE", tooltip="All keyframes in order, as one batch (ImageBatch)."),
        current_iteration_input(1),
        Float("clip_seconds", default=8.0, min=0.1, max=600.0, step=0.04,
              tooltip="Seconds from one keyframe to the next."),
        fps_input("Frame rate of the video."),
    ),
    outputs=(
        Output("first_image", "IMAGE", "Keyframe i-1: the first frame of this clip."),
        Output("last_image", "IMAGE", "Keyframe i: the last frame of this clip."),
        Output("clip_frames", "INT", "Pixel frames of one clip (8k+1, nearest to clip_seconds)."),
        Output("clip_count", "INT", "Clips to render (keyframes - 1): wire to TensorLoopOpen's iteration count."),
        Output("clip_seconds", "FLOAT", "Seconds of one clip as rendered (clip_frames / fps)."),
        Output("total_frames", "INT", "Pixel frames of the joined walkthrough, shared keyframes counted once."),
    ),
))
class KeyframeClipPlan:
    """The pair of keyframes and the exact clip length for one iteration of a walkthrough loop."""

    def execute(self, images, current_iteration, clip_seconds, fps):
        from ..loop.keyframe_clips import clip_frames, keyframe_pair, walkthrough_frames

        first, last, count = keyframe_pair(images, current_iteration)
        frames = clip_frames(clip_seconds, fps)
        return (first, last, frames, count, (frames - 1) / fps, walkthrough_frames(count, frames))
