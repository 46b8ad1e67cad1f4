"""The audio-loop workflows: a whole track as one lip-synced video, window by window.

Shape of the graph (latent loop):

1. inputs: the track (preprocessed for lip sync), the reference image (resized to a 64-aligned
   size and re-compressed once by ``LTXVPreprocess``), the schedule text, window/overlap/fps/seed;
2. plan: ``AudioLoopPlanner`` gives the iteration count (wired into ``TensorLoopOpen``) and the
   first window's length, sized to the audio; the schedule is batch-encoded once, before the loop;
3. initial render (pass 0): image in place at frame 0, first audio slice frozen, CFG 1;
4. loop: ``AudioLoopController`` gives the audio start, seed and window sizes of the iteration;
   the previous tail becomes the kept context of the new window, the same preprocessed image
   guides the window's last frame, the guide is cropped after sampling, the overlap is trimmed;
5. output: pass 0 and the loop joined; ``AudioLoopSaveVideo`` decodes it in overlapping temporal
   chunks and streams the frames, with the original audio, into the file (memory flat in the
   track's length). The image-space variant holds every decoded frame by design; its note says
   how long a track fits in how much memory.

Each shipped variant is one :class:`AudioLoopVariant`: the stages above, the same for all, composed
with two parts chosen per variant: the *handoff* (what the loop carries from one window to the
next: latents, or decoded frames re-encoded each iteration) and the *guides* (one reference image
for every window, or a keyframe per song section).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ....loop.geometry import DEFAULT_FPS, DEFAULT_OVERLAP_SECONDS, DEFAULT_WINDOW_SECONDS
from ..graph import Node, OutputRef, Workflow
from ..registry import NodeRegistry
from . import blocks

MUSIC_SCHEDULE = """\
# One subject string in every entry, medium or close framing, static camera.
0:00-0:36: a woman with short red hair in a green jacket is singing, medium shot, static camera, warm stage light
0:36-1:12: a woman with short red hair in a green jacket is singing, close-up, static camera, warm stage light
1:12+: a woman with short red hair in a green jacket is singing, medium close-up, static camera, blue stage light
"""

KEYFRAME_SCHEDULE = """\
# Which keyframe image guides each part of the song (index into the image batch, 0-based).
0:00+: 0
0:54+: 1
1:48+: 2
"""

_ASMR_SUBJECT = "a young woman with long dark hair in a cream knit sweater"
_ASMR_LOOK = "static camera, soft window light"
ASMR_SCHEDULE = (
    "# Long-form ASMR over a recorded track: hands and face close, nothing moves but the action.\n"
    f"0:00-1:30: {_ASMR_SUBJECT} is whispering softly, close-up, {_ASMR_LOOK}\n"
    f"1:30-3:00: {_ASMR_SUBJECT} is tapping a wooden brush on a glass jar, close-up, {_ASMR_LOOK}\n"
    f"3:00+: {_ASMR_SUBJECT} is whispering softly, extreme close-up, {_ASMR_LOOK}\n"
)

IMAGE_SPACE_MEMORY_NOTE = (
    "**Memory.** This image-space loop keeps every decoded frame in RAM as float32 until the save: width x "
    "height x 12 bytes per frame, 25 frames a second. At 832x448 one copy is 4.5 MB per frame, 6.7 GB per minute "
    "of video, and the join and the save hold about three copies: plan on about 20 GB of RAM per minute "
    "(32 GB: about a minute and a half; 64 GB: about three minutes). For longer tracks use the latent loop "
    "(audio-loop-music-video-latent): its Decode and Save Video node streams the frames into the file in flat memory."
)

ASMR_NEGATIVE = blocks.NEGATIVE + ", camera movement, zoom, fast motion, loud, crowd"


# -- the parts a variant chooses -----------------------------------------------------------------


class Handoff(Protocol):
    """What the loop carries between windows, and how the result is joined and saved."""

    def carry(self, wf: Workflow, *, vae: OutputRef, latent: OutputRef) -> OutputRef:
        """Pass 0's video latent as the loop's initial value."""

    def context(self, wf: Workflow, *, vae: OutputRef, previous: OutputRef, controller: Node) -> OutputRef:
        """The previous window's tail, as a video latent, to keep at the start of the new window."""

    def new_part(self, wf: Workflow, *, vae: OutputRef, latent: OutputRef, controller: Node) -> OutputRef:
        """The sampled window (guide cropped) without its context: what the loop collects."""

    def output(self, wf: Workflow, *, vae: OutputRef, initial: OutputRef, loop_output: OutputRef, planner: Node,
               audio: OutputRef, prefix: str) -> None:
        """Pass 0 and the collected windows joined, with the original audio, into a file."""


