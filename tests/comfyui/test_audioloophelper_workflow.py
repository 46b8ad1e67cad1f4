"""ComfyUI-AudioLoopHelper's own latent music-video canvas runs with this pack in that pack's place.

Enabled by LTX_AUDIOLOOP_ALH_WORKFLOW (a path to that pack's
``example_workflows/audio-loop-music-video_latent.json``); the server must also load the packs the
canvas uses (LTX_AUDIOLOOP_COMFYUI_EXTRA_NODES="ComfyUI-LTXVideo ComfyUI-KJNodes"). As a user would:
the canvas's ``ConditioningBlend`` (an id another pack owns) is swapped for ``AudioLoopConditioningBlend``,
the real frontend converts the canvas, nodes of packs not installed here are replaced
(``harness/foreign.py``), and the graph is rewritten to the tiny model.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ltx_comfytests import client, foreign, media, tinyize

pytestmark = pytest.mark.comfyui

LATENT_FRAME = 8


@pytest.fixture(scope="module")
def alh_canvas() -> dict:
    path = os.environ.get("LTX_AUDIOLOOP_ALH_WORKFLOW")
    if not path:
        pytest.skip("LTX_AUDIOLOOP_ALH_WORKFLOW is not set (AudioLoopHelper's latent canvas)")
    return json.loads(Path(path).read_text())


def test_audioloophelper_latent_canvas_renders_the_whole_track(alh_canvas, browser_page, comfy, figures):
    canvas, swapped = foreign.swap_node_types(alh_canvas, {"ConditioningBlend": "AudioLoopConditioningBlend"})
    api = browser_page.to_api(canvas)
    api, notes = foreign.replace_unavailable(api, canvas, "ltx-tests/alh-latent/first")
    graph = tinyize.tinyize(api, image=comfy.image, audio=comfy.audio, prefix="ltx-tests/alh-latent/first")
    client.clear_cache(comfy.url)
    first = client.run(comfy.url, graph)
    assert first.status == "success", f"AudioLoopHelper latent canvas failed: {json.dumps(first.error, indent=1)}"
    requeue = client.run(comfy.url, graph)
    videos = [p for p in first.output_files(comfy.server.output_dir) if p.suffix == ".mp4"]
    assert videos, f"no video among the outputs: {json.dumps(first.outputs)[:2000]}"
    video = media.probe_video(videos[0])
    figures["workflow AudioLoopHelper latent canvas"] = {
        "swapped": swapped, "replaced": notes, "nodes": len(graph), "first_s": round(first.seconds, 2),
        "requeue_s": round(requeue.seconds, 3), "requeue_executed": sorted(requeue.executed),
        "video_frames": video.frames, "fps": str(video.fps), "video_s": round(video.video_seconds, 3),
        "track_s": round(comfy.audio_seconds, 3)}
    tolerance = LATENT_FRAME / float(video.fps)
    assert abs(video.video_seconds - comfy.audio_seconds) <= tolerance, (
        f"{video.frames} frames at {video.fps} fps = {video.video_seconds:.3f} s for a {comfy.audio_seconds:.3f} s track")
