"""Rewrite an API-format workflow to run on the tiny test model on a CPU in seconds.

Only literal inputs change (links are never touched): model file names become the tiny files,
image/audio loaders read the test's inputs, literal frame sizes become ``width`` x ``height``, the
sampling schedule shrinks to two steps, and every save node writes under ``prefix``. A node type
this module does not know is left as it is.
"""
from __future__ import annotations

import copy
from pathlib import PurePosixPath

from . import tiny_sizes as sizes

SAVE_TYPES = frozenset({"SaveVideo", "SaveWEBM", "SaveImage", "SaveAudio", "SaveAudioMP3", "SaveAudioOpus",
                        "SaveAnimatedWEBP", "SaveAnimatedPNG", "SaveLatent"})
SIZE_TYPES = frozenset({"ImageScale", "EmptyLTXVLatentVideo", "ImageResizeKJv2", "ImageResizeKJ"})
STEP_TYPES = frozenset({"BasicScheduler", "LTXVScheduler", "KSampler", "KSamplerAdvanced"})
TWO_STEP_SIGMAS = "1.0, 0.725, 0.0"


def file_name(relative: str) -> str:
    """The name a loader node offers for a file under models/<folder>/."""
    return PurePosixPath(relative).name


def is_link(value) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)


def tinyize(graph: dict, *, image: str, audio: str, prefix: str, width: int = 128, height: int = 96,
            steps: int = 2) -> dict:
    """A rewritten deep copy of ``graph`` (see the module docstring)."""
    checkpoint = file_name(sizes.CHECKPOINT)
    literal_values = {
        "CheckpointLoaderSimple": {"ckpt_name": checkpoint},
        "LTXAVTextEncoderLoader": {"text_encoder": file_name(sizes.GEMMA_FILE), "ckpt_name": checkpoint},
        "LTXVAudioVAELoader": {"ckpt_name": checkpoint},
        "UNETLoader": {"unet_name": file_name(sizes.DIFFUSION_MODEL), "weight_dtype": "default"},
        "DualCLIPLoader": {"clip_name1": file_name(sizes.GEMMA_FILE), "clip_name2": file_name(sizes.PROJECTION_FILE)},
        "LoadImage": {"image": image},
        "LoadAudio": {"audio": audio},
        "ManualSigmas": {"sigmas": TWO_STEP_SIGMAS},
        "PathchSageAttentionKJ": {"sage_attention": "disabled"},
        "LTX2AttentionTunerPatch": {"triton_kernels": False},
    }
    out = copy.deepcopy(graph)
    for node in out.values():
        kind = node.get("class_type")
        inputs = node.setdefault("inputs", {})
        for name, value in literal_values.get(kind, {}).items():
            if name in inputs and not is_link(inputs[name]):
                inputs[name] = value
        if kind in ("VAELoader", "VAELoaderKJ") and not is_link(inputs.get("vae_name")):
            audio_vae = "audio" in str(inputs.get("vae_name", "")).lower()
            inputs["vae_name"] = file_name(sizes.AUDIO_VAE_FILE if audio_vae else sizes.VIDEO_VAE_FILE)
            if kind == "VAELoaderKJ" and "weight_dtype" in inputs:
                inputs["weight_dtype"] = "fp32"
        if kind in SIZE_TYPES:
            for name, value in (("width", width), ("height", height)):
                if name in inputs and not is_link(inputs[name]):
                    inputs[name] = value
        if kind in STEP_TYPES and "steps" in inputs and not is_link(inputs["steps"]):
            inputs["steps"] = steps
        if _writes_files(node):
            inputs["filename_prefix"] = prefix
    return out


def _writes_files(node: dict) -> bool:
    """ComfyUI's save nodes, and any other node that names its output files (this pack's
    ``AudioLoopSaveVideo``): a literal ``filename_prefix`` input."""
    inputs = node.get("inputs") or {}
    return node.get("class_type") in SAVE_TYPES or (
        "filename_prefix" in inputs and not is_link(inputs["filename_prefix"]))


def save_node_ids(graph: dict) -> set[str]:
    return {node_id for node_id, node in graph.items() if _writes_files(node)}


def with_prefix(graph: dict, prefix: str) -> dict:
    """A copy of ``graph`` whose save nodes write under ``prefix``; nothing else differs."""
    out = copy.deepcopy(graph)
    for node_id in save_node_ids(out):
        if "filename_prefix" in out[node_id]["inputs"]:
            out[node_id]["inputs"]["filename_prefix"] = prefix
    return out
