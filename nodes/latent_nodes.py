"""Latent hand-off nodes: context extract, overlap trim, crossfade, noise-mask stripping."""

from __future__ import annotations

from ..loop.geometry import DEFAULT_OVERLAP_LATENTS, DEFAULT_WINDOW_LATENTS
from ..loop.latents import crossfade_overlap, extract_context, join_loop_output, strip_noise_mask, trim_overlap
from ..loop.window_latent import freeze_audio, window_from_context
from .common import CATEGORY_LATENT, frame_count_input
from .spec import NodeSpec, Output, Socket, comfy_node


@comfy_node(NodeSpec(
    id="LatentContextExtract",
    display_name="Latent Context Extract",
    category=CATEGORY_LATENT,
    description="Tail of the previous video latent as the next window's context: a view, noise_mask removed.",
    inputs=(
        Socket("latent", "LATENT", tooltip="Previous pass's video latent (TensorLoopOpen.previous_value)."),
        frame_count_input("overlap_latent_frames", DEFAULT_OVERLAP_LATENTS, 1,
                          "Tail latent frames to keep: AudioLoopController.overlap_latent_frames."),
    ),
    outputs=(
        Output("context", "LATENT",
               "Tail of the previous video latent (a view, no noise_mask): the next window's context."),
    ),
))
class LatentContextExtract:
    """The last N latent frames of the previous pass, as context for the next (view, mask stripped)."""

    def execute(self, latent, overlap_latent_frames):
        return (extract_context(latent, overlap_latent_frames),)


@comfy_node(NodeSpec(
    id="LatentOverlapTrim",
    display_name="Latent Overlap Trim",
    category=CATEGORY_LATENT,
    description="Removes the first N latent frames (the context) from the sampler output; run it after LTXVCropGuides.",
    inputs=(
        Socket("latent", "LATENT", tooltip="Sampler output video latent, after LTXVCropGuides."),
        frame_count_input("overlap_latent_frames", DEFAULT_OVERLAP_LATENTS, 0,
                          "Leading latent frames to drop: AudioLoopController.overlap_latent_frames."),
    ),
    outputs=(
        Output("trimmed", "LATENT", "The sampler output without its context frames: this pass's new latent frames."),
    ),
))
class LatentOverlapTrim:
    """Drops the context frames from a sampler output, keeping only new content (view, mask stripped)."""

    def execute(self, latent, overlap_latent_frames):
        return (trim_overlap(latent, overlap_latent_frames),)


@comfy_node(NodeSpec(
    id="LatentOverlapCrossfade",
    display_name="Latent Overlap Crossfade",
    category=CATEGORY_LATENT,
    description=(
        "Blends the last M context latents of this pass with the last M latents of the previous pass "
        "(raised cosine), followed by the new frames. Use with TensorLoopClose overlap 'end' = M (and the "
        "initial render cut by M) so the video is exactly as long as with LatentOverlapTrim."
    ),
    inputs=(
        Socket("previous", "LATENT", tooltip="Previous pass's full video latent (TensorLoopOpen.previous_value)."),
        Socket("current", "LATENT", tooltip="This pass's sampler output, after LTXVCropGuides."),
        frame_count_input("overlap_latent_frames", DEFAULT_OVERLAP_LATENTS, 1,
                          "Context latent frames: AudioLoopController.overlap_latent_frames."),
        frame_count_input("crossfade_latent_frames", 3, 0,
                          "Latents to crossfade (at most overlap - 1); 0 = plain trim."),
    ),
    outputs=(
        Output("latent", "LATENT",
               "M blended latents (previous pass's tail crossfaded into this pass's context), then the new latents."),
        Output("end_trim_latent_frames", "INT",
               "Latent frames for TensorLoopClose overlap 'end' (and for cutting the initial render) so the length "
               "matches a plain trim."),
    ),
))
class LatentOverlapCrossfade:
    """Crossfades the context region with the previous pass instead of a hard cut; same total length."""

    def execute(self, previous, current, overlap_latent_frames, crossfade_latent_frames):
        out = crossfade_overlap(previous, current, overlap_latent_frames, crossfade_latent_frames)
        return (out, crossfade_latent_frames)


