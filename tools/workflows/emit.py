"""Emit a :class:`~.graph.Workflow` as ComfyUI's two JSON formats.

* **API format** (what ``POST /prompt`` takes): ``{"<id>": {"class_type", "inputs", "_meta"}}``;
  a link is ``["<source id>", output slot]``; inputs of a dynamic combo's option are named
  ``"<combo>.<input>"``; canvas-only nodes (notes) are left out.
* **UI format** (what the canvas loads, version 0.4): nodes with positions, sizes, typed input
  and output slots and ``widgets_values`` in the frontend's order (a seed's
  ``control_after_generate`` value right after it, upload widgets after a file combo); links
  ``[id, origin, origin_slot, target, target_slot, type]`` where ``target_slot`` indexes the
  target's ``inputs`` list; groups with bounds; template metadata in ``extra``.

Both are deterministic: the same workflow gives the same bytes.
"""

from __future__ import annotations

import json
from typing import Any

from ... import __version__
from .frontend_quirks import safe_values
from .graph import Node, OutputRef, Workflow, default_value
from .layout import layout, node_size

UI_VERSION = 0.4
OWN_PACK = "ltx-audioloop"  # our nodes also carry ``ver`` (the package version), like the Manager writes it
PACK_IDS = {
    "custom_nodes.ComfyUI-KJNodes": "comfyui-kjnodes",
    "custom_nodes.ComfyUI-LTXVideo": "comfyui-ltxvideo",
    "custom_nodes.ComfyUI-VideoHelperSuite": "comfyui-videohelpersuite",
    "custom_nodes.ltx-audioloop": "ltx-audioloop",
}


def _json_value(value: Any) -> Any:
    if isinstance(value, OutputRef):
        return [str(value.node.id), value.slot]
    return value


def to_api(workflow: Workflow) -> dict[str, Any]:
    """The API-format graph of ``workflow`` (validated first)."""
    workflow.validate()
    graph: dict[str, Any] = {}
    for node in workflow.topological_order():
        if node.spec is None:
            continue
        inputs: dict[str, Any] = {}
        for spec in node.active_inputs():
            if spec.path in node.inputs:
                inputs[spec.path] = _json_value(node.inputs[spec.path])
            elif spec.kind in ("widget", "dynamic"):
                inputs[spec.path] = default_value(spec)
        graph[str(node.id)] = {
            "class_type": node.class_type,
            "inputs": inputs,
            "_meta": {"title": node.title or node.spec.display_name or node.class_type},
        }
    return graph


def widgets_values(node: Node) -> list[Any]:
    """The node's ``widgets_values`` in the canvas order (linked widgets keep their slot)."""
    values: list[Any] = []
    for spec in node.active_inputs():
        if spec.kind not in ("widget", "dynamic"):
            continue
        value = node.inputs.get(spec.path, default_value(spec))
        if isinstance(value, OutputRef):
            value = default_value(spec)
        values.append(value)
        if spec.control_after_generate:
            values.append("fixed")
        if spec.upload_widgets == 1:
            values.append("image")
        elif spec.upload_widgets:
            values.extend([None] * spec.upload_widgets)
    return safe_values(node.spec, values)


def _slot_inputs(node: Node) -> list[Any]:
    """The input specs that get a slot in the UI node's ``inputs`` list, in order."""
    return [
        spec for spec in node.active_inputs()
        if spec.kind == "socket" or isinstance(node.inputs.get(spec.path), OutputRef)
    ]


def to_ui(workflow: Workflow) -> dict[str, Any]:
    """The canvas-format workflow (validated first)."""
    workflow.validate()
    positions = layout(workflow)
    order = {node.id: i for i, node in enumerate(workflow.topological_order())}
    slot_of: dict[tuple[int, str], int] = {}
    for node in workflow.nodes.values():
        if node.spec is not None:
            for index, spec in enumerate(_slot_inputs(node)):
                slot_of[(node.id, spec.path)] = index

    links: list[list[Any]] = []
    link_id: dict[tuple[int, str], int] = {}
    outgoing: dict[tuple[int, int], list[int]] = {}
    for target, name, ref in sorted(workflow.links(), key=lambda item: (item[0].id, slot_of[(item[0].id, item[1])])):
        lid = len(links) + 1
        links.append([lid, ref.node.id, ref.slot, target.id, slot_of[(target.id, name)], ref.type])
        link_id[(target.id, name)] = lid
        outgoing.setdefault((ref.node.id, ref.slot), []).append(lid)

    nodes = []
    for node in sorted(workflow.nodes.values(), key=lambda n: n.id):
        x, y = positions[node.id]
        entry: dict[str, Any] = {
            "id": node.id,
            "type": node.class_type,
            "pos": [round(x, 1), round(y, 1)],
            "size": [round(v, 1) for v in node_size(node)],
            "flags": {},
            "order": order[node.id],
            "mode": node.mode,
        }
        if node.title:
            entry["title"] = node.title
        if node.spec is None:
            entry.update({"inputs": [], "outputs": [], "properties": dict(node.properties),
                          "widgets_values": [node.inputs.get("text", "")]})
            if node.color:
                entry["color"] = node.color
            nodes.append(entry)
            continue
        inputs = []
        for spec in _slot_inputs(node):
            value = node.inputs.get(spec.path)
            slot: dict[str, Any] = {
                "name": spec.path,
                "type": value.type if isinstance(value, OutputRef) else spec.type,
                "link": link_id.get((node.id, spec.path)),
            }
            if spec.kind != "socket":
                slot["widget"] = {"name": spec.path}
            if not spec.required:
                slot["shape"] = 7
            inputs.append(slot)
        outputs = []
        for index, out in enumerate(node.spec.outputs):
            outputs.append(
                {
                    "name": out.name,
                    "type": node.output_type(index),
                    "links": outgoing.get((node.id, index), []),
                    "slot_index": index,
                }
            )
        properties = {"Node name for S&R": node.class_type}
        pack = PACK_IDS.get(node.spec.module, "comfy-core" if not node.spec.module.startswith("custom_nodes") else None)
        if pack:
            properties["cnr_id"] = pack
            if pack == OWN_PACK:
                properties["ver"] = __version__
        properties.update(node.properties)
        entry.update(
            {"inputs": inputs, "outputs": outputs, "properties": properties, "widgets_values": widgets_values(node)}
        )
        if node.color:
            entry["color"] = node.color
        nodes.append(entry)

    groups = []
    for index, (title, group) in enumerate(workflow.groups.items(), start=1):
        if "bounding" in group:
            groups.append(
                {
                    "id": index,
                    "title": title,
                    "bounding": [round(v, 1) for v in group["bounding"]],
                    "color": group["color"],
                    "font_size": 24,
                    "flags": {},
                }
            )

    return {
        "id": _stable_uuid(workflow.name),
        "revision": 0,
        "last_node_id": max(workflow.nodes, default=0),
        "last_link_id": len(links),
        "nodes": nodes,
        "links": links,
        "groups": groups,
        "config": {},
        "extra": {
            "ds": {"scale": 0.6, "offset": [0, 0]},
            **workflow.extra,
            "ltx_audioloop": {"name": workflow.name, "title": workflow.title, "description": workflow.description},
        },
        "version": UI_VERSION,
    }


def _stable_uuid(name: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"ltx-audioloop/workflows/{name}"))


def dumps(document: Any) -> str:
    """The one JSON text format of this package's workflow files (stable, indent 1, trailing newline)."""
    return json.dumps(document, indent=1, ensure_ascii=False, sort_keys=False) + "\n"
