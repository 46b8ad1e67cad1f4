"""Migrations: each fixes its audit finding, is idempotent, writes atomically and reverts exactly.

The AudioLoopHelper conversion runs on a synthetic canvas workflow built here with the shapes
that package saves (legacy controller and planner widgets, schedule and text encoders in the loop).
"""

from __future__ import annotations

import copy
import json

import pytest

from ltx_audioloop.tools.workflows.audit import audit_document
from ltx_audioloop.tools.workflows.convert import from_document
from ltx_audioloop.tools.workflows.emit import dumps, to_ui
from ltx_audioloop.tools.workflows.library import PRIMARY, build
from ltx_audioloop.tools.workflows.migrate import FIXES, apply_fix, migrate_file, revert_file
from ltx_audioloop.tools.workflows.registry import NodeRegistry
from ltx_audioloop.tools.workflows.ui_edit import GraphEditor


@pytest.fixture(scope="module")
def registry() -> NodeRegistry:
    return NodeRegistry.default()


@pytest.fixture(scope="module")
def primary_ui(registry) -> dict:
    return json.loads(dumps(to_ui(build(PRIMARY, registry))))


def _node(document: dict, node_type: str, title_part: str = "") -> dict:
    return next(n for n in document["nodes"] if n["type"] == node_type and title_part in n.get("title", ""))


def _checks(document: dict, registry) -> set[str]:
    return {f.check for f in audit_document(document, registry).findings}


BREAKS = {
    "preprocess_compression": (
        "preprocess_compression",
        lambda d: _node(d, "LTXVPreprocess")["widgets_values"].__setitem__(0, 0),
    ),
    "sampler_euler": (
        "sampler",
        lambda d: _node(d, "KSamplerSelect")["widgets_values"].__setitem__(0, "euler_ancestral"),
    ),
    "cfg_one": ("cfg", lambda d: _node(d, "CFGGuider")["widgets_values"].__setitem__(0, 4.0)),
    "snap_boundaries": (
        "schedule_snap",
        lambda d: _node(d, "TimestampPromptScheduleBatchEncode")["widgets_values"].__setitem__(3, False),
    ),
    "resolution_64": ("resolution", lambda d: _node(d, "ImageScale")["widgets_values"].__setitem__(1, 840)),
}


@pytest.mark.parametrize("fix_name", list(BREAKS))
def test_widget_fix_removes_its_finding_and_is_idempotent(fix_name, primary_ui, registry):
    check, breaking = BREAKS[fix_name]
    document = copy.deepcopy(primary_ui)
    breaking(document)
    assert check in _checks(document, registry)
    assert apply_fix(document, fix_name, registry)
    assert check not in _checks(document, registry)
    assert apply_fix(document, fix_name, registry) == []
    assert audit_document(document, registry).findings == []


def _unwire_iterations(document: dict) -> None:
    editor = GraphEditor(document, document)
    loop_open = _node(document, "TensorLoopOpen")
    editor.disconnect(loop_open, "mode.iterations")
    document["nodes"][document["nodes"].index(loop_open)]["widgets_values"] = ["iterations", 3]


def test_iterations_fix_rewires_the_planner(primary_ui, registry):
    document = copy.deepcopy(primary_ui)
    _unwire_iterations(document)
    assert "loop_iterations" in _checks(document, registry)
    assert apply_fix(document, "iterations_from_planner", registry)
    assert audit_document(document, registry).findings == []
    assert apply_fix(document, "iterations_from_planner", registry) == []


def test_preprocess_symmetry_fix_repoints_the_loop_guide(primary_ui, registry):
    document = copy.deepcopy(primary_ui)
    editor = GraphEditor(document, document)
    guide = _node(document, "LTXVAddGuide")
    scale = _node(document, "ImageScale")
    editor.connect(scale, 0, guide, "image", "IMAGE")
    assert "preprocess_symmetry" in _checks(document, registry)
    changes = apply_fix(document, "preprocess_symmetry", registry)
    assert changes and "LTXVAddGuide" in changes[0]
    assert audit_document(document, registry).findings == []
    assert apply_fix(document, "preprocess_symmetry", registry) == []


