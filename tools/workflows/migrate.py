"""Mechanical fixes for audit findings, and the AudioLoopHelper-to-ltx-audioloop conversion.

Every fix is idempotent (a second run finds nothing to change) and reports what it changed.
Files are written atomically (temporary file + rename) after a backup ``<file>.bak`` is kept
(the first backup is never overwritten, so ``--revert`` restores the original), in the package's
one JSON format (:func:`~.emit.dumps`); a run that changes nothing writes nothing.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ...loop.geometry import DEFAULT_FPS, DEFAULT_STRIDE_SECONDS
from ...safeio import atomic_write
from .convert import detect_format, load_document
from .emit import dumps
from .registry import NodeRegistry
from .ui_edit import GraphEditor, editors

log = logging.getLogger(__name__)

BACKUP_SUFFIX = ".bak"
DISTILLED_CRF = 18


@dataclass(frozen=True)
class Fix:
    name: str
    summary: str
    ui: Callable[[dict, NodeRegistry], list[str]] | None
    api: Callable[[dict, NodeRegistry], list[str]] | None


FIXES: dict[str, Fix] = {}


def fix(name: str, summary: str, *, api: Callable | None = None):
    def register(function: Callable[[dict, NodeRegistry], list[str]]):
        FIXES[name] = Fix(name, summary, function, api)
        return function
    return register


# -- helpers ------------------------------------------------------------------------------------

def _widget_index(registry: NodeRegistry, node_type: str, name: str) -> int | None:
    """Position of widget ``name`` in the node type's ``widgets_values`` (controls and uploads counted)."""
    spec = registry.get(node_type)
    if spec is None:
        return None
    index = 0
    for item in spec.inputs:
        if not item.is_widget:
            continue
        if item.path == name:
            return index
        index += 1 + int(item.control_after_generate) + item.upload_widgets
        if item.kind == "dynamic":
            return None  # widgets after a dynamic combo depend on its choice
    return None


def _set_widget(node: dict, registry: NodeRegistry, name: str, predicate: Callable[[Any], bool],
                new_value: Callable[[Any], Any], changes: list[str], why: str, scope: str) -> None:
    values = node.get("widgets_values")
    if isinstance(values, dict):
        if name in values and predicate(values[name]):
            old, values[name] = values[name], new_value(values[name])
            changes.append(f"{scope}{node['type']} #{node['id']}: {name} {old!r} -> {values[name]!r} ({why})")
        return
    index = _widget_index(registry, node["type"], name)
    if index is None or not isinstance(values, list) or index >= len(values):
        return
    if predicate(values[index]):
        old, values[index] = values[index], new_value(values[index])
        changes.append(f"{scope}{node['type']} #{node['id']}: {name} {old!r} -> {values[index]!r} ({why})")


def _scope_name(editor: GraphEditor) -> str:
    return (
        "" if editor.graph is editor.document else f"[subgraph {editor.graph.get('name') or editor.graph.get('id')}] "
    )


def _api_widget(graph: dict, types: tuple[str, ...], name: str, predicate, new_value, why: str) -> list[str]:
    changes = []
    for nid, node in graph.items():
        if node.get("class_type") in types and name in node.get("inputs", {}):
            value = node["inputs"][name]
            if not isinstance(value, list) and predicate(value):
                node["inputs"][name] = new_value(value)
                changes.append(f"{node['class_type']} #{nid}: {name} {value!r} -> {node['inputs'][name]!r} ({why})")
    return changes


def _widget_fix(types: tuple[str, ...], name: str, predicate, new_value, why: str):
    def ui(document: dict, registry: NodeRegistry) -> list[str]:
        changes: list[str] = []
        for editor in editors(document):
            for node in editor.nodes():
                if node.get("type") in types:
                    _set_widget(node, registry, name, predicate, new_value, changes, why, _scope_name(editor))
        return changes

    def api(graph: dict, registry: NodeRegistry) -> list[str]:
        return _api_widget(graph, types, name, predicate, new_value, why)

    return ui, api


