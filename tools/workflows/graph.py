"""Describe a ComfyUI graph once, in Python, checked as it is built.

A :class:`Workflow` is a list of typed nodes whose inputs are either literal widget values or
:class:`OutputRef` links to another node's output. Every ``add`` / ``set`` is checked against
the node-type description in the registry, which rules out the four ways hand-written builders
fail silently:

* **out-of-range slots**: an output is named (``node["LATENT"]``, ``node.out(2)``) and must exist;
* **unchecked types**: a link's output type must be accepted by the input it feeds;
* **stale links**: links are not stored separately but derived from inputs when the graph is
  emitted, so rewiring an input cannot leave the old link behind, and a node that still feeds
  others cannot be removed;
* **duplicate ids**: ids are allocated by the workflow; an explicit id that is taken is an error.

The same object emits the canvas (UI) format and the ``POST /prompt`` (API) format.
"""

from __future__ import annotations

import contextlib
import heapq
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

from .registry import FRONTEND_ONLY_TYPES, InputSpec, NodeRegistry, NodeSpec, types_compatible

_FILE_COMBO = re.compile(
    r"^(ckpt|unet|vae|clip|lora|model|text_encoder|upscale_model|control_net|gemma)(_name)?\d*$|^(image|audio|video|file)$"
)
"""Combo inputs listing files on the machine that recorded the snapshot: their option lists
are not the user's, so membership is not checked."""


@dataclass(frozen=True)
class OutputRef:
    """A link source: output ``slot`` of ``node``."""

    node: "Node"
    slot: int

    @property
    def type(self) -> str:
        return self.node.output_type(self.slot)

    @property
    def name(self) -> str:
        return self.node.spec.outputs[self.slot].name if self.node.spec else "output"


@dataclass
class Node:
    """One node of a :class:`Workflow` (create with ``Workflow.add``)."""

    workflow: "Workflow"
    id: int
    class_type: str
    spec: NodeSpec | None
    inputs: dict[str, Any] = field(default_factory=dict)
    title: str | None = None
    group: str | None = None
    pos: tuple[float, float] | None = None
    size: tuple[float, float] | None = None
    mode: int = 0
    color: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)

    def out(self, key: int | str) -> OutputRef:
        """The output at slot ``key`` or named ``key`` (name, or type when only one has it)."""
        if self.spec is None:
            raise ValueError(f"{self.class_type} #{self.id} is a canvas-only node and has no outputs")
        if isinstance(key, bool) or not isinstance(key, (int, str)):
            raise ValueError(f"output key must be a slot number or a name, got {key!r}")
        if isinstance(key, int):
            if not 0 <= key < len(self.spec.outputs):
                raise ValueError(
                    f"{self.class_type} #{self.id} has {len(self.spec.outputs)} outputs; slot {key} does not exist"
                )
            return OutputRef(self, key)
        return OutputRef(self, self.spec.output_index(key))

    __getitem__ = out

    @property
    def frontend_only(self) -> bool:
        return self.class_type in FRONTEND_ONLY_TYPES

    def output_type(self, slot: int) -> str:
        declared = self.spec.outputs[slot].type
        if declared != "*":
            return declared
        for spec in self.spec.all_inputs() if self.spec else ():
            if spec.type == "COMFY_MATCHTYPE_V3":
                value = self.inputs.get(spec.path)
                if isinstance(value, OutputRef):
                    return value.type
        return declared

    def dynamic_choice(self, spec: InputSpec) -> str:
        value = self.inputs.get(spec.path, spec.default)
        if value is None and spec.options:
            value = spec.options[0]
        return str(value)

    def active_inputs(self) -> Iterator[InputSpec]:
        """Inputs in order, with each dynamic combo's chosen option's children after it."""
        if self.spec is None:
            return
        for spec in self.spec.inputs:
            yield spec
            if spec.kind == "dynamic":
                yield from self._dynamic_children(spec)

    def _dynamic_children(self, spec: InputSpec) -> Iterator[InputSpec]:
        for child in spec.dynamic_options.get(self.dynamic_choice(spec), ()):
            yield child
            if child.kind == "dynamic":
                yield from self._dynamic_children(child)

    def value(self, name: str) -> Any:
        """The input's value: the given literal or link, else the declared default."""
        if name in self.inputs:
            return self.inputs[name]
        spec = self.spec.input(name) if self.spec else None
        if spec is None:
            raise KeyError(name)
        return default_value(spec)


