"""Single-pass and keyframe workflows: ASMR text/image-to-video, first-last-frame walkthrough.

ASMR clips generate video and audio together (no input track): an empty audio latent the
sampler fills, decoded by the audio VAE and muxed with the frames. Lengths are ``8k + 1`` frames.

The walkthrough loops over consecutive keyframe pairs: each iteration puts keyframe ``i - 1`` in
place at frame 0 and guides the last frame with keyframe ``i``; ``KeyframeClipPlan`` sizes each
clip to the requested seconds and gives the clip count to ``TensorLoopOpen``; the loop close
trims one latent frame (= one pixel frame, the shared keyframe) from every clip after the first.
"""

from __future__ import annotations

from typing import Callable

from ....loop.geometry import DEFAULT_FPS
from ..graph import OutputRef, Workflow
from . import blocks

ASMR_PROMPT = (
    "A young woman with long dark hair in a cream knit sweater is whispering softly into the camera, close-up, "
    "static camera, soft window light, shallow depth of field. Audio: close intimate whispering, gentle "
    "breathing, soft fabric sounds, quiet room."
)
ASMR_NEGATIVE = blocks.NEGATIVE + ", camera movement, zoom, loud music, crowd, shouting"
ASMR_FRAMES = 241  # 9.6 s at 25 fps
WALKTHROUGH_PROMPT = (
    "A smooth continuous walk through a sunlit old house, rooms opening one into the next, natural light, "
    "steady forward motion"
)


StartFrame = Callable[[Workflow, blocks.Models, OutputRef], OutputRef]
"""Block that takes the empty video latent and returns the one to sample (in the Inputs group)."""


def no_start_image(wf: Workflow, models: blocks.Models, video: OutputRef) -> OutputRef:
    """Text to video: the empty latent as it is."""
    return video


def start_image(wf: Workflow, models: blocks.Models, video: OutputRef) -> OutputRef:
    """Image to video: the user's image in place at frame 0."""
    image = wf.add("LoadImage", title="Start image", image="asmr_start.png")
    guide = blocks.conditioning_image(wf, image["IMAGE"])
    placed = wf.add("LTXVImgToVideoInplace", title="Start image at frame 0", vae=models.vae, image=guide,
                    latent=video, strength=1.0, bypass=False)
    return placed["latent"]


def _asmr(wf: Workflow, *, start: StartFrame, prefix: str) -> Workflow:
    models = blocks.models(wf, negative_text=ASMR_NEGATIVE)
    with wf.group("Inputs", color="#2a9d8f"):
        wf.note(
            "**ASMR clip.** Describe the action and the sound in the prompt; keep the camera static and the "
            "framing close. The model generates the audio with the video. Length: 8k+1 frames.",
            title="How to use",
        )
        prompt = wf.add("CLIPTextEncode", title="Prompt (video and sound)", text=ASMR_PROMPT, clip=models.clip)
        conditioned = wf.add("LTXVConditioning", title="Frame rate", positive=prompt["CONDITIONING"],
                             negative=models.negative, frame_rate=float(DEFAULT_FPS))
        seed = wf.add("PrimitiveInt", title="seed", value=42)
        empty = wf.add("EmptyLTXVLatentVideo", title="Video latent", width=blocks.WIDTH, height=blocks.HEIGHT,
                       length=ASMR_FRAMES, batch_size=1)
        video = start(wf, models, empty["LATENT"])
        audio = wf.add("LTXVEmptyLatentAudio", title="Audio latent (generated)", frames_number=ASMR_FRAMES,
                       frame_rate=DEFAULT_FPS, batch_size=1, audio_vae=models.audio_vae)
    with wf.group("Sample", color="#f4a261"):
        sampler, sigmas = blocks.sampler_parts(wf)
        video_latent, audio_latent = blocks.sample_av(
            wf, model=models.model, positive=conditioned["positive"], negative=conditioned["negative"], video=video,
            audio=audio["Latent"], seed=seed["INT"], sampler=sampler, sigmas=sigmas, label="Clip")
        sound = wf.add("LTXVAudioVAEDecode", title="Decode audio", samples=audio_latent, audio_vae=models.audio_vae)
    blocks.decode_and_save(wf, vae=models.vae, latent=video_latent, audio=sound["Audio"], prefix=prefix)
    blocks.model_note(wf)
    return wf


