"""A short description of an extracted workflow: node counts, node types, our nodes, settings.

Works on plain JSON data (see :mod:`.extract`); tolerates graphs with missing pieces and lists
what was missing under ``problems`` instead of failing, since the summary is for reading.

Settings come from the API-format prompt, where every input has its name: the literal
(non-link) values of sampling inputs (seeds, sampler, scheduler, sigmas, steps, cfg, size,
frames, frame rate, prompt text ...) of every node, all literal inputs of this package's nodes,
and every string input naming a model file.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Iterable

from .extract import ExtractedMetadata

SETTING_INPUTS = frozenset({
    "seed", "noise_seed", "base_seed",
    "sampler_name", "scheduler", "sigmas", "steps", "cfg", "denoise",
    "max_shift", "base_shift", "stretch", "terminal",
    "width", "height", "length", "num_frames", "batch_size", "frame_rate", "fps",
    "strength", "strength_model", "img_compression",
    "window_seconds", "overlap_seconds", "max_iterations", "schedule", "blend_seconds",
    "text", "mode.iterations", "mode.total_frames",
})
"""API input names reported for any node (literal values only)."""

MODEL_FILE_SUFFIXES = (".safetensors", ".sft", ".gguf", ".ckpt", ".pt", ".pth", ".bin")


def _is_link(value: Any) -> bool:
    """API-format link: ``[source node id, output slot]``."""
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)


def _id_order(node_id: str) -> tuple:
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"[:.]", str(node_id)))


def workflow_stats(workflow: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """Node and link counts of a UI-format workflow, subgraph contents included.

    A node whose type is a subgraph id is counted as ``subgraph:<name>``.
    """
    nodes = workflow.get("nodes")
    if not isinstance(nodes, list):
        problems.append("workflow has no 'nodes' list (not a UI-format workflow?)")
        nodes = []
    subgraphs = (workflow.get("definitions") or {}).get("subgraphs") or []
    if not isinstance(subgraphs, list):
        problems.append("workflow 'definitions.subgraphs' is not a list")
        subgraphs = []
    names = {sg.get("id"): sg.get("name") or sg.get("id") for sg in subgraphs if isinstance(sg, dict)}
    types: Counter[str] = Counter()
    inner = 0

    def count(node_list: Iterable[Any]) -> None:
        for node in node_list:
            if isinstance(node, dict):
                kind = node.get("type", "?")
                types[f"subgraph:{names[kind]}" if kind in names else str(kind)] += 1

    count(nodes)
    for sg in subgraphs:
        if isinstance(sg, dict) and isinstance(sg.get("nodes"), list):
            inner += len(sg["nodes"])
            count(sg["nodes"])
    links = workflow.get("links")
    return {
        "node_count": len(nodes),
        "subgraph_count": len(subgraphs),
        "subgraph_node_count": inner,
        "link_count": len(links) if isinstance(links, list) else 0,
        "node_types": dict(sorted(types.items())),
    }


CONSTANT_VALUE_INPUTS = ("value", "string", "int", "float", "boolean", "number", "text")
"""Input names under which value nodes (``PrimitiveInt``, ``INTConstant``, ``StringConstant`` ...)
hold the value they output."""


def _constant_source(prompt: dict[str, Any], link: list, hops: int = 4) -> tuple[Any, str] | None:
    """``(value, "class_type #id")`` of the value node a link comes from (through up to ``hops``
    pass-through value nodes), or ``None`` when it comes from a node that computes something."""
    for _ in range(hops):
        node = prompt.get(str(link[0]))
        if not isinstance(node, dict) or not isinstance(node.get("inputs"), dict):
            return None
        kind = str(node.get("class_type", ""))
        if not ("Primitive" in kind or "Constant" in kind):
            return None
        held = [(name, node["inputs"][name]) for name in CONSTANT_VALUE_INPUTS if name in node["inputs"]]
        if len(held) != 1:
            return None
        value = held[0][1]
        if not _is_link(value):
            return value, f"{kind} #{link[0]}"
        link = value
    return None


def _prompt_nodes(prompt: dict[str, Any], problems: list[str]) -> list[tuple[str, dict[str, Any]]]:
    good = []
    for node_id, node in prompt.items():
        if isinstance(node, dict) and isinstance(node.get("class_type"), str):
            good.append((node_id, node))
        else:
            problems.append(f"prompt node {node_id!r} has no class_type")
    return sorted(good, key=lambda item: _id_order(item[0]))


def summarize(meta: ExtractedMetadata, our_node_ids: Iterable[str]) -> dict[str, Any]:
    """JSON-ready summary of ``meta``; ``our_node_ids`` are this package's node ids."""
    ours = set(our_node_ids)
    problems: list[str] = []
    result: dict[str, Any] = {
        "file": meta.path,
        "container": meta.container,
        "found_in": dict(meta.found_in),
        "other_metadata_keys": list(meta.other_keys),
    }
    present: set[str] = set()
    if meta.workflow is not None:
        result["workflow"] = workflow_stats(meta.workflow, problems)
        present |= set(result["workflow"]["node_types"]) & ours
    settings: list[dict[str, Any]] = []
    models: list[dict[str, Any]] = []
    if meta.prompt is not None:
        nodes = _prompt_nodes(meta.prompt, problems)
        result["prompt"] = {
            "node_count": len(nodes),
            "class_types": dict(sorted(Counter(node["class_type"] for _, node in nodes).items())),
        }
        present |= set(result["prompt"]["class_types"]) & ours
        for node_id, node in nodes:
            inputs = node.get("inputs") if isinstance(node.get("inputs"), dict) else {}
            title = (node.get("_meta") or {}).get("title") if isinstance(node.get("_meta"), dict) else None
            for name, value in inputs.items():
                via = None
                if _is_link(value):
                    if not (node["class_type"] in ours or name in SETTING_INPUTS):
                        continue
                    source = _constant_source(meta.prompt, value)
                    if source is None:
                        continue  # computed by the graph (an iteration seed, a wired stride): not a setting
                    value, via = source
                entry = {"node": node_id, "class_type": node["class_type"], "title": title, "input": name,
                         "value": value}
                if via is not None:
                    entry["via"] = via
                if isinstance(value, str) and value.lower().endswith(MODEL_FILE_SUFFIXES):
                    models.append(entry)
                elif node["class_type"] in ours or name in SETTING_INPUTS:
                    settings.append(entry)
    else:
        problems.append("no API-format prompt stored: settings are only listed from the prompt")
    result["our_nodes"] = sorted(present)
    result["models"] = models
    result["settings"] = settings
    result["problems"] = problems
    return result


