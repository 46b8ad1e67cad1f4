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
"""

from __future__ import annotations

from ....loop.geometry import DEFAULT_FPS, DEFAULT_OVERLAP_SECONDS, DEFAULT_WINDOW_SECONDS
from ..graph import OutputRef, Workflow
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


def build(
    wf: Workflow,
    *,
    schedule: str = MUSIC_SCHEDULE,
    negative_text: str = blocks.NEGATIVE,
    section_keyframes: bool = False,
    image_space: bool = False,
    prefix: str = "ltx-audioloop/music-video",
    audio_file: str = "song.mp3",
    image_file: str = "reference.png",
) -> Workflow:
    """Fill ``wf`` with the audio-loop graph (see the module docstring for its shape)."""
    models = blocks.models(wf, negative_text=negative_text)

    with wf.group("Inputs", color="#2a9d8f"):
        wf.note(
            "**Inputs.** Load your track and a reference image. Write the schedule with one identical subject "
            "string in every entry, medium or close framing and a static camera (lip sync needs the mouth "
            "large and still). `ltx-audioloop analyze song.mp3` writes one for you, already on the loop grid.",
            title="How to use",
        )
        track = wf.add("LoadAudio", title="Track", audio=audio_file)
        audio = wf.add(blocks.PREPROCESS_NODE, title="Preprocess audio for lip sync", audio=track["AUDIO"])["AUDIO"]
        window = wf.add("PrimitiveFloat", title="window_seconds", value=DEFAULT_WINDOW_SECONDS)["FLOAT"]
        overlap = wf.add("PrimitiveFloat", title="overlap_seconds", value=DEFAULT_OVERLAP_SECONDS)["FLOAT"]
        fps = wf.add("PrimitiveInt", title="fps", value=DEFAULT_FPS)["INT"]
        seed = wf.add("PrimitiveInt", title="seed", value=42)["INT"]
        schedule_text = wf.add("PrimitiveStringMultiline", title="Prompt schedule", value=schedule)["STRING"]
        if section_keyframes:
            images = _keyframe_batch(wf, count=3, image_file=image_file)
        else:
            images = wf.add("LoadImage", title="Reference image", image=image_file)["IMAGE"]
        first_image = (
            images
            if not section_keyframes
            else wf.add("ImageFromBatch", title="Keyframe 0 (initial render)", image=images, batch_index=0, length=1)[
                "IMAGE"
            ]
        )
        guide_image = blocks.conditioning_image(wf, first_image)

    with wf.group("Plan and prompts", color="#e9c46a"):
        planner = wf.add(
            "AudioLoopPlanner",
            title="Plan: iterations, final window sized to the audio",
            audio=audio,
            window_seconds=window,
            overlap_seconds=overlap,
            fps=fps,
            max_iterations=0,
            schedule=schedule_text,
            blend_seconds=0.0,
            snap_boundaries=True,
        )
        wf.add("PreviewAny", title="Plan summary", source=planner["summary"])
        wf.add("PreviewImage", title="Timeline", images=planner["timeline"])
        prompts = wf.add(
            "TimestampPromptScheduleBatchEncode",
            title="Encode every prompt once (before the loop)",
            clip=models.clip,
            schedule=schedule_text,
            stride_seconds=planner["stride_seconds"],
            audio_duration=planner["audio_duration"],
            snap_boundaries=True,
            frame_rate=float(DEFAULT_FPS),
            blend_seconds=0.0,
        )
        sampler, sigmas = blocks.sampler_parts(wf)

    with wf.group("Initial render (pass 0)", color="#f4a261"):
        positive0 = wf.add(
            "ConditioningSelectByIteration",
            title="Prompt of pass 0",
            conditioning_list=prompts["conditioning_list"],
            current_iteration=0,
        )["conditioning"]
        empty = wf.add(
            "EmptyLTXVLatentVideo",
            title="First window, sized to the audio",
            width=blocks.WIDTH,
            height=blocks.HEIGHT,
            length=planner["initial_window_frames"],
            batch_size=1,
        )
        video0 = wf.add(
            "LTXVImgToVideoInplace",
            title="Reference image at frame 0",
            vae=models.vae,
            image=guide_image,
            latent=empty["LATENT"],
            strength=1.0,
            bypass=False,
        )["latent"]
        slice0 = wf.add(
            "TrimAudioDuration",
            title="Audio of pass 0",
            audio=audio,
            start_index=0.0,
            duration=planner["initial_window_seconds"],
        )
        encoded0 = wf.add(
            "LTXVAudioVAEEncode", title="Encode audio of pass 0", audio=slice0["AUDIO"], audio_vae=models.audio_vae
        )
        frozen0 = wf.add(
            "FreezeAudioLatent", title="Keep the audio (generate video only)", audio_latent=encoded0["Audio Latent"]
        )["audio_latent"]
        initial, _ = blocks.sample_av(
            wf,
            model=models.model,
            positive=positive0,
            negative=models.negative,
            video=video0,
            audio=frozen0,
            seed=seed,
            sampler=sampler,
            sigmas=sigmas,
            label="Pass 0",
        )
        initial_images = None
        if image_space:
            initial_images = blocks.tiled_decode(wf, vae=models.vae, latent=initial, title="Decode pass 0")

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
            mode=("iterations", {"iterations": planner["total_iterations"]}),
            initial_value=initial_images if image_space else initial,
        )
        iteration = loop_open["current_iteration"]
        controller = wf.add(
            "AudioLoopController",
            title="This iteration: audio start, seed, window",
            current_iteration=iteration,
            window_seconds=window,
            overlap_seconds=overlap,
            audio=audio,
            seed=seed,
            fps=fps,
        )
        positive = wf.add(
            "ConditioningSelectByIteration",
            title="Prompt of this iteration (pre-encoded)",
            conditioning_list=prompts["conditioning_list"],
            current_iteration=iteration,
        )["conditioning"]
        if image_space:
            tail = wf.add(
                "ImageContextExtract",
                title="Last frames of the previous window",
                images=loop_open["previous_value"],
                overlap_frames=controller["overlap_frames"],
            )
            context = wf.add("VAEEncode", title="Encode context frames", pixels=tail["context"], vae=models.vae)[
                "LATENT"
            ]
        else:
            context = wf.add(
                "LatentContextExtract",
                title="Tail of the previous window as context",
                latent=loop_open["previous_value"],
                overlap_latent_frames=controller["overlap_latent_frames"],
            )["context"]
        window_latent = wf.add(
            "AudioLoopWindowLatent",
            title="Context + frames to generate",
            context=context,
            window_latent_frames=controller["window_latent_frames"],
        )["window"]
        if section_keyframes:
            keyframe = wf.add(
                "KeyframeImageSchedule",
                title="Keyframe of this section",
                images=images,
                current_iteration=iteration,
                stride_seconds=controller["stride_seconds"],
                schedule=KEYFRAME_SCHEDULE,
                blend_seconds=0.0,
                snap_boundaries=True,
            )
            loop_guide_image = blocks.conditioning_image(wf, keyframe["image"])
        else:
            loop_guide_image = guide_image
        guided = wf.add(
            "LTXVAddGuide",
            title="Reference image guides the last frame",
            positive=positive,
            negative=models.negative,
            vae=models.vae,
            latent=window_latent,
            image=loop_guide_image,
            frame_idx=-1,
            strength=1.0,
        )
        audio_slice = wf.add(
            "TrimAudioDuration",
            title="Audio of this iteration",
            audio=audio,
            start_index=controller["start_index"],
            duration=controller["window_seconds"],
        )
        encoded = wf.add(
            "LTXVAudioVAEEncode",
            title="Encode audio of this iteration",
            audio=audio_slice["AUDIO"],
            audio_vae=models.audio_vae,
        )
        frozen = wf.add("FreezeAudioLatent", title="Keep the audio", audio_latent=encoded["Audio Latent"])[
            "audio_latent"
        ]
        sampled, _ = blocks.sample_av(
            wf,
            model=models.model,
            positive=guided["positive"],
            negative=guided["negative"],
            video=guided["latent"],
            audio=frozen,
            seed=controller["iteration_seed"],
            sampler=sampler,
            sigmas=sigmas,
            label="Iteration",
        )
        cropped = wf.add(
            "LTXVCropGuides",
            title="Remove the guide frame",
            positive=guided["positive"],
            negative=guided["negative"],
            latent=sampled,
        )
        if image_space:
            decoded = blocks.tiled_decode(wf, vae=models.vae, latent=cropped["latent"], title="Decode this window")
            new_part = wf.add(
                "ImageOverlapTrim",
                title="Drop the context frames",
                images=decoded,
                overlap_frames=controller["overlap_frames"],
            )["images"]
            wf.add(
                "TensorLoopClose",
                title="Loop close",
                flow_control=loop_open["flow_control"],
                processed=new_part,
                accumulate=True,
                overlap="disabled",
                stop=controller["should_stop"],
            )
        else:
            trimmed = wf.add(
                "LatentOverlapTrim",
                title="Drop the context frames",
                latent=cropped["latent"],
                overlap_latent_frames=controller["overlap_latent_frames"],
            )
            cleaned = wf.add(
                "IterationCleanup", title="Free memory, report VRAM", latent=trimmed["trimmed"], mode="always"
            )
            wf.add(
                "TensorLoopClose",
                title="Loop close",
                flow_control=loop_open["flow_control"],
                processed=cleaned["latent"],
                accumulate=True,
                overlap="disabled",
                stop=controller["should_stop"],
            )
    loop_close = wf.find("TensorLoopClose")[0]

    if image_space:
        with wf.group("Output", color="#6d597a"):
            wf.note(IMAGE_SPACE_MEMORY_NOTE, title="Memory: how long a track fits")
            joined = wf.add(
                "AudioLoopJoinImages",
                title="Pass 0 + loop",
                initial=initial_images,
                loop_output=loop_close["output"],
                total_iterations=planner["total_iterations"],
                expected_frames=planner["rendered_frames"],
            )
            video = wf.add(
                "CreateVideo",
                title="Video with the original audio",
                images=joined["images"],
                fps=float(DEFAULT_FPS),
                audio=track["AUDIO"],
            )
            wf.add("SaveVideo", title="Save", video=video["VIDEO"], filename_prefix=prefix, format="mp4", codec="h264")
        blocks.model_note(wf)
        return wf

    with wf.group("Output", color="#6d597a"):
        joined = wf.add(
            "AudioLoopJoinLatents",
            title="Pass 0 + loop",
            initial=initial,
            loop_output=loop_close["output"],
            total_iterations=planner["total_iterations"],
            expected_frames=planner["rendered_frames"],
        )
        blocks.stream_to_file(wf, vae=models.vae, latent=joined["latent"], audio=track["AUDIO"], prefix=prefix)
    blocks.model_note(wf)
    return wf


def _keyframe_batch(wf: Workflow, *, count: int, image_file: str) -> OutputRef:
    """``count`` LoadImage nodes batched in order (ImageBatch resizes later ones to the first)."""
    batch = wf.add("LoadImage", title="Keyframe 0", image=image_file)["IMAGE"]
    for index in range(1, count):
        other = wf.add("LoadImage", title=f"Keyframe {index}", image=image_file)["IMAGE"]
        batch = wf.add("ImageBatch", title=f"Batch keyframes 0..{index}", image1=batch, image2=other)["IMAGE"]
    return batch


def music_video_latent(registry=None) -> Workflow:
    wf = Workflow(
        "audio-loop-music-video-latent",
        registry,
        title="Music video from a song (latent loop)",
        description="A song of any length as one lip-synced LTX-2.3 video: the primary workflow.",
    )
    return build(wf)


def music_video_image(registry=None) -> Workflow:
    wf = Workflow(
        "audio-loop-music-video-image",
        registry,
        title="Music video from a song (image-space loop)",
        description="The music-video loop with a decode and re-encode per iteration: slower, lets you "
        "inspect or post-process every window's frames.",
    )
    return build(wf, image_space=True, prefix="ltx-audioloop/music-video-image")


def music_video_keyframes(registry=None) -> Workflow:
    wf = Workflow(
        "audio-loop-music-video-keyframes",
        registry,
        title="Music video with a keyframe per section",
        description="The music-video loop with a different reference image guiding each song section.",
    )
    return build(wf, section_keyframes=True, prefix="ltx-audioloop/music-video-keyframes")


def asmr_long_form(registry=None) -> Workflow:
    wf = Workflow(
        "asmr-long-form-loop",
        registry,
        title="ASMR long-form piece over a track",
        description="A recorded ASMR track of any length as one continuous close-up video.",
    )
    return build(
        wf, schedule=ASMR_SCHEDULE, negative_text=ASMR_NEGATIVE, prefix="ltx-audioloop/asmr-long", audio_file="asmr.wav"
    )
