"""Per-call cost of every node that runs inside the audio loop, on LTX-2-sized data.

What it measures, for each in-loop node's ``execute``:

* **median µs per call**: wall time from ``time.perf_counter_ns`` around one call, after a few
  warm-up calls, median over ``--repeat`` calls;
* **bytes copied**: bytes of the output tensors that do *not* share storage with any input
  tensor (storages compared by ``untyped_storage().data_ptr()``). A node that returns views or
  passes its inputs through copies 0 bytes; a node that makes new tensors shows their size.

Inputs are synthetic and sized like a real LTX-2.3 render: a video latent ``[1, 128, 63, 14, 26]``
(63 latent frames = 497 pixel frames at 448x832) in float32 and bfloat16, a Gemma conditioning
``[1, 1024, 3840]`` in bfloat16 with its attention mask, a 3-minute 44.1 kHz stereo AUDIO, and a
batch of four 448x832 keyframe images. Everything runs on the CPU in the current process.

Run: ``python bench/loop_nodes.py [--repeat N] [--warmup N] [--threads N]``
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import torch

from ltx_audioloop.loop.geometry import (
    DEFAULT_FPS,
    DEFAULT_OVERLAP_LATENTS,
    DEFAULT_OVERLAP_SECONDS,
    DEFAULT_STRIDE_SECONDS,
    DEFAULT_WINDOW_SECONDS,
)
from ltx_audioloop.nodes import NODE_CLASS_MAPPINGS

log = logging.getLogger("bench.loop_nodes")

LATENT_SHAPE = (1, 128, 63, 14, 26)
COND_SHAPE = (1, 1024, 3840)
AUDIO_SECONDS = 180.0
AUDIO_RATE = 44_100
IMAGE_SHAPE = (4, 448, 832, 3)
WINDOW, OVERLAP, FPS = DEFAULT_WINDOW_SECONDS, DEFAULT_OVERLAP_SECONDS, DEFAULT_FPS
STRIDE = DEFAULT_STRIDE_SECONDS
OVERLAP_LATENTS = DEFAULT_OVERLAP_LATENTS
CROSSFADE_LATENTS = 3
PROMPT_SCHEDULE = "\n".join(
    [
        "0:00-0:18: a woman in a red coat is singing, medium shot, static camera",
        "0:18-1:12: a woman in a red coat is singing, close-up, static camera",
        "1:12-2:06: a woman in a red coat is singing on a rooftop at dusk, wide shot",
        "2:06+: a woman in a red coat is singing, medium close-up, static camera",
    ]
)
KEYFRAME_SCHEDULE = "0:00+: 0\n0:36: 1\n1:12: 2\n2:06+: 3"


@dataclass
class Case:
    name: str
    call: Callable[[], Any]
    inputs: tuple


@dataclass
class Result:
    name: str
    median_us: float
    bytes_copied: int


def iter_tensors(value: Any) -> Iterator[torch.Tensor]:
    """Every tensor inside nested dicts, lists and tuples (and NestedTensor-like ``.tensors``)."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from iter_tensors(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from iter_tensors(item)
    elif hasattr(value, "tensors"):
        yield from iter_tensors(value.tensors)


def bytes_copied(inputs: Any, outputs: Any) -> int:
    """Bytes of output tensors whose storage is not the storage of any input tensor (each storage once)."""
    input_storages = {t.untyped_storage().data_ptr() for t in iter_tensors(inputs)}
    new: dict[int, int] = {}
    for t in iter_tensors(outputs):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in input_storages:
            new[ptr] = max(new.get(ptr, 0), t.numel() * t.element_size())
    return sum(new.values())


def time_case(case: Case, repeat: int, warmup: int) -> Result:
    for _ in range(warmup):
        case.call()
    samples = []
    out = None
    for _ in range(repeat):
        start = time.perf_counter_ns()
        out = case.call()
        samples.append(time.perf_counter_ns() - start)
    median_us = statistics.median(samples) / 1000
    log.debug("%s: min %.1f µs, max %.1f µs", case.name, min(samples) / 1000, max(samples) / 1000)
    return Result(case.name, median_us, bytes_copied(case.inputs, out))


def make_latent(dtype: torch.dtype, seed: int, with_mask: bool = True) -> dict:
    gen = torch.Generator().manual_seed(seed)
    latent = {"samples": torch.randn(LATENT_SHAPE, generator=gen).to(dtype)}
    if with_mask:
        latent["noise_mask"] = torch.ones(1, 1, LATENT_SHAPE[2], 1, 1)
    return latent


