"""Which of our node ids another installed pack also registers, said once per ComfyUI start.

ComfyUI keeps one class per node id: custom packs load in folder-name order and a later pack
silently replaces an earlier pack's class for the same id (built-in ids cannot be replaced).
Our pack shares ids with ComfyUI-AudioLoopHelper on purpose (so its workflows load), so a
user with both installed gets one pack's behaviour for those nodes without any sign of it.

:func:`report_overrides` runs when ComfyUI reads our node table. It records which of our ids
are already registered (an earlier pack, or a built-in that keeps its id), and, where
ComfyUI's server is up, checks again when the server starts (after every pack has loaded) to
find the ids a later pack took over. Each finding is one warning naming the ids and the pack.
Outside ComfyUI (tests, the command line) it does nothing.
"""

from __future__ import annotations

import logging
import sys
from typing import Mapping, Optional

log = logging.getLogger("ltx_audioloop")


def _comfy_node_table() -> Optional[dict]:
    """ComfyUI's live ``nodes.NODE_CLASS_MAPPINGS``, or ``None`` outside a ComfyUI process.

    Read from ``sys.modules`` without importing: outside ComfyUI a module called ``nodes`` may
    be something else entirely (our own subpackage is ``ltx_audioloop.nodes``).
    """
    comfy_nodes = sys.modules.get("nodes")
    table = getattr(comfy_nodes, "NODE_CLASS_MAPPINGS", None)
    if isinstance(table, dict) and hasattr(comfy_nodes, "load_custom_node"):
        return table
    return None


def owner_of(node_class) -> str:
    """The pack (custom_nodes folder) or module a node class comes from, for messages."""
    relative = getattr(node_class, "RELATIVE_PYTHON_MODULE", None)
    if isinstance(relative, str) and relative:
        return relative.split(".", 1)[-1]
    return getattr(node_class, "__module__", "?") or "?"


def shared_ids(ours: Mapping[str, type], registered: Mapping[str, type]) -> dict[str, str]:
    """``{id: owner}`` for every id of ours that ``registered`` maps to a class not ours."""
    return {
        node_id: owner_of(registered[node_id])
        for node_id, cls in ours.items()
        if node_id in registered and registered[node_id] is not cls
    }


def _group_by_owner(found: Mapping[str, str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for node_id, owner in sorted(found.items()):
        grouped.setdefault(owner, []).append(node_id)
    return grouped


def warn_shared(found: Mapping[str, str], ours_win: bool) -> None:
    """One warning per other pack: the ids it shares with ours and which class ComfyUI runs."""
    for owner, ids in _group_by_owner(found).items():
        if ours_win:
            log.warning("ltx-audioloop replaces %d node id(s) of %s: %s. Workflows using them run ltx-audioloop's "
                        "nodes; uninstall one of the two packs to make the choice explicit.",
                        len(ids), owner, ", ".join(ids))
        else:
            log.warning("%s replaces %d node id(s) of ltx-audioloop: %s. Workflows using them run %s's nodes, "
                        "not ours; uninstall one of the two packs to make the choice explicit.",
                        owner, len(ids), ", ".join(ids), owner)


def report_overrides(ours: Mapping[str, type]) -> None:
    """Warn about ids shared with packs loaded before ours now, and with later ones at server start."""
    table = _comfy_node_table()
    if table is None:
        return
    earlier = shared_ids(ours, table)
    builtin = {node_id for node_id in earlier if owner_of(table[node_id]).startswith("comfy")}
    if builtin:
        log.warning("ltx-audioloop: ComfyUI's built-in nodes keep the ids %s; ours are not used.",
                    ", ".join(sorted(builtin)))
    taken_over = {k: v for k, v in earlier.items() if k not in builtin}
    if taken_over:
        warn_shared(taken_over, ours_win=True)
    _check_at_server_start(ours, table, already=set(earlier))


def _check_at_server_start(ours: Mapping[str, type], table: dict, already: set) -> None:
    """Once every pack has loaded (aiohttp ``on_startup``), warn about ids a later pack took."""
    server = sys.modules.get("server")
    instance = getattr(getattr(server, "PromptServer", None), "instance", None)
    app = getattr(instance, "app", None)
    on_startup = getattr(app, "on_startup", None)
    if on_startup is None or getattr(on_startup, "frozen", True):
        return

    async def check(_app) -> None:
        later = {k: v for k, v in shared_ids(ours, table).items() if k not in already}
        if later:
            warn_shared(later, ours_win=False)

    on_startup.append(check)
