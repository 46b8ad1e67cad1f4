"""Conditioning blend and the cached text encode."""

from __future__ import annotations

from ..loop.conditioning import blend_conditioning
from ..loop.text_cache import TextEncodeCache, encode_with_clip
from .common import CATEGORY_CONDITIONING


class AudioLoopConditioningBlend:
    """(1 - f) * A + f * B for every conditioning entry, batch-, dtype- and mask-safe."""

    DESCRIPTION = (
        "Blends two conditionings entry by entry: batch > 1, dtype kept, token lengths padded with the "
        "attention mask marking padding, guide metadata taken whole from the dominant side. Registered "
        "under its own id so it never collides with other packs' ConditioningBlend."
    )
    CATEGORY = CATEGORY_CONDITIONING
    FUNCTION = "execute"
    RETURN_TYPES = ("CONDITIONING",)
    RETURN_NAMES = ("conditioning",)
    OUTPUT_TOOLTIPS = (
        '(1 - blend_factor) x A + blend_factor x B, entry by entry; A or B unchanged at 0 or 1.',
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "conditioning_a": ("CONDITIONING", {"tooltip": "Current prompt."}),
                "conditioning_b": ("CONDITIONING", {"tooltip": "Prompt to blend toward."}),
                "blend_factor": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 1.0, "step": 0.01,
                                           "tooltip": "0 = all A, 1 = all B (TimestampPromptSchedule.blend_factor)."}),
            }
        }

    def execute(self, conditioning_a, conditioning_b, blend_factor):
        return (blend_conditioning(conditioning_a, conditioning_b, blend_factor),)


class CachedTextEncode_AudioLoop:
    """CLIPTextEncode with a bounded cache keyed by encoder identity and exact text."""

    DESCRIPTION = (
        "Encodes text like CLIPTextEncode, reusing earlier results for the same encoder object and "
        "byte-identical text (at most 32 prompts kept, least recently used dropped). For loops prefer "
        "TimestampPromptScheduleBatchEncode, which keeps the encoder out of the loop entirely."
    )
    CATEGORY = CATEGORY_CONDITIONING
    FUNCTION = "execute"
    RETURN_TYPES = ("CONDITIONING",)
    RETURN_NAMES = ("conditioning",)
    OUTPUT_TOOLTIPS = (
        "The prompt's conditioning (from the cache when the same encoder already encoded this text).",
    )

    cache = TextEncodeCache()
    """One bounded cache shared by all instances (see :class:`TextEncodeCache`)."""

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "clip": ("CLIP", {"tooltip": "Text encoder."}),
                "text": ("STRING", {"default": "", "multiline": True, "dynamicPrompts": True,
                                    "tooltip": "Prompt; identical text with the same encoder hits the cache."}),
            }
        }

    def execute(self, clip, text):
        if clip is None:
            raise ValueError("clip is missing: connect a text encoder")
        return (self.cache.get_or_encode(clip, text, lambda t: encode_with_clip(clip, t)),)
