"""Building blocks shared by the shipped workflows: models, inputs, sampling, output.

Every block takes the :class:`~..graph.Workflow` and the outputs it needs and returns the
outputs it makes, so the workflows read like the pipeline they are. Defaults follow the
LTX-2.3 distilled recipe: CFG 1, ``euler``, the 8-step distilled sigmas, conditioning images
re-compressed at CRF 18, 64-aligned resolution, one spatially tiled decode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ....loop.geometry import DEFAULT_FPS
from ....video.chunks import DEFAULT_CHUNK_LATENT_FRAMES, DEFAULT_CONTEXT_LATENT_FRAMES
from ..graph import Node, OutputRef, Workflow

# The files of ComfyUI's own LTX-2.3 templates (comfyui-workflow-templates, video_ltx2_3_flf2v: the
# distilled recipe these workflows follow), so a user who ran those already has them.
CHECKPOINT = "ltx-2.3-22b-distilled-fp8.safetensors"
TEXT_ENCODER = "gemma_3_12B_it_fp4_mixed.safetensors"
# Download size of the two files, as ComfyUI's template index states it for video_ltx2_3_flf2v (bytes).
MODEL_FILES_BYTES = 38_976_828_211
DISTILLED_SIGMAS = "1.0, 0.99375, 0.9875, 0.98125, 0.975, 0.909375, 0.725, 0.421875, 0.0"
CONDITIONING_CRF = 18
WIDTH, HEIGHT = 832, 448

NAG_NODE = "AudioLoopLTX2NAG"
SAGE_NODE = "AudioLoopHelperSageAttention"
PREPROCESS_NODE = "AudioPreprocessForLTX"

NEGATIVE = (
    "still image with no motion, subtitles, text, watermark, deformed face, deformed hands, extra limbs, "
    "extra fingers, duplicate character, twin, clone, microphone"
)

MODEL_LINKS = {
    CHECKPOINT: ("checkpoints", "https://huggingface.co/Lightricks/LTX-2.3-fp8/resolve/main/ltx-2.3-22b-distilled-fp8.safetensors"),
    TEXT_ENCODER: ("text_encoders",
                   "https://huggingface.co/Comfy-Org/ltx-2/resolve/main/split_files/text_encoders/gemma_3_12B_it_fp4_mixed.safetensors"),
}
# ComfyUI-LTXVideo provides LTXVTiledVAEDecode; it fails to import with kornia 0.9.
LTXVIDEO_PACK = "ComfyUI-LTXVideo"
KORNIA_PIN = "kornia==0.8.2"


def _models_property(*names: str) -> dict:
    """The canvas ``properties.models`` entries (name, URL, folder) the frontend offers to download."""
    return {"models": [{"name": n, "url": MODEL_LINKS[n][1], "directory": MODEL_LINKS[n][0]} for n in names]}


def model_files_note(needs_ltxvideo: bool = True) -> str:
    """Markdown of the note in every workflow: files, folders, download size, VRAM, required packs."""
    gib = MODEL_FILES_BYTES / 2**30
    lines = ["**Model files** (the same as ComfyUI's own LTX-2.3 templates: if you ran those, you have them)", ""]
    for name, (folder, url) in MODEL_LINKS.items():
        lines.append(f"- `models/{folder}/{name}` ([download]({url}))")
    lines += [
        "",
        f"Download: {gib:.1f} GiB for both. VRAM: ComfyUI loads the Gemma text encoder and the 22B "
        "model in turn and offloads what does not fit, so a 24-32 GB card should do (an estimate, not yet "
        "timed on a GPU). ComfyUI's template index lists the same file set at "
        f"{gib:.1f} GiB of VRAM for a card that keeps everything resident.",
        "",
    ]
    if needs_ltxvideo:
        lines.append(f"**Custom nodes:** ltx-audioloop, and {LTXVIDEO_PACK} for the tiled decoder "
                     f"(`LTXVTiledVAEDecode`). {LTXVIDEO_PACK} fails to import with kornia 0.9: "
                     f"`pip install \"{KORNIA_PIN}\"` in ComfyUI's environment.")
    else:
        lines.append("**Custom nodes:** ltx-audioloop only.")
    return "\n".join(lines)


def model_note(wf: Workflow) -> None:
    """The "Model files and VRAM" note, in the Models group (added last so node ids stay put)."""
    with wf.group("Models", color="#355070"):
        wf.note(model_files_note(needs_ltxvideo=bool(wf.find("LTXVTiledVAEDecode"))), title="Model files and VRAM")


@dataclass
class Models:
    model: OutputRef
    vae: OutputRef
    audio_vae: OutputRef
    clip: OutputRef
    negative: OutputRef


def models(wf: Workflow, *, nag: bool = True, sage: bool = True, negative_text: str = NEGATIVE) -> Models:
    """Checkpoint, Gemma text encoder, audio VAE, the negative prompt, NAG and attention routing."""
    with wf.group("Models", color="#355070"):
        checkpoint = wf.add("CheckpointLoaderSimple", title="LTX-2.3 distilled checkpoint (fp8)", ckpt_name=CHECKPOINT,
                            properties=_models_property(CHECKPOINT))
        text_encoder = wf.add("LTXAVTextEncoderLoader", title="Gemma 3 text encoder", text_encoder=TEXT_ENCODER,
                              ckpt_name=CHECKPOINT, device="default",
                              properties=_models_property(TEXT_ENCODER, CHECKPOINT))
        audio_vae = wf.add("LTXVAudioVAELoader", title="Audio VAE", ckpt_name=CHECKPOINT,
                           properties=_models_property(CHECKPOINT))
        negative = wf.add(
            "CLIPTextEncode", title="Negative prompt (NAG)", text=negative_text, clip=text_encoder["CLIP"]
        )
        model = checkpoint["MODEL"]
        if nag:
            model = wf.add(
                NAG_NODE, title="NAG (negative prompt at CFG 1)", model=model, negative=negative["CONDITIONING"]
            )["model"]
        if sage:
            model = wf.add(
                SAGE_NODE, title="Attention: SageAttention, mask-aware", model=model, mode="auto_mask_aware"
            )["model"]
    return Models(model, checkpoint["VAE"], audio_vae["Audio VAE"], text_encoder["CLIP"], negative["CONDITIONING"])


def conditioning_image(wf: Workflow, image: OutputRef, *, width: int = WIDTH, height: int = HEIGHT) -> OutputRef:
    """Resize (crop to fill) to a 64-aligned size, then LTX's CRF re-compression: one output for every pass."""
    scaled = wf.add(
        "ImageScale",
        title=f"Resize to {width}x{height}",
        image=image,
        upscale_method="lanczos",
        width=width,
        height=height,
        crop="center",
    )
    return wf.add(
        "LTXVPreprocess",
        title=f"LTXV Preprocess (CRF {CONDITIONING_CRF})",
        image=scaled["IMAGE"],
        img_compression=CONDITIONING_CRF,
    )["output_image"]


