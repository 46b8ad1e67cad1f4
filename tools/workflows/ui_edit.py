"""Small, consistent edits of a canvas (UI-format) workflow document, for migrations.

A :class:`GraphEditor` wraps one graph level (the top level or one subgraph definition) and
keeps its two link records in step: the ``links`` table and each node's ``inputs[].link`` /
``outputs[].links``. Every edit goes through it, so a migration cannot leave a stale link.
"""

from __future__ import annotations

from typing import Any, Iterator


class GraphEditor:
    def __init__(self, graph: dict[str, Any], document: dict[str, Any]):
        self.graph = graph
        self.document = document
        self.dict_links = bool(graph.get("links")) and isinstance(graph["links"][0], dict)

    # -- reading ------------------------------------------------------------------------------

    def nodes(self, node_type: str | None = None) -> Iterator[dict[str, Any]]:
        for node in self.graph.get("nodes", []):
            if node_type is None or node.get("type") == node_type:
                yield node

    def node(self, node_id: int) -> dict[str, Any] | None:
        return next((n for n in self.graph.get("nodes", []) if n.get("id") == node_id), None)

    def link(self, link_id: int) -> list[Any] | None:
        for link in self.graph.get("links", []):
            row = self._row(link)
            if row[0] == link_id:
                return row
        return None

    @staticmethod
    def _row(link: Any) -> list[Any]:
        if isinstance(link, dict):
            return [
                link["id"],
                link["origin_id"],
                link["origin_slot"],
                link["target_id"],
                link["target_slot"],
                link.get("type", "*"),
            ]
        return list(link)

    def input_slot(self, node: dict[str, Any], name: str) -> dict[str, Any] | None:
        return next((s for s in node.get("inputs") or [] if s.get("name") == name), None)

    def source(self, node: dict[str, Any], name: str) -> tuple[dict[str, Any], int] | None:
        slot = self.input_slot(node, name)
        if slot is None or slot.get("link") is None:
            return None
        row = self.link(int(slot["link"]))
        if row is None:
            return None
        origin = self.node(row[1])
        return (origin, row[2]) if origin is not None else None

    def consumers(self, node: dict[str, Any], slot: int | None = None) -> list[tuple[dict[str, Any], str]]:
        found = []
        for link in self.graph.get("links", []):
            row = self._row(link)
            if row[1] == node["id"] and (slot is None or row[2] == slot):
                target = self.node(row[3])
                if target is not None and row[4] < len(target.get("inputs") or []):
                    found.append((target, target["inputs"][row[4]]["name"]))
        return found

    # -- editing ------------------------------------------------------------------------------

    def _next_link_id(self) -> int:
        key = "last_link_id"
        state = self.graph.get("state")
        current = max(
            [self._row(link)[0] for link in self.graph.get("links", [])] + [int(self.document.get(key, 0) or 0)]
        )
        new = current + 1
        self.document[key] = max(int(self.document.get(key, 0) or 0), new)
        if isinstance(state, dict):
            state["lastLinkId"] = max(int(state.get("lastLinkId", 0) or 0), new)
        return new

    def next_node_id(self) -> int:
        ids = [int(n["id"]) for n in self.document.get("nodes", [])]
        for sg in (self.document.get("definitions") or {}).get("subgraphs") or []:
            ids += [int(n["id"]) for n in sg.get("nodes", [])]
        new = max(ids + [int(self.document.get("last_node_id", 0) or 0)]) + 1
        self.document["last_node_id"] = new
        return new

    def disconnect(self, node: dict[str, Any], name: str) -> None:
        slot = self.input_slot(node, name)
        if slot is None or slot.get("link") is None:
            return
        link_id = int(slot["link"])
        row = self.link(link_id)
        slot["link"] = None
        self.graph["links"] = [link for link in self.graph.get("links", []) if self._row(link)[0] != link_id]
        if row is not None:
            origin = self.node(row[1])
            if origin is not None and row[2] < len(origin.get("outputs") or []):
                out = origin["outputs"][row[2]]
                out["links"] = [link for link in (out.get("links") or []) if link != link_id]

    def connect(
        self,
        origin: dict[str, Any],
        origin_slot: int,
        target: dict[str, Any],
        name: str,
        link_type: str,
        *,
        widget: bool = False,
    ) -> int:
        """Link ``origin[origin_slot]`` to ``target``'s input ``name`` (adding the input slot if needed)."""
        self.disconnect(target, name)
        slot = self.input_slot(target, name)
        if slot is None:
            slot = {"name": name, "type": link_type, "link": None}
            if widget:
                slot["widget"] = {"name": name}
            target.setdefault("inputs", []).append(slot)
        index = target["inputs"].index(slot)
        link_id = self._next_link_id()
        slot["link"] = link_id
        row = [link_id, origin["id"], origin_slot, target["id"], index, link_type]
        if self.dict_links:
            self.graph.setdefault("links", []).append(
                dict(zip(("id", "origin_id", "origin_slot", "target_id", "target_slot", "type"), row))
            )
        else:
            self.graph.setdefault("links", []).append(row)
        outputs = origin.setdefault("outputs", [])
        while len(outputs) <= origin_slot:
            outputs.append({"name": link_type, "type": link_type, "links": []})
        outputs[origin_slot]["links"] = list(outputs[origin_slot].get("links") or []) + [link_id]
        return link_id

    def remove_node(self, node: dict[str, Any]) -> None:
        for slot in list(node.get("inputs") or []):
            self.disconnect(node, slot["name"])
        for target, name in self.consumers(node):
            self.disconnect(target, name)
        self.graph["nodes"] = [n for n in self.graph.get("nodes", []) if n is not node]

    def add_node(
        self,
        node_type: str,
        pos: list[float],
        widgets_values: list[Any],
        *,
        title: str | None = None,
        outputs: list[tuple[str, str]] = (),
        size: tuple[float, float] = (340.0, 160.0),
    ) -> dict[str, Any]:
        node = {
            "id": self.next_node_id(),
            "type": node_type,
            "pos": list(pos),
            "size": list(size),
            "flags": {},
            "order": len(self.graph.get("nodes", [])),
            "mode": 0,
            "inputs": [],
            "outputs": [{"name": n, "type": t, "links": [], "slot_index": i} for i, (n, t) in enumerate(outputs)],
            "properties": {"Node name for S&R": node_type},
            "widgets_values": list(widgets_values),
        }
        if title:
            node["title"] = title
        self.graph.setdefault("nodes", []).append(node)
        return node


def editors(document: dict[str, Any]) -> Iterator[GraphEditor]:
    """An editor for the top level, then one per subgraph definition."""
    yield GraphEditor(document, document)
    for subgraph in (document.get("definitions") or {}).get("subgraphs") or []:
        yield GraphEditor(subgraph, document)
