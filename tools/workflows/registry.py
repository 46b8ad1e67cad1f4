"""Node-type descriptions the workflow library validates against.

Two sources, one shape (ComfyUI's ``GET /object_info`` entry per node type):

* this package's own nodes, described from the classes in ``NODE_CLASS_MAPPINGS`` exactly as
  ComfyUI describes a V1 node (``INPUT_TYPES``, ``RETURN_TYPES``, ``RETURN_NAMES``, ...);
* ComfyUI core, ComfyUI-LTXVideo, ComfyUI-KJNodes and ComfyUI-VideoHelperSuite from a recorded
  ``object_info`` snapshot stored gzipped in ``workflows/data/`` (see ``data/SNAPSHOT.md``).

From an entry the registry derives what a graph needs: the ordered inputs, which of them are
widgets (and so take a slot in the UI format's ``widgets_values``), which take links, the
options of a dynamic combo, and the typed outputs.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable, Mapping

WIDGET_TYPES = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"})
DYNAMIC_COMBO = "COMFY_DYNAMICCOMBO_V3"
MATCH_TYPE = "COMFY_MATCHTYPE_V3"
ANY_TYPE = "*"

FRONTEND_ONLY_TYPES = frozenset(
    {"Note", "MarkdownNote", "Reroute", "PrimitiveNode", "SetNode", "GetNode", "Label (rgthree)"}
)
"""Node types that exist only in the canvas: the frontend resolves or drops them before
``POST /prompt``, so they never appear in the API format."""

SEED_WIDGET_NAMES = frozenset({"seed", "noise_seed"})
"""INT widgets the frontend gives a ``control_after_generate`` combo even when the node does
not ask for one (ComfyUI frontend convention)."""

UPLOAD_EXTRA_WIDGETS = {"image_upload": 1, "audio_upload": 2, "video_upload": 1}
"""Extra frontend widgets a file-combo with an upload flag adds after itself in
``widgets_values`` (LoadImage saves ``[name, "image"]``, LoadAudio ``[name, null, null]``)."""


@dataclass(frozen=True)
class InputSpec:
    """One input of a node type.

    ``kind`` is ``"widget"`` (a value edited on the canvas, may also be linked), ``"socket"``
    (only a link) or ``"dynamic"`` (a dynamic combo whose chosen option adds ``children``).
    ``path`` is the API name: ``"mode.iterations"`` for an input inside a dynamic combo.
    """

    name: str
    type: str
    required: bool
    kind: str
    options: tuple = ()
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    control_after_generate: bool = False
    force_input: bool = False
    upload_widgets: int = 0
    allowed_types: tuple[str, ...] = ()
    dynamic_options: Mapping[str, tuple["InputSpec", ...]] = field(default_factory=dict)
    path: str = ""

    @property
    def is_widget(self) -> bool:
        return self.kind in ("widget", "dynamic")


@dataclass(frozen=True)
class OutputSpec:
    name: str
    type: str
    is_list: bool = False
    allowed_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class NodeSpec:
    """Everything a graph needs to know about one node type."""

    class_type: str
    inputs: tuple[InputSpec, ...]
    outputs: tuple[OutputSpec, ...]
    category: str = ""
    module: str = ""
    output_node: bool = False
    display_name: str = ""

    def input(self, name: str) -> InputSpec | None:
        for spec in self.all_inputs():
            if spec.path == name:
                return spec
        return None

    def all_inputs(self) -> Iterable[InputSpec]:
        """Every input, dynamic-combo children included (each option's, in option order)."""
        for spec in self.inputs:
            yield spec
            for children in spec.dynamic_options.values():
                yield from children

    def output_index(self, name_or_type: str) -> int:
        """Slot of the output named ``name_or_type``, or of the only output of that type."""
        for index, out in enumerate(self.outputs):
            if out.name == name_or_type:
                return index
        by_type = [i for i, out in enumerate(self.outputs) if out.type == name_or_type]
        if len(by_type) == 1:
            return by_type[0]
        names = ", ".join(f"{o.name} ({o.type})" for o in self.outputs) or "none"
        raise ValueError(f"{self.class_type} has no output {name_or_type!r}; its outputs: {names}")


def _parse_input(name: str, raw: Any, required: bool, prefix: str = "") -> InputSpec:
    if isinstance(raw, (list, tuple)) and raw:
        type_part, opts = raw[0], (raw[1] if len(raw) > 1 and isinstance(raw[1], dict) else {})
    else:
        type_part, opts = raw, {}
    path = f"{prefix}.{name}" if prefix else name
    upload = sum(n for flag, n in UPLOAD_EXTRA_WIDGETS.items() if opts.get(flag))
    common = dict(
        name=name, required=required, default=opts.get("default"), minimum=opts.get("min"),
        maximum=opts.get("max"), path=path, upload_widgets=upload,
    )
    if isinstance(type_part, (list, tuple)):
        return InputSpec(type="COMBO", kind="widget", options=tuple(type_part), **common)
    type_name = str(type_part)
    if type_name == "COMBO":
        return InputSpec(type="COMBO", kind="widget", options=tuple(opts.get("options", ())), **common)
    if type_name == DYNAMIC_COMBO:
        dynamic: dict[str, tuple[InputSpec, ...]] = {}
        for option in opts.get("options", ()):
            children: list[InputSpec] = []
            for section, is_required in (("required", True), ("optional", False)):
                for child_name, child_raw in option.get("inputs", {}).get(section, {}).items():
                    children.append(_parse_input(child_name, child_raw, is_required, path))
            dynamic[str(option["key"])] = tuple(children)
        return InputSpec(
            type=type_name, kind="dynamic", options=tuple(dynamic), dynamic_options=dynamic, **common
        )
    allowed: tuple[str, ...] = ()
    if type_name == MATCH_TYPE:
        allowed_raw = (opts.get("template") or {}).get("allowed_types", "")
        allowed = tuple(t for t in str(allowed_raw).split(",") if t)
    forced_socket = bool(opts.get("forceInput") or opts.get("rawLink"))
    kind = "widget" if type_name in WIDGET_TYPES and not forced_socket else "socket"
    control = kind == "widget" and type_name == "INT" and (
        bool(opts.get("control_after_generate")) or name in SEED_WIDGET_NAMES
    )
    return InputSpec(type=type_name, kind=kind, control_after_generate=control, allowed_types=allowed,
                     force_input=bool(opts.get("forceInput")), **common)


def spec_from_object_info(class_type: str, info: Mapping[str, Any]) -> NodeSpec:
    """Build a :class:`NodeSpec` from one ``object_info`` entry."""
    inputs: list[InputSpec] = []
    order = info.get("input_order") or {}
    for section, required in (("required", True), ("optional", False)):
        declared = (info.get("input") or {}).get(section) or {}
        names = order.get(section) or list(declared)
        for name in names:
            if name in declared:
                inputs.append(_parse_input(name, declared[name], required))
    types = list(info.get("output") or [])
    names = list(info.get("output_name") or types)
    is_list = list(info.get("output_is_list") or [False] * len(types))
    outputs = []
    for index, type_name in enumerate(types):
        type_str = "*" if type_name == MATCH_TYPE else (
            "COMBO" if isinstance(type_name, list) else str(type_name))
        outputs.append(OutputSpec(
            name=str(names[index]) if index < len(names) else type_str,
            type=type_str,
            is_list=bool(is_list[index]) if index < len(is_list) else False,
        ))
    return NodeSpec(
        class_type=class_type,
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        category=str(info.get("category", "")),
        module=str(info.get("python_module", "")),
        output_node=bool(info.get("output_node", False)),
        display_name=str(info.get("display_name") or class_type),
    )


def object_info_for_class(cls: type, module: str = "custom_nodes.ltx-audioloop") -> dict[str, Any]:
    """The ``object_info`` entry ComfyUI serves for a V1 node class (same keys, same order rules)."""
    declared = cls.INPUT_TYPES()
    inputs = {section: dict(declared.get(section, {})) for section in ("required", "optional") if section in declared}
    return_types = list(cls.RETURN_TYPES)
    return {
        "input": inputs,
        "input_order": {section: list(values) for section, values in inputs.items()},
        "output": return_types,
        "output_name": list(getattr(cls, "RETURN_NAMES", None) or return_types),
        "output_is_list": list(getattr(cls, "OUTPUT_IS_LIST", None) or [False] * len(return_types)),
        "output_node": bool(getattr(cls, "OUTPUT_NODE", False)),
        "category": getattr(cls, "CATEGORY", ""),
        "description": getattr(cls, "DESCRIPTION", ""),
        "python_module": module,
        "display_name": cls.__name__,
    }


@lru_cache(maxsize=1)
def _snapshot() -> dict[str, Any]:
    """The recorded object_info snapshot (read once; about 1 MB decompressed)."""
    blob = resources.files(__package__).joinpath("data", "object_info.json.gz").read_bytes()
    return json.loads(gzip.decompress(blob))


class NodeRegistry:
    """Lookup of node-type descriptions by ``class_type``.

    ``NodeRegistry.default()`` holds the snapshot plus this package's nodes; tests and callers
    may add descriptions (``add_object_info``) for other packs they know.
    """

    def __init__(self, object_info: Mapping[str, Mapping[str, Any]] | None = None):
        self._info: dict[str, Mapping[str, Any]] = dict(object_info or {})
        self._specs: dict[str, NodeSpec] = {}

    @classmethod
    def default(cls) -> "NodeRegistry":
        from ...nodes import NODE_CLASS_MAPPINGS

        registry = cls(_snapshot())
        registry.add_object_info({name: object_info_for_class(node) for name, node in NODE_CLASS_MAPPINGS.items()})
        return registry

    def add_object_info(self, entries: Mapping[str, Mapping[str, Any]]) -> None:
        for name, info in entries.items():
            self._info[name] = info
            self._specs.pop(name, None)

    def __contains__(self, class_type: str) -> bool:
        return class_type in self._info

    def names(self) -> list[str]:
        return sorted(self._info)

    def object_info(self, class_type: str) -> Mapping[str, Any]:
        return self._info[class_type]

    def get(self, class_type: str) -> NodeSpec | None:
        if class_type not in self._info:
            return None
        if class_type not in self._specs:
            self._specs[class_type] = spec_from_object_info(class_type, self._info[class_type])
        return self._specs[class_type]

    def spec(self, class_type: str) -> NodeSpec:
        found = self.get(class_type)
        if found is None:
            raise ValueError(
                f"unknown node type {class_type!r}: it is neither one of this package's nodes nor in "
                "the recorded object_info snapshot (ComfyUI core, ComfyUI-LTXVideo, KJNodes, "
                "VideoHelperSuite); check the spelling or add its description to the registry"
            )
        return found


def types_compatible(output_type: str, input_spec: InputSpec) -> bool:
    """Whether a link from an output of ``output_type`` may feed ``input_spec``.

    Rules of ComfyUI's validation: ``*`` on either side matches; comma lists match any member;
    a match-type input takes any of its allowed types; otherwise the names must be equal.
    """
    target = input_spec.type
    if ANY_TYPE in (output_type, target):
        return True
    if target == MATCH_TYPE:
        return not input_spec.allowed_types or output_type in input_spec.allowed_types or output_type == "*"
    if target == "COMBO":
        return output_type in ("COMBO", "STRING") or output_type.startswith("COMBO")
    out_set = set(output_type.split(","))
    in_set = set(target.split(","))
    return bool(out_set & in_set)


def default_registry() -> NodeRegistry:
    """A fresh default registry (snapshot + this package's nodes)."""
    return NodeRegistry.default()
