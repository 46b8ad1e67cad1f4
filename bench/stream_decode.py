"""Chunked decode against a one-shot decode of the same latent, with a real ComfyUI VAE.

For a saved video latent (``SaveLatent`` on the loop's joined latent) and ComfyUI's VAE:

* **time**: one-shot ``VAE.decode`` of the whole latent against :func:`video.chunks.decode_chunks`
  for each ``chunk:context`` setting (decode only, frames consumed as uint8);
* **frames**: largest and mean absolute difference (0..255) of every chunked frame to the one-shot
  frame, and the largest difference within 8 frames of a chunk cut and elsewhere;
* **seams** (``--out``): both decodes written as H.264 (CRF 12) and scored with the metrics'
  seam score at the chunk cuts and at the loop's iteration boundaries.

The LTX-2 VAE may mix noise into the latent before decoding (``decode_noise_scale``, timestep
conditioning); that noise is switched off here (``--keep-decode-noise`` keeps it) so the figures
measure the chunking, not two different noise draws.

Run with ComfyUI's Python and this package importable (installed, or ``PYTHONPATH`` at the folder
above a checkout named ``ltx_audioloop``): ``python bench/stream_decode.py --comfyui DIR --vae FILE --latent FILE.latent
[--settings 16:4,16:2,8:2] [--out DIR]``
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path


def _load(comfyui: Path, vae_file: Path, latent_file: Path):
    sys.path.insert(0, str(comfyui))
    import comfy.cli_args

    comfy.cli_args.args.cpu = True
    import comfy.sd
    import comfy.utils
    import safetensors.torch

    sd, metadata = comfy.utils.load_torch_file(str(vae_file), return_metadata=True)
    vae = comfy.sd.VAE(sd=sd, metadata=metadata)
    latent = safetensors.torch.load_file(str(latent_file))["latent_tensor"].float()
    return vae, latent


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    from ltx_audioloop.loop.geometry import DEFAULT_FPS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comfyui", type=Path, required=True)
    parser.add_argument("--vae", type=Path, required=True)
    parser.add_argument("--latent", type=Path, required=True)
    parser.add_argument("--settings", default="16:4,16:2,16:1,8:2")
    parser.add_argument("--fps", type=float, default=float(DEFAULT_FPS))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--keep-decode-noise", action="store_true")
    args = parser.parse_args()

    vae, latent = _load(args.comfyui, args.vae, args.latent)
    import torch

    from ltx_audioloop.tools.metrics.decode import video_stats
    from ltx_audioloop.tools.metrics.report import boundary_frames, seam_scores
    from ltx_audioloop.video.chunks import decode_chunks, plan_chunks, to_uint8_frames
    from ltx_audioloop.video.writer import StreamingVideoWriter

    model = vae.first_stage_model
    noise = float(getattr(model, "decode_noise_scale", 0.0)) if getattr(model, "timestep_conditioning", False) else 0.0
    if noise and not args.keep_decode_noise:
        model.decode_noise_scale = 0.0
    settings = [tuple(int(v) for v in s.split(":")) for s in args.settings.split(",")]
    report = {"latent_shape": list(latent.shape), "pixel_frames": 8 * latent.shape[2] - 7,
              "decode_noise_scale": noise, "noise_disabled": bool(noise and not args.keep_decode_noise),
              "settings": []}
    torch.manual_seed(0)
    for chunk, context in settings:
        started = time.perf_counter()
        frames = sum(block.shape[0] for block in decode_chunks(latent, vae.decode, chunk, context))
        report["settings"].append({"chunk": chunk, "context": context, "decode_s": time.perf_counter() - started,
                                   "frames": frames, "max_rss_mb_so_far": _rss_mb()})
    started = time.perf_counter()
    whole = to_uint8_frames(vae.decode(latent))
    report["one_shot"] = {"decode_s": time.perf_counter() - started, "frames": int(whole.shape[0]),
                          "max_rss_mb_after": _rss_mb()}
    for entry in report["settings"]:
        cuts = [c.first_pixel for c in plan_chunks(latent.shape[2], entry["chunk"], entry["context"])[1:]]
        diffs = []
        at = 0
        for block in decode_chunks(latent, vae.decode, entry["chunk"], entry["context"]):
            diffs += (block.int() - whole[at:at + block.shape[0]].int()).abs().flatten(1).amax(1).tolist()
            at += block.shape[0]
        near = [d for i, d in enumerate(diffs) if any(abs(i - c) <= 8 for c in cuts)]
        far = [d for i, d in enumerate(diffs) if not any(abs(i - c) <= 8 for c in cuts)]
        entry.update({"max_abs_diff": max(diffs), "max_abs_diff_near_cuts": max(near, default=0),
                      "max_abs_diff_elsewhere": max(far, default=0), "cuts": len(cuts)})
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            path = args.out / f"chunked_{entry['chunk']}_{entry['context']}.mp4"
            writer = StreamingVideoWriter(path, fps=args.fps, crf=12, preset="fast")
            for block in decode_chunks(latent, vae.decode, entry["chunk"], entry["context"]):
                writer.write(block)
            writer.finish()
            stats = video_stats(path)
            iteration_cuts, _, _ = boundary_frames(stats.frames, stats.fps)
            entry["seam_at_chunk_cuts"] = _summary(seam_scores(stats.diffs, cuts))
            entry["seam_at_iterations"] = _summary(seam_scores(stats.diffs, iteration_cuts))
    if args.out:
        path = args.out / "one_shot.mp4"
        writer = StreamingVideoWriter(path, fps=args.fps, crf=12, preset="fast")
        writer.write(whole)
        writer.finish()
        stats = video_stats(path)
        iteration_cuts, _, _ = boundary_frames(stats.frames, stats.fps)
        first = report["settings"][0]
        cuts = [c.first_pixel for c in plan_chunks(latent.shape[2], first["chunk"], first["context"])[1:]]
        report["one_shot"]["seam_at_chunk_cuts_of_first_setting"] = _summary(seam_scores(stats.diffs, cuts))
        report["one_shot"]["seam_at_iterations"] = _summary(seam_scores(stats.diffs, iteration_cuts))
    print(json.dumps(report, indent=2))
    return 0


def _summary(scores: list[dict]) -> dict:
    values = [s["score"] for s in scores]
    return {"count": len(values), "max": max(values, default=0.0),
            "mean": sum(values) / len(values) if values else 0.0}


if __name__ == "__main__":
    sys.exit(main())
