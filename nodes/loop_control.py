"""AudioLoopController, AudioLoopPlanner and AudioDuration: loop geometry on the canvas."""

from __future__ import annotations

from ..audio.waveform import audio_duration, check_audio
from ..loop.geometry import (
    DEFAULT_FPS,
    DEFAULT_GEOMETRY,
    DEFAULT_OVERLAP_SECONDS,
    DEFAULT_WINDOW_SECONDS,
    geometry_from_stride,
    latents_to_frames,
    loop_geometry,
    plan_loop,
)
from ..loop.plan import build_render_plan
from .common import (
    CATEGORY_LOOP,
    MAX_SEED,
    blend_input,
    current_iteration_input,
    fps_input,
    image_to_tensor,
    schedule_validation,
    snap_input,
)


def _window_inputs() -> dict:
    return {
        "window_seconds": (
            "FLOAT",
            {"default": DEFAULT_WINDOW_SECONDS, "min": 0.01, "max": 3600.0, "step": 0.01,
             "tooltip": f"Length of one generation window in seconds ({DEFAULT_WINDOW_SECONDS:g} s = "
             f"{DEFAULT_GEOMETRY.window_frames} frames at {DEFAULT_FPS} fps). "
             "Rounded to the nearest 8k+1 frames."},
        ),
        "overlap_seconds": (
            "FLOAT",
            {"default": DEFAULT_OVERLAP_SECONDS, "min": 0.0, "max": 3600.0, "step": 0.01,
             "tooltip": "Target overlap in seconds; rounded to whole latent frames (8 frames each). "
             "The effective overlap and stride are on the outputs. 2-3 s is typical."},
        ),
    }


class AudioLoopController:
    """Per-iteration loop geometry: where this pass's audio starts, how long it is, when to stop."""

    DESCRIPTION = (
        "Loop geometry in whole latent frames: audio advances by exactly the video each iteration "
        "adds (no lip-sync drift), the last iteration renders only what the remaining audio needs, "
        "and the values stay valid on body runs past the last iteration (the native loop runs its body "
        "once even for 0 iterations)."
    )
    CATEGORY = CATEGORY_LOOP
    FUNCTION = "execute"
    RETURN_TYPES = ("FLOAT", "BOOLEAN", "FLOAT", "INT", "FLOAT", "INT", "INT", "FLOAT",
                    "INT", "FLOAT", "INT", "INT", "INT", "BOOLEAN")
    RETURN_NAMES = ("start_index", "should_stop", "audio_duration", "iteration_seed", "stride_seconds",
                    "overlap_frames", "overlap_latent_frames", "overlap_seconds",
                    "window_frames", "window_seconds", "window_latent_frames", "new_latent_frames",
                    "total_iterations", "is_final")
    OUTPUT_TOOLTIPS = (
        "Start of this pass's audio slice in seconds (TrimAudioDuration start_index).",
        "True on the last iteration: wire to TensorLoopClose stop.",
        "Audio length in seconds.",
        "(seed + current_iteration) mod 2^64: the sampler seed of this pass.",
        "Effective stride in seconds (a whole number of latent frames).",
        "Effective overlap in pixel frames (8k+1).",
        "Overlap in latent frames: context kept from the previous pass and trimmed after sampling.",
        "Effective overlap in seconds: where 'generate' masks start in the new window.",
        "Pixel frames to render in this pass (8k+1); the final pass is sized to the remaining audio.",
        "Seconds of this pass's window: the audio trim duration.",
        "Latent frames of this pass's window.",
        "Latent frames this pass adds after trimming its context.",
        "Loop iterations the track needs (wire to TensorLoopOpen's iteration count).",
        "True when this pass is the last one that adds video.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "current_iteration": current_iteration_input(1),
                **_window_inputs(),
                "audio": ("AUDIO", {"tooltip": "The whole track the video follows."}),
                "seed": ("INT", {"default": 0, "min": 0, "max": MAX_SEED,
                                 "tooltip": "Base seed; each pass uses seed + current_iteration. Keep its "
                                 "control_after_generate on 'fixed': 'randomize' makes every queue a new render."}),
                "fps": fps_input(),
            }
        }

    def execute(self, current_iteration, window_seconds, overlap_seconds, audio, seed, fps):
        geometry = loop_geometry(window_seconds, overlap_seconds, fps)
        plan = plan_loop(audio_duration(audio), geometry)
        window = plan.window(current_iteration)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise ValueError(f"seed must be a whole number in 0..2^64-1, got {seed!r}")
        iteration_seed = (seed + current_iteration) % (MAX_SEED + 1)
        # The context of this pass; only the body run of a 0-iteration loop has a shorter one.
        context_latents = window.context_latents or geometry.overlap_latents
        context_frames = latents_to_frames(context_latents)
        return (
            window.start_seconds, window.is_final, plan.audio_seconds, iteration_seed, geometry.stride_seconds,
            context_frames, context_latents, context_frames / geometry.fps,
            window.window_frames, window.window_seconds, window.window_latents, window.new_latents,
            plan.loop_iterations, window.is_final and not window.past_end,
        )


