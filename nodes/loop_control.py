"""AudioLoopController, AudioLoopPlanner and AudioDuration: loop geometry on the canvas."""

from __future__ import annotations

from ..audio.waveform import audio_duration, check_audio
from ..loop.geometry import (
    DEFAULT_FPS,
    DEFAULT_OVERLAP_SECONDS,
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
    overlap_seconds_input,
    schedule_validation,
    snap_input,
    window_seconds_input,
)
from .spec import Float, Int, NodeSpec, Output, Socket, String, comfy_node


@comfy_node(NodeSpec(
    id="AudioLoopController",
    display_name="Audio Loop Controller",
    category=CATEGORY_LOOP,
    description=(
        "Loop geometry in whole latent frames: audio advances by exactly the video each iteration "
        "adds (no lip-sync drift), the last iteration renders only what the remaining audio needs, "
        "and the values stay valid on body runs past the last iteration (the native loop runs its body "
        "once even for 0 iterations)."
    ),
    inputs=(
        current_iteration_input(1),
        window_seconds_input(),
        overlap_seconds_input(),
        Socket("audio", "AUDIO", tooltip="The whole track the video follows."),
        Int("seed", default=0, min=0, max=MAX_SEED,
            tooltip="Base seed; each pass uses seed + current_iteration. Keep its "
            "control_after_generate on 'fixed': 'randomize' makes every queue a new render."),
        fps_input(),
    ),
    outputs=(
        Output("start_index", "FLOAT", "Start of this pass's audio slice in seconds (TrimAudioDuration start_index)."),
        Output("should_stop", "BOOLEAN", "True on the last iteration: wire to TensorLoopClose stop."),
        Output("audio_duration", "FLOAT", "Audio length in seconds."),
        Output("iteration_seed", "INT", "(seed + current_iteration) mod 2^64: the sampler seed of this pass."),
        Output("stride_seconds", "FLOAT", "Effective stride in seconds (a whole number of latent frames)."),
        Output("overlap_frames", "INT", "Effective overlap in pixel frames (8k+1)."),
        Output("overlap_latent_frames", "INT",
               "Overlap in latent frames: context kept from the previous pass and trimmed after sampling."),
        Output("overlap_seconds", "FLOAT",
               "Effective overlap in seconds: where 'generate' masks start in the new window."),
        Output("window_frames", "INT",
               "Pixel frames to render in this pass (8k+1); the final pass is sized to the remaining audio."),
        Output("window_seconds", "FLOAT", "Seconds of this pass's window: the audio trim duration."),
        Output("window_latent_frames", "INT", "Latent frames of this pass's window."),
        Output("new_latent_frames", "INT", "Latent frames this pass adds after trimming its context."),
        Output("total_iterations", "INT",
               "Loop iterations the track needs (wire to TensorLoopOpen's iteration count)."),
        Output("is_final", "BOOLEAN", "True when this pass is the last one that adds video."),
    ),
))
class AudioLoopController:
    """Per-iteration loop geometry: where this pass's audio starts, how long it is, when to stop."""

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


# Only audio and window are required: AudioLoopHelper's planner API graphs carry
# {audio, stride_seconds, window_seconds} and must validate. The widget order is unchanged.
@comfy_node(NodeSpec(
    id="AudioLoopPlanner",
    display_name="Audio Loop Planner",
    category=CATEGORY_LOOP,
    description=(
        "Plans the render of the track: every pass, its audio range, the prompt it runs after snapping, "
        "and total_iterations for TensorLoopOpen (equal to what AudioLoopController runs)."
    ),
    inputs=(
        Socket("audio", "AUDIO", tooltip="The whole track."),
        window_seconds_input(),
        overlap_seconds_input(optional=True),
        fps_input(optional=True),
        Int("max_iterations", default=0, min=0, max=100000, optional=True,
            tooltip="0 = as many as the audio needs; N > 0 caps the count (quick tests)."),
        String("schedule", default="", multiline=True, optional=True,
               tooltip="Optional prompt schedule: shows which prompt each pass runs."),
        blend_input(optional=True),
        snap_input(optional=True),
        Float("stride_seconds", default=0.0, min=0.0, max=3600.0, step=0.01, optional=True,
              tooltip="0 = derive the stride from overlap_seconds (the usual). "
              "> 0: AudioLoopHelper's planner input, the effective stride in seconds; "
              "it must be a whole number of latent frames and overrides overlap_seconds."),
    ),
    outputs=(
        Output("summary", "STRING", "Text table of every pass."),
        Output("total_iterations", "INT",
               "Loop iterations after the initial render: wire to TensorLoopOpen's iteration count."),
        Output("stride_seconds", "FLOAT", "Effective stride in seconds."),
        Output("audio_duration", "FLOAT", "Audio length in seconds."),
        Output("timeline", "IMAGE",
               "Timeline picture: waveform, windows, overlaps, schedule sections (wire to PreviewImage)."),
        Output("initial_window_frames", "INT",
               "Frames of the initial render (8k+1): shorter than a window when the audio is."),
        Output("initial_window_seconds", "FLOAT", "Seconds of the initial render: the first audio trim duration."),
        Output("rendered_frames", "INT",
               "Pixel frames of the whole video, or of the capped render with max_iterations "
               "(wire to AudioLoopJoinLatents.expected_frames)."),
    ),
))
class AudioLoopPlanner:
    """The whole render at a glance: summary table, iteration count and a timeline picture."""

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


@comfy_node(NodeSpec(
    id="AudioDuration",
    display_name="Audio Duration",
    category=CATEGORY_LOOP,
    description="Duration in seconds (samples / sample rate), sample rate and sample count of the audio.",
    inputs=(Socket("audio", "AUDIO", tooltip="Any AUDIO value."),),
    outputs=(
        Output("duration_seconds", "FLOAT", "Audio length in seconds (samples / sample rate)."),
        Output("sample_rate", "INT", "Samples per second of the audio."),
        Output("total_samples", "INT", "Samples per channel."),
    ),
))
class AudioDuration:
    """Duration, sample rate and sample count of an AUDIO value."""

    def execute(self, audio):
        waveform, rate = check_audio(audio)
        return (waveform.shape[-1] / rate, rate, int(waveform.shape[-1]))
