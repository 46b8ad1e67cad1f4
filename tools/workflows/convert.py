"""Read a saved workflow (canvas or API format) into one API-format graph, noting what is wrong.

The canvas format is resolved the way ComfyUI's frontend does before ``POST /prompt``:

* subgraph instances are flattened; inner nodes get the id ``"<instance id>:<inner id>"``;
* ``Reroute`` nodes pass their input through, ``PrimitiveNode`` gives its value to its targets,
  KJNodes' ``SetNode``/``GetNode`` pairs connect by name, notes are dropped;
* muted nodes (mode 2) are dropped; bypassed nodes (mode 4) pass an input of the same type through;
* ``widgets_values`` are matched to widget inputs by position using the node-type description
  (skipping a seed's ``control_after_generate`` value and upload widgets); a dict (as
  VideoHelperSuite saves) is matched by name.

Anything that cannot be resolved becomes a :class:`Finding` instead of a guess.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from .frontend_quirks import frontend_values, misread_values
from .graph import default_value
from .registry import FRONTEND_ONLY_TYPES, InputSpec, NodeRegistry, NodeSpec

CONTROL_VALUES = frozenset({"fixed", "increment", "decrement", "randomize"})
FRONTEND_EXTRA_WIDGETS = {"PreviewAny": 3, "SaveVideo": 0}
"""Node types whose canvas widgets save values the node type does not declare (preview panes)."""
LEGACY_WIDGET_LAYOUTS = {("AudioLoopPlanner", 2): "AudioLoopHelper's [stride_seconds, window_seconds]"}
"""``(node type, value count)`` of a canvas saved by AudioLoopHelper whose values cannot map by
position onto our widgets (our planner starts with window_seconds): the conversion refuses to
guess and points at ``migrate --fix alh_legacy_widgets``."""
OWN_MODULE = "custom_nodes.ltx-audioloop"
SUBGRAPH_INPUT_NODE = -10
SUBGRAPH_OUTPUT_NODE = -20
MAX_WORKFLOW_BYTES = 64 * 1024 * 1024
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class Finding:
    """One problem: ``level`` is ``"error"`` or ``"warning"``; ``check`` names the rule."""

    level: str
    check: str
    message: str
    node: str | None = None
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class Loaded:
    """A workflow file read for auditing: the API graph plus what the conversion found."""

    source: str
    format: str
    api: dict[str, Any]
    document: Any
    findings: list[Finding] = field(default_factory=list)


def detect_format(document: Any) -> str:
    """``"ui"`` (has ``nodes`` and ``links``), ``"api"`` (id -> class_type map) or an error."""
    if isinstance(document, Mapping):
        if isinstance(document.get("nodes"), list):
            return "ui"
        if document and all(isinstance(v, Mapping) and "class_type" in v for v in document.values()):
            return "api"
        if isinstance(document.get("prompt"), Mapping):
            return "api-wrapped"
    raise ValueError("not a ComfyUI workflow: expected a canvas workflow (nodes + links) or an API prompt")


def load_document(path: str | Path) -> Any:
    """Parse a workflow JSON file (size-bounded, JSON only)."""
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"workflow file {str(file)!r} does not exist")
    size = file.stat().st_size
    if size > MAX_WORKFLOW_BYTES:
        raise ValueError(f"workflow file {str(file)!r} is {size} bytes; the limit is {MAX_WORKFLOW_BYTES}")
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"workflow file {str(file)!r} is not valid JSON: {err}") from err


def load(path: str | Path, registry: NodeRegistry) -> Loaded:
    document = load_document(path)
    return from_document(document, registry, source=str(path))


def from_document(document: Any, registry: NodeRegistry, source: str = "<workflow>") -> Loaded:
    fmt = detect_format(document)
    if fmt == "api-wrapped":
        document, fmt = document["prompt"], "api"
    if fmt == "api":
        return Loaded(source, "api", {str(k): v for k, v in document.items()}, document, [])
    converter = _UiConverter(document, registry)
    api = converter.convert()
    return Loaded(source, "ui", api, document, converter.findings)


class _Scope:
    """One graph level: the top-level workflow or a subgraph definition instance."""

    def __init__(self, graph: Mapping[str, Any], prefix: str, parent: "_Scope | None", instance: Mapping | None):
        self.graph = graph
        self.prefix = prefix
        self.parent = parent
        self.instance = instance
        self.nodes = {int(n["id"]): n for n in graph.get("nodes", []) if isinstance(n, Mapping) and "id" in n}
        self.links: dict[int, tuple[int, int, int, int, str]] = {}
        for link in graph.get("links", []) or []:
            if isinstance(link, Mapping):
                self.links[int(link["id"])] = (
                    int(link["origin_id"]),
                    int(link["origin_slot"]),
                    int(link["target_id"]),
                    int(link["target_slot"]),
                    str(link.get("type", "*")),
                )
            elif isinstance(link, (list, tuple)) and len(link) >= 6:
                self.links[int(link[0])] = (int(link[1]), int(link[2]), int(link[3]), int(link[4]), str(link[5]))

    def api_id(self, node_id: int) -> str:
        return f"{self.prefix}{node_id}"


class _UiConverter:
    def __init__(self, document: Mapping[str, Any], registry: NodeRegistry):
        self.document = document
        self.registry = registry
        self.findings: list[Finding] = []
        definitions = (document.get("definitions") or {}).get("subgraphs") or []
        self.subgraphs = {str(sg.get("id")): sg for sg in definitions if isinstance(sg, Mapping)}
        self.api: dict[str, Any] = {}

    def note(self, level: str, check: str, message: str, node: str | None = None, fix: str | None = None) -> None:
        self.findings.append(Finding(level, check, message, node, fix))

    def convert(self) -> dict[str, Any]:
        self._convert_scope(_Scope(self.document, "", None, None), depth=0)
        return self.api

    # -- scopes -------------------------------------------------------------------------

    def _convert_scope(self, scope: _Scope, depth: int) -> None:
        if depth > 16:
            self.note(
                "error", "subgraph_depth", "subgraphs nest more than 16 levels deep (a definition contains itself?)"
            )
            return
        self._check_links(scope)
        for node_id, node in sorted(scope.nodes.items()):
            node_type = str(node.get("type", ""))
            api_id = scope.api_id(node_id)
            if node_type in FRONTEND_ONLY_TYPES or int(node.get("mode", 0) or 0) in (2, 4):
                continue
            if node_type in self.subgraphs:
                self._convert_scope(_Scope(self.subgraphs[node_type], f"{api_id}:", scope, node), depth + 1)
                continue
            spec = self.registry.get(node_type)
            if spec is None:
                if _UUID.match(node_type):
                    self.note(
                        "error",
                        "missing_subgraph_definition",
                        f"node {api_id} is an instance of subgraph {node_type}, whose definition is not in the file",
                        api_id,
                        "re-export the workflow from a frontend that embeds subgraph definitions",
                    )
                else:
                    self.note(
                        "warning",
                        "unknown_node_type",
                        f"node {api_id} has type {node_type!r}, which the audit does not know (a pack other than "
                        "core, LTXVideo, KJNodes, VideoHelperSuite and this one): its inputs are not checked",
                        api_id,
                    )
                self.api[api_id] = {
                    "class_type": node_type,
                    "inputs": self._linked_inputs(scope, node, None),
                    "_meta": {"title": node.get("title") or node_type},
                }
                continue
            inputs = self._widget_inputs(node, spec, api_id)
            inputs.update(self._linked_inputs(scope, node, spec))
            self.api[api_id] = {
                "class_type": node_type,
                "inputs": inputs,
                "_meta": {"title": node.get("title") or spec.display_name or node_type},
            }

    def _check_links(self, scope: _Scope) -> None:
        where = f" in subgraph {scope.prefix[:-1]}" if scope.prefix else ""
        for link_id, (origin, _, target, target_slot, _) in scope.links.items():
            for end, node_id in (("origin", origin), ("target", target)):
                if node_id in (SUBGRAPH_INPUT_NODE, SUBGRAPH_OUTPUT_NODE) and scope.parent is not None:
                    continue
                if node_id not in scope.nodes:
                    self.note(
                        "error",
                        "dangling_link",
                        f"link {link_id}{where} has {end} node {node_id}, which does not exist",
                    )
            if target in scope.nodes:
                slots = scope.nodes[target].get("inputs") or []
                if not (0 <= target_slot < len(slots)) or slots[target_slot].get("link") != link_id:
                    self.note(
                        "warning",
                        "stale_link",
                        f"link {link_id}{where} targets node {target} slot {target_slot}, which does not list it "
                        "(a leftover record; the canvas ignores it)",
                        scope.api_id(target),
                        "drop_stale_links",
                    )
        for node_id, node in scope.nodes.items():
            for slot in node.get("inputs") or []:
                link = slot.get("link")
                if link is not None and int(link) not in scope.links:
                    self.note(
                        "error",
                        "dangling_link",
                        f"node {scope.api_id(node_id)} input {slot.get('name')!r} refers to link {link}, "
                        "which does not exist",
                        scope.api_id(node_id),
                    )

    # -- inputs -------------------------------------------------------------------------

    def _widget_inputs(self, node: Mapping[str, Any], spec: NodeSpec, api_id: str) -> dict[str, Any]:
        values = node.get("widgets_values")
        if values is None:
            values = []
        if isinstance(values, Mapping):
            return {s.path: values[s.path] for s in spec.all_inputs() if s.is_widget and s.path in values}
        lost = misread_values(spec, values)
        if lost:
            self.note(
                "warning",
                "frontend_drops_values",
                f"node {api_id} ({spec.class_type}) saves {len(values)} widget values; ComfyUI's frontend drops "
                f"{', '.join(repr(v) for v in lost)} when it loads them (its legacy forceInput migration), so "
                "the widgets after it keep their defaults",
                api_id,
                "frontend_padding",
            )
        saved_count = len(values)
        values = frontend_values(spec, values)
        migrated = len(values) != saved_count  # already reported above when it loses a value
        result: dict[str, Any] = {}
        index = 0
        expected = 0
        through_required = 0  # values up to the last required widget: later optional ones may be absent

        def walk(specs: tuple[InputSpec, ...] | list[InputSpec]) -> None:
            nonlocal index, expected, through_required
            for input_spec in specs:
                if not input_spec.is_widget:
                    continue
                expected += 1
                # the frontend keeps a widget's default when the saved list ends before it
                result[input_spec.path] = values[index] if index < len(values) else default_value(input_spec)
                index += 1
                if input_spec.control_after_generate:
                    expected += 1
                    if index < len(values) and values[index] in CONTROL_VALUES:
                        index += 1
                    elif index < len(values):
                        expected -= 1  # the frontend may save the seed alone; accepted
                expected += input_spec.upload_widgets
                index += input_spec.upload_widgets
                if input_spec.required:
                    through_required = expected
                if input_spec.kind == "dynamic":
                    choice = str(result.get(input_spec.path, input_spec.default))
                    walk(input_spec.dynamic_options.get(choice, ()))

        walk(spec.inputs)
        extra = FRONTEND_EXTRA_WIDGETS.get(spec.class_type, 0)
        legacy = LEGACY_WIDGET_LAYOUTS.get((spec.class_type, len(values)))
        if legacy is not None:
            self.note(
                "error",
                "widget_count",
                f"node {api_id} ({spec.class_type}) saves {legacy} widget values; by position they would "
                f"set other inputs",
                api_id,
                "alh_legacy_widgets",
            )
        # A canvas saved before trailing optional inputs were added has fewer values (the frontend
        # leaves the newer widgets at their defaults, and so does the conversion): not a shift.
        elif not migrated and not through_required <= len(values) <= expected + extra:
            own = spec.module == OWN_MODULE
            self.note(
                "error" if own or spec.module in ("nodes",) or spec.module.startswith("comfy_extras") else "warning",
                "widget_count",
                f"node {api_id} ({spec.class_type}) saves {len(values)} widget values, its type has {expected}: "
                f"values map to the wrong inputs",
                api_id,
                "alh_legacy_widgets"
                if own
                else "open and re-save in a current ComfyUI with the pack's current version",
            )
        return result

    def _linked_inputs(self, scope: _Scope, node: Mapping[str, Any], spec: NodeSpec | None) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for slot in node.get("inputs") or []:
            link = slot.get("link")
            name = str(slot.get("name"))
            if link is None:
                continue
            resolved = self._resolve(scope, int(link), depth=0)
            if resolved is None:
                continue
            result[name] = resolved
        return result

    def _resolve(self, scope: _Scope, link_id: int, depth: int) -> Any:
        """The API value a link delivers: ``[source id, slot]``, a literal, or ``None``."""
        if depth > 256 or link_id not in scope.links:
            return None
        origin_id, origin_slot, _, _, link_type = scope.links[link_id]
        if origin_id == SUBGRAPH_INPUT_NODE and scope.parent is not None:
            slots = scope.instance.get("inputs") or []
            declared = scope.graph.get("inputs") or []
            name = declared[origin_slot].get("name") if origin_slot < len(declared) else None
            for slot in slots:
                if slot.get("name") == name and slot.get("link") is not None:
                    return self._resolve(scope.parent, int(slot["link"]), depth + 1)
            return None
        origin = scope.nodes.get(origin_id)
        if origin is None:
            return None
        origin_type = str(origin.get("type", ""))
        mode = int(origin.get("mode", 0) or 0)
        if mode == 2:
            return None
        if origin_type in ("Reroute", "SetNode"):
            inputs = origin.get("inputs") or []
            return (
                self._resolve(scope, int(inputs[0]["link"]), depth + 1)
                if inputs and inputs[0].get("link") is not None
                else None
            )
        if origin_type == "PrimitiveNode":
            values = origin.get("widgets_values") or []
            return values[0] if values else None
        if origin_type == "GetNode":
            name = (origin.get("widgets_values") or [None])[0]
            for candidate_scope in self._scope_chain(scope):
                for other in candidate_scope.nodes.values():
                    if other.get("type") == "SetNode" and (other.get("widgets_values") or [None])[0] == name:
                        inputs = other.get("inputs") or []
                        if inputs and inputs[0].get("link") is not None:
                            return self._resolve(candidate_scope, int(inputs[0]["link"]), depth + 1)
            self.note(
                "error", "dangling_link", f"GetNode {scope.api_id(origin_id)} reads {name!r}, which no SetNode sets"
            )
            return None
        if mode == 4:
            inputs = origin.get("inputs") or []
            same_type = [s for s in inputs if s.get("type") == link_type and s.get("link") is not None]
            if same_type:
                return self._resolve(scope, int(same_type[0]["link"]), depth + 1)
            return None
        if origin_type in self.subgraphs:
            definition = self.subgraphs[origin_type]
            inner = _Scope(definition, f"{scope.api_id(origin_id)}:", scope, origin)
            for inner_link, (o_id, o_slot, t_id, t_slot, _) in inner.links.items():
                if t_id == SUBGRAPH_OUTPUT_NODE and t_slot == origin_slot:
                    return self._resolve(inner, inner_link, depth + 1)
            return None
        return [scope.api_id(origin_id), origin_slot]

    def _scope_chain(self, scope: _Scope) -> Iterator[_Scope]:
        current: _Scope | None = scope
        while current is not None:
            yield current
            current = current.parent
