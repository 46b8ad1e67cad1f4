"""IterationCleanup and PurgeVRAM: allocator hygiene and the stale-model guard.

Both are ordinary cached nodes: they run whenever their input latent is new, which inside the
loop is every iteration (each iteration's latent is a new value), and they are skipped with
everything around them when a re-queue finds the loop's inputs unchanged. Answering a fresh
value from ``IS_CHANGED`` (NaN) would mark them, and every node after them (the loop close,
the join, the decode), as changed on every queue: a renamed output would re-render the song.
"""

from __future__ import annotations

from ..loop.memory import CLEANUP_MODES, purge_comfy_memory, run_cleanup
from .common import CATEGORY_UTILITY
from .spec import Combo, NodeSpec, Output, Socket, comfy_node


@comfy_node(NodeSpec(
    id="IterationCleanup",
    display_name="Iteration Cleanup",
    category=CATEGORY_UTILITY,
    description=(
        "Pass-through that runs gc and empties the CUDA caching allocator at the end of each iteration, "
        "and reports allocated/reserved/peak VRAM so creep across iterations shows in the log."
    ),
    inputs=(
        Socket("latent", "LATENT", tooltip="Passed through unchanged."),
        Combo("mode", CLEANUP_MODES, default="always",
              tooltip="always: gc + empty_cache; gpu_only: empty_cache; never: nothing."),
    ),
    outputs=(
        Output("latent", "LATENT", "The input latent, unchanged."),
        Output("memory_report", "STRING", "CUDA memory after the cleanup: allocated, reserved and peak MiB."),
    ),
))
class IterationCleanup:
    """LATENT pass-through that collects garbage and empties the CUDA cache, reporting memory."""

    def execute(self, latent, mode):
        return (latent, run_cleanup(mode))


@comfy_node(NodeSpec(
    id="PurgeVRAM",
    display_name="Purge VRAM (defensive)",
    category=CATEGORY_UTILITY,
    description=(
        "Defensive pass-through: prunes loaded-model entries whose model was garbage-collected (the cause of "
        "\"'NoneType' object has no attribute 'model_size'\"), then runs ComfyUI's cleanup and empties caches."
    ),
    inputs=(Socket("latent", "LATENT", tooltip="Passed through unchanged."),),
    outputs=(Output("latent", "LATENT", "The input latent, unchanged."),),
))
class PurgeVRAM:
    """Removes stale loaded-model entries that crash ComfyUI's memory manager, then frees memory."""

    def execute(self, latent):
        purge_comfy_memory()
        return (latent,)
