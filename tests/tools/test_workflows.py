"""Workflow library: the builder's checks, both emitted formats, the shipped files, the audit.

Every shipped workflow must build, convert from its canvas form to exactly its API form, pass
the audit with no finding, and match the files in ``example_workflows/``. Each audit check is
shown to fire on a deliberately broken copy of the primary workflow.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from ltx_audioloop.tools.workflows.audit import audit_document
from ltx_audioloop.tools.workflows.convert import from_document
from ltx_audioloop.tools.workflows.emit import dumps, to_api, to_ui, widgets_values
from ltx_audioloop.tools.workflows.graph import Workflow
from ltx_audioloop.tools.workflows.library import BUILDERS, PRIMARY, build
from ltx_audioloop.tools.workflows.registry import NodeRegistry
from ltx_audioloop.tools.workflows.shipping import stale_files

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def registry() -> NodeRegistry:
    return NodeRegistry.default()


@pytest.fixture(scope="module")
def primary_api(registry) -> dict:
    return to_api(build(PRIMARY, registry))


def _find(graph: dict, class_type: str, title_part: str = "") -> str:
    matches = [nid for nid, n in graph.items() if n["class_type"] == class_type and title_part in n["_meta"]["title"]]
    assert matches, f"no {class_type} titled *{title_part}*"
    return matches[0]


def _checks(report, level: str = "error") -> set[str]:
    return {f.check for f in report.findings if f.level == level}


# -- shipped workflows --------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(BUILDERS))
def test_shipped_workflow_passes_the_audit_in_both_formats(name, registry):
    workflow = build(name, registry)
    for document in (to_ui(workflow), to_api(workflow)):
        report = audit_document(json.loads(dumps(document)), registry, name)
        assert report.findings == [], report.text()


@pytest.mark.parametrize("name", list(BUILDERS))
def test_canvas_form_converts_to_exactly_the_api_form(name, registry):
    workflow = build(name, registry)
    api = json.loads(dumps(to_api(workflow)))
    loaded = from_document(json.loads(dumps(to_ui(workflow))), registry)
    assert loaded.findings == []
    assert loaded.api == api
    for node in api.values():
        spec = registry.spec(node["class_type"])
        declared = {s.path for s in spec.all_inputs()}
        assert set(node["inputs"]) <= declared


def test_shipped_files_are_up_to_date(registry):
    assert stale_files(ROOT / "example_workflows", registry) == [], (
        "example_workflows/ is out of date: run scripts/build_workflows.py")
    for name in BUILDERS:
        assert (ROOT / "example_workflows" / f"{name}.jpg").is_file()
    assert not list((ROOT / "example_workflows").glob("*.api.json"))


def test_emission_is_deterministic(registry):
    assert dumps(to_ui(build(PRIMARY, registry))) == dumps(to_ui(build(PRIMARY, registry)))


def test_primary_workflow_has_the_required_wiring(primary_api):
    graph = primary_api
    loop_open = _find(graph, "TensorLoopOpen")
    planner = _find(graph, "AudioLoopPlanner")
    assert graph[loop_open]["inputs"]["mode.iterations"] == [planner, 1]
    preprocess = [nid for nid, n in graph.items() if n["class_type"] == "LTXVPreprocess"]
    assert len(preprocess) == 1 and graph[preprocess[0]]["inputs"]["img_compression"] == 18
    assert graph[_find(graph, "LTXVAddGuide")]["inputs"]["image"] == [preprocess[0], 0]
    assert graph[_find(graph, "LTXVImgToVideoInplace")]["inputs"]["image"] == [preprocess[0], 0]
    assert graph[_find(graph, "KSamplerSelect")]["inputs"]["sampler_name"] == "euler"
    assert all(n["inputs"]["cfg"] == 1.0 for n in graph.values() if n["class_type"] == "CFGGuider")
    assert graph[_find(graph, "EmptyLTXVLatentVideo")]["inputs"]["length"] == [planner, 5]
    assert not any(n["class_type"] in ("LTXVTiledVAEDecode", "VAEDecode", "CreateVideo") for n in graph.values())
    assert sum(n["class_type"] == "AudioLoopLTX2NAG" for n in graph.values()) == 1
    width = graph[_find(graph, "EmptyLTXVLatentVideo")]["inputs"]["width"]
    assert width % 64 == 0
    writer = graph[_find(graph, "AudioLoopSaveVideo")]["inputs"]
    assert graph[writer["audio"][0]]["class_type"] == "LoadAudio"
    assert graph[writer["latent"][0]]["class_type"] == "AudioLoopJoinLatents"
    assert writer["chunk_latent_frames"] >= 8 and writer["context_latent_frames"] >= 2


# -- builder checks -----------------------------------------------------------------------------

def test_builder_rejects_out_of_range_slots(registry):
    wf = Workflow("t", registry)
    image = wf.add("LoadImage", image="a.png")
    with pytest.raises(ValueError, match="slot 5 does not exist"):
        image.out(5)
    with pytest.raises(ValueError, match="no output"):
        image["LATENT"]


def test_builder_rejects_mistyped_links(registry):
    wf = Workflow("t", registry)
    image = wf.add("LoadImage", image="a.png")
    with pytest.raises(ValueError, match="takes LATENT"):
        wf.add("LatentOverlapTrim", latent=image["IMAGE"], overlap_latent_frames=7)


def test_builder_cannot_leave_stale_links(registry):
    wf = Workflow("t", registry)
    first = wf.add("LoadImage", image="a.png")
    second = wf.add("LoadImage", image="b.png")
    preview = wf.add("PreviewImage", images=first["IMAGE"])
    with pytest.raises(ValueError, match="still feeds"):
        wf.remove(first)
    wf.set(preview, "images", second["IMAGE"])
    wf.remove(first)
    ui = to_ui(wf)
    assert [link[1] for link in ui["links"]] == [second.id]
    assert from_document(ui, registry).findings == []


def test_builder_rejects_duplicate_ids_and_unknown_inputs(registry):
    wf = Workflow("t", registry)
    wf.add("LoadImage", image="a.png", node_id=7)
    with pytest.raises(ValueError, match="already used"):
        wf.add("LoadImage", image="b.png", node_id=7)
    with pytest.raises(ValueError, match="has no input 'imgae'"):
        wf.add("LoadImage", imgae="b.png")
    with pytest.raises(ValueError, match="unknown node type"):
        wf.add("NoSuchNode")
    assert list(wf.nodes) == [7]


def test_builder_checks_literals(registry):
    wf = Workflow("t", registry)
    with pytest.raises(ValueError, match="takes a MODEL link"):
        wf.add("CFGGuider", model="model.safetensors")
    with pytest.raises(ValueError, match="not one of"):
        wf.add("KSamplerSelect", sampler_name="eulerr")
    with pytest.raises(ValueError, match="below its minimum"):
        wf.add("LTXVPreprocess", img_compression=-1)
    with pytest.raises(ValueError, match="takes INT"):
        wf.add("LTXVPreprocess", img_compression="18")
    with pytest.raises(ValueError, match="finite"):
        wf.add("CFGGuider", cfg=float("nan"))


def test_builder_dynamic_combo_children_follow_the_choice(registry):
    wf = Workflow("t", registry)
    loop = wf.add("TensorLoopOpen", mode=("total_frames", {"total_frames": 100}))
    assert to_api(wf)[str(loop.id)]["inputs"] == {"mode": "total_frames", "mode.total_frames": 100}
    assert widgets_values(loop) == ["total_frames", 100]
    with pytest.raises(ValueError, match="another option"):
        wf.set(loop, "mode.iterations", 3)


def test_builder_finds_required_links_and_cycles(registry):
    wf = Workflow("t", registry)
    wf.add("LatentOverlapTrim", overlap_latent_frames=7)
    with pytest.raises(ValueError, match="needs a link on 'latent'"):
        to_api(wf)


def test_seed_widgets_get_their_control_value(registry):
    wf = Workflow("t", registry)
    noise = wf.add("RandomNoise", noise_seed=5)
    image = wf.add("LoadImage", image="a.png")
    assert widgets_values(noise) == [5, "fixed"]
    assert widgets_values(image) == ["a.png", "image"]


# -- the audit catches each failure mode --------------------------------------------------------

def _broken(primary_api: dict, change) -> dict:
    graph = copy.deepcopy(primary_api)
    change(graph)
    return graph


def _audit(graph, registry):
    return audit_document(graph, registry, "broken")


def test_audit_zero_compression(primary_api, registry):
    graph = _broken(primary_api, lambda g: g[_find(g, "LTXVPreprocess")]["inputs"].update(img_compression=0))
    assert "preprocess_compression" in _checks(_audit(graph, registry))


def test_audit_loop_guide_without_preprocess(primary_api, registry):
    def change(g):
        g[_find(g, "LTXVAddGuide")]["inputs"]["image"] = [_find(g, "ImageScale"), 0]
    report = _audit(_broken(primary_api, change), registry)
    assert "preprocess_symmetry" in _checks(report)
    assert any("in the loop" in f.message for f in report.findings)


def test_audit_loop_guide_not_cropped(primary_api, registry):
    def change(g):
        split = _find(g, "LTXVSeparateAVLatent", "Iteration")
        g[_find(g, "LatentOverlapTrim")]["inputs"]["latent"] = [split, 0]
    report = _audit(_broken(primary_api, change), registry)
    assert "loop_cropguides" in _checks(report)


def test_audit_crop_with_the_wrong_conditioning(primary_api, registry):
    def change(g):
        selected = _find(g, "ConditioningSelectByIteration", "this iteration")
        g[_find(g, "LTXVCropGuides")]["inputs"]["positive"] = [selected, 0]

    assert "loop_cropguides" in _checks(_audit(_broken(primary_api, change), registry))


def test_audit_text_encoder_in_the_loop(primary_api, registry):
    def change(g):
        clip = _find(g, "LTXAVTextEncoderLoader")
        select = _find(g, "ConditioningSelectByIteration", "this iteration")
        g["900"] = {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": "a woman singing", "clip": [clip, 0]},
            "_meta": {"title": "encode in loop"},
        }
        g["901"] = {
            "class_type": "ConditioningZeroOut",
            "inputs": {"conditioning": ["900", 0]},
            "_meta": {"title": "z"},
        }
        guide = _find(g, "LTXVAddGuide")
        g[guide]["inputs"]["positive"] = ["901", 0]
        g["901"]["inputs"]["conditioning"] = ["900", 0]
        g["900"]["inputs"]["text"] = "x"
        # make the encoder depend on the loop: its text comes from nowhere, but its consumer is in the body;
        # tie it to the iteration through a conditioning combine with the selected prompt
        g["902"] = {
            "class_type": "ConditioningCombine",
            "inputs": {"conditioning_1": ["901", 0], "conditioning_2": [select, 0]},
            "_meta": {"title": "c"},
        }
        g[guide]["inputs"]["positive"] = ["902", 0]

    report = _audit(_broken(primary_api, change), registry)
    # the encoder itself only depends on the loader, so it is outside the body: no finding for it,
    # which is right (ComfyUI runs it once); an encoder whose input depends on the iteration is in it
    assert "text_encoder_in_loop" not in _checks(report)

    def change_in_loop(g):
        change(g)
        planner = _find(g, "TimestampPromptScheduleBatchEncode")
        g["903"] = {
            "class_type": "TimestampPromptSchedule",
            "inputs": {
                "current_iteration": [_find(g, "TensorLoopOpen"), 3],
                "stride_seconds": 17.92,
                "schedule": "0:00+: a",
                "blend_seconds": 0.0,
                "snap_boundaries": True,
            },
            "_meta": {"title": "in-loop schedule"},
        }
        g["900"]["inputs"]["text"] = ["903", 0]
        assert planner

    report = _audit(_broken(primary_api, change_in_loop), registry)
    assert "text_encoder_in_loop" in _checks(report)
    assert {f.node for f in report.findings if f.check == "text_encoder_in_loop"} >= {"900", "903"}


def test_audit_iterations_not_from_the_planner_is_a_warning(primary_api, registry):
    graph = _broken(primary_api, lambda g: g[_find(g, "TensorLoopOpen")]["inputs"].update({"mode.iterations": 3}))
    report = _audit(graph, registry)
    assert "loop_iterations" in _checks(report, "warning") and not report.errors


@pytest.mark.parametrize("width,level", [(840, "error"), (864, "warning")])
def test_audit_resolution(primary_api, registry, width, level):
    graph = _broken(primary_api, lambda g: g[_find(g, "ImageScale")]["inputs"].update(width=width))
    assert "resolution" in _checks(_audit(graph, registry), level)


def test_audit_ancestral_sampler_and_cfg(primary_api, registry):
    def change(g):
        g[_find(g, "KSamplerSelect")]["inputs"]["sampler_name"] = "euler_ancestral"
        g[_find(g, "CFGGuider")]["inputs"]["cfg"] = 3.0

    assert {"sampler", "cfg"} <= _checks(_audit(_broken(primary_api, change), registry))


def _add_whole_decode(g, size=512, overlap=64):
    writer = g[_find(g, "AudioLoopSaveVideo")]["inputs"]
    g["9999"] = {
        "class_type": "VAEDecodeTiled",
        "_meta": {"title": "Decode the whole song"},
        "inputs": {
            "samples": writer["latent"],
            "vae": writer["vae"],
            "tile_size": 512,
            "overlap": 64,
            "temporal_size": size,
            "temporal_overlap": overlap,
        },
    }
    g["9998"] = {"class_type": "PreviewImage", "_meta": {"title": "Preview"}, "inputs": {"images": ["9999", 0]}}


def test_audit_decoder_tiles_against_the_stride(primary_api, registry):
    assert "decoder_tiles" in _checks(_audit(_broken(primary_api, lambda g: _add_whole_decode(g, 64, 8)), registry))
    assert "decoder_tiles" not in _checks(
        _audit(_broken(primary_api, lambda g: _add_whole_decode(g, 512, 64)), registry)
    )


def test_audit_whole_video_decode_after_the_loop(primary_api, registry):
    report = _audit(_broken(primary_api, _add_whole_decode), registry)
    assert "whole_video_decode" in _checks(report, "warning")
    assert "whole_video_decode" not in _checks(_audit(primary_api, registry), "warning")


def test_audit_frame_rates(primary_api, registry):
    graph = _broken(primary_api, lambda g: g[_find(g, "AudioLoopSaveVideo")]["inputs"].update(fps=24.0))
    assert "frame_rate" in _checks(_audit(graph, registry))


def test_audit_av_latent_collected(primary_api, registry):
    def change(g):
        g[_find(g, "TensorLoopClose")]["inputs"]["processed"] = [_find(g, "SamplerCustomAdvanced", "Iteration"), 0]

    assert "loop_av_latent" in _checks(_audit(_broken(primary_api, change), registry))


def test_audit_snap_off_and_unknown_input(primary_api, registry):
    def change(g):
        g[_find(g, "TimestampPromptScheduleBatchEncode")]["inputs"]["snap_boundaries"] = False
        g[_find(g, "AudioLoopController")]["inputs"]["base_seed"] = 5  # ltx-audioloop 0.1's name

    report = _audit(_broken(primary_api, change), registry)
    assert "schedule_snap" in _checks(report, "warning")
    assert [f.fix for f in report.findings if f.check == "unknown_input"] == ["controller_seed"]


def test_audit_canvas_widget_shift_and_dangling_link(registry):
    ui = to_ui(build(PRIMARY, registry))
    shifted = copy.deepcopy(ui)
    node = next(n for n in shifted["nodes"] if n["type"] == "AudioLoopController")
    node["widgets_values"].insert(3, "randomize")
    report = audit_document(shifted, registry, "shifted")
    assert "widget_count" in _checks(report)
    dangling = copy.deepcopy(ui)
    next(n for n in dangling["nodes"] if n["type"] == "CFGGuider")["inputs"][0]["link"] = 99999
    assert "dangling_link" in _checks(audit_document(dangling, registry, "dangling"))


def _subgraph_document() -> dict:
    """LoadImage -> [subgraph: IMAGE -> LTXVPreprocess -> IMAGE] -> PreviewImage."""
    sub_id = "0b8e4c1e-1111-4a4a-9a9a-123456789abc"
    return {
        "last_node_id": 3,
        "last_link_id": 2,
        "version": 0.4,
        "groups": [],
        "config": {},
        "extra": {},
        "nodes": [
            {
                "id": 1,
                "type": "LoadImage",
                "pos": [0, 0],
                "size": [300, 300],
                "mode": 0,
                "inputs": [],
                "outputs": [
                    {"name": "IMAGE", "type": "IMAGE", "links": [1]},
                    {"name": "MASK", "type": "MASK", "links": []},
                ],
                "widgets_values": ["a.png", "image"],
            },
            {
                "id": 2,
                "type": sub_id,
                "pos": [400, 0],
                "size": [300, 100],
                "mode": 0,
                "inputs": [{"name": "image", "type": "IMAGE", "link": 1}],
                "outputs": [{"name": "image", "type": "IMAGE", "links": [2]}],
                "widgets_values": [],
            },
            {
                "id": 3,
                "type": "PreviewImage",
                "pos": [800, 0],
                "size": [300, 300],
                "mode": 0,
                "inputs": [{"name": "images", "type": "IMAGE", "link": 2}],
                "outputs": [],
                "widgets_values": [],
            },
        ],
        "links": [[1, 1, 0, 2, 0, "IMAGE"], [2, 2, 0, 3, 0, "IMAGE"]],
        "definitions": {
            "subgraphs": [
                {
                    "id": sub_id,
                    "name": "prep",
                    "inputNode": {"id": -10},
                    "outputNode": {"id": -20},
                    "inputs": [{"name": "image", "type": "IMAGE", "linkIds": [10]}],
                    "outputs": [{"name": "image", "type": "IMAGE", "linkIds": [11]}],
                    "nodes": [
                        {
                            "id": 5,
                            "type": "LTXVPreprocess",
                            "pos": [0, 0],
                            "size": [300, 100],
                            "mode": 0,
                            "inputs": [{"name": "image", "type": "IMAGE", "link": 10}],
                            "outputs": [{"name": "output_image", "type": "IMAGE", "links": [11]}],
                            "widgets_values": [18],
                        }
                    ],
                    "links": [
                        {
                            "id": 10,
                            "origin_id": -10,
                            "origin_slot": 0,
                            "target_id": 5,
                            "target_slot": 0,
                            "type": "IMAGE",
                        },
                        {
                            "id": 11,
                            "origin_id": 5,
                            "origin_slot": 0,
                            "target_id": -20,
                            "target_slot": 0,
                            "type": "IMAGE",
                        },
                    ],
                }
            ]
        },
    }


def test_subgraphs_are_flattened(registry):
    loaded = from_document(_subgraph_document(), registry)
    assert loaded.findings == []
    assert loaded.api["2:5"] == {
        "class_type": "LTXVPreprocess",
        "inputs": {"img_compression": 18, "image": ["1", 0]},
        "_meta": {"title": "LTXV Preprocess"},
    }
    assert loaded.api["3"]["inputs"] == {"images": ["2:5", 0]}


def test_missing_subgraph_definition_is_an_error(registry):
    document = _subgraph_document()
    del document["definitions"]
    report = audit_document(document, registry, "no-defs")
    assert "missing_subgraph_definition" in _checks(report)


def test_bypassed_and_muted_nodes_follow_the_frontend(registry):
    document = _subgraph_document()
    document["nodes"][1]["mode"] = 4  # bypass the subgraph: the image passes through
    loaded = from_document(document, registry)
    assert loaded.api["3"]["inputs"] == {"images": ["1", 0]}
    document["nodes"][1]["mode"] = 2  # mute: the preview loses its input
    loaded = from_document(document, registry)
    assert "images" not in loaded.api["3"]["inputs"]


# -- the frontend's legacy widgets_values migration --------------------------------------------


def _loop_close_canvas(values: list) -> dict:
    return {
        "last_node_id": 1,
        "last_link_id": 0,
        "links": [],
        "groups": [],
        "config": {},
        "extra": {},
        "version": 0.4,
        "nodes": [
            {
                "id": 1,
                "type": "TensorLoopClose",
                "pos": [0, 0],
                "size": [270, 150],
                "flags": {},
                "order": 0,
                "mode": 0,
                "inputs": [],
                "outputs": [{"name": "output", "type": "*", "links": None}],
                "properties": {},
                "widgets_values": values,
            }
        ],
    }


@pytest.mark.parametrize(
    ("values", "frames"),
    [
        ([True, "start", 1], 8),  # [accumulate, overlap, stop] signature: the frontend drops the 1
        ([True, "start", 1, None], 1),  # our padding: the migration does not fire, the pad is ignored
        ([True, "start"], 8),  # a list that ends early: the widget keeps its default
        ([True, "end", 3, None], 3),
    ],
)
def test_canvas_reads_dynamic_sub_values_as_the_frontend_does(registry, values, frames):
    api = from_document(_loop_close_canvas(values), registry).api
    assert api["1"]["inputs"]["overlap.overlap_frames"] == frames


def test_emitter_pads_only_where_the_frontend_would_drop_values(registry):
    from ltx_audioloop.tools.workflows.frontend_quirks import legacy_signature, safe_values

    spec = registry.spec("TensorLoopClose")
    assert legacy_signature(spec) == [False, False, True]
    assert safe_values(spec, [True, "start", 1]) == [True, "start", 1, None]
    assert safe_values(spec, [True, "disabled"]) == [True, "disabled"]
    plain = registry.spec("TensorLoopOpen")
    assert safe_values(plain, ["iterations", 4]) == ["iterations", 4]  # no forceInput: nothing to fear
    walkthrough = json.loads((ROOT / "example_workflows" / "Keyframe walkthrough (first-last frame).json").read_text())
    close = next(n for n in walkthrough["nodes"] if n["type"] == "TensorLoopClose")
    assert close["widgets_values"] == [True, "start", 1, None]


def test_audit_flags_a_list_the_frontend_cuts_and_migrate_pads_it(registry):
    from ltx_audioloop.tools.workflows.migrate import apply_fix

    document = _loop_close_canvas([True, "start", 1])
    findings = from_document(document, registry).findings
    assert [(f.check, f.fix) for f in findings] == [("frontend_drops_values", "frontend_padding")]
    assert apply_fix(document, "frontend_padding", registry)
    assert from_document(document, registry).api["1"]["inputs"]["overlap.overlap_frames"] == 1
    assert apply_fix(document, "frontend_padding", registry) == []
    legacy = _loop_close_canvas([True, "disabled", False])  # a genuine legacy list: stop's old widget value
    assert from_document(legacy, registry).findings == []
