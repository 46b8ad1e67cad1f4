"""Image-space loop hand-off nodes: context frames, overlap trim, join."""

from __future__ import annotations

from ..loop.geometry import DEFAULT_OVERLAP_FRAMES
from ..loop.image_handoff import image_context, image_trim, join_images
from .common import CATEGORY_LATENT


def _frames_input(default: int, minimum: int, tooltip: str) -> tuple:
    return ("INT", {"default": default, "min": minimum, "max": 10_000_000, "tooltip": tooltip})


class ImageContextExtract:
    """The last frames of the previous window, to re-encode as the next window's context."""

    DESCRIPTION = "Last overlap_frames frames of the previous window (a view), for VAEEncode as context."
    CATEGORY = CATEGORY_LATENT
    FUNCTION = "execute"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("context",)
    OUTPUT_TOOLTIPS = (
        'The last overlap_frames frames of the previous window (a view), to encode as context.',
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "images": ("IMAGE", {"tooltip": "Previous window's frames (TensorLoopOpen.previous_value)."}),
                "overlap_frames": _frames_input(
                    DEFAULT_OVERLAP_FRAMES, 1, "AudioLoopController.overlap_frames (8k+1 pixel frames)."
                ),
            }
        }

    def execute(self, images, overlap_frames):
        return (image_context(images, overlap_frames),)


class ImageOverlapTrim:
    """A decoded window without the frames that re-render its context."""

    DESCRIPTION = (
        "Drops the first overlap_frames frames of a decoded window (a view): one stride of new frames remains."
    )
    CATEGORY = CATEGORY_LATENT
    FUNCTION = "execute"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("images",)
    OUTPUT_TOOLTIPS = ("The window without its first overlap_frames frames: this pass's new frames.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "images": ("IMAGE", {"tooltip": "The decoded window."}),
                "overlap_frames": _frames_input(DEFAULT_OVERLAP_FRAMES, 0, "AudioLoopController.overlap_frames."),
            }
        }

    def execute(self, images, overlap_frames):
        return (image_trim(images, overlap_frames),)


class AudioLoopJoinImages:
    """Initial render's frames followed by the loop's, safe for a 0-iteration loop."""

    DESCRIPTION = (
        "Joins pass 0 and the loop's frames; with 0 iterations returns pass 0 alone; checks the planned length."
    )
    CATEGORY = CATEGORY_LATENT
    FUNCTION = "execute"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("images",)
    OUTPUT_TOOLTIPS = ("Every frame of the video in order: the initial render, then each iteration's new frames.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "initial": ("IMAGE", {"tooltip": "Decoded initial render (pass 0)."}),
                "loop_output": ("IMAGE", {"tooltip": "TensorLoopClose.output."}),
                "total_iterations": (
                    "INT",
                    {"default": 0, "min": 0, "max": 100000, "tooltip": "AudioLoopPlanner.total_iterations."},
                ),
            },
            "optional": {
                "expected_frames": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": 100_000_000,
                        "tooltip": "AudioLoopPlanner.rendered_frames; 0 skips the check.",
                    },
                ),
            },
        }

    def execute(self, initial, loop_output, total_iterations, expected_frames=0):
        return (join_images(initial, loop_output, total_iterations, expected_frames),)
