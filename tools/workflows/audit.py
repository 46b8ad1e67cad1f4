"""Audit a workflow for the failure modes of looping LTX-2 with audio.

Each check is a function of the API graph (see :mod:`.convert` for how a canvas file becomes
one) that returns :class:`~.convert.Finding` objects: ``error`` for something that breaks the
render or its quality, ``warning`` for a deliberate-looking override. A finding that a
migration can fix names it in ``fix`` (``ltx-audioloop migrate FILE --fix NAME``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ...loop.geometry import loop_geometry
from .api_graph import ApiGraph, is_link
from .convert import Finding, Loaded, from_document, load_document
from .registry import MATCH_TYPE, NodeRegistry, types_compatible

TEXT_ENCODERS = ("CLIPTextEncode", "CachedTextEncode_AudioLoop", "TimestampPromptSchedule", "CLIPTextEncodeFlux",
                 "LTXVGemmaEnhancePrompt", "TextEncodeAceStepAudio")
GUIDE_NODES = ("LTXVAddGuide", "LTXVAddLatentGuide", "LTXVAddGuideMulti", "LTXVAddGuideAdvanced")
RESIZE_NODES = ("EmptyLTXVLatentVideo", "ImageScale", "ImageResizeKJv2", "LTXVImgToVideo", "ImageResizeKJ")
SAMPLER_WITH_CFG = ("CFGGuider", "KSampler", "KSamplerAdvanced", "STGGuiderAdvanced")
STOCHASTIC_SAMPLERS = ("ancestral", "_sde", "dpm_fast", "dpm_adaptive", "ddpm", "lcm")
FPS_INPUTS = {
    "AudioLoopController": "fps", "AudioLoopPlanner": "fps", "CreateVideo": "fps", "VHS_VideoCombine": "frame_rate",
    "LTXVConditioning": "frame_rate", "TimestampPromptScheduleBatchEncode": "frame_rate", "AudioLoopSaveVideo": "fps",
}
WHOLE_DECODERS = ("VAEDecode", "VAEDecodeTiled", "LTXVTiledVAEDecode", "LTXVSpatioTemporalTiledVAEDecode")
STREAMING_WRITER = "AudioLoopSaveVideo"
AUDIO_LOOP_NODES = ("AudioLoopController", "AudioLoopPlanner")


@dataclass
class Report:
    """Findings for one workflow file."""

    source: str
    format: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "format": self.format, "errors": len(self.errors),
                "warnings": len(self.warnings), "findings": [f.to_dict() for f in self.findings]}

    def text(self) -> str:
        if not self.findings:
            return f"{self.source}: OK ({self.format} format, no findings)"
        lines = [f"{self.source}: {len(self.errors)} error(s), {len(self.warnings)} warning(s) ({self.format} format)"]
        for finding in self.findings:
            where = f" [{finding.node}]" if finding.node else ""
            fix = (
                f"\n      fix: ltx-audioloop migrate FILE --fix {finding.fix}"
                if finding.fix and " " not in finding.fix
                else (f"\n      fix: {finding.fix}" if finding.fix else "")
            )
            lines.append(f"  {finding.level.upper():7s} {finding.check}{where}: {finding.message}{fix}")
        return "\n".join(lines)


Check = Callable[[ApiGraph], list[Finding]]
CHECKS: list[Check] = []


def check(function: Check) -> Check:
    CHECKS.append(function)
    return function


def audit_loaded(loaded: Loaded, registry: NodeRegistry) -> Report:
    graph = ApiGraph(loaded.api, registry)
    findings = list(loaded.findings)
    for run in CHECKS:
        findings.extend(run(graph))
    return Report(loaded.source, loaded.format, _dedupe(findings))


MALFORMED = (RecursionError, TypeError, AttributeError, KeyError, IndexError)


def audit_file(path: str | Path, registry: NodeRegistry) -> Report:
    """Audit one file; a malformed file is a report with one error naming the file (never a crash)."""
    try:
        document = load_document(path)
    except RecursionError:
        return _malformed_report(str(path), "its JSON is nested too deeply to be a workflow")
    return audit_document(document, registry, str(path))


def audit_document(document: Any, registry: NodeRegistry, source: str = "<workflow>") -> Report:
    problems = structure_problems(document)
    if problems:
        return Report(source, "unknown", problems)
    try:
        return audit_loaded(from_document(document, registry, source), registry)
    except MALFORMED as err:
        return _malformed_report(source, f"{type(err).__name__}: {err}")


def _malformed_report(source: str, reason: str) -> Report:
    return Report(
        source, "unknown", [Finding("error", "readable", f"{source} is not a well-formed workflow: {reason}")]
    )


def structure_problems(document: Any) -> list[Finding]:
    """Shape errors that would stop any reading: node ids, node objects, ``inputs`` of the right type."""
    found = []
    if isinstance(document, dict) and isinstance(document.get("nodes"), list):
        for index, node in enumerate(document["nodes"]):
            if not isinstance(node, dict):
                found.append(Finding("error", "readable", f"nodes[{index}] is not an object"))
            elif isinstance(node.get("id"), bool) or not isinstance(node.get("id"), (int, str)):
                found.append(
                    Finding(
                        "error",
                        "readable",
                        f"nodes[{index}] ({node.get('type', '?')}) has id "
                        f"{node.get('id')!r}; every node needs a number id",
                    )
                )
            elif not isinstance(node.get("inputs", []), list) or not isinstance(node.get("outputs", []) or [], list):
                found.append(
                    Finding(
                        "error",
                        "readable",
                        f"node {node['id']} ({node.get('type', '?')}): inputs "
                        "and outputs must be lists in a canvas workflow",
                        str(node["id"]),
                    )
                )
        if not isinstance(document.get("links", []), list):
            found.append(Finding("error", "readable", "'links' must be a list"))
    elif isinstance(document, dict):
        graph = document.get("prompt") if isinstance(document.get("prompt"), dict) else document
        for nid, node in graph.items():
            if not isinstance(node, dict):
                found.append(Finding("error", "readable", f"node {nid!r} is not an object", str(nid)))
            elif not isinstance(node.get("inputs", {}), dict):
                found.append(
                    Finding(
                        "error",
                        "readable",
                        f"node {nid} ({node.get('class_type', '?')}): 'inputs' "
                        f"must be an object of input names, got {type(node.get('inputs')).__name__}",
                        str(nid),
                    )
                )
    return found[:20]


@check
def no_dependency_cycle(graph: ApiGraph) -> list[Finding]:
    """Links never form a cycle (a node waiting on itself): ComfyUI could never run it."""
    state: dict[str, int] = {}
    for root in graph.nodes:
        if state.get(root):
            continue
        stack = [(root, iter(_link_sources(graph, root)))]
        state[root] = 1
        path = [root]
        while stack:
            nid, sources = stack[-1]
            nxt = next(sources, None)
            if nxt is None:
                state[nid] = 2
                stack.pop()
                path.pop()
            elif state.get(nxt) == 1:
                cycle = path[path.index(nxt) :]
                names = " -> ".join(graph.label(n) for n in cycle + [nxt])
                return [
                    Finding(
                        "error",
                        "no_dependency_cycle",
                        f"the links form a cycle: {names}; ComfyUI cannot run it",
                        nxt,
                        "remove one of these links",
                    )
                ]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(_link_sources(graph, nxt))))
    return []


def _link_sources(graph: ApiGraph, nid: str) -> list[str]:
    return [str(v[0]) for v in graph.inputs(nid).values() if is_link(v) and str(v[0]) in graph.nodes]


@check
def finite_number_literals(graph: ApiGraph) -> list[Finding]:
    """No NaN or infinite number in a widget value (JSON's NaN/Infinity extensions)."""
    found = []
    for nid in graph.nodes:
        for name, value in graph.inputs(nid).items():
            if isinstance(value, float) and not math.isfinite(value):
                found.append(
                    Finding(
                        "error",
                        "finite_number_literals",
                        f"{graph.label(nid)} input {name!r} is {value}; give a finite number",
                        nid,
                    )
                )
    return found


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen, out = set(), []
    for finding in findings:
        key = (finding.level, finding.check, finding.message)
        if key not in seen:
            seen.add(key)
            out.append(finding)
    return out


def _is_audio_loop(graph: ApiGraph) -> bool:
    return bool(graph.of_class(*AUDIO_LOOP_NODES))


def _is_ltx(graph: ApiGraph) -> bool:
    return any(graph.class_of(nid).startswith(("LTXV", "LTX2", "EmptyLTXV")) for nid in graph.nodes)


def _is_distilled(graph: ApiGraph) -> bool:
    for nid in graph.nodes:
        for name in ("ckpt_name", "unet_name"):
            value = graph.inputs(nid).get(name)
            if isinstance(value, str) and "distill" in value.lower():
                return True
        if graph.class_of(nid) == "ManualSigmas":
            sigmas = str(graph.inputs(nid).get("sigmas", "")).replace(" ", "")
            if sigmas.startswith("1.0,0.99375"):
                return True
    return False


# -- structure ----------------------------------------------------------------------------------


@check
def inputs_match_their_node_types(graph: ApiGraph) -> list[Finding]:
    """Every input is declared by its node type, every required one is present, links are typed."""
    findings = []
    for nid, node in graph.nodes.items():
        spec = graph.registry.get(graph.class_of(nid))
        if spec is None:
            continue
        declared = {s.path: s for s in spec.all_inputs()}
        for name, value in (node.get("inputs") or {}).items():
            if name not in declared:
                fix = (
                    "controller_seed" if graph.class_of(nid) == "AudioLoopController" and name == "base_seed" else None
                )
                findings.append(
                    Finding(
                        "error",
                        "unknown_input",
                        f"{graph.label(nid)} has an input {name!r} its node type does not declare",
                        nid,
                        fix,
                    )
                )
                continue
            if is_link(value):
                src = str(value[0])
                if src not in graph.nodes:
                    findings.append(
                        Finding("error", "dangling_link", f"{graph.label(nid)}.{name} links to missing node {src}", nid)
                    )
                    continue
                out_type = graph.output_type(src, value[1])
                src_spec = graph.registry.get(graph.class_of(src))
                if src_spec is not None and not 0 <= value[1] < len(src_spec.outputs):
                    findings.append(
                        Finding(
                            "error",
                            "output_slot",
                            f"{graph.label(nid)}.{name} takes output {value[1]} of {graph.label(src)}, "
                            f"which has {len(src_spec.outputs)} outputs",
                            nid,
                        )
                    )
                elif out_type and declared[name].type != MATCH_TYPE and not types_compatible(out_type, declared[name]):
                    findings.append(
                        Finding(
                            "error",
                            "link_type",
                            f"{graph.label(nid)}.{name} takes {declared[name].type} but gets {out_type} "
                            f"from {graph.label(src)}",
                            nid,
                        )
                    )
        choices = {
            s.path: str(node.get("inputs", {}).get(s.path, s.default)) for s in spec.all_inputs() if s.kind == "dynamic"
        }
        for spec_input in spec.all_inputs():
            parent = spec_input.path.rpartition(".")[0]
            if parent in choices and spec_input not in spec.input(parent).dynamic_options.get(choices[parent], ()):
                continue
            if spec_input.required and spec_input.path not in (node.get("inputs") or {}):
                other_pack_widget = (
                    spec.module.startswith("custom_nodes.") and spec.module != "custom_nodes.ltx-audioloop"
                )
                findings.append(
                    Finding(
                        "warning" if other_pack_widget else "error",
                        "missing_input",
                        f"{graph.label(nid)} lacks its required input {spec_input.path!r}"
                        + (" (the pack's version may differ from the recorded snapshot)" if other_pack_widget else ""),
                        nid,
                    )
                )
    return findings


@check
def text_encoding_outside_the_loop(graph: ApiGraph) -> list[Finding]:
    """No text encoder runs inside a loop: it would reload the encoder and evict the model each iteration."""
    findings = []
    for loop in graph.loops():
        for nid in sorted(loop.body):
            spec = graph.registry.get(graph.class_of(nid))
            takes_clip = spec is not None and any(s.type == "CLIP" for s in spec.inputs)
            if graph.class_of(nid) in TEXT_ENCODERS or takes_clip:
                findings.append(
                    Finding(
                        "error",
                        "text_encoder_in_loop",
                        f"{graph.label(nid)} encodes text inside the loop: every iteration reloads the text encoder, "
                        "evicts the video model and leaves NAG's negative context stale; encode the schedule once "
                        "before the loop (TimestampPromptScheduleBatchEncode + ConditioningSelectByIteration)",
                        nid,
                        "batch_encode",
                    )
                )
    return findings


@check
def loop_iterations_from_the_planner(graph: ApiGraph) -> list[Finding]:
    if not _is_audio_loop(graph):
        return []
    findings = []
    for open_id in graph.of_class("TensorLoopOpen"):
        mode = graph.inputs(open_id).get("mode", "iterations")
        if mode != "iterations":
            findings.append(
                Finding(
                    "error",
                    "loop_iterations",
                    f"{graph.label(open_id)} runs in {mode!r} mode; an audio loop must run the "
                    "planner's iteration count",
                    open_id,
                    "iterations_from_planner",
                )
            )
            continue
        src = graph.source(open_id, "mode.iterations")
        if src is None or graph.class_of(src[0]) != "AudioLoopPlanner":
            findings.append(
                Finding(
                    "warning",
                    "loop_iterations",
                    f"{graph.label(open_id)} iterations are not wired from "
                    "AudioLoopPlanner.total_iterations: "
                    "OK if intentional (a short test render), otherwise the video stops early or runs "
                    "past the end of the audio",
                    open_id,
                    "iterations_from_planner",
                )
            )
    return findings


@check
def initial_window_sized_to_the_audio(graph: ApiGraph) -> list[Finding]:
    if not graph.of_class("AudioLoopPlanner"):
        return []
    findings = []
    loop_bodies = graph.loop_body_ids()
    for nid in graph.of_class("EmptyLTXVLatentVideo"):
        if nid in loop_bodies:
            continue
        src = graph.source(nid, "length")
        if src is None or graph.class_of(src[0]) != "AudioLoopPlanner":
            findings.append(
                Finding(
                    "warning",
                    "initial_window_length",
                    f"{graph.label(nid)} length is not AudioLoopPlanner.initial_window_frames: a track "
                    "shorter than one window renders video past the end of the audio",
                    nid,
                )
            )
    return findings


# -- conditioning images ------------------------------------------------------------------------


@check
def conditioning_image_compression(graph: ApiGraph) -> list[Finding]:
    findings = []
    for nid in graph.of_class("LTXVPreprocess"):
        value = graph.value(nid, "img_compression")
        if value == 0:
            findings.append(
                Finding(
                    "error",
                    "preprocess_compression",
                    f"{graph.label(nid)} img_compression is 0, which skips the re-compression LTX-2.3 "
                    "was trained on: the first frames freeze; use 18",
                    nid,
                    "preprocess_compression",
                )
            )
    return findings


def _image_source_preprocessed(graph: ApiGraph, nid: str, name: str) -> bool:
    src = graph.source(nid, name)
    for _ in range(16):
        if src is None:
            return False
        cls = graph.class_of(src[0])
        if cls == "LTXVPreprocess":
            return True
        if cls == "VAEEncode":
            src = graph.source(src[0], "pixels")
            continue
        return False
    return False


def _guide_image_inputs(graph: ApiGraph, nid: str) -> list[str]:
    cls = graph.class_of(nid)
    if cls == "LTXVAddGuide" or cls == "LTXVImgToVideoInplace":
        return ["image"]
    if cls == "LTXVAddLatentGuide":
        return ["guiding_latent"]
    return [name for name in graph.inputs(nid) if name.split(".")[-1].startswith("image_")]


@check
def guide_images_preprocessed_alike(graph: ApiGraph) -> list[Finding]:
    """Every image that conditions a pass comes from LTXVPreprocess, and all with the same compression."""
    if not _is_ltx(graph):
        return []
    findings = []
    compressions = set()
    in_loop = graph.loop_body_ids()
    for nid in graph.of_class(*GUIDE_NODES, "LTXVImgToVideoInplace", "LTXVImgToVideoInplaceKJ"):
        for name in _guide_image_inputs(graph, nid):
            if name not in graph.inputs(nid):
                continue
            if not _image_source_preprocessed(graph, nid, name):
                where = "in the loop" if nid in in_loop else "of the initial render"
                findings.append(
                    Finding(
                        "error",
                        "preprocess_symmetry",
                        f"{graph.label(nid)}.{name} {where} takes an image that did not go through LTXVPreprocess: the "
                        "passes see differently compressed conditioning and identity drifts from the second window on",
                        nid,
                        "preprocess_symmetry",
                    )
                )
            else:
                src = graph.source(nid, name)
                while graph.class_of(src[0]) != "LTXVPreprocess":
                    src = graph.source(src[0], "pixels")
                compressions.add(graph.value(src[0], "img_compression"))
    if len(compressions - {None}) > 1:
        findings.append(
            Finding(
                "error",
                "preprocess_symmetry",
                "conditioning images are re-compressed with different CRFs "
                f"{sorted(compressions - {None})}: "
                "use one LTXVPreprocess setting for every pass",
                None,
                "preprocess_compression",
            )
        )
    return findings


@check
def guides_cropped_in_the_loop(graph: ApiGraph) -> list[Finding]:
    """Guide frames appended in an iteration are cropped before the iteration's result is collected."""
    findings = []
    for loop in graph.loops():
        for nid in sorted(loop.body):
            if graph.class_of(nid) not in GUIDE_NODES:
                continue
            if graph.paths_avoiding(nid, loop.close_id, "LTXVCropGuides"):
                findings.append(
                    Finding(
                        "error",
                        "loop_cropguides",
                        f"{graph.label(nid)} adds guide frames whose latent reaches TensorLoopClose without "
                        "LTXVCropGuides: guide frames and keyframe metadata accumulate across iterations",
                        nid,
                    )
                )
                continue
            for crop in graph.downstream([nid]) & loop.body:
                if graph.class_of(crop) != "LTXVCropGuides":
                    continue
                positive = graph.source(crop, "positive")
                carries = positive is not None and (positive[0] == nid or nid in graph.upstream([positive[0]]))
                if not carries:
                    findings.append(
                        Finding(
                            "error",
                            "loop_cropguides",
                            f"{graph.label(crop)} crops with conditioning that does not carry {graph.label(nid)}'s "
                            "keyframe metadata, so it removes nothing: feed it the guide node's positive/negative",
                            crop,
                        )
                    )
        for crop in sorted(n for n in loop.body if graph.class_of(n) == "LTXVCropGuides"):
            if not graph.consumers.get(crop):
                findings.append(
                    Finding(
                        "warning",
                        "loop_cropguides",
                        f"{graph.label(crop)} in the loop has no consumers: its cropped result is "
                        "computed and thrown away",
                        crop,
                    )
                )
    return findings


# -- sampling -----------------------------------------------------------------------------------


@check
def distilled_sampling(graph: ApiGraph) -> list[Finding]:
    if not _is_ltx(graph):
        return []
    distilled = _is_distilled(graph)
    findings = []
    for nid in graph.of_class("KSamplerSelect", "KSampler", "KSamplerAdvanced"):
        name = str(graph.value(nid, "sampler_name", ""))
        if any(tag in name for tag in STOCHASTIC_SAMPLERS):
            findings.append(
                Finding(
                    "error" if distilled else "warning",
                    "sampler",
                    f"{graph.label(nid)} uses {name!r}: noise injected per step compounds across "
                    "iterations into identity drift; the distilled model is trained for 'euler'",
                    nid,
                    "sampler_euler",
                )
            )
    if distilled:
        for nid in graph.of_class(*SAMPLER_WITH_CFG):
            cfg = graph.value(nid, "cfg")
            if isinstance(cfg, (int, float)) and cfg > 1.0:
                findings.append(
                    Finding(
                        "error",
                        "cfg",
                        f"{graph.label(nid)} cfg {cfg} with a distilled model (trained for CFG 1): "
                        "burnt colours and twice the compute; use NAG for negative prompts",
                        nid,
                        "cfg_one",
                    )
                )
        if not any(graph.class_of(n).endswith("NAG") or "NAG" in graph.class_of(n) for n in graph.nodes):
            findings.append(
                Finding("warning", "nag", "no NAG node: at CFG 1 the negative prompt has no effect without NAG")
            )
    return findings


@check
def resolution_alignment(graph: ApiGraph) -> list[Finding]:
    if not _is_ltx(graph):
        return []
    findings = []
    for nid in graph.of_class(*RESIZE_NODES):
        for name in ("width", "height"):
            value = graph.value(nid, name)
            if not isinstance(value, int) or value == 0:
                continue
            if value % 32:
                findings.append(
                    Finding(
                        "error",
                        "resolution",
                        f"{graph.label(nid)} {name} {value} is not a multiple of 32: LTX rounds it "
                        "silently and the frames no longer match the conditioning",
                        nid,
                        "resolution_64",
                    )
                )
            elif value % 64:
                findings.append(
                    Finding(
                        "warning",
                        "resolution",
                        f"{graph.label(nid)} {name} {value} is not a multiple of 64, which the "
                        "two-stage (x2 upscaler) path needs",
                        nid,
                        "resolution_64",
                    )
                )
    return findings


@check
def frame_rates_agree(graph: ApiGraph) -> list[Finding]:
    values: dict[float, list[str]] = {}
    for nid in graph.of_class(*FPS_INPUTS):
        value = graph.value(nid, FPS_INPUTS[graph.class_of(nid)])
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            values.setdefault(float(value), []).append(graph.label(nid))
    if len(values) > 1:
        listing = "; ".join(f"{fps:g}: {', '.join(names)}" for fps, names in sorted(values.items()))
        return [
            Finding(
                "error",
                "frame_rate",
                f"frame rates disagree ({listing}): audio and video drift apart; use one fps everywhere",
            )
        ]
    return []


@check
def decoder_tiles_match_the_stride(graph: ApiGraph) -> list[Finding]:
    findings = []
    controllers = graph.of_class("AudioLoopController")
    stride_frames = None
    if controllers:
        window = graph.value(controllers[0], "window_seconds")
        overlap = graph.value(controllers[0], "overlap_seconds")
        fps = graph.value(controllers[0], "fps")
        try:
            stride_frames = loop_geometry(float(window), float(overlap), float(fps)).stride_frames
        except (TypeError, ValueError):
            stride_frames = None
    for nid in graph.of_class("VAEDecodeTiled"):
        size, overlap_frames = graph.value(nid, "temporal_size"), graph.value(nid, "temporal_overlap")
        if not isinstance(size, int) or not isinstance(overlap_frames, int):
            continue
        if overlap_frames > size // 4:
            findings.append(
                Finding(
                    "warning",
                    "decoder_tiles",
                    f"{graph.label(nid)} temporal_overlap {overlap_frames} > temporal_size/4: ComfyUI clamps it",
                    nid,
                    "decoder_ltx_tiled",
                )
            )
        if stride_frames and size - overlap_frames != stride_frames:
            findings.append(
                Finding(
                    "error",
                    "decoder_tiles",
                    f"{graph.label(nid)} decodes temporal tiles every {size - overlap_frames} frames but "
                    f"the loop's stride is {stride_frames} frames: a seam inside every iteration; use "
                    "LTXVTiledVAEDecode (spatial tiles only) or size - overlap = the stride",
                    nid,
                    "decoder_ltx_tiled",
                )
            )
    return findings


@check
def loop_output_streamed_to_file(graph: ApiGraph) -> list[Finding]:
    """A decoder after the loop holds the whole track's frames at once (float32 IMAGE batch)."""
    findings = []
    body = graph.loop_body_ids()
    after_loop = graph.downstream([loop.close_id for loop in graph.loops()])
    for nid in graph.of_class(*WHOLE_DECODERS):
        if nid in body or nid not in after_loop:
            continue
        findings.append(
            Finding(
                "warning",
                "whole_video_decode",
                f"{graph.label(nid)} decodes the loop's whole output into one IMAGE batch: memory "
                "grows with the track (about 20 GB per minute at 832x448); decode and write it with "
                f"{STREAMING_WRITER} (chunked, flat memory)",
                nid,
            )
        )
    return findings


@check
def schedule_snapping(graph: ApiGraph) -> list[Finding]:
    findings = []
    for nid in graph.of_class("TimestampPromptSchedule", "TimestampPromptScheduleBatchEncode", "KeyframeImageSchedule"):
        if graph.value(nid, "snap_boundaries", True) is False:
            findings.append(
                Finding(
                    "warning",
                    "schedule_snap",
                    f"{graph.label(nid)} snap_boundaries is off: an iteration that straddles a "
                    "boundary runs on mixed prompts",
                    nid,
                    "snap_boundaries",
                )
            )
    return findings


@check
def loop_accumulates_video_only(graph: ApiGraph) -> list[Finding]:
    findings = []
    for loop in graph.loops():
        src = graph.source(loop.close_id, "processed")
        if src and graph.class_of(src[0]) in ("SamplerCustomAdvanced", "LTXVConcatAVLatent", "KSampler"):
            findings.append(
                Finding(
                    "error",
                    "loop_av_latent",
                    f"{graph.label(loop.close_id)} collects an audio+video latent: its trim counts the "
                    "same number of frames on both parts, which are in different units; separate and "
                    "collect the video latent",
                    loop.close_id,
                )
            )
        for consumer, name in graph.edges_from(loop.open_id, 1):
            if graph.class_of(consumer) in ("LTXVSelectLatents", "LTXVAudioVideoMask"):
                findings.append(
                    Finding(
                        "warning",
                        "noise_mask",
                        f"{graph.label(consumer)} takes the previous iteration's latent with its "
                        "noise mask; extract the context with LatentContextExtract (strips it)",
                        consumer,
                    )
                )
    return findings


@check
def audio_prepared_for_lip_sync(graph: ApiGraph) -> list[Finding]:
    if not _is_audio_loop(graph):
        return []
    findings = []
    for nid in graph.of_class("LTXVAudioVAEEncode"):
        chain = graph.upstream([nid])
        if not any(graph.class_of(n) == "AudioPreprocessForLTX" for n in chain):
            findings.append(
                Finding(
                    "warning",
                    "audio_preprocess",
                    f"{graph.label(nid)} encodes audio that did not pass AudioPreprocessForLTX: dull "
                    "or bass-heavy tracks lose consonant mouth shapes",
                    nid,
                )
            )
    return findings