def _round64(value: Any) -> Any:
    return max(64, int(round(value / 64)) * 64)


def _register_widget_fix(
    name: str, summary: str, types: tuple[str, ...], widget: str, predicate, new_value, why: str
) -> None:
    ui, api = _widget_fix(types, widget, predicate, new_value, why)
    FIXES[name] = Fix(name, summary, ui, api)


_register_widget_fix(
    "preprocess_compression",
    "LTXVPreprocess img_compression 0 -> 18 (frozen first frames)",
    ("LTXVPreprocess",),
    "img_compression",
    lambda v: v == 0,
    lambda v: DISTILLED_CRF,
    "CRF 0 skips the re-compression",
)
_register_widget_fix(
    "sampler_euler",
    "ancestral / SDE samplers -> euler (identity drift across iterations)",
    ("KSamplerSelect",),
    "sampler_name",
    lambda v: isinstance(v, str) and ("ancestral" in v or "_sde" in v),
    lambda v: "euler",
    "the distilled model is trained for euler",
)
_register_widget_fix(
    "cfg_one",
    "CFGGuider cfg > 1 -> 1 (distilled model)",
    ("CFGGuider",),
    "cfg",
    lambda v: isinstance(v, (int, float)) and v > 1,
    lambda v: 1.0,
    "distilled LTX runs at CFG 1",
)
_register_widget_fix(
    "snap_boundaries",
    "schedule snap_boundaries off -> on (mixed-prompt iterations)",
    ("TimestampPromptSchedule", "TimestampPromptScheduleBatchEncode", "KeyframeImageSchedule"),
    "snap_boundaries",
    lambda v: v is False,
    lambda v: True,
    "one prompt per iteration",
)
_res_ui_w, _res_api_w = _widget_fix(
    ("EmptyLTXVLatentVideo", "ImageScale", "ImageResizeKJv2", "LTXVImgToVideo"),
    "width",
    lambda v: isinstance(v, int) and v > 0 and v % 64 != 0,
    _round64,
    "64-aligned",
)
_res_ui_h, _res_api_h = _widget_fix(
    ("EmptyLTXVLatentVideo", "ImageScale", "ImageResizeKJv2", "LTXVImgToVideo"),
    "height",
    lambda v: isinstance(v, int) and v > 0 and v % 64 != 0,
    _round64,
    "64-aligned",
)
FIXES["resolution_64"] = Fix(
    "resolution_64",
    "width/height -> nearest multiple of 64",
    lambda d, r: _res_ui_w(d, r) + _res_ui_h(d, r),
    lambda g, r: _res_api_w(g, r) + _res_api_h(g, r),
)


# -- AudioLoopHelper legacy widgets ---------------------------------------------------------------

CONTROLLER_SEED_CONTROL = "fixed"
"""control_after_generate value given to a migrated controller seed: a re-queue is then served
from ComfyUI's cache instead of re-rendering the song with a new seed."""


def _api_controller_seed(graph: dict, registry: NodeRegistry) -> list[str]:
    changes = []
    for nid, node in graph.items():
        inputs = node.get("inputs") if isinstance(node, dict) else None
        if node.get("class_type") == "AudioLoopController" and isinstance(inputs, dict) and "base_seed" in inputs:
            if "seed" not in inputs:
                inputs["seed"] = inputs["base_seed"]
            del inputs["base_seed"]
            changes.append(f"AudioLoopController #{nid}: input base_seed -> seed")
    return changes


