"""Queries on an API-format graph: links, upstream/downstream sets, loop bodies, literal values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping

from .registry import NodeRegistry


def is_link(value: Any) -> bool:
    """An API input value that is a link: ``["<node id>", slot]``."""
    return (
        isinstance(value, list) and len(value) == 2 and isinstance(value[0], (str, int)) and isinstance(value[1], int)
    )


@dataclass(frozen=True)
class Loop:
    """A TensorLoopOpen/Close pair and the node ids between them (the body, both ends excluded)."""

    open_id: str
    close_id: str
    body: frozenset[str]


class ApiGraph:
    """An API graph with the lookups the audit needs."""

    def __init__(self, graph: Mapping[str, Any], registry: NodeRegistry):
        self.nodes: dict[str, dict[str, Any]] = {str(k): dict(v) for k, v in graph.items() if isinstance(v, Mapping)}
        self.registry = registry
        self._loops: list[Loop] | None = None
        self.consumers: dict[str, list[tuple[str, str, int]]] = {nid: [] for nid in self.nodes}
        for nid, node in self.nodes.items():
            for name, value in (node.get("inputs") or {}).items():
                if is_link(value) and str(value[0]) in self.consumers:
                    self.consumers[str(value[0])].append((nid, name, value[1]))

    def class_of(self, nid: str) -> str:
        return str(self.nodes[nid].get("class_type", ""))

    def of_class(self, *class_types: str) -> list[str]:
        return [nid for nid, node in self.nodes.items() if node.get("class_type") in class_types]

    def inputs(self, nid: str) -> dict[str, Any]:
        return self.nodes[nid].get("inputs") or {}

    def source(self, nid: str, name: str) -> tuple[str, int] | None:
        value = self.inputs(nid).get(name)
        if is_link(value) and str(value[0]) in self.nodes:
            return str(value[0]), value[1]
        return None

    def source_class(self, nid: str, name: str) -> str | None:
        found = self.source(nid, name)
        return self.class_of(found[0]) if found else None

    def title(self, nid: str) -> str:
        return str((self.nodes[nid].get("_meta") or {}).get("title") or self.class_of(nid))

    def label(self, nid: str) -> str:
        return f"{self.class_of(nid)} #{nid}"

    def output_type(self, nid: str, slot: int) -> str | None:
        spec = self.registry.get(self.class_of(nid))
        if spec is None or not 0 <= slot < len(spec.outputs):
            return None
        return spec.outputs[slot].type

    def upstream(self, starts: Iterable[str], *, through: Iterable[str] | None = None) -> set[str]:
        """Ids reachable backwards from ``starts`` (``starts`` excluded unless reached again)."""
        seen: set[str] = set()
        stack = list(starts)
        while stack:
            nid = stack.pop()
            for value in self.inputs(nid).values() if nid in self.nodes else ():
                if is_link(value):
                    src = str(value[0])
                    if src in self.nodes and src not in seen:
                        seen.add(src)
                        stack.append(src)
        return seen

    def downstream(self, starts: Iterable[str]) -> set[str]:
        seen: set[str] = set()
        stack = list(starts)
        while stack:
            nid = stack.pop()
            for consumer, _, _ in self.consumers.get(nid, ()):
                if consumer not in seen:
                    seen.add(consumer)
                    stack.append(consumer)
        return seen

    def loops(self) -> list[Loop]:
        """Each TensorLoopClose with its TensorLoopOpen (via ``flow_control``) and the body between.

        Computed once per graph (the graph is not edited after construction)."""
        if self._loops is not None:
            return self._loops
        found = []
        for close_id in self.of_class("TensorLoopClose"):
            src = self.source(close_id, "flow_control")
            if src is None:
                continue
            open_id = src[0]
            body = self.downstream([open_id]) & self.upstream([close_id])
            body.discard(open_id)
            body.discard(close_id)
            found.append(Loop(open_id, close_id, frozenset(body)))
        self._loops = found
        return found

    def loop_body_ids(self) -> set[str]:
        """Every node id inside any loop body."""
        return set().union(*(loop.body for loop in self.loops()))

    def value(self, nid: str, name: str, default: Any = None) -> Any:
        """A literal input value, following PrimitiveInt/Float/String nodes; ``default`` if linked elsewhere."""
        value = self.inputs(nid).get(name, default)
        for _ in range(8):
            if not is_link(value):
                return value
            src = str(value[0])
            if src not in self.nodes or not self.class_of(src).startswith("Primitive"):
                return default
            value = self.inputs(src).get("value", default)
        return default

    def paths_avoiding(self, start: str, goal: str, avoid_class: str) -> bool:
        """Whether some forward path from ``start`` reaches ``goal`` without a node of ``avoid_class``."""
        stack, seen = [start], {start}
        while stack:
            nid = stack.pop()
            for consumer, _, _ in self.consumers.get(nid, ()):
                if consumer == goal:
                    return True
                if consumer in seen or self.class_of(consumer) == avoid_class:
                    continue
                seen.add(consumer)
                stack.append(consumer)
        return False

    def edges_from(self, nid: str, slot: int | None = None) -> Iterator[tuple[str, str]]:
        for consumer, name, out_slot in self.consumers.get(nid, ()):
            if slot is None or out_slot == slot:
                yield consumer, name
