"""Latent hand-off nodes: context extract, overlap trim, crossfade, noise-mask stripping."""

from __future__ import annotations

from ..loop.geometry import DEFAULT_OVERLAP_LATENTS, DEFAULT_WINDOW_LATENTS
from ..loop.latents import crossfade_overlap, extract_context, join_loop_output, strip_noise_mask, trim_overlap
from ..loop.window_latent import freeze_audio, window_from_context
from .common import CATEGORY_LATENT


def _count_input(default: int, minimum: int, tooltip: str, maximum: int = 10_000_000) -> tuple:
    return ("INT", {"default": default, "min": minimum, "max": maximum, "tooltip": tooltip})


class LatentContextExtract:
    """The last N latent frames of the previous pass, as context for the next (view, mask stripped)."""

    DESCRIPTION = "Tail of the previous video latent as the next window's context: a view, noise_mask removed."
    CATEGORY = CATEGORY_LATENT
    FUNCTION = "execute"
    RETURN_TYPES = ("LATENT",)
    RETURN_NAMES = ("context",)
    OUTPUT_TOOLTIPS = (
        "Tail of the previous video latent (a view, no noise_mask): the next window's context.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "latent": ("LATENT", {"tooltip": "Previous pass's video latent (TensorLoopOpen.previous_value)."}),
                "overlap_latent_frames": _count_input(
                    DEFAULT_OVERLAP_LATENTS, 1, "Tail latent frames to keep: AudioLoopController.overlap_latent_frames."
                ),
            }
        }

    def execute(self, latent, overlap_latent_frames):
        return (extract_context(latent, overlap_latent_frames),)


class LatentOverlapTrim:
    """Drops the context frames from a sampler output, keeping only new content (view, mask stripped)."""

    DESCRIPTION = (
        "Removes the first N latent frames (the context) from the sampler output; run it after LTXVCropGuides."
    )
    CATEGORY = CATEGORY_LATENT
    FUNCTION = "execute"
    RETURN_TYPES = ("LATENT",)
    RETURN_NAMES = ("trimmed",)
    OUTPUT_TOOLTIPS = ("The sampler output without its context frames: this pass's new latent frames.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "latent": ("LATENT", {"tooltip": "Sampler output video latent, after LTXVCropGuides."}),
                "overlap_latent_frames": _count_input(
                    DEFAULT_OVERLAP_LATENTS,
                    0,
                    "Leading latent frames to drop: AudioLoopController.overlap_latent_frames.",
                ),
            }
        }

    def execute(self, latent, overlap_latent_frames):
        return (trim_overlap(latent, overlap_latent_frames),)


class LatentOverlapCrossfade:
    """Crossfades the context region with the previous pass instead of a hard cut; same total length."""

    DESCRIPTION = (
        "Blends the last M context latents of this pass with the last M latents of the previous pass "
        "(raised cosine), followed by the new frames. Use with TensorLoopClose overlap 'end' = M (and the "
        "initial render cut by M) so the video is exactly as long as with LatentOverlapTrim."
    )
    CATEGORY = CATEGORY_LATENT
    FUNCTION = "execute"
    RETURN_TYPES = ("LATENT", "INT")
    RETURN_NAMES = ("latent", "end_trim_latent_frames")
    OUTPUT_TOOLTIPS = (
        "M blended latents (previous pass's tail crossfaded into this pass's context), then the new latents.",
        "Latent frames for TensorLoopClose overlap 'end' (and for cutting the initial render) so the length "
        "matches a plain trim.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "previous": (
                    "LATENT",
                    {"tooltip": "Previous pass's full video latent (TensorLoopOpen.previous_value)."},
                ),
                "current": ("LATENT", {"tooltip": "This pass's sampler output, after LTXVCropGuides."}),
                "overlap_latent_frames": _count_input(
                    DEFAULT_OVERLAP_LATENTS, 1, "Context latent frames: AudioLoopController.overlap_latent_frames."
                ),
                "crossfade_latent_frames": _count_input(
                    3, 0, "Latents to crossfade (at most overlap - 1); 0 = plain trim."
                ),
            }
        }

    def execute(self, previous, current, overlap_latent_frames, crossfade_latent_frames):
        out = crossfade_overlap(previous, current, overlap_latent_frames, crossfade_latent_frames)
        return (out, crossfade_latent_frames)