class LatentHandoff:
    """The loop carries latents; one chunked decode streams the joined video into the file."""

    def carry(self, wf: Workflow, *, vae: OutputRef, latent: OutputRef) -> OutputRef:
        return latent

    def context(self, wf: Workflow, *, vae: OutputRef, previous: OutputRef, controller: Node) -> OutputRef:
        return wf.add(
            "LatentContextExtract",
            title="Tail of the previous window as context",
            latent=previous,
            overlap_latent_frames=controller["overlap_latent_frames"],
        )["context"]

    def new_part(self, wf: Workflow, *, vae: OutputRef, latent: OutputRef, controller: Node) -> OutputRef:
        trimmed = wf.add(
            "LatentOverlapTrim",
            title="Drop the context frames",
            latent=latent,
            overlap_latent_frames=controller["overlap_latent_frames"],
        )
        cleaned = wf.add("IterationCleanup", title="Free memory, report VRAM", latent=trimmed["trimmed"], mode="always")
        return cleaned["latent"]

    def output(self, wf: Workflow, *, vae: OutputRef, initial: OutputRef, loop_output: OutputRef, planner: Node,
               audio: OutputRef, prefix: str) -> None:
        joined = _join(wf, "AudioLoopJoinLatents", initial=initial, loop_output=loop_output, planner=planner)
        blocks.stream_to_file(wf, vae=vae, latent=joined["latent"], audio=audio, prefix=prefix)


class ImageSpaceHandoff:
    """The loop carries decoded frames: every window is decoded, its context re-encoded next time."""

    def carry(self, wf: Workflow, *, vae: OutputRef, latent: OutputRef) -> OutputRef:
        return blocks.tiled_decode(wf, vae=vae, latent=latent, title="Decode pass 0")

    def context(self, wf: Workflow, *, vae: OutputRef, previous: OutputRef, controller: Node) -> OutputRef:
        tail = wf.add(
            "ImageContextExtract",
            title="Last frames of the previous window",
            images=previous,
            overlap_frames=controller["overlap_frames"],
        )
        return wf.add("VAEEncode", title="Encode context frames", pixels=tail["context"], vae=vae)["LATENT"]

    def new_part(self, wf: Workflow, *, vae: OutputRef, latent: OutputRef, controller: Node) -> OutputRef:
        decoded = blocks.tiled_decode(wf, vae=vae, latent=latent, title="Decode this window")
        return wf.add(
            "ImageOverlapTrim",
            title="Drop the context frames",
            images=decoded,
            overlap_frames=controller["overlap_frames"],
        )["images"]

    def output(self, wf: Workflow, *, vae: OutputRef, initial: OutputRef, loop_output: OutputRef, planner: Node,
               audio: OutputRef, prefix: str) -> None:
        wf.note(IMAGE_SPACE_MEMORY_NOTE, title="Memory: how long a track fits")
        joined = _join(wf, "AudioLoopJoinImages", initial=initial, loop_output=loop_output, planner=planner)
        blocks.save_video(wf, images=joined["images"], audio=audio, prefix=prefix)


def _join(wf: Workflow, class_type: str, *, initial: OutputRef, loop_output: OutputRef, planner: Node) -> Node:
    return wf.add(
        class_type,
        title="Pass 0 + loop",
        initial=initial,
        loop_output=loop_output,
        total_iterations=planner["total_iterations"],
        expected_frames=planner["rendered_frames"],
    )


@dataclass(frozen=True)
class GuideImages:
    """The loaded guide images: all of them, and pass 0's, resized and re-compressed."""

    batch: OutputRef
    initial: OutputRef


class Guides(Protocol):
    """Which image guides each window's last frame."""

    def load(self, wf: Workflow, *, image_file: str) -> GuideImages:
        """The image inputs, and the conditioning image of pass 0."""

    def for_iteration(self, wf: Workflow, images: GuideImages, *, iteration: OutputRef, controller: Node) -> OutputRef:
        """The conditioning image of the loop's current iteration."""


class ReferenceImage:
    """One reference image guides every window."""

    def load(self, wf: Workflow, *, image_file: str) -> GuideImages:
        image = wf.add("LoadImage", title="Reference image", image=image_file)["IMAGE"]
        return GuideImages(image, blocks.conditioning_image(wf, image))

    def for_iteration(self, wf: Workflow, images: GuideImages, *, iteration: OutputRef, controller: Node) -> OutputRef:
        return images.initial


