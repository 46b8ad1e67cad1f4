"""ComfyUI AUDIO values: validation, duration, a display envelope.

AUDIO is ``{"waveform": float tensor [B, C, N], "sample_rate": int}``. Supported here: 1 to 8
channels, 8 kHz to 192 kHz, at least one sample, every sample finite. Silent audio is valid
(it just gives the model nothing to lip-sync to).
"""

from __future__ import annotations

import math
import weakref
from collections import OrderedDict
from typing import Any

import torch

from .waveform_limits import MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE  # noqa: F401


def check_audio(audio: Any, name: str = "audio") -> tuple[torch.Tensor, int]:
    """``(waveform [B, C, N], sample_rate)`` of a valid AUDIO, or a ``ValueError`` saying what is wrong."""
    if not isinstance(audio, dict) or "waveform" not in audio or "sample_rate" not in audio:
        raise ValueError(f"{name} must be an AUDIO value (a dict with 'waveform' and 'sample_rate'), got "
                         f"{type(audio).__name__}")
    waveform, rate = audio["waveform"], audio["sample_rate"]
    if not isinstance(waveform, torch.Tensor):
        raise ValueError(f"{name} waveform must be a tensor, got {type(waveform).__name__}")
    if waveform.ndim == 2:
        waveform = waveform.unsqueeze(0)
    if waveform.ndim != 3:
        raise ValueError(f"{name} waveform must be [batch, channels, samples], got shape {tuple(waveform.shape)}")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate != int(rate):
        raise ValueError(f"{name} sample_rate must be a whole number of Hz, got {rate!r}")
    rate = int(rate)
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise ValueError(
            f"{name} sample_rate {rate} Hz is outside {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz; resample it first"
        )
    channels = waveform.shape[1]
    if not 1 <= channels <= MAX_CHANNELS:
        raise ValueError(f"{name} has {channels} channels; 1 to {MAX_CHANNELS} are supported, downmix it first")
    if waveform.shape[0] < 1 or waveform.shape[-1] < 1:
        raise ValueError(
            f"{name} is empty (shape {tuple(waveform.shape)}); load an audio file with at least one sample"
        )
    if not waveform.is_floating_point():
        raise ValueError(f"{name} waveform must be floating point, got {waveform.dtype}")
    if not _all_finite(waveform):
        raise ValueError(f"{name} contains NaN or infinite samples; re-decode or clean the file")
    return waveform, rate


_FINITE_CACHE_SIZE = 8
_finite_checked: OrderedDict[int, tuple[weakref.ref, int | None]] = OrderedDict()
"""Waveforms already scanned and found finite: ``id -> (weak reference, version)``.

Bounded to the last 8 tensors. The loop calls the controller with the same track every
iteration; scanning 16 M samples each time would cost ~50 ms, a hit costs microseconds. A hit
needs the same live tensor (weak reference) and, where the tensor has one, an unchanged in-place
version counter. Tensors made under ``torch.inference_mode()`` (ComfyUI runs every node that way)
have no version counter; for them a hit needs the same live tensor only, which relies on
ComfyUI's convention that node outputs are never edited in place.
"""


def _version(tensor: torch.Tensor) -> int | None:
    return None if tensor.is_inference() else tensor._version


def _all_finite(waveform: torch.Tensor) -> bool:
    key = id(waveform)
    version = _version(waveform)
    found = _finite_checked.get(key)
    if found is not None and found[0]() is waveform and found[1] == version:
        _finite_checked.move_to_end(key)
        return True
    if not bool(torch.isfinite(waveform).all()):
        return False
    _finite_checked[key] = (weakref.ref(waveform), version)
    _finite_checked.move_to_end(key)
    while len(_finite_checked) > _FINITE_CACHE_SIZE:
        _finite_checked.popitem(last=False)
    return True


def audio_duration(audio: Any, name: str = "audio") -> float:
    """Duration in seconds: ``samples / sample_rate``."""
    waveform, rate = check_audio(audio, name)
    return waveform.shape[-1] / rate


def envelope(waveform: torch.Tensor, sample_rate: int, points: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Min and max of the channel-mean signal of batch item 0 over ``points`` equal time bins.

    ``waveform`` is ``[B, C, N]``, ``[C, N]`` or ``[N]``.
    """
    while waveform.ndim < 3:
        waveform = waveform.unsqueeze(0)
    mono = waveform[0].to(torch.float32).mean(dim=0)
    n = mono.shape[0]
    points = max(1, min(points, n))
    edges = torch.linspace(0, n, points + 1).round().long()
    lows, highs = torch.empty(points), torch.empty(points)
    for i in range(points):
        chunk = mono[edges[i] : max(edges[i + 1], edges[i] + 1)]
        lows[i], highs[i] = chunk.min(), chunk.max()
    return lows, highs
