"""The shipped workflows, each described once in Python (``scripts/build_workflows.py`` emits them)."""

from __future__ import annotations

from typing import Callable

from ..graph import Workflow
from ..registry import NodeRegistry
from .audio_loop import asmr_long_form, music_video_image, music_video_keyframes, music_video_latent
from .clips import asmr_i2v, asmr_t2v, keyframe_walkthrough

# File names are the titles: ComfyUI's template browser shows a custom-node template's file name
# (without .json) as its title and ``<name>.jpg`` as its thumbnail. No ':' or other characters a
# file system refuses; spaces and brackets are fine in the template URL.
PRIMARY = "Music video from a song (latent loop)"

BUILDERS: dict[str, Callable[[NodeRegistry | None], Workflow]] = {
    PRIMARY: music_video_latent,
    "Music video from a song (image-space loop)": music_video_image,
    "Music video with a keyframe per section": music_video_keyframes,
    "Keyframe walkthrough (first-last frame)": keyframe_walkthrough,
    "ASMR clip from text, with sound": asmr_t2v,
    "ASMR clip from an image, with sound": asmr_i2v,
    "ASMR long-form piece over a track": asmr_long_form,
}

# The names the workflows shipped under before (0.1.0 development): still accepted by build().
FORMER_NAMES = {
    "audio-loop-music-video-latent": PRIMARY,
    "audio-loop-music-video-image": "Music video from a song (image-space loop)",
    "audio-loop-music-video-keyframes": "Music video with a keyframe per section",
    "keyframe-walkthrough-flf": "Keyframe walkthrough (first-last frame)",
    "asmr-text-to-video": "ASMR clip from text, with sound",
    "asmr-image-to-video": "ASMR clip from an image, with sound",
    "asmr-long-form-loop": "ASMR long-form piece over a track",
}


def shipped_name(name: str) -> str | None:
    """The shipped workflow ``name`` refers to (its title, any case, or a former name), else None."""
    if name in BUILDERS:
        return name
    folded = {title.casefold(): title for title in BUILDERS}
    return folded.get(name.strip().casefold()) or FORMER_NAMES.get(name)


def build(name: str, registry: NodeRegistry | None = None) -> Workflow:
    """The shipped workflow ``name`` (a ``ValueError`` lists the names when unknown)."""
    title = shipped_name(name)
    if title is None:
        raise ValueError(f"unknown workflow {name!r}; shipped workflows: {', '.join(map(repr, BUILDERS))}")
    return BUILDERS[title](registry)