@fix(
    "controller_seed",
    "AudioLoopController base_seed -> seed (files from ltx-audioloop 0.1; AudioLoopHelper's name)",
    api=_api_controller_seed,
)
def _controller_seed(document: dict, registry: NodeRegistry) -> list[str]:
    changes: list[str] = []
    for editor in editors(document):
        scope = _scope_name(editor)
        for node in editor.nodes("AudioLoopController"):
            slot = editor.input_slot(node, "base_seed")
            if slot is None:
                continue
            slot["name"] = "seed"
            if isinstance(slot.get("widget"), dict):
                slot["widget"]["name"] = "seed"
            values = node.get("widgets_values")
            if isinstance(values, list) and len(values) == 5:  # base_seed had no control_after_generate value
                values.insert(4, CONTROLLER_SEED_CONTROL)
            changes.append(
                f"{scope}AudioLoopController #{node['id']}: input base_seed -> seed "
                f"(control_after_generate {CONTROLLER_SEED_CONTROL!r})"
            )
    return changes


@fix("alh_legacy_widgets", "AudioLoopHelper planner widgets [stride_seconds, window_seconds] -> this planner's layout")
def _alh_legacy_widgets(document: dict, registry: NodeRegistry) -> list[str]:
    changes: list[str] = []
    for editor in editors(document):
        scope = _scope_name(editor)
        for node in editor.nodes("AudioLoopPlanner"):
            values = node.get("widgets_values")
            if isinstance(values, list) and len(values) == 2 and all(isinstance(v, (int, float)) for v in values):
                stride, window = float(values[0]), float(values[1])
                overlap = round(max(window - stride, 0.0), 2)
                node["widgets_values"] = [window, overlap, DEFAULT_FPS, 0, "", 0.0, True, 0.0]
                editor.disconnect(node, "stride_seconds")
                node["inputs"] = [s for s in node.get("inputs") or [] if s.get("name") != "stride_seconds"]
                _reindex_inputs(editor, node)
                changes.append(
                    f"{scope}AudioLoopPlanner #{node['id']}: legacy [stride {stride}, window {window}] -> "
                    f"window {window}, overlap {overlap}, fps {DEFAULT_FPS}"
                )
    return changes


def _reindex_inputs(editor: GraphEditor, node: dict) -> None:
    """After input slots were removed, point each remaining link's target_slot at its new index."""
    for index, slot in enumerate(node.get("inputs") or []):
        if slot.get("link") is None:
            continue
        for link in editor.graph.get("links", []):
            if isinstance(link, dict) and link["id"] == slot["link"]:
                link["target_slot"] = index
            elif isinstance(link, list) and link[0] == slot["link"]:
                link[4] = index


# -- wiring fixes ------------------------------------------------------------------------------


def _output_slot(registry: NodeRegistry, node_type: str, name: str) -> int:
    return registry.spec(node_type).output_index(name)


def _outputs(registry: NodeRegistry, node_type: str) -> list[tuple[str, str]]:
    """``(name, type)`` of every output of ``node_type``, as its declaration gives them."""
    return [(output.name, output.type) for output in registry.spec(node_type).outputs]


def _api_iterations(graph: dict, registry: NodeRegistry) -> list[str]:
    planners = [nid for nid, n in graph.items() if n.get("class_type") == "AudioLoopPlanner"]
    if not planners:
        return []
    slot = _output_slot(registry, "AudioLoopPlanner", "total_iterations")
    changes = []
    for nid, node in graph.items():
        if node.get("class_type") != "TensorLoopOpen":
            continue
        value = node["inputs"].get("mode.iterations")
        if isinstance(value, list) and graph.get(str(value[0]), {}).get("class_type") == "AudioLoopPlanner":
            continue
        node["inputs"]["mode"] = "iterations"
        node["inputs"]["mode.iterations"] = [planners[0], slot]
        changes.append(f"TensorLoopOpen #{nid}: iterations <- AudioLoopPlanner #{planners[0]}.total_iterations")
    return changes


