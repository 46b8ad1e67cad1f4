"""A bounded cache of encoded prompts, keyed by text-encoder identity and exact text.

Entries are ``(weakref to the encoder object, text) -> CONDITIONING``. A hit needs the very
same encoder object still alive (``id()`` values are reused after garbage collection, so the
weak reference is checked, not just the id) and byte-identical text. The cache holds at most
``capacity`` entries and drops the least recently used one beyond that; each entry is one
prompt's conditioning (about 8 MB for LTX-2.3's ``[1, 1024, 3840]`` in bf16). Callers get a
fresh list/pair/dict structure on every call, so editing a result never changes the cache;
the tensors themselves are shared and must be treated as read-only, as everywhere in ComfyUI.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from typing import Any, Callable

from .conditioning import copy_conditioning

DEFAULT_CAPACITY = 32


class TextEncodeCache:
    """LRU cache of ``encode(text)`` results per encoder object."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._entries: OrderedDict[tuple[int, str], tuple[weakref.ref, list]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def get_or_encode(self, encoder: Any, text: str, encode: Callable[[str], list]) -> list:
        """Cached conditioning for ``text`` under ``encoder``; calls ``encode(text)`` on a miss."""
        if not isinstance(text, str):
            raise ValueError(f"text must be a string, got {type(text).__name__}")
        key = (id(encoder), text)
        with self._lock:
            found = self._entries.get(key)
            if found is not None and found[0]() is encoder:
                self._entries.move_to_end(key)
                self.hits += 1
                return copy_conditioning(found[1])
            if found is not None:
                del self._entries[key]
        result = encode(text)
        stored = copy_conditioning(result)
        with self._lock:
            self.misses += 1
            self._entries[key] = (weakref.ref(encoder), stored)
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        return copy_conditioning(stored)


def encode_with_clip(clip: Any, text: str) -> list:
    """Encode ``text`` with a ComfyUI CLIP object, as CLIPTextEncode does."""
    tokens = clip.tokenize(text)
    return clip.encode_from_tokens_scheduled(tokens)