def sampler_parts(wf: Workflow) -> tuple[OutputRef, OutputRef]:
    """``euler`` and the 8-step distilled sigmas."""
    sampler = wf.add("KSamplerSelect", title="Sampler: euler (not ancestral)", sampler_name="euler")
    sigmas = wf.add("ManualSigmas", title="Distilled sigmas (8 steps)", sigmas=DISTILLED_SIGMAS)
    return sampler["SAMPLER"], sigmas["SIGMAS"]


def sample_av(
    wf: Workflow,
    *,
    model: OutputRef,
    positive: OutputRef,
    negative: OutputRef,
    video: OutputRef,
    audio: OutputRef,
    seed: OutputRef | int,
    sampler: OutputRef,
    sigmas: OutputRef,
    label: str,
) -> tuple[OutputRef, OutputRef]:
    """One audio+video sampler pass at CFG 1; returns the (video, audio) latents."""
    av = wf.add("LTXVConcatAVLatent", title=f"{label}: audio+video latent", video_latent=video, audio_latent=audio)
    guider = wf.add(
        "CFGGuider", title=f"{label}: guider (CFG 1)", model=model, positive=positive, negative=negative, cfg=1.0
    )
    noise = wf.add("RandomNoise", title=f"{label}: noise", noise_seed=seed)
    sampled = wf.add(
        "SamplerCustomAdvanced",
        title=f"{label}: sample",
        noise=noise["NOISE"],
        guider=guider["GUIDER"],
        sampler=sampler,
        sigmas=sigmas,
        latent_image=av["LATENT"],
    )
    split = wf.add("LTXVSeparateAVLatent", title=f"{label}: split", av_latent=sampled["output"])
    return split["video_latent"], split["audio_latent"]