@fix(
    "iterations_from_planner",
    "wire AudioLoopPlanner.total_iterations into TensorLoopOpen (loop length = audio)",
    api=_api_iterations,
)
def _iterations_from_planner(document: dict, registry: NodeRegistry) -> list[str]:
    changes: list[str] = []
    for editor in editors(document):
        planners = list(editor.nodes("AudioLoopPlanner"))
        if not planners:
            continue
        slot = _output_slot(registry, "AudioLoopPlanner", "total_iterations")
        for loop_open in editor.nodes("TensorLoopOpen"):
            current = editor.source(loop_open, "mode.iterations")
            if current is not None and current[0]["type"] == "AudioLoopPlanner":
                continue
            values = loop_open.get("widgets_values")
            if isinstance(values, list) and values and values[0] != "iterations":
                values[:2] = ["iterations", values[1] if len(values) > 1 else 0]
            editor.connect(planners[0], slot, loop_open, "mode.iterations", "INT", widget=True)
            changes.append(
                f"{_scope_name(editor)}TensorLoopOpen #{loop_open['id']}: iterations <- "
                f"AudioLoopPlanner #{planners[0]['id']}.total_iterations"
            )
    return changes


_GUIDE_IMAGE_INPUTS = {"LTXVAddGuide": "image", "VAEEncode": "pixels", "LTXVImgToVideoInplace": "image"}


def _api_preprocess_symmetry(graph: dict, registry: NodeRegistry) -> list[str]:
    changes = []
    for pid, node in graph.items():
        if node.get("class_type") != "LTXVPreprocess" or not isinstance(node["inputs"].get("image"), list):
            continue
        raw = node["inputs"]["image"]
        for nid, other in graph.items():
            name = _GUIDE_IMAGE_INPUTS.get(other.get("class_type"))
            if name and other["inputs"].get(name) == raw:
                other["inputs"][name] = [pid, 0]
                changes.append(f"{other['class_type']} #{nid}.{name}: raw image -> LTXVPreprocess #{pid}")
    return changes


@fix(
    "preprocess_symmetry",
    "loop guide images take the same LTXVPreprocess output as the initial render",
    api=_api_preprocess_symmetry,
)
def _preprocess_symmetry(document: dict, registry: NodeRegistry) -> list[str]:
    """Find the LTXVPreprocess whose input image is X; any other consumer of X that conditions a
    pass (through Reroute/Set/Get or a subgraph boundary) is re-pointed at the preprocess output."""
    changes: list[str] = []
    top = GraphEditor(document, document)
    for preprocess in list(top.nodes("LTXVPreprocess")):
        raw = top.source(preprocess, "image")
        if raw is None:
            continue
        raw_node, raw_slot = raw
        for target, name in top.consumers(raw_node, raw_slot):
            if target is preprocess or target["type"] in ("LTXVPreprocess", "PreviewImage", "SaveImage"):
                continue
            if _feeds_a_guide(document, top, target, name):
                top.connect(preprocess, 0, target, name, "IMAGE")
                changes.append(
                    f"{target['type']} #{target['id']}.{name}: raw image from {raw_node['type']} "
                    f"#{raw_node['id']} -> LTXVPreprocess #{preprocess['id']}"
                )
    return changes


def _feeds_a_guide(document: dict, top: GraphEditor, node: dict, name: str, depth: int = 0) -> bool:
    """Whether the image entering ``node.name`` ends up conditioning a sampler pass."""
    if depth > 32:
        return False
    kind = node.get("type")
    if kind in (
        "LTXVAddGuide",
        "LTXVAddLatentGuide",
        "VAEEncode",
        "LTXVImgToVideoInplace",
        "LTXVImgToVideoInplaceKJ",
        "LTXVAddGuideMulti",
    ):
        return True
    if kind == "SetNode":
        label = (node.get("widgets_values") or [None])[0]
        for editor in editors(document):
            for getter in editor.nodes("GetNode"):
                if (getter.get("widgets_values") or [None])[0] == label:
                    if any(_feeds_a_guide(document, editor, t, n, depth + 1) for t, n in editor.consumers(getter)):
                        return True
        return False
    if kind == "Reroute":
        return any(_feeds_a_guide(document, top, t, n, depth + 1) for t, n in top.consumers(node))
    for subgraph in (document.get("definitions") or {}).get("subgraphs") or []:
        if subgraph.get("id") == kind:
            inner = GraphEditor(subgraph, document)
            declared = [i.get("name") for i in subgraph.get("inputs") or []]
            if name not in declared:
                return False
            slot = declared.index(name)
            for link in subgraph.get("links", []):
                row = GraphEditor._row(link)
                if row[1] == -10 and row[2] == slot:
                    target = inner.node(row[3])
                    if target is not None and _feeds_a_guide(
                        document, inner, target, target["inputs"][row[4]]["name"], depth + 1
                    ):
                        return True
    return False