class StripLatentNoiseMask:
    """Removes noise_mask so the next mask node builds a fresh one."""

    DESCRIPTION = "Copy of the latent dict without noise_mask (samples shared, not copied)."
    CATEGORY = CATEGORY_LATENT
    FUNCTION = "execute"
    RETURN_TYPES = ("LATENT",)
    RETURN_NAMES = ("latent",)
    OUTPUT_TOOLTIPS = ("The latent without noise_mask (samples shared, not copied).",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"latent": ("LATENT", {"tooltip": "Any latent."})}}

    def execute(self, latent):
        return (strip_noise_mask(latent),)


class AudioLoopJoinLatents:
    """Initial render + loop output as one video latent, correct also when the loop ran 0 iterations."""

    DESCRIPTION = (
        "Joins the initial render and TensorLoopClose's output along time. With 0 iterations the loop returns "
        "the initial render itself, so it is passed through instead of doubled. Wire rendered_frames from "
        "AudioLoopPlanner to turn any geometry mis-wiring into a clear error instead of drifted video."
    )
    CATEGORY = CATEGORY_LATENT
    FUNCTION = "execute"
    RETURN_TYPES = ("LATENT",)
    RETURN_NAMES = ("latent",)
    OUTPUT_TOOLTIPS = (
        "Video latent of the whole render along time: the initial render, then each iteration's new latent frames.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "initial": ("LATENT", {"tooltip": "Video latent of the initial render (iteration 0)."}),
                "loop_output": ("LATENT", {"tooltip": "TensorLoopClose output (the accumulated, trimmed iterations)."}),
                "total_iterations": _count_input(
                    0, 0, "AudioLoopPlanner.total_iterations (what the loop was told to run)."
                ),
            },
            "optional": {
                "expected_frames": _count_input(0, 0, "AudioLoopPlanner.rendered_frames; 0 skips the length check."),
            },
        }

    def execute(self, initial, loop_output, total_iterations, expected_frames=0):
        return (join_loop_output(initial, loop_output, total_iterations, expected_frames),)


class AudioLoopWindowLatent:
    """The iteration's video window: the context, then empty frames to generate (mask 0 then 1)."""

    DESCRIPTION = (
        "Video latent for one loop iteration: the previous tail as kept context, then empty latent frames "
        "to generate, with a noise mask that switches exactly after the context."
    )
    CATEGORY = CATEGORY_LATENT
    FUNCTION = "execute"
    RETURN_TYPES = ("LATENT",)
    RETURN_NAMES = ("window",)
    OUTPUT_TOOLTIPS = (
        "Window latent to sample: the context frames (kept, mask 0), then empty frames to generate (mask 1).",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "context": ("LATENT", {"tooltip": "LatentContextExtract's context (tail of the previous pass)."}),
                "window_latent_frames": _count_input(
                    DEFAULT_WINDOW_LATENTS, 2, "Latent frames of the window: AudioLoopController.window_latent_frames."
                ),
            }
        }

    def execute(self, context, window_latent_frames):
        return (window_from_context(context, window_latent_frames),)


class FreezeAudioLatent:
    """Mark an audio latent as conditioning (noise_mask 0): the sampler keeps it and generates video."""

    DESCRIPTION = "Sets a zero noise mask on an LTX-2 audio latent so the audio is kept and only video is generated."
    CATEGORY = CATEGORY_LATENT
    FUNCTION = "execute"
    RETURN_TYPES = ("LATENT",)
    RETURN_NAMES = ("audio_latent",)
    OUTPUT_TOOLTIPS = (
        "The audio latent with a zero noise mask: the sampler keeps the audio and generates only video.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"audio_latent": ("LATENT", {"tooltip": "LTXVAudioVAEEncode's output."})}}

    def execute(self, audio_latent):
        return (freeze_audio(audio_latent),)
