"""AudioLoopSaveVideo: the loop's video latent decoded in chunks and streamed into a video file."""

from __future__ import annotations

from ..loop.geometry import DEFAULT_FPS
from ..video.chunks import DEFAULT_CHUNK_LATENT_FRAMES, DEFAULT_CONTEXT_LATENT_FRAMES
from ..video.writer import CODECS, CONTAINERS, PIXEL_FORMATS, PRESETS
from .common import CATEGORY_UTILITY
from .spec import Combo, Float, Int, NodeSpec, Output, Socket, String, comfy_node


@comfy_node(NodeSpec(
    id="AudioLoopSaveVideo",
    display_name="Decode and Save Video (bounded memory)",
    category=CATEGORY_UTILITY,
    description=(
        "Decode the loop's video latent in overlapping temporal chunks and stream the frames straight into an "
        "H.264/H.265 file with the original audio: memory stays flat however long the track. Saves in ComfyUI's "
        "output folder and shows the video like Save Video."
    ),
    output_node=True,
    inputs=(
        Socket("vae", "VAE", tooltip="The LTX-2 video VAE (the checkpoint's VAE output)."),
        Socket("latent", "LATENT", tooltip="The whole video latent: AudioLoopJoinLatents' output."),
        String("filename_prefix", default="ltx-audioloop/video",
               tooltip="File name prefix in ComfyUI's output folder; "
               "subfolders and %date:...% patterns work as in Save Video."),
        Float("fps", default=float(DEFAULT_FPS), min=1.0, max=240.0, step=1.0,
              tooltip="Frame rate of the video: the loop's fps."),
        Combo("codec", CODECS, default="h264",
              tooltip="h264 plays everywhere; h265 is about half the size at the same quality."),
        Int("crf", default=19, min=0, max=51, tooltip="Quality: lower is better and larger. 17-23 is typical."),
        Combo("pixel_format", PIXEL_FORMATS, default="yuv420p",
              tooltip="yuv420p plays everywhere; yuv444p keeps full colour detail; yuv420p10le for 10-bit."),
        Combo("container", CONTAINERS, default="mp4", tooltip="mp4 (previews in the browser) or mkv."),
        Combo("preset", PRESETS, default="medium",
              tooltip="Encoder speed/size trade-off; slower presets make smaller files."),
        Int("chunk_latent_frames", default=DEFAULT_CHUNK_LATENT_FRAMES, min=1, max=4096,
            tooltip="Latent frames kept per decode chunk (8 pixel frames each; 24 = 7.7 s at 25 fps). "
            "Memory grows with it, not with the track."),
        Int("context_latent_frames", default=DEFAULT_CONTEXT_LATENT_FRAMES, min=1, max=256,
            tooltip="Extra latent frames decoded on each side of a chunk and dropped, so chunk joins match a "
            "one-shot decode (6 matched it within rounding; 4 left small steps)."),
        Int("spatial_tile_size", default=0, min=0, max=4096, step=32,
            tooltip="0 decodes whole frames; a size in pixels (e.g. 512) "
            "decodes spatial tiles for large frames on small GPUs."),
        Socket("audio", "AUDIO", tooltip="The original track, muxed as AAC and cut at the video's end.", optional=True),
    ),
    hidden=(("prompt", "PROMPT"), ("extra_pnginfo", "EXTRA_PNGINFO")),
    outputs=(
        Output("video", "VIDEO",
               "The saved file as a VIDEO value (read from disk when used; nothing is held in memory)."),
        Output("file_path", "STRING", "Absolute path of the written video file."),
        Output("frame_count", "INT", "Pixel frames written: 8 x latent frames - 7."),
    ),
))
class AudioLoopSaveVideo:
    """Decodes a video latent chunk by chunk and writes it with its audio, in memory that does not grow with length.

    An ordinary cached output node: a re-queue with unchanged inputs shows the saved file again
    without decoding or encoding anything.
    """

    def execute(
        self,
        vae,
        latent,
        filename_prefix,
        fps,
        codec,
        crf,
        pixel_format,
        container,
        preset,
        chunk_latent_frames,
        context_latent_frames,
        spatial_tile_size,
        audio=None,
        prompt=None,
        extra_pnginfo=None,
    ):
        from ..video import comfy_io
        from ..video.save import check_latent, write_latent_video

        samples = check_latent(latent)
        decode = comfy_io.vae_chunk_decoder(vae, spatial_tile_size)
        scale = vae.spacial_compression_decode()
        path, name, subfolder = comfy_io.output_target(
            filename_prefix, container, int(samples.shape[-1]) * scale, int(samples.shape[-2]) * scale
        )
        report = write_latent_video(
            latent,
            decode,
            path,
            fps=fps,
            audio=audio,
            codec=codec,
            crf=crf,
            pixel_format=pixel_format,
            container=container,
            preset=preset,
            chunk_latent_frames=chunk_latent_frames,
            context_latent_frames=context_latent_frames,
            metadata=comfy_io.saved_metadata(prompt, extra_pnginfo),
            on_chunk=comfy_io.progress_callback(),
        )
        return {
            "ui": comfy_io.ui_result(name, subfolder),
            "result": (comfy_io.video_output(path), path, report["frames"]),
        }