@fix("decoder_ltx_tiled", "VAEDecodeTiled -> LTXVTiledVAEDecode (spatial tiles only: no temporal seams)")
def _decoder(document: dict, registry: NodeRegistry) -> list[str]:
    changes = []
    for editor in editors(document):
        for node in list(editor.nodes("VAEDecodeTiled")):
            node["type"] = "LTXVTiledVAEDecode"
            node.setdefault("properties", {})["Node name for S&R"] = "LTXVTiledVAEDecode"
            for slot in node.get("inputs") or []:
                if slot.get("name") == "samples":
                    slot["name"] = "latents"
                if slot.get("name") in ("tile_size", "overlap", "temporal_size", "temporal_overlap"):
                    editor.disconnect(node, slot["name"])
            node["inputs"] = [
                s
                for s in node.get("inputs") or []
                if s.get("name") not in ("tile_size", "overlap", "temporal_size", "temporal_overlap")
            ]
            _reindex_inputs(editor, node)
            node["widgets_values"] = [2, 2, 1, True, "auto", "auto"]
            changes.append(f"{_scope_name(editor)}VAEDecodeTiled #{node['id']} -> LTXVTiledVAEDecode [2, 2, 1, true]")
    return changes


# -- in-loop text encoding -> batch encoding (AudioLoopHelper conversion) ----------------------


@fix("batch_encode", "in-loop TimestampPromptSchedule + text encoders -> one batch encode before the loop")
def _batch_encode(document: dict, registry: NodeRegistry) -> list[str]:
    changes: list[str] = []
    for editor in editors(document):
        for schedule_node in list(editor.nodes("TimestampPromptSchedule")):
            changes += _convert_schedule(editor, schedule_node, registry)
    return changes


def _widget(node: dict, registry: NodeRegistry, name: str, default: Any) -> Any:
    index = _widget_index(registry, node["type"], name)
    values = node.get("widgets_values")
    if isinstance(values, list) and index is not None and index < len(values):
        return values[index]
    return default


