"""Every node class honours ComfyUI's V1 contract; shared nodes keep AudioLoopHelper's interface."""

from __future__ import annotations

import inspect

import pytest

import ltx_audioloop
from ltx_audioloop.nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS
from ltx_audioloop.nodes.common import CONDITIONING_LIST

NODES = sorted(NODE_CLASS_MAPPINGS.items())
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN"}

# AudioLoopHelper's node schemas: node id -> (ordered inputs, ordered outputs). Checked against
# fblissjr/ComfyUI-AudioLoopHelper's nodes.py (every version in its history names the controller's
# seed input ``seed``); the batch-encode, select, purge and attention entries follow the later
# version the seed documents describe. Saved workflows link outputs by slot index and fill widgets
# by position, so both orders matter.
AUDIOLOOPHELPER = {
    "AudioLoopController": (
        ["current_iteration", "window_seconds", "overlap_seconds", "audio", "seed", "fps"],
        ["start_index", "should_stop", "audio_duration", "iteration_seed", "stride_seconds",
         "overlap_frames", "overlap_latent_frames", "overlap_seconds"],
    ),
    "TimestampPromptSchedule": (
        ["current_iteration", "stride_seconds", "schedule", "blend_seconds", "snap_boundaries"],
        ["prompt", "next_prompt", "blend_factor", "current_time"],
    ),
    "TimestampPromptScheduleBatchEncode": (
        ["clip", "schedule", "stride_seconds", "audio_duration", "snap_boundaries", "frame_rate"],
        ["conditioning_list", "iteration_count"],
    ),
    "ConditioningSelectByIteration": (["conditioning_list", "current_iteration"], ["conditioning"]),
    "KeyframeImageSchedule": (
        ["images", "current_iteration", "stride_seconds", "schedule", "blend_seconds"],
        ["image", "next_image", "blend_factor", "current_time", "image_index"],
    ),
    "VideoFrameExtract": (["images", "current_iteration", "stride_seconds", "source_fps"], ["image", "frame_index"]),
    "ImageBlend_AudioLoop": (["image_a", "image_b", "blend_factor"], ["image"]),
    "LatentContextExtract": (["latent", "overlap_latent_frames"], ["context"]),
    "LatentOverlapTrim": (["latent", "overlap_latent_frames"], ["trimmed"]),
    "StripLatentNoiseMask": (["latent"], []),
    "AudioDuration": (["audio"], ["duration_seconds", "sample_rate", "total_samples"]),
    "CachedTextEncode_AudioLoop": (["clip", "text"], ["conditioning"]),
    "IterationCleanup": (["latent", "mode"], ["latent"]),
    "PurgeVRAM": (["latent"], ["latent"]),
    "AudioLoopHelperSageAttention": (["model", "mode", "fallback_on_error", "skip_under_seq_len"], ["model"]),
}


# Nodes whose AudioLoopHelper API graphs validate and run here, but whose canvas widgets cannot map
# by position (its planner starts with stride_seconds, ours with window_seconds, and our own saved
# canvases keep ours): ``migrate --fix alh_legacy_widgets`` converts such canvases.
AUDIOLOOPHELPER_API_ONLY = {
    "AudioLoopPlanner": (["audio", "stride_seconds", "window_seconds"], ["summary", "total_iterations"]),
}


def _inputs(cls):
    spec = cls.INPUT_TYPES()
    assert set(spec) <= {"required", "optional", "hidden"}
    return spec.get("required", {}), spec.get("optional", {})


@pytest.mark.parametrize(("node_id", "cls"), NODES)
def test_v1_contract(node_id, cls):
    required, optional = _inputs(cls)
    for name, entry in {**required, **optional}.items():
        assert isinstance(entry, tuple) and 1 <= len(entry) <= 2, name
        kind = entry[0]
        assert isinstance(kind, (str, list)), name
        options = entry[1] if len(entry) == 2 else {}
        assert isinstance(options, dict) and options.get("tooltip"), f"{node_id}.{name} needs a tooltip"
        if kind in ("INT", "FLOAT"):
            assert options["min"] <= options["default"] <= options.get("max", float("inf")), name
        if isinstance(kind, list):
            assert options.get("default", kind[0]) in kind
    assert isinstance(cls.RETURN_TYPES, tuple) and cls.RETURN_TYPES
    names = getattr(cls, "RETURN_NAMES", None)
    if names is not None:
        assert len(names) == len(cls.RETURN_TYPES)
    tooltips = getattr(cls, "OUTPUT_TOOLTIPS", None)
    assert tooltips is not None, f"{node_id} needs OUTPUT_TOOLTIPS"
    assert len(tooltips) == len(cls.RETURN_TYPES) and all(isinstance(t, str) and len(t) > 10 for t in tooltips)
    function = getattr(cls, cls.FUNCTION)
    params = inspect.signature(function).parameters
    for name in required:
        assert name in params, f"{node_id}.{cls.FUNCTION} lacks parameter {name}"
    for name in optional:
        assert params[name].default is not inspect.Parameter.empty, f"optional {name} needs a default"
    assert isinstance(cls.CATEGORY, str) and cls.CATEGORY
    assert isinstance(cls.DESCRIPTION, str) and len(cls.DESCRIPTION) > 20
    assert node_id in NODE_DISPLAY_NAME_MAPPINGS
    if hasattr(cls, "VALIDATE_INPUTS"):
        assert cls.VALIDATE_INPUTS() is True  # linked (absent) inputs never fail validation


