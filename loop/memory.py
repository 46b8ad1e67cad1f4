"""Memory hygiene between loop iterations, and a guard against stale loaded-model entries.

ComfyUI keeps ``comfy.model_management.current_loaded_models``: wrappers whose ``model``
property dereferences a weak reference. When a large model is garbage-collected while its
wrapper stays in the list, ``model`` is ``None`` and the next ``free_memory()`` call fails
with ``'NoneType' object has no attribute 'model_size'``. :func:`prune_stale_entries` removes
exactly those wrappers and nothing else.
"""

from __future__ import annotations

import gc
import logging
from typing import Any, MutableSequence

import torch

log = logging.getLogger(__name__)

CLEANUP_MODES = ("always", "gpu_only", "never")


def prune_stale_entries(loaded_models: MutableSequence[Any]) -> int:
    """Remove, in place, every entry whose ``model`` is ``None``; returns how many were removed."""
    stale = [i for i, entry in enumerate(loaded_models) if getattr(entry, "model", None) is None]
    for i in reversed(stale):
        del loaded_models[i]
    return len(stale)


def cuda_memory_report() -> str:
    """``allocated / reserved / peak`` CUDA memory in MiB, or a note that CUDA is unavailable."""
    if not torch.cuda.is_available():
        return "cuda: not available"
    mib = 1024 * 1024
    return (
        f"cuda allocated {torch.cuda.memory_allocated() / mib:.0f} MiB, "
        f"reserved {torch.cuda.memory_reserved() / mib:.0f} MiB, "
        f"peak {torch.cuda.max_memory_allocated() / mib:.0f} MiB"
    )


def run_cleanup(mode: str) -> str:
    """``always``: ``gc.collect()`` then empty the CUDA cache; ``gpu_only``: only the cache; ``never``: nothing.

    Returns the memory report after the cleanup, so VRAM creep across iterations is visible.
    """
    if mode not in CLEANUP_MODES:
        raise ValueError(f"mode must be one of {', '.join(CLEANUP_MODES)}, got {mode!r}")
    if mode == "always":
        gc.collect()
    if mode in ("always", "gpu_only") and torch.cuda.is_available():
        torch.cuda.empty_cache()
    report = cuda_memory_report()
    log.info("IterationCleanup(%s): %s", mode, report)
    return report


def purge_comfy_memory() -> str:
    """Prune stale loaded-model entries in ComfyUI, then let ComfyUI clean up and empty caches."""
    try:
        import comfy.model_management as mm
    except ImportError:
        gc.collect()
        return "ComfyUI not importable: ran gc only"
    removed = prune_stale_entries(mm.current_loaded_models)
    if removed:
        log.warning("PurgeVRAM: removed %d stale loaded-model entr%s", removed, "y" if removed == 1 else "ies")
    cleanup = getattr(mm, "cleanup_models", None)
    if callable(cleanup):
        cleanup()
    gc.collect()
    soft_empty = getattr(mm, "soft_empty_cache", None)
    if callable(soft_empty):
        soft_empty()
    elif torch.cuda.is_available():
        torch.cuda.empty_cache()
    return f"removed {removed} stale entries; {cuda_memory_report()}"