def _convert_schedule(editor: GraphEditor, schedule_node: dict, registry: NodeRegistry) -> list[str]:
    encoders = [
        t
        for t, n in editor.consumers(schedule_node)
        if t["type"] in ("CachedTextEncode_AudioLoop", "CLIPTextEncode") and n == "text"
    ]
    if not encoders:
        return []
    clip = editor.source(encoders[0], "clip")
    blends = []
    for encoder in encoders:
        for target, _ in editor.consumers(encoder):
            if target["type"] in ("ConditioningBlend", "AudioLoopConditioningBlend") and target not in blends:
                blends.append(target)
    prompt_encoder = next((t for t, n in editor.consumers(schedule_node, 0) if t in encoders), encoders[0])
    final = blends[0] if blends else prompt_encoder
    iteration = editor.source(schedule_node, "current_iteration")
    planner = next(editor.nodes("AudioLoopPlanner"), None)
    controller = next(editor.nodes("AudioLoopController"), None)
    x, y = schedule_node.get("pos", [0, 0])

    schedule_text = _widget(schedule_node, registry, "schedule", "")
    stride = _widget(schedule_node, registry, "stride_seconds", DEFAULT_STRIDE_SECONDS)
    blend = _widget(schedule_node, registry, "blend_seconds", 0.0)
    snap = _widget(schedule_node, registry, "snap_boundaries", True)
    batch = editor.add_node(
        "TimestampPromptScheduleBatchEncode",
        [x, y - 420],
        [schedule_text, stride, 0.0, bool(snap), float(DEFAULT_FPS), blend],
        title="Encode every prompt once (before the loop)",
        outputs=_outputs(registry, "TimestampPromptScheduleBatchEncode"),
        size=(400.0, 300.0),
    )
    if clip is not None:
        editor.connect(clip[0], clip[1], batch, "clip", "CLIP")
    if planner is not None:
        editor.connect(
            planner,
            _output_slot(registry, "AudioLoopPlanner", "stride_seconds"),
            batch,
            "stride_seconds",
            "FLOAT",
            widget=True,
        )
    audio_source = editor.source(controller, "audio") if controller is not None else None
    if audio_source is not None:
        duration = editor.add_node(
            "AudioDuration",
            [x - 380, y - 420],
            [],
            title="Track length",
            outputs=_outputs(registry, "AudioDuration"),
        )
        editor.connect(audio_source[0], audio_source[1], duration, "audio", "AUDIO")
        editor.connect(duration, 0, batch, "audio_duration", "FLOAT", widget=True)
    select = editor.add_node(
        "ConditioningSelectByIteration",
        [x, y],
        [1],
        title="Prompt of this iteration (pre-encoded)",
        outputs=_outputs(registry, "ConditioningSelectByIteration"),
    )
    list_type = registry.spec("ConditioningSelectByIteration").input("conditioning_list").type
    editor.connect(batch, 0, select, "conditioning_list", list_type)
    if iteration is not None:
        editor.connect(iteration[0], iteration[1], select, "current_iteration", "INT", widget=True)
    for target, name in editor.consumers(final, 0):
        editor.connect(select, 0, target, name, "CONDITIONING")
    removed = [schedule_node] + encoders + blends
    for node in removed:
        editor.remove_node(node)
    names = ", ".join(f"{n['type']} #{n['id']}" for n in removed)
    return [
        f"{_scope_name(editor)}replaced in-loop {names} with "
        f"TimestampPromptScheduleBatchEncode #{batch['id']} (before the loop) + "
        f"ConditioningSelectByIteration #{select['id']}"
    ]


@fix("frontend_padding", "pad widget lists the frontend would cut (TensorLoopClose overlap counts read back as 8)")
def _frontend_padding(document: dict, registry: NodeRegistry) -> list[str]:
    from .frontend_quirks import PAD, misread_values

    changes: list[str] = []
    for editor in editors(document):
        for node in editor.graph.get("nodes") or []:
            spec = registry.get(node.get("type"))
            values = node.get("widgets_values")
            if spec is None or not isinstance(values, list) or not misread_values(spec, values):
                continue
            values.append(PAD)
            changes.append(
                f"{_scope_name(editor)}{node['type']} #{node['id']}: widget list padded so the frontend "
                "keeps every value"
            )
    return changes


@fix("drop_stale_links", "remove link records that no node input refers to")
def _drop_stale_links(document: dict, registry: NodeRegistry) -> list[str]:
    changes = []
    for editor in editors(document):
        for link in list(editor.graph.get("links", [])):
            row = GraphEditor._row(link)
            target = editor.node(row[3])
            if row[3] in (-10, -20) and editor.graph is not document:
                continue
            slots = (target or {}).get("inputs") or []
            if target is None or not 0 <= row[4] < len(slots) or slots[row[4]].get("link") != row[0]:
                editor.graph["links"].remove(link)
                origin = editor.node(row[1])
                if origin is not None and row[2] < len(origin.get("outputs") or []):
                    out = origin["outputs"][row[2]]
                    out["links"] = [link for link in (out.get("links") or []) if link != row[0]]
                changes.append(f"{_scope_name(editor)}removed stale link {row[0]} ({row[1]} -> {row[3]})")
    return changes


