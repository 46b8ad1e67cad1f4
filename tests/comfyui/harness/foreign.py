"""Make a foreign canvas (one published by another pack) runnable on the test server, as a user would:

- ``swap_node_types`` replaces node types in the canvas before it is loaded (ComfyUI-AudioLoopHelper's
  ``ConditioningBlend`` -> this pack's ``AudioLoopConditioningBlend``: same inputs, our own id);
- ``replace_unavailable`` rewrites, in the API graph the frontend made, the nodes of packs the server
  does not have (they come out of ``graphToPrompt`` without ``class_type``): a VideoHelperSuite video
  writer becomes ComfyUI's ``CreateVideo`` + ``SaveVideo``; a MelBandRoFormer vocal separator passes its
  input audio through, and its model loader goes.
"""
from __future__ import annotations

import copy

from .tinyize import is_link


def swap_node_types(canvas: dict, swaps: dict[str, str]) -> tuple[dict, list[str]]:
    """A copy of ``canvas`` with node types renamed per ``swaps``, in subgraphs too; and what changed."""
    out = copy.deepcopy(canvas)
    changed = []
    graphs = [("", out)] + [
        (f"{s.get('name', s.get('id'))}/", s) for s in out.get("definitions", {}).get("subgraphs", [])
    ]
    for where, graph in graphs:
        for node in graph.get("nodes", []):
            if node.get("type") in swaps:
                changed.append(f"{where}{node['id']} {node['type']} -> {swaps[node['type']]}")
                node["type"] = swaps[node["type"]]
    return out, changed


def canvas_types(canvas: dict) -> dict[str, tuple[str, object]]:
    """API node id -> (canvas node type, widgets_values), with subgraph nodes as 'instance:inner' ids."""
    found = {str(n["id"]): (n.get("type"), n.get("widgets_values")) for n in canvas.get("nodes", [])}
    subgraphs = {s["id"]: s for s in canvas.get("definitions", {}).get("subgraphs", [])}
    for node in canvas.get("nodes", []):
        inner = subgraphs.get(node.get("type"))
        if inner:
            for child in inner.get("nodes", []):
                found[f"{node['id']}:{child['id']}"] = (child.get("type"), child.get("widgets_values"))
    return found


def _rewire(graph: dict, old_id: str, source_of_slot) -> None:
    for node in graph.values():
        for name, value in list(node.get("inputs", {}).items()):
            if is_link(value) and value[0] == old_id:
                node["inputs"][name] = list(source_of_slot(value[1]))


def replace_unavailable(api: dict, canvas: dict, prefix: str) -> tuple[dict, list[str]]:
    """See the module docstring. Returns the new graph and one line per change; raises ValueError
    naming every typeless node it has no rule for."""
    graph = copy.deepcopy(api)
    types = canvas_types(canvas)
    notes, unknown = [], []
    for node_id in [i for i, n in graph.items() if not n.get("class_type")]:
        kind, widgets = types.get(node_id, (None, None))
        inputs = graph[node_id].get("inputs", {})
        if kind == "VHS_VideoCombine":
            fps = float((widgets or {}).get("frame_rate", 25)) if isinstance(widgets, dict) else 25.0
            create = {"images": inputs["images"], "fps": fps}
            if is_link(inputs.get("audio")):
                create["audio"] = inputs["audio"]
            graph[node_id] = {"class_type": "CreateVideo", "inputs": create, "_meta": {"title": f"was {kind}"}}
            graph[f"{node_id}9001"] = {
                "class_type": "SaveVideo",
                "inputs": {"video": [node_id, 0], "filename_prefix": prefix, "format": "mp4", "codec": "h264"},
            }
            notes.append(f"{node_id} {kind} -> CreateVideo ({fps:g} fps) + SaveVideo {node_id}9001")
        elif kind == "MelBandRoFormerSampler":
            audio = inputs.get("audio")
            if not is_link(audio):
                raise ValueError(f"node {node_id} {kind}: no audio link to pass through ({inputs})")
            _rewire(graph, node_id, lambda slot, a=audio: a)
            del graph[node_id]
            notes.append(f"{node_id} {kind}: audio passed through")
        elif kind == "MelBandRoFormerModelLoader":
            del graph[node_id]
            notes.append(f"{node_id} {kind}: dropped")
        else:
            unknown.append(f"{node_id} ({kind})")
    dangling = [
        f"{i}.{name} -> {v[0]}"
        for i, n in graph.items()
        for name, v in n.get("inputs", {}).items()
        if is_link(v) and v[0] not in graph
    ]
    if unknown or dangling:
        raise ValueError(
            "the server lacks node types this canvas uses, and no rule replaces them: "
            f"{', '.join(unknown) or 'none'}; links to removed nodes: {', '.join(dangling) or 'none'}. "
            "Load the packs that provide them (LTX_AUDIOLOOP_COMFYUI_EXTRA_NODES)"
        )
    return graph, notes
