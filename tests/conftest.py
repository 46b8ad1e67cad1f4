"""Stand-ins and file writers shared by the test modules.

Each is a small object with exactly the interface our code calls on ComfyUI's (a CLIP text
encoder, a ModelPatcher) or a writer of a real media file made in the test. Test modules import
them with ``from tests.conftest import ...`` (pytest runs with ``--import-mode=importlib``, which
registers this file as ``tests.conftest``); the fixtures below hand out the same objects.
"""

from __future__ import annotations

import copy
import math
import wave
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch


class FakeClip:
    """ComfyUI's CLIP for text encoding (``tokenize`` + ``encode_from_tokens_scheduled``).

    Each text encodes to a ``[1, tokens, dim]`` tensor seeded by the text's CRC-32, so equal texts
    give equal tensors; ``calls`` lists every text the encoder ran on, in order.
    """

    def __init__(self, dim: int = 64, tokens: int = 16) -> None:
        self.dim, self.tokens = dim, tokens
        self.calls: list[str] = []

    def tokenize(self, text):
        return {"gemma": [(text, 1.0)]}

    def encode_from_tokens_scheduled(self, tokens):
        text = tokens["gemma"][0][0]
        self.calls.append(text)
        gen = torch.Generator().manual_seed(zlib.crc32(text.encode()))
        return [[torch.randn(1, self.tokens, self.dim, generator=gen), {"attention_mask": torch.ones(1, self.tokens)}]]


_UNSET = object()


def _resolve(obj, name):
    *parents, last = name.split(".")
    for part in parents:
        obj = getattr(obj, part)
    return obj, last


class FakePatcher:
    """ComfyUI ModelPatcher's clone, model_options and object-patch behaviour, nothing else."""

    def __init__(self, model=None):
        self.model = object() if model is None else model
        self.model_options = {"transformer_options": {}}
        self.object_patches = {}
        self.object_patches_backup = {}

    def clone(self):
        n = FakePatcher(self.model)
        n.object_patches = self.object_patches.copy()
        n.model_options = copy.deepcopy(self.model_options)  # ComfyUI: deepcopy_list_dict
        n.object_patches_backup = self.object_patches_backup  # shared, as in ComfyUI
        return n

    def add_object_patch(self, name, obj):
        self.object_patches[name] = obj

    def get_model_object(self, name):
        if name in self.object_patches:
            return self.object_patches[name]
        if name in self.object_patches_backup:
            return self.object_patches_backup[name]
        obj, last = _resolve(self.model, name)
        return getattr(obj, last)

    def patch_model(self):
        for key, value in self.object_patches.items():
            obj, last = _resolve(self.model, key)
            old = getattr(obj, last, _UNSET)
            setattr(obj, last, value)
            self.object_patches_backup.setdefault(key, old)
        return self.model

    def unpatch_model(self):
        for key in list(self.object_patches_backup):
            obj, last = _resolve(self.model, key)
            old = self.object_patches_backup.pop(key)
            if old is _UNSET:
                delattr(obj, last)
            else:
                setattr(obj, last, old)


def write_wav(path, seconds: float = 0.1, rate: int = 8000, channels: int = 1, tone_hz: float | None = None) -> Path:
    """A real 16-bit PCM WAV of ``round(seconds * rate)`` frames, written with the standard library.

    ``tone_hz`` gives a sine at 0.3 of full scale; without it the samples alternate +-16 (a quiet,
    never digitally silent signal). Every channel carries the same samples.
    """
    count = int(seconds * rate)
    if tone_hz is None:
        samples = np.where(np.arange(count) % 2 == 0, 16, -16).astype(np.int16)
    else:
        t = np.arange(count) / rate
        samples = (0.3 * np.sin(2 * math.pi * tone_hz * t) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(np.repeat(samples[:, None], channels, axis=1).tobytes())
    return Path(path)


def write_audio_pyav(path, samples: np.ndarray, rate: int, codec: str = "pcm_s16le") -> Path:
    """Mono float ``samples`` (-1..1) into a WAV through PyAV: ``pcm_s16le`` or ``pcm_f32le`` (keeps NaN)."""
    import av

    samples = np.asarray(samples, np.float32).reshape(1, -1)
    if codec == "pcm_s16le":
        data, fmt = (samples * 32767).astype(np.int16), "s16"
    elif codec == "pcm_f32le":
        data, fmt = samples, "flt"
    else:
        raise ValueError(f"codec must be pcm_s16le or pcm_f32le, got {codec!r}")
    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(data, format=fmt, layout="mono")
        frame.sample_rate = rate
        for packet in list(stream.encode(frame)) + list(stream.encode()):
            out.mux(packet)
    return Path(path)


def write_png(path) -> Path:
    """An 8x8 red PNG (a face image the render tools upload)."""
    from PIL import Image

    Image.new("RGB", (8, 8), (200, 40, 40)).save(path)
    return Path(path)


@pytest.fixture
def fake_clip() -> FakeClip:
    """A fresh :class:`FakeClip` (64-dim, 16 tokens)."""
    return FakeClip()