@dataclass(frozen=True)
class SectionKeyframes:
    """A batch of keyframes; ``schedule`` says which one guides each part of the song."""

    count: int = 3
    schedule: str = KEYFRAME_SCHEDULE

    def load(self, wf: Workflow, *, image_file: str) -> GuideImages:
        batch = blocks.image_batch(wf, [image_file] * self.count)
        first = wf.add("ImageFromBatch", title="Keyframe 0 (initial render)", image=batch, batch_index=0, length=1)
        return GuideImages(batch, blocks.conditioning_image(wf, first["IMAGE"]))

    def for_iteration(self, wf: Workflow, images: GuideImages, *, iteration: OutputRef, controller: Node) -> OutputRef:
        keyframe = wf.add(
            "KeyframeImageSchedule",
            title="Keyframe of this section",
            images=images.batch,
            current_iteration=iteration,
            stride_seconds=controller["stride_seconds"],
            schedule=self.schedule,
            blend_seconds=0.0,
            snap_boundaries=True,
        )
        return blocks.conditioning_image(wf, keyframe["image"])


# -- the stages every variant shares -------------------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    """The Inputs group's outputs."""

    track: OutputRef
    """The track as loaded (what the saved video carries)."""
    audio: OutputRef
    """The track preprocessed for lip sync (what the model hears)."""
    window: OutputRef
    overlap: OutputRef
    fps: OutputRef
    seed: OutputRef
    schedule: OutputRef
    guides: GuideImages


@dataclass(frozen=True)
class Plan:
    """The planner, the batch-encoded prompts, and the sampler settings every pass uses."""

    planner: Node
    prompts: Node
    sampler: OutputRef
    sigmas: OutputRef


def _inputs(wf: Workflow, variant: AudioLoopVariant) -> Inputs:
    """Track, loop geometry, seed, prompt schedule and the variant's guide images."""
    with wf.group("Inputs", color="#2a9d8f"):
        wf.note(
            "**Inputs.** Load your track and a reference image. Write the schedule with one identical subject "
            "string in every entry, medium or close framing and a static camera (lip sync needs the mouth "
            "large and still). `ltx-audioloop analyze song.mp3` writes one for you, already on the loop grid.",
            title="How to use",
        )
        track = wf.add("LoadAudio", title="Track", audio=variant.audio_file)
        audio = wf.add(blocks.PREPROCESS_NODE, title="Preprocess audio for lip sync", audio=track["AUDIO"])
        window = wf.add("PrimitiveFloat", title="window_seconds", value=DEFAULT_WINDOW_SECONDS)
        overlap = wf.add("PrimitiveFloat", title="overlap_seconds", value=DEFAULT_OVERLAP_SECONDS)
        fps = wf.add("PrimitiveInt", title="fps", value=DEFAULT_FPS)
        seed = wf.add("PrimitiveInt", title="seed", value=42)
        schedule = wf.add("PrimitiveStringMultiline", title="Prompt schedule", value=variant.schedule)
        guides = variant.guides.load(wf, image_file=variant.image_file)
    return Inputs(track["AUDIO"], audio["AUDIO"], window["FLOAT"], overlap["FLOAT"], fps["INT"], seed["INT"],
                  schedule["STRING"], guides)


def _plan(wf: Workflow, models: blocks.Models, inputs: Inputs) -> Plan:
    """Iterations and window sizes from the audio; every prompt encoded once, before the loop."""
    with wf.group("Plan and prompts", color="#e9c46a"):
        planner = wf.add(
            "AudioLoopPlanner",
            title="Plan: iterations, final window sized to the audio",
            audio=inputs.audio,
            window_seconds=inputs.window,
            overlap_seconds=inputs.overlap,
            fps=inputs.fps,
            max_iterations=0,
            schedule=inputs.schedule,
            blend_seconds=0.0,
            snap_boundaries=True,
        )
        wf.add("PreviewAny", title="Plan summary", source=planner["summary"])
        wf.add("PreviewImage", title="Timeline", images=planner["timeline"])
        prompts = wf.add(
            "TimestampPromptScheduleBatchEncode",
            title="Encode every prompt once (before the loop)",
            clip=models.clip,
            schedule=inputs.schedule,
            stride_seconds=planner["stride_seconds"],
            audio_duration=planner["audio_duration"],
            snap_boundaries=True,
            frame_rate=float(DEFAULT_FPS),
            blend_seconds=0.0,
        )
        sampler, sigmas = blocks.sampler_parts(wf)
    return Plan(planner, prompts, sampler, sigmas)