DECODE_CHUNK_LATENT_FRAMES = DEFAULT_CHUNK_LATENT_FRAMES
DECODE_CONTEXT_LATENT_FRAMES = DEFAULT_CONTEXT_LATENT_FRAMES
VIDEO_CRF = 19


def stream_to_file(
    wf: Workflow, *, vae: OutputRef, latent: OutputRef, audio: OutputRef | None, prefix: str, fps: float = DEFAULT_FPS
) -> OutputRef:
    """Decode in overlapping temporal chunks and stream into an H.264 file: memory flat in the track's length."""
    inputs = {"audio": audio} if audio is not None else {}
    writer = wf.add(
        "AudioLoopSaveVideo",
        title="Decode in chunks and save (flat memory)",
        vae=vae,
        latent=latent,
        filename_prefix=prefix,
        fps=float(fps),
        codec="h264",
        crf=VIDEO_CRF,
        pixel_format="yuv420p",
        container="mp4",
        preset="medium",
        chunk_latent_frames=DECODE_CHUNK_LATENT_FRAMES,
        context_latent_frames=DECODE_CONTEXT_LATENT_FRAMES,
        spatial_tile_size=0,
        **inputs,
    )
    return writer["video"]


def tiled_decode(wf: Workflow, *, vae: OutputRef, latent: OutputRef, title: str) -> OutputRef:
    """``LTXVTiledVAEDecode`` with 2x2 spatial tiles and no temporal tiles (no decoder seams inside a
    window); returns its IMAGE output."""
    return wf.add(
        "LTXVTiledVAEDecode",
        title=title,
        vae=vae,
        latents=latent,
        horizontal_tiles=2,
        vertical_tiles=2,
        overlap=1,
        last_frame_fix=True,
        working_device="auto",
        working_dtype="auto",
    )["image"]


def save_video(
    wf: Workflow, *, images: OutputRef, audio: OutputRef | None, prefix: str, fps: float = DEFAULT_FPS
) -> Node:
    """Mux decoded frames (and the audio, when given) and save an H.264 mp4; returns the SaveVideo node.
    Every frame is in memory at once: for long videos use :func:`stream_to_file`."""
    audio_input = {"audio": audio} if audio is not None else {}
    video = wf.add(
        "CreateVideo",
        title="Video with the original audio" if audio is not None else "Video",
        images=images,
        fps=float(fps),
        **audio_input,
    )
    return wf.add("SaveVideo", title="Save", video=video["VIDEO"], filename_prefix=prefix, format="mp4", codec="h264")


def decode_and_save(
    wf: Workflow, *, vae: OutputRef, latent: OutputRef, audio: OutputRef | None, prefix: str, fps: float = DEFAULT_FPS
) -> Node:
    """One spatially tiled decode (no temporal tiles, so no decoder seams), then mux and save."""
    with wf.group("Output", color="#6d597a"):
        images = tiled_decode(wf, vae=vae, latent=latent, title="Decode once (spatial tiles only)")
        return save_video(wf, images=images, audio=audio, prefix=prefix, fps=fps)


def image_batch(wf: Workflow, files: Sequence[str]) -> OutputRef:
    """One ``LoadImage`` per file ("Keyframe <i>"), batched in order by ``ImageBatch`` nodes (which
    resize later images to the first); returns the batch of ``len(files)`` images."""
    if not files:
        raise ValueError("image_batch needs at least one image file, got none; pass the keyframe file names")
    batch = wf.add("LoadImage", title="Keyframe 0", image=files[0])["IMAGE"]
    for index, name in enumerate(files[1:], start=1):
        other = wf.add("LoadImage", title=f"Keyframe {index}", image=name)["IMAGE"]
        batch = wf.add("ImageBatch", title=f"Batch keyframes 0..{index}", image1=batch, image2=other)["IMAGE"]
    return batch