def default_value(spec: InputSpec) -> Any:
    """A widget's value when none is given: its default, else the first option, else zero/empty."""
    if spec.default is not None:
        return spec.default
    if spec.kind in ("widget", "dynamic") and spec.options:
        return spec.options[0]
    return {"INT": 0, "FLOAT": 0.0, "STRING": "", "BOOLEAN": False}.get(spec.type)


class Workflow:
    """A graph under construction. See the module docstring for the checks it makes."""

    def __init__(self, name: str, registry: NodeRegistry | None = None, *, title: str = "", description: str = ""):
        if not re.fullmatch(r"[a-z0-9][a-z0-9_\-]*", name):
            raise ValueError(f"workflow name {name!r} must be lower-case letters, digits, '-' or '_'")
        self.name = name
        self.title = title or name
        self.description = description
        self.registry = registry or NodeRegistry.default()
        self.nodes: dict[int, Node] = {}
        self.groups: dict[str, dict[str, Any]] = {}
        self.extra: dict[str, Any] = {}
        self._next_id = 1
        self._group_stack: list[str] = []

    # -- building ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def group(self, title: str, color: str = "#3f789e") -> Iterator[None]:
        """Nodes added inside the ``with`` block belong to the canvas group ``title``."""
        self.groups.setdefault(title, {"color": color})
        self._group_stack.append(title)
        try:
            yield
        finally:
            self._group_stack.pop()

    def add(self, class_type: str, *, title: str | None = None, node_id: int | None = None,
            inputs: Mapping[str, Any] | None = None, pos: tuple[float, float] | None = None,
            properties: Mapping[str, Any] | None = None, **kwargs: Any) -> Node:
        """Add a node; inputs as keyword arguments and/or ``inputs`` (for dotted dynamic names)."""
        spec = None if class_type in FRONTEND_ONLY_TYPES else self.registry.spec(class_type)
        if node_id is None:
            node_id = self._next_id
        elif isinstance(node_id, bool) or not isinstance(node_id, int) or node_id < 1:
            raise ValueError(f"node_id must be a positive whole number, got {node_id!r}")
        if node_id in self.nodes:
            raise ValueError(f"node id {node_id} is already used by {self.nodes[node_id].class_type}")
        self._next_id = max(self._next_id, node_id + 1)
        node = Node(self, node_id, class_type, spec, title=title,
                    group=self._group_stack[-1] if self._group_stack else None, pos=pos,
                    properties=dict(properties or {}))
        self.nodes[node_id] = node
        try:
            for name, value in {**(inputs or {}), **kwargs}.items():
                self.set(node, name, value)
        except ValueError:
            del self.nodes[node_id]
            raise
        return node

    def note(self, text: str, *, title: str = "Note") -> Node:
        """A markdown note on the canvas (not part of the API graph)."""
        node = self.add("MarkdownNote", title=title)
        node.inputs["text"] = text
        return node

    def set(self, node: Node, name: str, value: Any) -> None:
        """Set input ``name`` of ``node`` to a literal or a link, checking name, type and range."""
        if node.workflow is not self or self.nodes.get(node.id) is not node:
            raise ValueError(f"{node.class_type} #{node.id} is not part of workflow {self.name!r}")
        if node.spec is None:
            node.inputs[name] = value
            return
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], Mapping):
            self.set(node, name, value[0])
            for child, child_value in value[1].items():
                self.set(node, f"{name}.{child}", child_value)
            return
        spec = node.spec.input(name)
        if spec is None:
            known = ", ".join(s.path for s in node.spec.all_inputs())
            raise ValueError(f"{node.class_type} #{node.id} has no input {name!r}; its inputs: {known}")
        if "." in spec.path:
            parent_path, _, _ = spec.path.rpartition(".")
            parent = node.spec.input(parent_path)
            if parent is not None and spec not in parent.dynamic_options.get(node.dynamic_choice(parent), ()):
                raise ValueError(
                    f"{node.class_type} #{node.id}: input {name!r} belongs to another option of "
                    f"{parent_path!r} (chosen: {node.dynamic_choice(parent)!r}); set {parent_path!r} first"
                )
        if isinstance(value, Node):
            raise ValueError(f"{node.class_type}.{name}: pass an output (node['TYPE'] or node.out(i)), not a node")
        if isinstance(value, OutputRef):
            self._check_link(node, spec, value)
        else:
            self._check_literal(node, spec, value)
        node.inputs[spec.path] = value

    def _check_link(self, node: Node, spec: InputSpec, ref: OutputRef) -> None:
        source = ref.node
        if self.nodes.get(source.id) is not source:
            raise ValueError(f"{node.class_type}.{spec.path}: the linked node #{source.id} is not in this workflow")
        if source is node:
            raise ValueError(f"{node.class_type}.{spec.path}: a node cannot feed itself")
        if source.spec is None or not 0 <= ref.slot < len(source.spec.outputs):
            raise ValueError(f"{node.class_type}.{spec.path}: {source.class_type} has no output slot {ref.slot}")
        if not types_compatible(ref.type, spec):
            raise ValueError(
                f"{node.class_type}.{spec.path} takes {spec.type}, but {source.class_type} "
                f"#{source.id} output {ref.slot} ({ref.name}) is {ref.type}"
            )

    def _check_literal(self, node: Node, spec: InputSpec, value: Any) -> None:
        where = f"{node.class_type} #{node.id} input {spec.path!r}"
        if spec.kind == "socket":
            raise ValueError(f"{where} takes a {spec.type} link, not the value {value!r}")
        if spec.kind == "dynamic":
            if str(value) not in spec.dynamic_options:
                raise ValueError(f"{where}: {value!r} is not one of {list(spec.dynamic_options)}")
            return
        if spec.type == "COMBO":
            is_file = _FILE_COMBO.match(spec.name) or spec.upload_widgets
            if spec.options and not is_file and value not in spec.options:
                raise ValueError(f"{where}: {value!r} is not one of {list(spec.options)}")
            return
        expected = {"INT": int, "FLOAT": (int, float), "STRING": str, "BOOLEAN": bool}[spec.type]
        if isinstance(value, bool) and spec.type != "BOOLEAN" or not isinstance(value, expected):
            raise ValueError(f"{where} takes {spec.type}, got {value!r}")
        if spec.type == "FLOAT" and not math.isfinite(value):
            raise ValueError(f"{where} takes a finite number, got {value!r}")
        if spec.type in ("INT", "FLOAT"):
            if spec.minimum is not None and value < spec.minimum:
                raise ValueError(f"{where}: {value} is below its minimum {spec.minimum}")
            if spec.maximum is not None and value > spec.maximum:
                raise ValueError(f"{where}: {value} is above its maximum {spec.maximum}")

    def remove(self, node: Node) -> None:
        """Remove ``node``; refused while another node still takes one of its outputs."""
        users = [(n, name) for n, name, ref in self.links() if ref.node is node]
        if users:
            named = ", ".join(f"{n.class_type} #{n.id}.{name}" for n, name in users)
            raise ValueError(f"{node.class_type} #{node.id} still feeds {named}; rewire those first")
        del self.nodes[node.id]

    # -- reading ----------------------------------------------------------------------------

    def links(self) -> Iterator[tuple[Node, str, OutputRef]]:
        """Every link as (target node, input path, source output), in node and input order."""
        for node in self.nodes.values():
            for name, value in node.inputs.items():
                if isinstance(value, OutputRef):
                    yield node, name, value

    def find(self, class_type: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.class_type == class_type]

    def validate(self) -> None:
        """Whole-graph checks before emitting: required links present, no cycles."""
        for node in self.nodes.values():
            if node.spec is None:
                continue
            for spec in node.active_inputs():
                if spec.required and spec.kind == "socket" and spec.path not in node.inputs:
                    raise ValueError(f"{node.class_type} #{node.id} ({node.title or ''}) needs a link on {spec.path!r}")
                value = node.inputs.get(spec.path)
                if isinstance(value, OutputRef) and self.nodes.get(value.node.id) is not value.node:
                    raise ValueError(f"{node.class_type} #{node.id}.{spec.path} links to a removed node")
        self.topological_order()

    def topological_order(self) -> list[Node]:
        """Nodes so that every link goes forward; a cycle is an error naming a node on it."""
        incoming: dict[int, set[int]] = {nid: set() for nid in self.nodes}
        users: dict[int, set[int]] = {nid: set() for nid in self.nodes}
        for node, _, ref in self.links():
            incoming[node.id].add(ref.node.id)
            users[ref.node.id].add(node.id)
        order: list[Node] = []
        ready = [nid for nid, deps in incoming.items() if not deps]
        heapq.heapify(ready)
        while ready:
            nid = heapq.heappop(ready)
            order.append(self.nodes[nid])
            for user in users[nid]:
                incoming[user].discard(nid)
                if not incoming[user]:
                    heapq.heappush(ready, user)
        if len(order) != len(self.nodes):
            stuck = sorted(set(self.nodes) - {n.id for n in order})
            raise ValueError(f"the graph has a cycle through node(s) {stuck}")
        return order