@comfy_node(NodeSpec(
    id="StripLatentNoiseMask",
    display_name="Strip Latent Noise Mask",
    category=CATEGORY_LATENT,
    description="Copy of the latent dict without noise_mask (samples shared, not copied).",
    inputs=(Socket("latent", "LATENT", tooltip="Any latent."),),
    outputs=(Output("latent", "LATENT", "The latent without noise_mask (samples shared, not copied)."),),
))
class StripLatentNoiseMask:
    """Removes noise_mask so the next mask node builds a fresh one."""

    def execute(self, latent):
        return (strip_noise_mask(latent),)


@comfy_node(NodeSpec(
    id="AudioLoopJoinLatents",
    display_name="Join Loop Latents (Audio Loop)",
    category=CATEGORY_LATENT,
    description=(
        "Joins the initial render and TensorLoopClose's output along time. With 0 iterations the loop returns "
        "the initial render itself, so it is passed through instead of doubled. Wire rendered_frames from "
        "AudioLoopPlanner to turn any geometry mis-wiring into a clear error instead of drifted video."
    ),
    inputs=(
        Socket("initial", "LATENT", tooltip="Video latent of the initial render (iteration 0)."),
        Socket("loop_output", "LATENT", tooltip="TensorLoopClose output (the accumulated, trimmed iterations)."),
        frame_count_input("total_iterations", 0, 0,
                          "AudioLoopPlanner.total_iterations (what the loop was told to run)."),
        frame_count_input("expected_frames", 0, 0, "AudioLoopPlanner.rendered_frames; 0 skips the length check.",
                          optional=True),
    ),
    outputs=(
        Output("latent", "LATENT",
               "Video latent of the whole render along time: the initial render, then each iteration's new latent "
               "frames."),
    ),
))
class AudioLoopJoinLatents:
    """Initial render + loop output as one video latent, correct also when the loop ran 0 iterations."""

    def execute(self, initial, loop_output, total_iterations, expected_frames=0):
        return (join_loop_output(initial, loop_output, total_iterations, expected_frames),)


@comfy_node(NodeSpec(
    id="AudioLoopWindowLatent",
    display_name="Window Latent from Context (Audio Loop)",
    category=CATEGORY_LATENT,
    description=(
        "Video latent for one loop iteration: the previous tail as kept context, then empty latent frames "
        "to generate, with a noise mask that switches exactly after the context."
    ),
    inputs=(
        Socket("context", "LATENT", tooltip="LatentContextExtract's context (tail of the previous pass)."),
        frame_count_input("window_latent_frames", DEFAULT_WINDOW_LATENTS, 2,
                          "Latent frames of the window: AudioLoopController.window_latent_frames."),
    ),
    outputs=(
        Output("window", "LATENT",
               "Window latent to sample: the context frames (kept, mask 0), then empty frames to generate (mask 1)."),
    ),
))
class AudioLoopWindowLatent:
    """The iteration's video window: the context, then empty frames to generate (mask 0 then 1)."""

    def execute(self, context, window_latent_frames):
        return (window_from_context(context, window_latent_frames),)


@comfy_node(NodeSpec(
    id="FreezeAudioLatent",
    display_name="Freeze Audio Latent",
    category=CATEGORY_LATENT,
    description="Sets a zero noise mask on an LTX-2 audio latent so the audio is kept and only video is generated.",
    inputs=(Socket("audio_latent", "LATENT", tooltip="LTXVAudioVAEEncode's output."),),
    outputs=(
        Output("audio_latent", "LATENT",
               "The audio latent with a zero noise mask: the sampler keeps the audio and generates only video."),
    ),
))
class FreezeAudioLatent:
    """Mark an audio latent as conditioning (noise_mask 0): the sampler keeps it and generates video."""

    def execute(self, audio_latent):
        return (freeze_audio(audio_latent),)