def _initial_render(wf: Workflow, models: blocks.Models, inputs: Inputs, plan: Plan, handoff: Handoff) -> OutputRef:
    """Pass 0, in the form the loop carries (the handoff's)."""
    with wf.group("Initial render (pass 0)", color="#f4a261"):
        positive = wf.add(
            "ConditioningSelectByIteration",
            title="Prompt of pass 0",
            conditioning_list=plan.prompts["conditioning_list"],
            current_iteration=0,
        )
        empty = wf.add(
            "EmptyLTXVLatentVideo",
            title="First window, sized to the audio",
            width=blocks.WIDTH,
            height=blocks.HEIGHT,
            length=plan.planner["initial_window_frames"],
            batch_size=1,
        )
        placed = wf.add(
            "LTXVImgToVideoInplace",
            title="Reference image at frame 0",
            vae=models.vae,
            image=inputs.guides.initial,
            latent=empty["LATENT"],
            strength=1.0,
            bypass=False,
        )
        audio_slice = wf.add(
            "TrimAudioDuration",
            title="Audio of pass 0",
            audio=inputs.audio,
            start_index=0.0,
            duration=plan.planner["initial_window_seconds"],
        )
        encoded = wf.add(
            "LTXVAudioVAEEncode", title="Encode audio of pass 0", audio=audio_slice["AUDIO"], audio_vae=models.audio_vae
        )
        frozen = wf.add(
            "FreezeAudioLatent", title="Keep the audio (generate video only)", audio_latent=encoded["Audio Latent"]
        )
        latent, _ = blocks.sample_av(
            wf,
            model=models.model,
            positive=positive["conditioning"],
            negative=models.negative,
            video=placed["latent"],
            audio=frozen["audio_latent"],
            seed=inputs.seed,
            sampler=plan.sampler,
            sigmas=plan.sigmas,
            label="Pass 0",
        )
        return handoff.carry(wf, vae=models.vae, latent=latent)


def _loop(wf: Workflow, variant: AudioLoopVariant, models: blocks.Models, inputs: Inputs, plan: Plan,
          initial: OutputRef) -> Node:
    """The loop over windows; returns its ``TensorLoopClose``."""
    with wf.group("Loop: one window per iteration", color="#e76f51"):
        wf.note(
            "**Loop.** Runs `total_iterations` times (wired from the planner). Each iteration keeps the tail of "
            "the previous window as context, samples the next slice of the track with the prompt scheduled "
            "for it, crops the guide frame and trims the context before the result is collected. Nothing in "
            "here loads a model or encodes text.",
            title="What happens in the loop",
        )
        loop_open = wf.add(
            "TensorLoopOpen",
            title="Loop open",
            mode=("iterations", {"iterations": plan.planner["total_iterations"]}),
            initial_value=initial,
        )
        iteration = loop_open["current_iteration"]
        controller = wf.add(
            "AudioLoopController",
            title="This iteration: audio start, seed, window",
            current_iteration=iteration,
            window_seconds=inputs.window,
            overlap_seconds=inputs.overlap,
            audio=inputs.audio,
            seed=inputs.seed,
            fps=inputs.fps,
        )
        positive = wf.add(
            "ConditioningSelectByIteration",
            title="Prompt of this iteration (pre-encoded)",
            conditioning_list=plan.prompts["conditioning_list"],
            current_iteration=iteration,
        )
        context = variant.handoff.context(wf, vae=models.vae, previous=loop_open["previous_value"],
                                          controller=controller)
        window = wf.add(
            "AudioLoopWindowLatent",
            title="Context + frames to generate",
            context=context,
            window_latent_frames=controller["window_latent_frames"],
        )
        guide_image = variant.guides.for_iteration(wf, inputs.guides, iteration=iteration, controller=controller)
        guided = wf.add(
            "LTXVAddGuide",
            title="Reference image guides the last frame",
            positive=positive["conditioning"],
            negative=models.negative,
            vae=models.vae,
            latent=window["window"],
            image=guide_image,
            frame_idx=-1,
            strength=1.0,
        )
        audio_slice = wf.add(
            "TrimAudioDuration",
            title="Audio of this iteration",
            audio=inputs.audio,
            start_index=controller["start_index"],
            duration=controller["window_seconds"],
        )
        encoded = wf.add(
            "LTXVAudioVAEEncode",
            title="Encode audio of this iteration",
            audio=audio_slice["AUDIO"],
            audio_vae=models.audio_vae,
        )
        frozen = wf.add("FreezeAudioLatent", title="Keep the audio", audio_latent=encoded["Audio Latent"])
        sampled, _ = blocks.sample_av(
            wf,
            model=models.model,
            positive=guided["positive"],
            negative=guided["negative"],
            video=guided["latent"],
            audio=frozen["audio_latent"],
            seed=controller["iteration_seed"],
            sampler=plan.sampler,
            sigmas=plan.sigmas,
            label="Iteration",
        )
        cropped = wf.add(
            "LTXVCropGuides",
            title="Remove the guide frame",
            positive=guided["positive"],
            negative=guided["negative"],
            latent=sampled,
        )
        new_part = variant.handoff.new_part(wf, vae=models.vae, latent=cropped["latent"], controller=controller)
        return wf.add(
            "TensorLoopClose",
            title="Loop close",
            flow_control=loop_open["flow_control"],
            processed=new_part,
            accumulate=True,
            overlap="disabled",
            stop=controller["should_stop"],
        )


