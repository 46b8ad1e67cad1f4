"""AudioLoopLTX2NAG changes what the model renders: the same tiny text-to-audio+video graph with NAG
enabled and disabled gives different frames."""
from __future__ import annotations

import numpy as np
import pytest

from ltx_comfytests import client, media, tinyize

pytestmark = pytest.mark.comfyui

GRAPH = "asmr-text-to-video"  # a single sampling pass: the cheapest shipped graph that applies NAG


def test_nag_on_and_off_render_different_videos(shipped, comfy, figures):
    runs = shipped.runs(GRAPH)  # NAG enabled, as shipped
    nag_ids = [i for i, n in runs.graph.items() if n["class_type"] == "AudioLoopLTX2NAG"]
    assert nag_ids, f"{GRAPH} has no AudioLoopLTX2NAG node"
    off = tinyize.with_prefix(runs.graph, f"ltx-tests/{GRAPH}/nag-off")
    for node_id in nag_ids:
        assert runs.graph[node_id]["inputs"]["enable"] is True, f"{GRAPH}: NAG node {node_id} ships disabled"
        off[node_id]["inputs"]["enable"] = False
    result = client.run(comfy.url, off)
    assert result.status == "success", f"{GRAPH} with NAG disabled failed: {result.error}"
    on_file = runs.video.path
    off_file = next(p for p in result.output_files(comfy.server.output_dir) if p.suffix == ".mp4")
    on_pixels, off_pixels = media.video_pixels(on_file), media.video_pixels(off_file)
    assert on_pixels.shape == off_pixels.shape, f"NAG on {on_pixels.shape} vs off {off_pixels.shape}"
    mean_abs = float(np.abs(on_pixels.astype(np.int16) - off_pixels.astype(np.int16)).mean())
    figures["nag on vs off"] = {"graph": GRAPH, "mean_abs_pixel_difference": round(mean_abs, 3),
                                "nag_off_run_s": round(result.seconds, 2)}
    assert mean_abs > 0.0, f"{GRAPH}: NAG enabled and disabled rendered identical frames ({on_file}, {off_file})"
