"""Canvas positions for a workflow: groups left to right, nodes in columns by link depth.

Units are canvas pixels. Within a group, a node's column is the length of the longest chain of
links inside the group that ends at it; nodes of one column stack downwards. Groups are laid
out left to right in the order they were declared, wrapping to a new row past ``ROW_WIDTH``,
with notes at the top of their group.
Nodes given an explicit ``pos`` keep it.
"""

from __future__ import annotations

from .graph import Node, OutputRef, Workflow

COLUMN_WIDTH = 380.0
NODE_WIDTH = 340.0
ROW_GAP = 40.0
GROUP_GAP = 120.0
GROUP_PADDING = 40.0
GROUP_TITLE = 50.0
WIDGET_HEIGHT = 26.0
SLOT_HEIGHT = 22.0
NOTE_SIZE = (420.0, 220.0)
ROW_WIDTH = 4200.0
"""Groups wrap to a new row once a row is wider than this (canvas pixels)."""


def node_size(node: Node) -> tuple[float, float]:
    """Estimated canvas size: title bar, one row per socket pair, one per widget."""
    if node.size:
        return node.size
    if node.spec is None:
        return NOTE_SIZE
    sockets = sum(
        1 for s in node.active_inputs() if s.kind == "socket" or isinstance(node.inputs.get(s.path), OutputRef)
    )
    widgets = 0
    for spec in node.active_inputs():
        if spec.kind in ("widget", "dynamic") and not isinstance(node.inputs.get(spec.path), OutputRef):
            widgets += (
                4
                if spec.type == "STRING"
                and isinstance(node.inputs.get(spec.path), str)
                and "\n" in node.inputs[spec.path]
                else 1
            )
    rows = max(sockets, len(node.spec.outputs))
    return NODE_WIDTH, 36.0 + rows * SLOT_HEIGHT + widgets * WIDGET_HEIGHT


def layout(workflow: Workflow) -> dict[int, tuple[float, float]]:
    """Positions for every node (explicit ``pos`` kept), and fills ``workflow.groups`` bounds."""
    order = [n.id for n in workflow.topological_order()]
    rank = {nid: i for i, nid in enumerate(order)}
    members: dict[str | None, list[Node]] = {}
    for nid in order:
        node = workflow.nodes[nid]
        members.setdefault(node.group, []).append(node)
    group_names = [g for g in workflow.groups if g in members] + ([None] if None in members else [])

    positions: dict[int, tuple[float, float]] = {}
    x0 = 0.0
    row_top, row_bottom = 0.0, 0.0
    for group in group_names:
        nodes = members[group]
        inside = {n.id for n in nodes}
        depth: dict[int, int] = {}
        for node in nodes:
            parents = [v.node.id for v in node.inputs.values() if isinstance(v, OutputRef) and v.node.id in inside]
            depth[node.id] = 1 + max((depth[p] for p in parents), default=-1)
        notes = [n for n in nodes if n.spec is None]
        columns: dict[int, list[Node]] = {}
        for node in nodes:
            if node.spec is not None:
                columns.setdefault(depth[node.id], []).append(node)
        columns_needed = 1 + max(depth.values(), default=0)
        if x0 > 0 and x0 + columns_needed * COLUMN_WIDTH > ROW_WIDTH:
            x0, row_top = 0.0, row_bottom + GROUP_GAP
        top = row_top + GROUP_TITLE + GROUP_PADDING
        y_notes = top
        for index, note in enumerate(notes):
            positions[note.id] = (x0 + GROUP_PADDING + index * (NOTE_SIZE[0] + ROW_GAP), y_notes)
        if notes:
            top += NOTE_SIZE[1] + ROW_GAP
        max_x, max_y = x0 + GROUP_PADDING + max(len(notes), 1) * (NOTE_SIZE[0] + ROW_GAP), top
        for column, column_nodes in sorted(columns.items()):
            y = top
            x = x0 + GROUP_PADDING + column * COLUMN_WIDTH
            for node in sorted(column_nodes, key=lambda n: rank[n.id]):
                positions[node.id] = (x, y)
                y += node_size(node)[1] + ROW_GAP
            max_x, max_y = max(max_x, x + NODE_WIDTH), max(max_y, y)
        for node in nodes:
            if node.pos is not None:
                positions[node.id] = node.pos
        if group is not None:
            workflow.groups[group]["bounding"] = [
                x0,
                row_top,
                max_x - x0 + GROUP_PADDING,
                max_y - row_top + GROUP_PADDING,
            ]
        row_bottom = max(row_bottom, max_y + GROUP_PADDING)
        x0 = max_x + GROUP_PADDING + GROUP_GAP
    return positions
