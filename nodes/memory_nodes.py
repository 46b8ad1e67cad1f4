"""IterationCleanup and PurgeVRAM: allocator hygiene and the stale-model guard."""

from __future__ import annotations

from ..loop.memory import CLEANUP_MODES, purge_comfy_memory, run_cleanup
from .common import CATEGORY_UTILITY


class IterationCleanup:
    """LATENT pass-through that collects garbage and empties the CUDA cache, reporting memory."""

    DESCRIPTION = (
        "Pass-through that runs gc and empties the CUDA caching allocator at the end of each iteration, "
        "and reports allocated/reserved/peak VRAM so creep across iterations shows in the log."
    )
    CATEGORY = CATEGORY_UTILITY
    FUNCTION = "execute"
    RETURN_TYPES = ("LATENT", "STRING")
    RETURN_NAMES = ("latent", "memory_report")

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "latent": ("LATENT", {"tooltip": "Passed through unchanged."}),
                "mode": (list(CLEANUP_MODES), {"default": "always",
                                               "tooltip": "always: gc + empty_cache; gpu_only: empty_cache; never: nothing."}),
            }
        }

    @classmethod
    def IS_CHANGED(cls, **kwargs):
        return float("nan")

    def execute(self, latent, mode):
        return (latent, run_cleanup(mode))


class PurgeVRAM:
    """Removes stale loaded-model entries that crash ComfyUI's memory manager, then frees memory."""

    DESCRIPTION = (
        "Defensive pass-through: prunes loaded-model entries whose model was garbage-collected (the cause of "
        "\"'NoneType' object has no attribute 'model_size'\"), then runs ComfyUI's cleanup and empties caches."
    )
    CATEGORY = CATEGORY_UTILITY
    FUNCTION = "execute"
    RETURN_TYPES = ("LATENT",)
    RETURN_NAMES = ("latent",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"latent": ("LATENT", {"tooltip": "Passed through unchanged."})}}

    @classmethod
    def IS_CHANGED(cls, **kwargs):
        return float("nan")

    def execute(self, latent):
        purge_comfy_memory()
        return (latent,)