def test_api_format_fixes(registry):
    from ltx_audioloop.tools.workflows.emit import to_api

    graph = json.loads(dumps(to_api(build(PRIMARY, registry))))
    preprocess = next(k for k, n in graph.items() if n["class_type"] == "LTXVPreprocess")
    graph[preprocess]["inputs"]["img_compression"] = 0
    assert apply_fix(graph, "preprocess_compression", registry)
    assert graph[preprocess]["inputs"]["img_compression"] == 18
    with pytest.raises(ValueError, match="canvas"):
        apply_fix(graph, "batch_encode", registry)
    with pytest.raises(ValueError, match="unknown fix"):
        apply_fix(graph, "no_such_fix", registry)


def test_file_migration_backup_atomic_idempotent_and_revert(tmp_path, primary_ui, registry):
    document = copy.deepcopy(primary_ui)
    BREAKS["preprocess_compression"][1](document)
    path = tmp_path / "wf.json"
    original = json.dumps(document).encode()
    path.write_bytes(original)

    dry = migrate_file(path, "preprocess_compression", registry, dry_run=True)
    assert dry.changes and not dry.written and path.read_bytes() == original

    first = migrate_file(path, "preprocess_compression", registry)
    assert first.written and first.backup.read_bytes() == original
    migrated = path.read_bytes()
    again = migrate_file(path, "preprocess_compression", registry)
    assert again.changes == [] and not again.written and path.read_bytes() == migrated
    assert not list(tmp_path.glob(".wf.json.*"))  # no temporary file left behind

    revert_file(path)
    assert path.read_bytes() == original and not first.backup.exists()
    with pytest.raises(ValueError, match="no backup"):
        revert_file(path)


# -- AudioLoopHelper conversion -----------------------------------------------------------------


def _empty_canvas() -> dict:
    return {"last_node_id": 0, "last_link_id": 0, "nodes": [], "links": [], "groups": [], "config": {}, "extra": {},
            "version": 0.4}


