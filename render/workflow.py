"""Where an API-format workflow graph comes from.

:func:`resolve_workflow` is the single lookup point: today it reads a JSON file given by
path; the workflow library will later let it resolve shipped workflows by name too.
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
    """Load the API-format graph named by ``name_or_path`` (currently: a path to a JSON file).

    Raises ``ValueError`` naming the path when it does not exist, is not JSON or is not an
    API-format graph.
    """
    path = Path(name_or_path).expanduser()
    if not path.is_file():
        raise ValueError(
            f"--workflow {name_or_path}: no such file; pass the path of an API-format workflow JSON "
            "(ComfyUI: Workflow > Export (API))"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"--workflow {path}: cannot read JSON: {err}") from None
    return check_api_graph(data, f"--workflow {path}")