@pytest.mark.parametrize("node_id", sorted(AUDIOLOOPHELPER))
def test_shared_nodes_keep_audioloophelper_ids_inputs_and_outputs(node_id):
    spec = NODE_CLASS_MAPPINGS[node_id].SPEC
    inputs, outputs = AUDIOLOOPHELPER[node_id]
    ours = [item.name for item in spec.inputs]
    assert ours[: len(inputs)] == inputs, "shared inputs must come first, in AudioLoopHelper's order"
    assert all(item.optional for item in spec.inputs[len(inputs):]), "new inputs must be optional and last"
    assert [item.name for item in spec.outputs[: len(outputs)]] == outputs


@pytest.mark.parametrize("node_id", sorted({**AUDIOLOOPHELPER, **AUDIOLOOPHELPER_API_ONLY}))
def test_audioloophelper_api_graphs_validate(node_id):
    """An API graph saved with AudioLoopHelper names only its inputs: each must be declared here,
    and every input we require must be among them (ComfyUI otherwise drops the node's outputs)."""
    cls = NODE_CLASS_MAPPINGS[node_id]
    inputs, outputs = {**AUDIOLOOPHELPER, **AUDIOLOOPHELPER_API_ONLY}[node_id]
    required, optional = _inputs(cls)
    assert set(inputs) <= set(required) | set(optional)
    assert set(required) <= set(inputs)
    if outputs:
        assert list(cls.RETURN_NAMES[: len(outputs)]) == outputs


def test_no_node_answers_a_fresh_is_changed():
    """A NaN or fresh IS_CHANGED makes the node and everything after it re-run on every queue."""
    for node_id, cls in NODES:
        if hasattr(cls, "IS_CHANGED"):
            first, second = cls.IS_CHANGED(), cls.IS_CHANGED()
            assert first == second, f"{node_id}.IS_CHANGED changes between calls"


@pytest.mark.parametrize("node_id", sorted(AUDIOLOOPHELPER))
def test_shared_nodes_keep_widget_order(node_id):
    spec = NODE_CLASS_MAPPINGS[node_id].SPEC
    inputs, _ = AUDIOLOOPHELPER[node_id]
    widgets = [name for name in inputs if spec.input(name).is_widget]
    assert [item.name for item in spec.widgets[: len(widgets)]] == widgets


def test_conditioning_list_sockets_share_one_named_type():
    """AudioLoopHelper declares both conditioning_list sockets as ``*``; ours carry one named type, so the
    editor connects only the two. ComfyUI accepts a link when both types are equal or either is ``*``
    (comfy_execution/validation.py), so a ``*`` socket of another pack still meets ours (docs/nodes.md)."""
    batch = NODE_CLASS_MAPPINGS["TimestampPromptScheduleBatchEncode"]
    select = NODE_CLASS_MAPPINGS["ConditioningSelectByIteration"]
    assert batch.RETURN_TYPES[batch.RETURN_NAMES.index("conditioning_list")] == CONDITIONING_LIST
    assert select.INPUT_TYPES()["required"]["conditioning_list"][0] == CONDITIONING_LIST
    assert CONDITIONING_LIST not in WIDGET_TYPES and "," not in CONDITIONING_LIST and CONDITIONING_LIST != "*"
    others = {t for cls in NODE_CLASS_MAPPINGS.values() for t in cls.RETURN_TYPES if t == CONDITIONING_LIST}
    assert others == {CONDITIONING_LIST}
    assert sum(CONDITIONING_LIST in cls.RETURN_TYPES for cls in NODE_CLASS_MAPPINGS.values()) == 1


def test_conditioning_blend_has_its_own_id():
    assert "ConditioningBlend" not in NODE_CLASS_MAPPINGS
    assert "AudioLoopConditioningBlend" in NODE_CLASS_MAPPINGS


def test_package_root_exports_the_mappings():
    assert ltx_audioloop.NODE_CLASS_MAPPINGS is NODE_CLASS_MAPPINGS
    assert set(NODE_CLASS_MAPPINGS) == set(NODE_DISPLAY_NAME_MAPPINGS)


def test_nodes_import_without_comfyui():
    import sys

    assert "comfy" not in sys.modules