def _alh_workflow() -> dict:
    """The shape of an AudioLoopHelper canvas: schedule + cached encoders + blend inside the loop."""
    document = _empty_canvas()
    e = GraphEditor(document, document)

    def add(node_type, widgets, outputs, pos=(0, 0)):
        return e.add_node(node_type, list(pos), widgets, outputs=outputs)

    audio = add("LoadAudio", ["song.mp3", None, None], [("AUDIO", "AUDIO")])
    clip = add("LTXAVTextEncoderLoader", ["gemma.safetensors", "ltx.safetensors", "default"], [("CLIP", "CLIP")])
    planner = add("AudioLoopPlanner", [18.88, 19.88], [("summary", "STRING"), ("total_iterations", "INT")])
    e.connect(audio, 0, planner, "audio", "AUDIO")
    loop_open = add(
        "TensorLoopOpen",
        ["iterations", 50],
        [
            ("flow_control", "FLOW_CONTROL"),
            ("previous_value", "LATENT"),
            ("accumulated_count", "INT"),
            ("current_iteration", "INT"),
        ],
    )
    controller = add(
        "AudioLoopController",
        [1, 19.88, 1.0, 1234, "randomize", 25],
        [
            (n, t)
            for n, t in [
                ("start_index", "FLOAT"),
                ("should_stop", "BOOLEAN"),
                ("audio_duration", "FLOAT"),
                ("iteration_seed", "INT"),
                ("stride_seconds", "FLOAT"),
            ]
        ],
    )
    e.connect(loop_open, 3, controller, "current_iteration", "INT", widget=True)
    e.connect(audio, 0, controller, "audio", "AUDIO")
    seed = add("PrimitiveInt", [1234, "fixed"], [("INT", "INT")])
    e.connect(seed, 0, controller, "seed", "INT", widget=True)
    schedule = add(
        "TimestampPromptSchedule",
        [1, 18.88, "0:00+: a woman with red hair is singing, medium shot", 0.0, True],
        [("prompt", "STRING"), ("next_prompt", "STRING"), ("blend_factor", "FLOAT"), ("current_time", "FLOAT")],
    )
    e.connect(loop_open, 3, schedule, "current_iteration", "INT", widget=True)
    e.connect(controller, 4, schedule, "stride_seconds", "FLOAT", widget=True)
    encode_a = add("CachedTextEncode_AudioLoop", [""], [("CONDITIONING", "CONDITIONING")])
    encode_b = add("CachedTextEncode_AudioLoop", [""], [("CONDITIONING", "CONDITIONING")])
    for encoder, slot in ((encode_a, 0), (encode_b, 1)):
        e.connect(clip, 0, encoder, "clip", "CLIP")
        e.connect(schedule, slot, encoder, "text", "STRING", widget=True)
    blend = add("ConditioningBlend", [0.0], [("CONDITIONING", "CONDITIONING")])
    e.connect(encode_a, 0, blend, "conditioning_a", "CONDITIONING")
    e.connect(encode_b, 0, blend, "conditioning_b", "CONDITIONING")
    e.connect(schedule, 2, blend, "blend_factor", "FLOAT", widget=True)
    zero = add("ConditioningZeroOut", [], [("CONDITIONING", "CONDITIONING")])
    e.connect(blend, 0, zero, "conditioning", "CONDITIONING")
    select_latent = add("LatentContextExtract", [7], [("context", "LATENT")])
    e.connect(loop_open, 1, select_latent, "latent", "LATENT")
    crop = add("LTXVCropGuides", [], [("positive", "CONDITIONING"), ("negative", "CONDITIONING"), ("latent", "LATENT")])
    e.connect(zero, 0, crop, "positive", "CONDITIONING")
    e.connect(zero, 0, crop, "negative", "CONDITIONING")
    e.connect(select_latent, 0, crop, "latent", "LATENT")
    close = add("TensorLoopClose", [True, "disabled"], [("output", "LATENT")])
    e.connect(loop_open, 0, close, "flow_control", "FLOW_CONTROL")
    e.connect(crop, 2, close, "processed", "LATENT")
    e.connect(controller, 1, close, "stop", "BOOLEAN")
    return document


def test_audioloophelper_workflow_converts_and_passes_the_loop_checks(registry, tmp_path):
    document = _alh_workflow()
    before = _checks(document, registry)
    assert {"text_encoder_in_loop", "widget_count"} <= before  # its planner's [stride, window] layout

    changes = apply_fix(document, "alh_to_ltx_audioloop", registry)
    text = "\n".join(changes)
    assert "legacy [stride 18.88, window 19.88]" in text and "TimestampPromptScheduleBatchEncode" in text
    report = audit_document(document, registry)
    assert report.errors == [], report.text()
    api = from_document(document, registry).api
    batch = next(k for k, n in api.items() if n["class_type"] == "TimestampPromptScheduleBatchEncode")
    select = next(k for k, n in api.items() if n["class_type"] == "ConditioningSelectByIteration")
    loop_open = next(k for k, n in api.items() if n["class_type"] == "TensorLoopOpen")
    planner = next(k for k, n in api.items() if n["class_type"] == "AudioLoopPlanner")
    assert api[select]["inputs"]["conditioning_list"] == [batch, 0]
    list_links = [link for link in document["links"] if link[1] == int(batch) and link[2] == 0]
    assert list_links and all(link[5] == "AUDIOLOOP_CONDITIONING_LIST" for link in list_links)  # the declared type
    assert api[select]["inputs"]["current_iteration"] == [loop_open, 3]
    assert api[batch]["inputs"]["schedule"].startswith("0:00+: a woman with red hair")
    assert api[batch]["inputs"]["stride_seconds"] == [planner, 2]
    assert api[loop_open]["inputs"]["mode.iterations"] == [planner, 1]
    zero = next(n for n in api.values() if n["class_type"] == "ConditioningZeroOut")
    assert zero["inputs"]["conditioning"] == [select, 0]
    assert not any(
        n["class_type"] in ("TimestampPromptSchedule", "CachedTextEncode_AudioLoop", "ConditioningBlend")
        for n in api.values()
    )
    controller = next(n for n in api.values() if n["class_type"] == "AudioLoopController")
    assert controller["inputs"]["seed"][1] == 0 and controller["inputs"]["fps"] == 25  # AudioLoopHelper's name kept

    path = tmp_path / "alh.json"
    path.write_text(dumps(document))
    assert migrate_file(path, "alh_to_ltx_audioloop", registry).changes == []