class AudioLoopPlanner:
    """The whole render at a glance: summary table, iteration count and a timeline picture."""

    DESCRIPTION = (
        "Plans the render of the track: every pass, its audio range, the prompt it runs after snapping, "
        "and total_iterations for TensorLoopOpen (equal to what AudioLoopController runs)."
    )
    CATEGORY = CATEGORY_LOOP
    FUNCTION = "execute"
    RETURN_TYPES = ("STRING", "INT", "FLOAT", "FLOAT", "IMAGE", "INT", "FLOAT", "INT")
    RETURN_NAMES = ("summary", "total_iterations", "stride_seconds", "audio_duration", "timeline",
                    "initial_window_frames", "initial_window_seconds", "rendered_frames")
    OUTPUT_TOOLTIPS = (
        "Text table of every pass.",
        "Loop iterations after the initial render: wire to TensorLoopOpen's iteration count.",
        "Effective stride in seconds.",
        "Audio length in seconds.",
        "Timeline picture: waveform, windows, overlaps, schedule sections (wire to PreviewImage).",
        "Frames of the initial render (8k+1): shorter than a window when the audio is.",
        "Seconds of the initial render: the first audio trim duration.",
        "Pixel frames of the whole video, or of the capped render with max_iterations "
        "(wire to AudioLoopJoinLatents.expected_frames).",
    )

    @classmethod
    def INPUT_TYPES(cls):
        # Only audio and window are required: AudioLoopHelper's planner API graphs carry
        # {audio, stride_seconds, window_seconds} and must validate. The widget order is unchanged.
        return {
            "required": {
                "audio": ("AUDIO", {"tooltip": "The whole track."}),
                "window_seconds": _window_inputs()["window_seconds"],
            },
            "optional": {
                "overlap_seconds": _window_inputs()["overlap_seconds"],
                "fps": fps_input(),
                "max_iterations": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": 100000,
                        "tooltip": "0 = as many as the audio needs; N > 0 caps the count (quick tests).",
                    },
                ),
                "schedule": (
                    "STRING",
                    {
                        "default": "",
                        "multiline": True,
                        "tooltip": "Optional prompt schedule: shows which prompt each pass runs.",
                    },
                ),
                "blend_seconds": blend_input(),
                "snap_boundaries": snap_input(),
                "stride_seconds": (
                    "FLOAT",
                    {
                        "default": 0.0,
                        "min": 0.0,
                        "max": 3600.0,
                        "step": 0.01,
                        "tooltip": "0 = derive the stride from overlap_seconds (the usual). "
                        "> 0: AudioLoopHelper's planner input, the effective stride in seconds; "
                        "it must be a whole number of latent frames and overrides overlap_seconds.",
                    },
                ),
            },
        }

    @classmethod
    def VALIDATE_INPUTS(cls, schedule=None):
        return True if not schedule or not str(schedule).strip() else schedule_validation(schedule)

    def execute(
        self,
        audio,
        window_seconds,
        overlap_seconds=DEFAULT_OVERLAP_SECONDS,
        fps=DEFAULT_FPS,
        max_iterations=0,
        schedule="",
        blend_seconds=0.0,
        snap_boundaries=True,
        stride_seconds=0.0,
    ):
        from ..pictures.timeline import render_timeline

        waveform, rate = check_audio(audio)
        if stride_seconds:
            geometry = geometry_from_stride(window_seconds, stride_seconds, fps)
        else:
            geometry = loop_geometry(window_seconds, overlap_seconds, fps)
        plan = build_render_plan(waveform.shape[-1] / rate, geometry, schedule, blend_seconds, snap_boundaries)
        total = plan.loop.loop_iterations
        summary = plan.summary()
        if max_iterations and max_iterations < total:
            summary += f"\nmax_iterations={max_iterations}: the loop stops early, the track is not fully rendered"
            total = max_iterations
        rendered_frames = sum(plan.loop.window(i).new_frames for i in range(total + 1))
        image = image_to_tensor(render_timeline(plan, waveform, rate))
        first = plan.loop.window(0)
        return (
            summary,
            total,
            geometry.stride_seconds,
            plan.loop.audio_seconds,
            image,
            first.window_frames,
            first.window_seconds,
            rendered_frames,
        )


class AudioDuration:
    """Duration, sample rate and sample count of an AUDIO value."""

    DESCRIPTION = "Duration in seconds (samples / sample rate), sample rate and sample count of the audio."
    CATEGORY = CATEGORY_LOOP
    FUNCTION = "execute"
    RETURN_TYPES = ("FLOAT", "INT", "INT")
    RETURN_NAMES = ("duration_seconds", "sample_rate", "total_samples")
    OUTPUT_TOOLTIPS = (
        "Audio length in seconds (samples / sample rate).",
        "Samples per second of the audio.",
        "Samples per channel.",
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"audio": ("AUDIO", {"tooltip": "Any AUDIO value."})}}

    def execute(self, audio):
        waveform, rate = check_audio(audio)
        return (waveform.shape[-1] / rate, rate, int(waveform.shape[-1]))
