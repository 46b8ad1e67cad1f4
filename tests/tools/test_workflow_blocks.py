"""Workflow blocks compose: the shipped audio-loop variants differ only by the parts they choose,
a combination nobody ships still builds and passes the audit, and the shared blocks do what they say.

That each shipped variant builds to exactly its shipped files is ``test_workflows``' check.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter

import pytest

from ltx_audioloop.tools.workflows.audit import audit_document
from ltx_audioloop.tools.workflows.emit import dumps, to_api, to_ui
from ltx_audioloop.tools.workflows.graph import Workflow
from ltx_audioloop.tools.workflows.library import BUILDERS, blocks
from ltx_audioloop.tools.workflows.library.audio_loop import (
    MUSIC_VIDEO_IMAGE,
    MUSIC_VIDEO_KEYFRAMES,
    MUSIC_VIDEO_LATENT,
    VARIANTS,
    SectionKeyframes,
)
from ltx_audioloop.tools.workflows.library.clips import asmr_i2v, asmr_t2v
from ltx_audioloop.tools.workflows.registry import NodeRegistry


@pytest.fixture(scope="module")
def registry() -> NodeRegistry:
    return NodeRegistry.default()


def _types(workflow: Workflow) -> Counter:
    return Counter(node.class_type for node in workflow.nodes.values())


def _by_title(graph: dict, title: str) -> dict:
    [node] = [n for n in graph.values() if n["_meta"]["title"] == title]
    return node


def test_every_audio_loop_variant_is_shipped_under_its_title():
    assert len({v.name for v in VARIANTS}) == len(VARIANTS)
    for variant in VARIANTS:
        assert BUILDERS[variant.title] == variant.build


def test_the_handoff_swaps_exactly_its_own_nodes(registry):
    latent, image = _types(MUSIC_VIDEO_LATENT.build(registry)), _types(MUSIC_VIDEO_IMAGE.build(registry))
    assert image - latent == Counter({
        "LTXVTiledVAEDecode": 2, "ImageContextExtract": 1, "VAEEncode": 1, "ImageOverlapTrim": 1,
        "AudioLoopJoinImages": 1, "CreateVideo": 1, "SaveVideo": 1, "MarkdownNote": 1})
    assert latent - image == Counter({
        "LatentContextExtract": 1, "LatentOverlapTrim": 1, "IterationCleanup": 1, "AudioLoopJoinLatents": 1,
        "AudioLoopSaveVideo": 1})


def test_the_guides_swap_exactly_their_own_nodes(registry):
    reference, keyframes = _types(MUSIC_VIDEO_LATENT.build(registry)), _types(MUSIC_VIDEO_KEYFRAMES.build(registry))
    assert keyframes - reference == Counter({
        "LoadImage": 2, "ImageBatch": 2, "ImageFromBatch": 1, "KeyframeImageSchedule": 1,
        "ImageScale": 1, "LTXVPreprocess": 1})
    assert reference - keyframes == Counter()


def test_an_unshipped_combination_composes_and_passes_the_audit(registry):
    variant = dataclasses.replace(MUSIC_VIDEO_IMAGE, name="image-space-keyframes", guides=SectionKeyframes(count=4))
    workflow = variant.build(registry)
    api = to_api(workflow)
    for document in (to_ui(workflow), api):
        report = audit_document(json.loads(dumps(document)), registry, variant.name)
        assert report.findings == [], report.text()
    assert _types(workflow)["LoadImage"] == 4
    schedule = _by_title(api, "Keyframe of this section")
    assert schedule["inputs"]["images"][0] == next(
        nid for nid, n in api.items() if n["_meta"]["title"] == "Batch keyframes 0..3")
    loop_open = _by_title(api, "Loop open")
    assert api[loop_open["inputs"]["initial_value"][0]]["_meta"]["title"] == "Decode pass 0"


def test_the_start_frame_block_is_the_only_difference_between_the_asmr_clips(registry):
    text, image = _types(asmr_t2v(registry)), _types(asmr_i2v(registry))
    assert image - text == Counter({"LoadImage": 1, "ImageScale": 1, "LTXVPreprocess": 1, "LTXVImgToVideoInplace": 1})
    assert text - image == Counter()


def test_image_batch_loads_and_batches_in_order(registry):
    wf = Workflow("batch", registry)
    batch = blocks.image_batch(wf, ["a.png", "b.png", "c.png"])
    loads = wf.find("LoadImage")
    assert [n.inputs["image"] for n in loads] == ["a.png", "b.png", "c.png"]
    assert [n.title for n in loads] == ["Keyframe 0", "Keyframe 1", "Keyframe 2"]
    last = batch.node
    assert last.class_type == "ImageBatch" and last.inputs["image2"].node is loads[2]
    assert last.inputs["image1"].node.inputs["image1"].node is loads[0]
    single = blocks.image_batch(Workflow("one", registry), ["only.png"])
    assert single.node.class_type == "LoadImage"
    with pytest.raises(ValueError, match="at least one image file"):
        blocks.image_batch(Workflow("none", registry), [])


@pytest.mark.parametrize("with_audio", [True, False])
def test_save_video_muxes_the_audio_only_when_given(registry, with_audio):
    wf = Workflow("save", registry)
    images = wf.add("LoadImage", title="Frames", image="x.png")["IMAGE"]
    audio = wf.add("LoadAudio", title="Track", audio="song.mp3")["AUDIO"] if with_audio else None
    save = blocks.save_video(wf, images=images, audio=audio, prefix="out/x", fps=24)
    video = save.inputs["video"].node
    assert video.class_type == "CreateVideo" and video.inputs["fps"] == 24.0
    assert ("audio" in video.inputs) is with_audio
    assert video.title == ("Video with the original audio" if with_audio else "Video")
    assert save.inputs["filename_prefix"] == "out/x"
