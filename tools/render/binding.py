"""Input binding: fill an API-format graph with one render's audio, image, schedule and seed.

Rules (all lookups by ``class_type``; a value that is a link ``[node_id, output]`` is never
overwritten, except that a link from a core ``Primitive*`` node (how the shipped workflows share
one value between several inputs) sets that primitive's ``value``):

* ``audio`` -> input ``audio`` of the ``LoadAudio`` node (the uploaded file name);
* ``image`` -> input ``image`` of the ``LoadImage`` node (the uploaded file name);
* ``schedule`` -> input ``schedule`` of the prompt-schedule node
  (``TimestampPromptScheduleBatchEncode`` or ``TimestampPromptSchedule``);
* ``seed`` -> every literal ``noise_seed``, ``seed`` and ``base_seed`` input of any node
  (one render has one seed; per-iteration seeds derive from it in the graph).

For audio, image and schedule exactly one target must exist. When a graph has several
candidates, the one whose ``_meta.title`` contains the tag ``[bind:audio]`` (``[bind:image]``,
``[bind:schedule]``) is used; otherwise the binding is ambiguous. A value given for a target the
graph lacks, or an ambiguous target, raises ``ValueError`` naming the nodes; a binding left
``None`` keeps the graph's own value.
"""

from __future__ import annotations

import copy

SEED_INPUTS = ("noise_seed", "seed", "base_seed")
MAX_SEED = 2**64 - 1

# binding name -> (class types, input name)
TARGETS: dict[str, tuple[tuple[str, ...], str]] = {
    "audio": (("LoadAudio",), "audio"),
    "image": (("LoadImage",), "image"),
    "schedule": (("TimestampPromptScheduleBatchEncode", "TimestampPromptSchedule"), "schedule"),
}


def is_link(value: object) -> bool:
    """True when an API-format input value is a link ``[source_node_id, output_index]``."""
    return (
        isinstance(value, (list, tuple)) and len(value) == 2
        and isinstance(value[0], str) and isinstance(value[1], int)
    )


def _title(node: dict) -> str:
    meta = node.get("_meta")
    return str(meta.get("title", "")) if isinstance(meta, dict) else ""


PRIMITIVES = ("PrimitiveInt", "PrimitiveFloat", "PrimitiveString", "PrimitiveStringMultiline", "PrimitiveBoolean")


def primitive_source(graph: dict, value: object) -> str | None:
    """The id of the core primitive node a link comes from, or ``None``."""
    if is_link(value) and graph.get(value[0], {}).get("class_type") in PRIMITIVES:
        return value[0]
    return None


def find_target(graph: dict, binding: str) -> str:
    """Node id that receives ``binding`` (``audio``, ``image`` or ``schedule``); see module rules.

    When the target's input is wired from a primitive node, that primitive's id is returned
    (its ``value`` input receives the binding)."""
    classes, input_name = TARGETS[binding]
    candidates = [nid for nid, node in graph.items() if node.get("class_type") in classes]
    if not candidates:
        raise ValueError(
            f"{binding} given but the workflow has no {' or '.join(classes)} node to receive it; "
            f"add one, or leave --{binding} out"
        )
    if len(candidates) > 1:
        tag = f"[bind:{binding}]"
        tagged = [nid for nid in candidates if tag in _title(graph[nid])]
        if len(tagged) != 1:
            listed = ", ".join(f"{nid} ({graph[nid]['class_type']})" for nid in candidates)
            raise ValueError(
                f"{binding} binding is ambiguous: nodes {listed} could all receive it; put {tag} "
                f"in the title of exactly one of them"
            )
        candidates = tagged
    node_id = candidates[0]
    current = graph[node_id].get("inputs", {}).get(input_name)
    if primitive_source(graph, current):
        return primitive_source(graph, current)
    if is_link(current):
        raise ValueError(
            f"{binding} binding: input {input_name!r} of node {node_id} ({graph[node_id]['class_type']}) "
            f"is wired from node {current[0]}; make it a widget value so the client can set it"
        )
    return node_id


def seed_targets(graph: dict) -> list[tuple[str, str]]:
    """``(node_id, input_name)`` of every literal seed input (``noise_seed``, ``seed``, ``base_seed``),
    and ``(primitive_id, "value")`` for seed inputs wired from a primitive node."""
    found = []
    for node_id, node in graph.items():
        for name in SEED_INPUTS:
            value = node.get("inputs", {}).get(name)
            if name not in node.get("inputs", {}):
                continue
            if not is_link(value):
                found.append((node_id, name))
            elif primitive_source(graph, value) and (value[0], "value") not in found:
                found.append((value[0], "value"))
    return found


def bind_inputs(graph: dict, *, audio: str | None = None, image: str | None = None,
                schedule: str | None = None, seed: int | None = None) -> dict:
    """Return a copy of ``graph`` with the given inputs filled (see the module rules).

    ``audio`` and ``image`` are file names as ComfyUI knows them after upload (``name`` or
    ``subfolder/name``); ``schedule`` is the schedule text; ``seed`` an integer in 0 .. 2^64-1.
    The input graph is not modified.
    """
    bound = copy.deepcopy(graph)
    for binding, value in (("audio", audio), ("image", image), ("schedule", schedule)):
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{binding} must be a non-empty string, got {value!r}")
        node_id = find_target(bound, binding)
        name = "value" if bound[node_id].get("class_type") in PRIMITIVES else TARGETS[binding][1]
        bound[node_id].setdefault("inputs", {})[name] = value
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise ValueError(f"seed must be a whole number in 0..2^64-1, got {seed!r}")
        targets = seed_targets(bound)
        if not targets:
            raise ValueError(
                "seed given but the workflow has no literal noise_seed/seed/base_seed input; "
                "leave --seed out or add a seed widget"
            )
        for node_id, name in targets:
            bound[node_id]["inputs"][name] = seed
    return bound