def asmr_t2v(registry=None) -> Workflow:
    wf = Workflow("asmr-text-to-video", registry, title="ASMR clip from text, with sound",
                  description="One ASMR clip with generated sound from a prompt.")
    return _asmr(wf, start=no_start_image, prefix="ltx-audioloop/asmr-t2v")


def asmr_i2v(registry=None) -> Workflow:
    wf = Workflow("asmr-image-to-video", registry, title="ASMR clip from an image, with sound",
                  description="One ASMR clip with generated sound, starting from your image.")
    return _asmr(wf, start=start_image, prefix="ltx-audioloop/asmr-i2v")


def keyframe_walkthrough(registry=None) -> Workflow:
    wf = Workflow("keyframe-walkthrough-flf", registry, title="Keyframe walkthrough (first-last frame)",
                  description="A continuous video through N keyframes: one clip per consecutive pair, each exactly "
                              "the requested seconds, shared keyframes not repeated.")
    models = blocks.models(wf)
    with wf.group("Inputs", color="#2a9d8f"):
        wf.note(
            "**Walkthrough.** Put your keyframes in order into the image batch (add LoadImage + ImageBatch "
            "pairs for more). Each clip runs `clip_seconds` from one keyframe to the next; use a length whose "
            "frames are a multiple of 8 at your fps (8 s or 4.8 s at 25 fps) for exact timing.",
            title="How to use",
        )
        keyframes = blocks.image_batch(wf, [f"keyframe_{index}.png" for index in range(3)])
        prompt = wf.add("CLIPTextEncode", title="Prompt", text=WALKTHROUGH_PROMPT, clip=models.clip)
        conditioned = wf.add("LTXVConditioning", title="Frame rate", positive=prompt["CONDITIONING"],
                             negative=models.negative, frame_rate=float(DEFAULT_FPS))
        seed = wf.add("PrimitiveInt", title="seed", value=42)["INT"]
        sampler, sigmas = blocks.sampler_parts(wf)
        count = wf.add("KeyframeClipPlan", title="Clip count", images=keyframes, current_iteration=1,
                       clip_seconds=8.0, fps=DEFAULT_FPS)
    with wf.group("Loop: one clip per keyframe pair", color="#e76f51"):
        loop_open = wf.add("TensorLoopOpen", title="Loop open",
                           mode=("iterations", {"iterations": count["clip_count"]}))
        plan = wf.add("KeyframeClipPlan", title="This clip's keyframes and length", images=keyframes,
                      current_iteration=loop_open["current_iteration"], clip_seconds=8.0, fps=DEFAULT_FPS)
        first = blocks.conditioning_image(wf, plan["first_image"])
        last = blocks.conditioning_image(wf, plan["last_image"])
        empty = wf.add("EmptyLTXVLatentVideo", title="Clip latent", width=blocks.WIDTH, height=blocks.HEIGHT,
                       length=plan["clip_frames"], batch_size=1)
        placed = wf.add("LTXVImgToVideoInplace", title="First keyframe at frame 0", vae=models.vae, image=first,
                        latent=empty["LATENT"], strength=1.0, bypass=False)
        guided = wf.add("LTXVAddGuide", title="Last keyframe guides the last frame", positive=conditioned["positive"],
                        negative=conditioned["negative"], vae=models.vae, latent=placed["latent"], image=last,
                        frame_idx=-1, strength=1.0)
        audio = wf.add("LTXVEmptyLatentAudio", title="Audio latent (generated, discarded)",
                       frames_number=plan["clip_frames"], frame_rate=DEFAULT_FPS, batch_size=1,
                       audio_vae=models.audio_vae)
        video_latent, _ = blocks.sample_av(wf, model=models.model, positive=guided["positive"],
                                           negative=guided["negative"], video=guided["latent"],
                                           audio=audio["Latent"], seed=seed, sampler=sampler, sigmas=sigmas,
                                           label="Clip")
        cropped = wf.add("LTXVCropGuides", title="Remove the guide frame", positive=guided["positive"],
                         negative=guided["negative"], latent=video_latent)
        loop_close = wf.add("TensorLoopClose", title="Loop close (drop the shared first frame of later clips)",
                            flow_control=loop_open["flow_control"], processed=cropped["latent"], accumulate=True,
                            overlap=("start", {"overlap_frames": 1}))
    with wf.group("Output", color="#6d597a"):
        blocks.stream_to_file(wf, vae=models.vae, latent=loop_close["output"], audio=None,
                              prefix="ltx-audioloop/walkthrough")
    blocks.model_note(wf)
    return wf
