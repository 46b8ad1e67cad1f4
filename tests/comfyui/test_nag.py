"""AudioLoopLTX2NAG changes what the model renders: the same tiny text-to-audio+video graph with NAG
enabled and disabled gives different frames."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ltx_comfytests import client, media, tinyize
from ltx_comfytests.paths import API_DIR, SHIPPED_NAMES

pytestmark = pytest.mark.comfyui

def cheapest_nag_graph() -> str:
    """The shipped graph with AudioLoopLTX2NAG, no loop and no input image: one text-to-video pass."""
    candidates = []
    for name in SHIPPED_NAMES:
        kinds = [n["class_type"] for n in json.loads((API_DIR / f"{name}.json").read_text()).values()]
        if "AudioLoopLTX2NAG" in kinds and "TensorLoopOpen" not in kinds:
            candidates.append(("LoadImage" in kinds, len(kinds), name))
    assert candidates, "no shipped single-pass workflow applies AudioLoopLTX2NAG"
    return min(candidates)[2]


def test_nag_on_and_off_render_different_videos(shipped, comfy, figures):
    graph_name = cheapest_nag_graph()
    runs = shipped.runs(graph_name)  # NAG enabled, as shipped
    nag_ids = [i for i, n in runs.graph.items() if n["class_type"] == "AudioLoopLTX2NAG"]
    assert nag_ids, f"{graph_name} has no AudioLoopLTX2NAG node"
    off = tinyize.with_prefix(runs.graph, f"ltx-tests/{graph_name}/nag-off")
    for node_id in nag_ids:
        assert runs.graph[node_id]["inputs"]["enable"] is True, f"{graph_name}: NAG node {node_id} ships disabled"
        off[node_id]["inputs"]["enable"] = False
    result = client.run(comfy.url, off)
    assert result.status == "success", f"{graph_name} with NAG disabled failed: {result.error}"
    on_file = runs.video.path
    off_file = next(p for p in result.output_files(comfy.server.output_dir) if p.suffix == ".mp4")
    on_pixels, off_pixels = media.video_pixels(on_file), media.video_pixels(off_file)
    assert on_pixels.shape == off_pixels.shape, f"NAG on {on_pixels.shape} vs off {off_pixels.shape}"
    mean_abs = float(np.abs(on_pixels.astype(np.int16) - off_pixels.astype(np.int16)).mean())
    figures["nag on vs off"] = {"graph": graph_name, "mean_abs_pixel_difference": round(mean_abs, 3),
                                "nag_off_run_s": round(result.seconds, 2)}
    assert mean_abs > 0.0, f"{graph_name}: NAG enabled and disabled rendered identical frames ({on_file}, {off_file})"
