"""The shipped workflows, each described once in Python (``scripts/build_workflows.py`` emits them)."""

from __future__ import annotations

from typing import Callable

from ..graph import Workflow
from ..registry import NodeRegistry
from .audio_loop import asmr_long_form, music_video_image, music_video_keyframes, music_video_latent
from .clips import asmr_i2v, asmr_t2v, keyframe_walkthrough

PRIMARY = "audio-loop-music-video-latent"

BUILDERS: dict[str, Callable[[NodeRegistry | None], Workflow]] = {
    "audio-loop-music-video-latent": music_video_latent,
    "audio-loop-music-video-image": music_video_image,
    "audio-loop-music-video-keyframes": music_video_keyframes,
    "keyframe-walkthrough-flf": keyframe_walkthrough,
    "asmr-text-to-video": asmr_t2v,
    "asmr-image-to-video": asmr_i2v,
    "asmr-long-form-loop": asmr_long_form,
}


def build(name: str, registry: NodeRegistry | None = None) -> Workflow:
    """The shipped workflow ``name`` (a ``ValueError`` lists the names when unknown)."""
    if name not in BUILDERS:
        raise ValueError(f"unknown workflow {name!r}; shipped workflows: {', '.join(BUILDERS)}")
    return BUILDERS[name](registry)
