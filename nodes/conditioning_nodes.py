"""Conditioning blend and the cached text encode."""

from __future__ import annotations

from ..loop.conditioning import blend_conditioning
from ..loop.text_cache import TextEncodeCache, encode_with_clip
from .common import CATEGORY_CONDITIONING
from .spec import Float, NodeSpec, Output, Socket, String, comfy_node


@comfy_node(NodeSpec(
    id="AudioLoopConditioningBlend",
    display_name="Conditioning Blend (Audio Loop)",
    category=CATEGORY_CONDITIONING,
    description=(
        "Blends two conditionings entry by entry: batch > 1, dtype kept, token lengths padded with the "
        "attention mask marking padding, guide metadata taken whole from the dominant side. Registered "
        "under its own id so it never collides with other packs' ConditioningBlend."
    ),
    inputs=(
        Socket("conditioning_a", "CONDITIONING", tooltip="Current prompt."),
        Socket("conditioning_b", "CONDITIONING", tooltip="Prompt to blend toward."),
        Float("blend_factor", default=0.0, min=0.0, max=1.0, step=0.01,
              tooltip="0 = all A, 1 = all B (TimestampPromptSchedule.blend_factor)."),
    ),
    outputs=(
        Output("conditioning", "CONDITIONING",
               "(1 - blend_factor) x A + blend_factor x B, entry by entry; A or B unchanged at 0 or 1."),
    ),
))
class AudioLoopConditioningBlend:
    """(1 - f) * A + f * B for every conditioning entry, batch-, dtype- and mask-safe."""

    def execute(self, conditioning_a, conditioning_b, blend_factor):
        return (blend_conditioning(conditioning_a, conditioning_b, blend_factor),)


@comfy_node(NodeSpec(
    id="CachedTextEncode_AudioLoop",
    display_name="Cached Text Encode",
    category=CATEGORY_CONDITIONING,
    description=(
        "Encodes text like CLIPTextEncode, reusing earlier results for the same encoder object and "
        "byte-identical text (at most 32 prompts kept, least recently used dropped). For loops prefer "
        "TimestampPromptScheduleBatchEncode, which keeps the encoder out of the loop entirely."
    ),
    inputs=(
        Socket("clip", "CLIP", tooltip="Text encoder."),
        String("text", default="", multiline=True, dynamic_prompts=True,
               tooltip="Prompt; identical text with the same encoder hits the cache."),
    ),
    outputs=(
        Output("conditioning", "CONDITIONING",
               "The prompt's conditioning (from the cache when the same encoder already encoded this text)."),
    ),
))
class CachedTextEncode_AudioLoop:
    """CLIPTextEncode with a bounded cache keyed by encoder identity and exact text."""

    cache = TextEncodeCache()
    """One bounded cache shared by all instances (see :class:`TextEncodeCache`)."""

    def execute(self, clip, text):
        if clip is None:
            raise ValueError("clip is missing: connect a text encoder")
        return (self.cache.get_or_encode(clip, text, lambda t: encode_with_clip(clip, t)),)