def _format_value(value: Any) -> str:
    if isinstance(value, str) and "\n" in value:
        return "\n" + "\n".join("        " + line for line in value.splitlines())
    return repr(value) if isinstance(value, str) else str(value)


def format_summary(summary: dict[str, Any]) -> str:
    """Plain-text rendering of :func:`summarize`'s result."""
    lines = [f"File: {summary['file']} ({summary['container']})"]
    for key, where in summary["found_in"].items():
        lines.append(f"  {key}: {where}")
    if summary["other_metadata_keys"]:
        lines.append(f"  other metadata keys: {', '.join(summary['other_metadata_keys'])}")
    wf = summary.get("workflow")
    if wf:
        lines.append(
            f"Workflow (UI): {wf['node_count']} nodes, {wf['link_count']} links"
            + (
                f", {wf['subgraph_count']} subgraphs with {wf['subgraph_node_count']} nodes"
                if wf["subgraph_count"]
                else ""
            )
        )
        lines.append("  node types: " + ", ".join(f"{t} x{n}" if n > 1 else t for t, n in wf["node_types"].items()))
    else:
        lines.append("Workflow (UI): not stored")
    pr = summary.get("prompt")
    if pr:
        lines.append(f"Prompt (API): {pr['node_count']} nodes")
        if not wf:
            lines.append(
                "  class types: " + ", ".join(f"{t} x{n}" if n > 1 else t for t, n in pr["class_types"].items())
            )
    else:
        lines.append("Prompt (API): not stored")
    lines.append("ltx-audioloop nodes: " + (", ".join(summary["our_nodes"]) or "none"))
    if summary["models"]:
        lines.append("Models:")
        for entry in summary["models"]:
            lines.append(f"  #{entry['node']} {entry['class_type']}.{entry['input']} = {entry['value']}")
    if summary["settings"]:
        lines.append("Settings:")
        for entry in summary["settings"]:
            via = f" (from {entry['via']})" if entry.get("via") else ""
            lines.append(
                f"  #{entry['node']} {entry['class_type']}.{entry['input']}{via} = {_format_value(entry['value'])}"
            )
    for problem in summary["problems"]:
        lines.append(f"Note: {problem}")
    return "\n".join(lines)
