"""Every shipped API workflow, rewritten to the tiny model, runs in a real ComfyUI: the video is as
long as its audio, an unchanged re-queue comes from the cache, and a new output prefix re-runs only
the save node(s)."""
from __future__ import annotations

import json

import pytest

from ltx_comfytests import tinyize
from ltx_comfytests.paths import SHIPPED_NAMES

pytestmark = pytest.mark.comfyui

LATENT_FRAME = 8  # pixel frames per latent frame of the LTX-2 video VAE


def _expected_seconds(runs) -> tuple[float, str]:
    """How long the video must be, and why: the input track when the graph loads one, otherwise the
    audio stream the graph generated, otherwise the keyframe clips' seconds."""
    graph = runs.graph
    if any(n["class_type"] == "LoadAudio" for n in graph.values()):
        return runs.video.audio_seconds, "the audio stream (the whole input track)"
    if runs.video.audio_seconds is not None:
        return runs.video.audio_seconds, "the generated audio stream"
    plans = [n["inputs"] for n in graph.values() if n["class_type"] == "KeyframeClipPlan"]
    images = sum(1 for n in graph.values() if n["class_type"] == "LoadImage")
    if plans:
        return (images - 1) * float(plans[0]["clip_seconds"]), f"{images - 1} keyframe clips"
    pytest.fail(f"{runs.name}: no audio stream and no keyframe plan to compare the video with")


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_video_is_as_long_as_its_audio(shipped, comfy, name):
    runs = shipped.runs(name)
    assert runs.video is not None, f"{name}: no video file among the outputs {json.dumps(runs.first.outputs)[:2000]}"
    fps = float(runs.video.fps)
    expected, why = _expected_seconds(runs)
    tolerance = LATENT_FRAME / fps
    assert abs(runs.video.video_seconds - expected) <= tolerance, (
        f"{name}: {runs.video.frames} frames at {runs.video.fps} fps = {runs.video.video_seconds:.3f} s; "
        f"{why} lasts {expected:.3f} s (tolerance one latent frame, {tolerance:.3f} s)")
    if any(n["class_type"] == "LoadAudio" for n in runs.graph.values()):
        assert abs(runs.video.audio_seconds - comfy.audio_seconds) <= tolerance, (
            f"{name}: the file's audio lasts {runs.video.audio_seconds:.3f} s, the input track "
            f"{comfy.audio_seconds:.3f} s")
    if any(n["class_type"] == "KeyframeClipPlan" for n in runs.graph.values()):
        # first frame of the first clip plus clip_seconds * fps per clip: one shared frame per join
        assert runs.video.frames == round(expected * fps) + 1, (
            f"{name}: {runs.video.frames} frames, expected {round(expected * fps) + 1} for {why}")


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_unchanged_requeue_is_served_from_cache(shipped, name):
    runs = shipped.runs(name)
    assert runs.requeue.status == "success", f"{name}: re-queue failed: {runs.requeue.error}"
    ratio = runs.requeue.seconds / runs.first.seconds
    assert not runs.requeue.executed, (
        f"{name}: an unchanged re-queue executed nodes {sorted(runs.requeue.executed)} "
        f"({_describe(runs.graph, runs.requeue.executed)}); it took {runs.requeue.seconds:.2f} s, "
        f"{100 * ratio:.1f}% of the first run's {runs.first.seconds:.2f} s")
    assert ratio < 0.02, f"{name}: re-queue took {runs.requeue.seconds:.3f} s, {100 * ratio:.1f}% of the first run"


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_new_output_prefix_reruns_only_the_save(shipped, name):
    runs = shipped.runs(name)
    assert runs.renamed.status == "success", f"{name}: run with a new prefix failed: {runs.renamed.error}"
    saves = tinyize.save_node_ids(runs.graph)
    assert saves, f"{name}: no node that writes files was found to rename"
    uncached = (runs.first.executed - saves) - runs.renamed.cached
    assert not uncached, (
        f"{name}: with a new output prefix, nodes that ran in the first run were not in the cache: "
        f"{_describe(runs.graph, uncached)}")
    assert runs.renamed.executed == saves, (
        f"{name}: a new output prefix should re-run only the save node(s) {sorted(saves)}; it re-ran "
        f"{_describe(runs.graph, runs.renamed.executed)} in {runs.renamed.seconds:.2f} s "
        f"(first run {runs.first.seconds:.2f} s)")


def _describe(graph: dict, ids) -> str:
    return ", ".join(f"{i} {graph[i]['class_type']}" for i in sorted(ids, key=lambda s: int(s) if s.isdigit() else 0))
