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


def planner_window_seconds(graph: dict) -> float:
    """The AudioLoopPlanner's window_seconds: a literal, or the 'value' of the constant node it links to."""
    planners = [n for n in graph.values() if n["class_type"] == "AudioLoopPlanner"]
    assert len(planners) == 1, f"expected one AudioLoopPlanner, found {len(planners)}"
    value = planners[0]["inputs"]["window_seconds"]
    while tinyize.is_link(value):
        value = graph[value[0]]["inputs"]["value"]
    return float(value)


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
    comfy.server.keep_graph("alh-latent", graph)
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
        "audio_s": video.audio_seconds and round(video.audio_seconds, 3), "track_s": round(comfy.audio_seconds, 3)}
    tolerance = LATENT_FRAME / float(video.fps)
    assert video.audio_seconds is not None, f"{videos[0]}: no audio stream"
    # The canvas writes with VideoHelperSuite's trim_to_audio: the loop renders whole windows and the
    # writer cuts the video to the audio. Our stand-in writer does not cut, so the video must cover the
    # audio and overshoot it by less than one window.
    window = planner_window_seconds(graph)
    assert video.audio_seconds - tolerance <= video.video_seconds < video.audio_seconds + window, (
        f"{video.frames} frames at {video.fps} fps = {video.video_seconds:.3f} s for {video.audio_seconds:.3f} s "
        f"of audio (the video must cover the audio and overshoot it by less than one {window:.2f} s window)")
    assert not requeue.executed, (
        f"an unchanged re-queue ran {sorted(requeue.executed)} in {requeue.seconds:.2f} s")