@fix(
    "alh_to_ltx_audioloop",
    "convert an AudioLoopHelper workflow: legacy widgets, batch encoding, preprocessing, iteration wiring",
)
def _alh_conversion(document: dict, registry: NodeRegistry) -> list[str]:
    changes: list[str] = []
    for name in (
        "drop_stale_links",
        "alh_legacy_widgets",
        "batch_encode",
        "preprocess_compression",
        "preprocess_symmetry",
        "iterations_from_planner",
        "sampler_euler",
        "snap_boundaries",
    ):
        changes += FIXES[name].ui(document, registry)
    return changes


# -- running ----------------------------------------------------------------------------------


@dataclass
class MigrationResult:
    path: Path
    fix: str
    changes: list[str]
    written: bool
    backup: Path | None


def apply_fix(document: Any, name: str, registry: NodeRegistry) -> list[str]:
    """Apply fix ``name`` to ``document`` in place; returns the list of changes (empty: nothing to do)."""
    if name not in FIXES:
        raise ValueError(f"unknown fix {name!r}; available: {', '.join(sorted(FIXES))}")
    fmt = detect_format(document)
    chosen = FIXES[name]
    if fmt == "ui":
        return chosen.ui(document, registry) if chosen.ui else []
    if chosen.api is None:
        raise ValueError(f"fix {name!r} needs the canvas (UI) format; this file is an API prompt")
    return chosen.api(document if fmt == "api" else document["prompt"], registry)


def migrate_file(path: str | Path, name: str, registry: NodeRegistry, *, dry_run: bool = False) -> MigrationResult:
    """Apply fix ``name`` to the workflow file ``path`` in place (see :func:`_write_with_backup`)."""
    file = Path(path)
    document = load_document(file)
    changes = apply_fix(document, name, registry)
    if not changes or dry_run:
        return MigrationResult(file, name, changes, False, None)
    backup = _write_with_backup(file, dumps(document))
    return MigrationResult(file, name, changes, True, backup)


def backup_path(file: Path) -> Path:
    """``FILE.bak`` beside the path the user named (beside the link, when ``file`` is a symlink)."""
    return file.with_name(file.name + BACKUP_SUFFIX)


def usable_backup(backup: Path) -> bool:
    """True when ``backup`` is a non-empty file that parses as a workflow (a backup worth keeping)."""
    try:
        if not backup.is_file() or backup.stat().st_size == 0:
            return False
        detect_format(load_document(backup))
    except (ValueError, OSError):
        return False
    return True


def _write_with_backup(file: Path, text: str) -> Path:
    """Keep the file's current bytes as ``FILE.bak`` (once: the first migration's original), then
    replace the file atomically. A symlink is followed (its target is rewritten, the link stays),
    the target's mode is kept, and a backup that is empty or unreadable is replaced by the current,
    good file; a good backup is never overwritten."""
    backup = backup_path(file)
    original = file.read_bytes()
    if not usable_backup(backup):
        if backup.exists():
            log.warning("backup %s is empty or not a workflow; replacing it with the current %s", backup, file.name)
        atomic_write(backup, original, mode=stat.S_IMODE(os.stat(file).st_mode))
    atomic_write(file, text)
    return backup


def revert_file(path: str | Path) -> Path:
    """Restore ``path`` from its backup (written by the first migration); the backup is removed.

    A backup that is empty or not a workflow is refused (the file stays as it is)."""
    file = Path(path)
    backup = backup_path(file)
    if not backup.is_file():
        raise ValueError(f"no backup {backup.name} next to {file}: nothing to revert")
    if not usable_backup(backup):
        raise ValueError(
            f"backup {backup} is empty or not a workflow; {file} was left as it is "
            "(restore it by hand if you have another copy)"
        )
    atomic_write(file, backup.read_bytes())
    backup.unlink()
    return file
