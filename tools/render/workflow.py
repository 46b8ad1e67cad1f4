"""Where an API-format workflow graph comes from.

:func:`resolve_workflow` is the single lookup point: today it reads a JSON file given by
path, or a shipped workflow by its name (the template title, e.g. "Music video from a song
(latent loop)", any case; the former slug names still work).
"""

from __future__ import annotations

import json
from pathlib import Path


def check_api_graph(graph: object, source: str = "workflow") -> dict:
    """Return ``graph`` if it is ComfyUI's API form ``{node_id: {"class_type", "inputs"}}``.

    The UI form (a dict with ``nodes`` and ``links`` lists, as saved by the editor) is refused
    with a hint, since ``POST /prompt`` only accepts the API form.
    """
    if not isinstance(graph, dict) or not graph:
        raise ValueError(f"{source} is not an API-format graph (expected a non-empty JSON object of nodes)")
    if isinstance(graph.get("nodes"), list) and "links" in graph:
        raise ValueError(
            f"{source} is a UI-format workflow (it has 'nodes' and 'links'); export it with "
            "'Export (API)' in ComfyUI, or pass the API JSON file"
        )
    if "prompt" in graph and isinstance(graph["prompt"], dict) and len(graph) <= 3:
        graph = graph["prompt"]  # a saved POST /prompt body
    for node_id, node in graph.items():
        if not isinstance(node, dict) or "class_type" not in node or not isinstance(node.get("inputs", {}), dict):
            raise ValueError(
                f"{source}: node {node_id!r} has no class_type/inputs; expected ComfyUI's API format"
            )
    return graph


def resolve_workflow(name_or_path: str | Path) -> dict:
    """The API-format graph named by ``name_or_path``: a shipped workflow name or a JSON file.

    Raises ``ValueError`` naming the input when it is neither, is not JSON, or is a canvas
    workflow whose conversion finds errors.
    """
    from ..workflows.library import BUILDERS, PRIMARY, shipped_name

    path = Path(name_or_path).expanduser()
    if not path.is_file():
        name = str(name_or_path) or PRIMARY
        if shipped_name(name) is not None:
            from ..workflows.emit import to_api
            from ..workflows.library import build

            return to_api(build(name))
        raise ValueError(
            f"--workflow {name_or_path}: neither a file nor a shipped workflow; shipped workflows: "
            f"{', '.join(map(repr, BUILDERS))} (or pass an API or canvas workflow JSON file)"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"--workflow {path}: cannot read JSON: {err}") from None
    if isinstance(data, dict) and isinstance(data.get("nodes"), list) and "links" in data:
        from ..workflows.convert import from_document
        from ..workflows.registry import NodeRegistry

        loaded = from_document(data, NodeRegistry.default(), str(path))
        errors = [f.message for f in loaded.findings if f.level == "error"]
        if errors:
            raise ValueError(
                f"--workflow {path}: the canvas workflow does not convert cleanly: "
                + "; ".join(errors[:5])
                + " (run ltx-audioloop audit on it)"
            )
        return check_api_graph(loaded.api, f"--workflow {path}")
    return check_api_graph(data, f"--workflow {path}")
