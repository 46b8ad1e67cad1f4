"""Chunked temporal decode of an LTX-style video latent, in bounded memory.

Temporal layout (LTX-2 VAE): a latent of ``L`` frames decodes to ``8 L - 7`` pixel frames; latent
frame 0 gives pixel frame 0, latent ``k >= 1`` gives pixel frames ``8k - 7 .. 8k``. Decoding a
slice that starts at latent ``a > 0`` treats latent ``a`` as a first frame: it gives one pixel frame
and local pixel ``p`` of the slice stands for global pixel ``8a + p``.

Plan for a core length of ``C`` latent frames and ``K >= 1`` context frames on each side:

* core chunk ``j`` keeps latents ``[s, e)`` with ``s = j C``, ``e = min(L, s + C)``;
* it is decoded from ``a = max(0, s - K)`` to ``b = min(L, e + K)``;
* it keeps global pixels ``[max(0, 8s - 7), 8e - 7)``, i.e. local ``[max(0, 8s - 7) - 8a, 8e - 7 - 8a)``.

The kept ranges tile ``[0, 8L - 7)`` exactly once. The decoder is not causal in ComfyUI's LTX VAE
(``causal_decoder`` false), so context is taken on both sides; the frames it warms up are
dropped, and the cut falls where both neighbours saw the same latents for ``K`` frames around
it. With ``K`` at least the decoder's temporal reach the chunks equal a one-shot decode; below
it the difference is confined to frames near the cut (measured in ``docs/streaming_output.md``).

At most ``(C + 2K) * 8`` frames are decoded at once; they are turned into ``uint8`` on the
decoder's device and moved to the CPU before the next chunk, so neither host nor device memory
grows with the track's length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

TEMPORAL_SCALE = 8

DEFAULT_CHUNK_LATENT_FRAMES = 24
DEFAULT_CONTEXT_LATENT_FRAMES = 6


@dataclass(frozen=True)
class Chunk:
    """One decode step: latents ``[decode_start, decode_end)``, local pixels ``[keep_start, keep_end)``."""

    index: int
    decode_start: int
    decode_end: int
    keep_start: int
    keep_end: int
    first_pixel: int

    @property
    def decoded_frames(self) -> int:
        """Pixel frames the decoder gives for this slice: ``8 (b - a) - 7``."""
        return pixel_frames(self.decode_end - self.decode_start)

    @property
    def kept_frames(self) -> int:
        return self.keep_end - self.keep_start


def pixel_frames(latent_frames: int) -> int:
    """``8 L - 7`` pixel frames for ``L >= 1`` latent frames."""
    return TEMPORAL_SCALE * latent_frames - (TEMPORAL_SCALE - 1)


def check_chunking(latent_frames: int, chunk_latent_frames: int, context_latent_frames: int) -> None:
    """ValueError naming the input when the plan cannot be made."""
    for name, value, low in (("chunk_latent_frames", chunk_latent_frames, 1),
                             ("context_latent_frames", context_latent_frames, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}; "
                             f"the defaults are {DEFAULT_CHUNK_LATENT_FRAMES} and {DEFAULT_CONTEXT_LATENT_FRAMES}")
    if isinstance(latent_frames, bool) or not isinstance(latent_frames, int) or latent_frames < 1:
        raise ValueError(f"the latent has {latent_frames!r} frames on its time axis; it needs at least 1 "
                         "(wire the loop's joined video latent, not an image latent)")


def plan_chunks(latent_frames: int, chunk_latent_frames: int = DEFAULT_CHUNK_LATENT_FRAMES,
                context_latent_frames: int = DEFAULT_CONTEXT_LATENT_FRAMES) -> list[Chunk]:
    """The decode plan of the module doc; kept pixel ranges tile ``[0, 8L - 7)``."""
    check_chunking(latent_frames, chunk_latent_frames, context_latent_frames)
    chunks = []
    for index, start in enumerate(range(0, latent_frames, chunk_latent_frames)):
        end = min(latent_frames, start + chunk_latent_frames)
        a = max(0, start - context_latent_frames)
        b = min(latent_frames, end + context_latent_frames)
        first = max(0, TEMPORAL_SCALE * start - (TEMPORAL_SCALE - 1))
        last = TEMPORAL_SCALE * end - (TEMPORAL_SCALE - 1)
        chunks.append(Chunk(index, a, b, first - TEMPORAL_SCALE * a, last - TEMPORAL_SCALE * a, first))
    return chunks


def to_uint8_frames(decoded):
    """``[F, H, W, 3]`` uint8 on the CPU from a decoder output in 0..1 (``[B=1, F, H, W, C]`` or ``[F, H, W, C]``)."""
    import torch

    if decoded.ndim == 5:
        decoded = decoded[0]
    frames = decoded[..., :3].clamp(0.0, 1.0).mul(255.0).round_().to(torch.uint8)
    return frames.to("cpu")


def decode_chunks(samples, decode: Callable, chunk_latent_frames: int = DEFAULT_CHUNK_LATENT_FRAMES,
                  context_latent_frames: int = DEFAULT_CONTEXT_LATENT_FRAMES,
                  on_chunk: Callable[[Chunk, int], None] | None = None) -> Iterator:
    """Yield ``[n, H, W, 3]`` uint8 CPU frame blocks of ``samples`` (``[1, C, L, h, w]``) in order.

    ``decode(latent_slice)`` returns the slice's frames (values 0..1, channels last, with or
    without a batch axis). ``on_chunk(chunk, total)`` runs before each chunk (progress, cancel).
    """
    if getattr(samples, "ndim", None) != 5:
        raise ValueError(
            f"samples: expected a video latent [batch, channels, frames, height, width], got shape "
            f"{tuple(getattr(samples, 'shape', ()))}; wire the loop's video latent (separate AV latents first)"
        )
    if samples.shape[0] != 1:
        raise ValueError(
            f"samples: the latent holds a batch of {samples.shape[0]} videos; this node writes one. "
            "Split the batch (LatentFromBatch) and write each"
        )
    plan = plan_chunks(int(samples.shape[2]), chunk_latent_frames, context_latent_frames)
    for chunk in plan:
        if on_chunk is not None:
            on_chunk(chunk, len(plan))
        decoded = decode(samples[:, :, chunk.decode_start : chunk.decode_end])
        frames_axis = 1 if decoded.ndim == 5 else 0
        got = int(decoded.shape[frames_axis])
        if got != chunk.decoded_frames:
            raise ValueError(
                f"vae: decoding {chunk.decode_end - chunk.decode_start} latent frames gave {got} pixel "
                f"frames, expected {chunk.decoded_frames} (8 per latent frame after the first); this node "
                "needs an LTX-Video VAE"
            )
        kept = decoded.narrow(frames_axis, chunk.keep_start, chunk.kept_frames)
        del decoded
        yield to_uint8_frames(kept)
        del kept
