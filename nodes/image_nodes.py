"""Image-space loop hand-off nodes: context frames, overlap trim, join."""

from __future__ import annotations

from ..loop.geometry import DEFAULT_OVERLAP_FRAMES
from ..loop.image_handoff import image_context, image_trim, join_images
from .common import CATEGORY_IMAGE, frame_count_input
from .spec import NodeSpec, Output, Socket, comfy_node


@comfy_node(NodeSpec(
    id="ImageContextExtract",
    display_name="Image Context Extract",
    category=CATEGORY_IMAGE,
    description="Last overlap_frames frames of the previous window (a view), for VAEEncode as context.",
    inputs=(
        Socket("images", "IMAGE", tooltip="Previous window's frames (TensorLoopOpen.previous_value)."),
        frame_count_input("overlap_frames", DEFAULT_OVERLAP_FRAMES, 1,
                          "AudioLoopController.overlap_frames (8k+1 pixel frames)."),
    ),
    outputs=(
        Output("context", "IMAGE",
               "The last overlap_frames frames of the previous window (a view), to encode as context."),
    ),
))
class ImageContextExtract:
    """The last frames of the previous window, to re-encode as the next window's context."""

    def execute(self, images, overlap_frames):
        return (image_context(images, overlap_frames),)


@comfy_node(NodeSpec(
    id="ImageOverlapTrim",
    display_name="Image Overlap Trim",
    category=CATEGORY_IMAGE,
    description="Drops the first overlap_frames frames of a decoded window (a view): one stride of new frames remains.",
    inputs=(
        Socket("images", "IMAGE", tooltip="The decoded window."),
        frame_count_input("overlap_frames", DEFAULT_OVERLAP_FRAMES, 0, "AudioLoopController.overlap_frames."),
    ),
    outputs=(Output("images", "IMAGE", "The window without its first overlap_frames frames: this pass's new frames."),),
))
class ImageOverlapTrim:
    """A decoded window without the frames that re-render its context."""

    def execute(self, images, overlap_frames):
        return (image_trim(images, overlap_frames),)


@comfy_node(NodeSpec(
    id="AudioLoopJoinImages",
    display_name="Join Loop Images (Audio Loop)",
    category=CATEGORY_IMAGE,
    description=(
        "Joins pass 0 and the loop's frames; with 0 iterations returns pass 0 alone; checks the planned length."
    ),
    inputs=(
        Socket("initial", "IMAGE", tooltip="Decoded initial render (pass 0)."),
        Socket("loop_output", "IMAGE", tooltip="TensorLoopClose.output."),
        frame_count_input("total_iterations", 0, 0, "AudioLoopPlanner.total_iterations.", maximum=100000),
        frame_count_input("expected_frames", 0, 0, "AudioLoopPlanner.rendered_frames; 0 skips the check.",
                          maximum=100_000_000, optional=True),
    ),
    outputs=(
        Output("images", "IMAGE",
               "Every frame of the video in order: the initial render, then each iteration's new frames."),
    ),
))
class AudioLoopJoinImages:
    """Initial render's frames followed by the loop's, safe for a 0-iteration loop."""

    def execute(self, initial, loop_output, total_iterations, expected_frames=0):
        return (join_images(initial, loop_output, total_iterations, expected_frames),)