# -- the variants --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AudioLoopVariant:
    """One shipped audio-loop workflow: the shared stages composed with its handoff and guides."""

    name: str
    title: str
    description: str
    handoff: Handoff
    guides: Guides
    prefix: str
    schedule: str = MUSIC_SCHEDULE
    negative_text: str = blocks.NEGATIVE
    audio_file: str = "song.mp3"
    image_file: str = "reference.png"

    def build(self, registry: NodeRegistry | None = None) -> Workflow:
        """The workflow: models, inputs, plan, pass 0, the loop, the joined output (module docstring)."""
        wf = Workflow(self.name, registry, title=self.title, description=self.description)
        models = blocks.models(wf, negative_text=self.negative_text)
        inputs = _inputs(wf, self)
        plan = _plan(wf, models, inputs)
        initial = _initial_render(wf, models, inputs, plan, self.handoff)
        loop_close = _loop(wf, self, models, inputs, plan, initial)
        with wf.group("Output", color="#6d597a"):
            self.handoff.output(wf, vae=models.vae, initial=initial, loop_output=loop_close["output"],
                                planner=plan.planner, audio=inputs.track, prefix=self.prefix)
        blocks.model_note(wf)
        return wf


MUSIC_VIDEO_LATENT = AudioLoopVariant(
    "audio-loop-music-video-latent",
    title="Music video from a song (latent loop)",
    description="A song of any length as one lip-synced LTX-2.3 video: the primary workflow.",
    handoff=LatentHandoff(),
    guides=ReferenceImage(),
    prefix="ltx-audioloop/music-video",
)
MUSIC_VIDEO_IMAGE = AudioLoopVariant(
    "audio-loop-music-video-image",
    title="Music video from a song (image-space loop)",
    description="The music-video loop with a decode and re-encode per iteration: slower, lets you "
    "inspect or post-process every window's frames.",
    handoff=ImageSpaceHandoff(),
    guides=ReferenceImage(),
    prefix="ltx-audioloop/music-video-image",
)
MUSIC_VIDEO_KEYFRAMES = AudioLoopVariant(
    "audio-loop-music-video-keyframes",
    title="Music video with a keyframe per section",
    description="The music-video loop with a different reference image guiding each song section.",
    handoff=LatentHandoff(),
    guides=SectionKeyframes(),
    prefix="ltx-audioloop/music-video-keyframes",
)
ASMR_LONG_FORM = AudioLoopVariant(
    "asmr-long-form-loop",
    title="ASMR long-form piece over a track",
    description="A recorded ASMR track of any length as one continuous close-up video.",
    handoff=LatentHandoff(),
    guides=ReferenceImage(),
    prefix="ltx-audioloop/asmr-long",
    schedule=ASMR_SCHEDULE,
    negative_text=ASMR_NEGATIVE,
    audio_file="asmr.wav",
)
VARIANTS = (MUSIC_VIDEO_LATENT, MUSIC_VIDEO_IMAGE, MUSIC_VIDEO_KEYFRAMES, ASMR_LONG_FORM)
"""Every shipped audio-loop workflow (the library lists them under their titles)."""

music_video_latent = MUSIC_VIDEO_LATENT.build
music_video_image = MUSIC_VIDEO_IMAGE.build
music_video_keyframes = MUSIC_VIDEO_KEYFRAMES.build
asmr_long_form = ASMR_LONG_FORM.build