def _controller_01(widgets: list, linked_seed: bool) -> dict:
    """A canvas from ltx-audioloop 0.1: the controller's seed input was called base_seed."""
    document = _empty_canvas()
    e = GraphEditor(document, document)
    audio = e.add_node("LoadAudio", [0, 0], ["song.mp3", None, None], outputs=[("AUDIO", "AUDIO")])
    controller = e.add_node("AudioLoopController", [300, 0], widgets, outputs=[("start_index", "FLOAT")])
    e.connect(audio, 0, controller, "audio", "AUDIO")
    if linked_seed:
        seed = e.add_node("PrimitiveInt", [0, 200], [77, "fixed"], outputs=[("INT", "INT")])
        e.connect(seed, 0, controller, "base_seed", "INT", widget=True)
    return document


@pytest.mark.parametrize("linked_seed", [False, True])
def test_controller_base_seed_migrates_to_seed(registry, linked_seed):
    document = _controller_01([1, 19.88, 2.0, 42, 25], linked_seed)
    if linked_seed:
        assert any(f.fix == "controller_seed" for f in audit_document(document, registry).findings)
    changes = apply_fix(document, "controller_seed", registry)
    assert changes == (
        ["AudioLoopController #2: input base_seed -> seed (control_after_generate 'fixed')"] if linked_seed else []
    )
    api = from_document(document, registry).api
    controller = next(n for n in api.values() if n["class_type"] == "AudioLoopController")
    assert controller["inputs"]["fps"] == 25 and controller["inputs"]["window_seconds"] == 19.88
    assert "base_seed" not in controller["inputs"]
    if linked_seed:
        node = next(n for n in document["nodes"] if n["type"] == "AudioLoopController")
        assert node["widgets_values"] == [1, 19.88, 2.0, 42, "fixed", 25]
        assert controller["inputs"]["seed"] == ["3", 0]
    else:
        assert controller["inputs"]["seed"] == 42
    assert apply_fix(document, "controller_seed", registry) == []


def test_controller_base_seed_migrates_in_api_graphs(registry):
    graph = {
        "1": {
            "class_type": "AudioLoopController",
            "inputs": {
                "current_iteration": 1,
                "window_seconds": 19.88,
                "overlap_seconds": 2.0,
                "audio": ["2", 0],
                "base_seed": 7,
                "fps": 25,
            },
        }
    }
    assert apply_fix(graph, "controller_seed", registry) == ["AudioLoopController #1: input base_seed -> seed"]
    assert graph["1"]["inputs"]["seed"] == 7 and "base_seed" not in graph["1"]["inputs"]
    assert apply_fix(graph, "controller_seed", registry) == []


def test_every_fix_is_listed_with_a_summary():
    assert set(BREAKS) | {
        "iterations_from_planner",
        "preprocess_symmetry",
        "alh_to_ltx_audioloop",
        "batch_encode",
        "alh_legacy_widgets",
        "decoder_ltx_tiled",
        "drop_stale_links",
        "controller_seed",
    } <= set(FIXES)
    assert all(fix.summary for fix in FIXES.values())
