"""The workflow (UI format) and prompt (API format) stored in a file saved by ComfyUI.

``extract_metadata(path)`` reads the raw text with :mod:`.containers` (size-bounded) and parses
it with ``json.loads`` only: no ``eval``, no pickle, nothing executed. Both values must be JSON
objects. A file with neither is a ``ValueError`` that says why that usually happens.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from .containers import RawText, read_raw_metadata


@dataclass(frozen=True)
class ExtractedMetadata:
    """What a saved file holds.

    ``workflow``: the UI-format graph (``nodes``, ``links``, ...), ``None`` when absent.
    ``prompt``: the API-format graph (node id -> ``class_type`` + ``inputs``), ``None`` when absent.
    ``found_in``: key -> where it was stored (chunk or tag name).
    ``other_keys``: names of the other metadata keys in the file (values not read).
    """

    path: str
    container: str
    workflow: dict[str, Any] | None
    prompt: dict[str, Any] | None
    found_in: dict[str, str] = field(default_factory=dict)
    other_keys: tuple[str, ...] = ()


def parse_json_object(text: str, what: str) -> dict[str, Any]:
    """``json.loads`` of one metadata value; it must be a JSON object.

    ComfyUI writes floats with Python's ``json.dumps``, so ``NaN`` / ``Infinity`` are accepted.
    Nesting deep enough to exhaust the parser's recursion is reported as corrupt, not crashed on.
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{what} is not valid JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    except RecursionError:
        raise ValueError(f"{what} is JSON nested too deeply to read; the file is corrupt or crafted") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} is JSON {type(value).__name__}, expected an object; not a ComfyUI workflow or prompt")
    return value


def _looks_like_prompt(value: dict[str, Any]) -> bool:
    return bool(value) and all(isinstance(node, dict) and "class_type" in node for node in value.values())


def _from_comment(raw: RawText) -> dict[str, tuple[dict[str, Any], str]]:
    """ComfyUI JSON inside a ``comment`` tag: ``{"prompt": ..., "workflow": ...}``, a bare UI
    workflow (has a ``nodes`` list) or a bare API prompt. Anything else is not ours: empty result."""
    if not raw.text.lstrip().startswith("{"):
        return {}
    try:
        value = parse_json_object(raw.text, raw.where)
    except ValueError:
        return {}
    found: dict[str, tuple[dict[str, Any], str]] = {}
    for key in ("prompt", "workflow"):
        inner = value.get(key)
        if isinstance(inner, str):
            inner = parse_json_object(inner, f"{raw.where} -> {key!r}")
        if isinstance(inner, dict):
            found[key] = (inner, f"{raw.where} -> {key!r}")
    if not found and isinstance(value.get("nodes"), list):
        found["workflow"] = (value, raw.where)
    elif not found and _looks_like_prompt(value):
        found["prompt"] = (value, raw.where)
    return found


def extract_metadata(path: str | os.PathLike[str]) -> ExtractedMetadata:
    """Read and parse the ComfyUI workflow and prompt of a PNG, WEBP or audio/video file.

    Raises ``ValueError`` when the file cannot be read, a bound is exceeded, a value is not a
    JSON object, a key is stored twice, or neither a workflow nor a prompt is present.
    """
    path = os.fspath(path)
    raw = read_raw_metadata(path)
    parsed: dict[str, tuple[dict[str, Any], str]] = {}
    comments: list[RawText] = []
    for item in raw.texts:
        if item.key == "comment":
            comments.append(item)
            continue
        if item.key in parsed:
            raise ValueError(
                f"{path}: {item.key!r} is stored twice ({parsed[item.key][1]} and {item.where}); "
                "refusing to guess which one ComfyUI would load"
            )
        parsed[item.key] = (parse_json_object(item.text, item.where), item.where)
    other = list(raw.other_keys)
    for comment in comments:
        inner = _from_comment(comment)
        for key, value in inner.items():
            parsed.setdefault(key, value)
        if not inner:
            other.append("comment")
    if not parsed:
        raise ValueError(
            f"{path}: no ComfyUI workflow or prompt in this {raw.container} file "
            f"(metadata keys present: {', '.join(other) if other else 'none'}). ComfyUI leaves them out "
            "when started with --disable-metadata, VideoHelperSuite when save_metadata is off, and most "
            "editors, converters and upload sites strip them"
        )
    return ExtractedMetadata(
        path=path,
        container=raw.container,
        workflow=parsed["workflow"][0] if "workflow" in parsed else None,
        prompt=parsed["prompt"][0] if "prompt" in parsed else None,
        found_in={key: where for key, (_, where) in parsed.items()},
        other_keys=tuple(other),
    )