def make_conditioning(seed: int) -> list:
    gen = torch.Generator().manual_seed(seed)
    tokens = torch.randn(COND_SHAPE, generator=gen).to(torch.bfloat16)
    return [[tokens, {"attention_mask": torch.ones(1, COND_SHAPE[1], dtype=torch.int64), "frame_rate": float(FPS)}]]


def build_cases() -> list[Case]:
    node = {name: cls() for name, cls in NODE_CLASS_MAPPINGS.items()}
    gen = torch.Generator().manual_seed(0)
    audio = {
        "waveform": torch.randn(1, 2, int(AUDIO_SECONDS * AUDIO_RATE), generator=gen) * 0.1,
        "sample_rate": AUDIO_RATE,
    }
    cond_a, cond_b = make_conditioning(1), make_conditioning(2)
    cond_list = [make_conditioning(10 + i) for i in range(12)]
    images = torch.rand(IMAGE_SHAPE, generator=gen)

    cases = [
        Case("AudioLoopController",
             lambda: node["AudioLoopController"].execute(3, WINDOW, OVERLAP, audio, 42, FPS), (audio,)),
        Case("ConditioningSelectByIteration",
             lambda: node["ConditioningSelectByIteration"].execute(cond_list, 3), (cond_list,)),
        Case("TimestampPromptSchedule",
             lambda: node["TimestampPromptSchedule"].execute(3, STRIDE, PROMPT_SCHEDULE, 2 * STRIDE, True), ()),
    ]
    for dtype, label in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
        previous, current = make_latent(dtype, 3), make_latent(dtype, 4)
        cases += [
            Case(f"LatentContextExtract [{label}]",
                 lambda p=previous: node["LatentContextExtract"].execute(p, OVERLAP_LATENTS), (previous,)),
            Case(f"LatentOverlapTrim [{label}]",
                 lambda c=current: node["LatentOverlapTrim"].execute(c, OVERLAP_LATENTS), (current,)),
            Case(f"StripLatentNoiseMask [{label}]",
                 lambda c=current: node["StripLatentNoiseMask"].execute(c), (current,)),
            Case(f"LatentOverlapCrossfade M={CROSSFADE_LATENTS} [{label}]",
                 lambda p=previous, c=current: node["LatentOverlapCrossfade"].execute(
                     p, c, OVERLAP_LATENTS, CROSSFADE_LATENTS),
                 (previous, current)),
        ]
    cases += [
        Case("AudioLoopConditioningBlend f=0",
             lambda: node["AudioLoopConditioningBlend"].execute(cond_a, cond_b, 0.0), (cond_a, cond_b)),
        Case("AudioLoopConditioningBlend f=0.3",
             lambda: node["AudioLoopConditioningBlend"].execute(cond_a, cond_b, 0.3), (cond_a, cond_b)),
        Case("KeyframeImageSchedule",
             lambda: node["KeyframeImageSchedule"].execute(images, 3, STRIDE, KEYFRAME_SCHEDULE, 2 * STRIDE),
             (images,)),
        Case("IterationCleanup mode=never",
             lambda: node["IterationCleanup"].execute(previous, "never"), (previous,)),
    ]
    return cases


def format_bytes(n: int) -> str:
    if n == 0:
        return "0"
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n} ({n / size:.1f} {unit})"
    return str(n)


def format_table(results: list[Result]) -> str:
    rows = [("node", "median µs", "bytes copied")]
    rows += [(r.name, f"{r.median_us:,.1f}", format_bytes(r.bytes_copied)) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for n, row in enumerate(rows):
        lines.append(f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}")
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=50, help="timed calls per node (median reported)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls per node before timing")
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0 = torch's default)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log min/max per node")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.warmup < 0:
        parser.error("--repeat must be >= 1 and --warmup >= 0")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s",
                        stream=sys.stderr)
    # the nodes' own INFO logging (e.g. IterationCleanup's memory report) would flood the timing loop
    logging.getLogger("ltx_audioloop").setLevel(logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)
    log.info("torch %s, %d threads, repeat %d, warm-up %d", torch.__version__, torch.get_num_threads(),
             args.repeat, args.warmup)
    cases = build_cases()
    results = [time_case(case, args.repeat, args.warmup) for case in cases]
    print(format_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
