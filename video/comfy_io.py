"""ComfyUI glue of the decode-and-save node: the VAE as a chunk decoder, output paths, UI result.

ComfyUI modules are imported inside the functions so the package imports without ComfyUI.
"""

from __future__ import annotations

import os
from typing import Callable

EXTENSIONS = {"mp4": "mp4", "mkv": "mkv"}


def vae_chunk_decoder(vae, spatial_tile_size: int = 0) -> Callable:
    """``decode(latent_slice)`` with ComfyUI's VAE: whole frames, or spatial tiles of ``spatial_tile_size`` pixels.

    Tiled decoding keeps the whole slice in one temporal tile (the chunking already bounds time)
    and overlaps tiles by a quarter of their size. ``VAE.decode`` itself falls back to tiles when
    the device runs out of memory.
    """
    if isinstance(spatial_tile_size, bool) or not isinstance(spatial_tile_size, int) or spatial_tile_size < 0:
        raise ValueError("spatial_tile_size must be 0 (whole frames) or a tile size in pixels, got "
                         f"{spatial_tile_size!r}")
    if spatial_tile_size == 0:
        return vae.decode
    compression = vae.spacial_compression_decode()
    tile = max(2, spatial_tile_size // compression)
    overlap = max(1, tile // 4)

    def decode(latent_slice):
        return vae.decode_tiled(latent_slice, tile_x=tile, tile_y=tile, overlap=overlap,
                                tile_t=int(latent_slice.shape[2]), overlap_t=1)

    return decode


def output_target(filename_prefix: str, container: str, width: int, height: int) -> tuple[str, str, str]:
    """``(absolute path, file name, subfolder)`` in ComfyUI's output folder, numbered like SaveVideo's files."""
    import folder_paths

    if not isinstance(filename_prefix, str) or not filename_prefix.strip():
        raise ValueError(f"filename_prefix must name the file, e.g. 'ltx-audioloop/video', got {filename_prefix!r}")
    folder, filename, counter, subfolder, _ = folder_paths.get_save_image_path(
        filename_prefix, folder_paths.get_output_directory(), width, height)
    name = f"{filename}_{counter:05}_.{EXTENSIONS[container]}"
    return os.path.join(folder, name), name, subfolder


def saved_metadata(prompt, extra_pnginfo) -> dict | None:
    """The graph ComfyUI stores in saved files (``prompt``, ``workflow``), unless metadata is disabled."""
    try:
        from comfy.cli_args import args

        if args.disable_metadata:
            return None
    except ImportError:
        pass
    metadata = dict(extra_pnginfo) if isinstance(extra_pnginfo, dict) else {}
    if prompt is not None:
        metadata["prompt"] = prompt
    return metadata or None


def progress_callback() -> Callable:
    """``on_chunk(chunk, total)``: stop when the user cancels, advance ComfyUI's progress bar."""
    state = {}

    def on_chunk(chunk, total):
        import comfy.model_management
        import comfy.utils

        comfy.model_management.throw_exception_if_processing_interrupted()
        if "bar" not in state:
            state["bar"] = comfy.utils.ProgressBar(total)
        state["bar"].update_absolute(chunk.index, total)

    return on_chunk


def video_output(path: str):
    """ComfyUI's VIDEO value backed by the written file (nothing decoded into memory)."""
    from comfy_api.latest import InputImpl

    return InputImpl.VideoFromFile(path)


def ui_result(name: str, subfolder: str) -> dict:
    """The ``ui`` dict SaveVideo returns, so the frontend shows the saved video on the node."""
    return {"images": [{"filename": name, "subfolder": subfolder, "type": "output"}], "animated": (True,)}
