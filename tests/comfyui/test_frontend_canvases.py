"""ComfyUI's real frontend (headless Chromium) turns every shipped canvas into exactly its shipped API
form: the same node ids, each with the same class_type and the same inputs."""
from __future__ import annotations

import json

import pytest

from ltx_comfytests import client
from ltx_comfytests.paths import API_DIR, CANVAS_DIR, SHIPPED_NAMES

pytestmark = pytest.mark.comfyui

CANVAS_NAMES = [name for name in SHIPPED_NAMES if (CANVAS_DIR / f"{name}.json").is_file()]


@pytest.fixture(scope="module")
def declared_inputs(comfy) -> dict[str, set[str]]:
    """Class type -> the input names the server's node definition declares."""
    info = client.object_info(comfy.url)
    return {kind: set(spec.get("input", {}).get("required", {})) | set(spec.get("input", {}).get("optional", {}))
            for kind, spec in info.items()}


def frontend_only(kind: str, name: str, declared: dict[str, set[str]]) -> bool:
    """An input the node does not declare (nor a sub-value 'input.sub' of one it declares): UI state such
    as LoadAudio's 'audioUI' preview, which the executor never reads."""
    names = declared.get(kind)
    return names is not None and name not in names and name.split(".", 1)[0] not in names


def api_differences(converted: dict, shipped: dict, declared: dict[str, set[str]], ignored: list[str]) -> list[str]:
    """Every way ``converted`` differs from ``shipped`` in node ids, class types and inputs; inputs only
    the frontend writes and the node does not declare are listed in ``ignored`` instead."""
    lines = []
    for node_id in sorted(
        set(converted) | set(shipped), key=lambda s: [int(p) if p.isdigit() else p for p in s.split(":")]
    ):
        if node_id not in shipped:
            lines.append(f"node {node_id} ({converted[node_id].get('class_type')}): only in the frontend's conversion")
            continue
        if node_id not in converted:
            lines.append(f"node {node_id} ({shipped[node_id]['class_type']}): only in the shipped API file")
            continue
        ours, theirs = shipped[node_id], converted[node_id]
        if ours.get("class_type") != theirs.get("class_type"):
            lines.append(
                f"node {node_id}: class_type frontend {theirs.get('class_type')!r}, shipped {ours.get('class_type')!r}"
            )
            continue
        ours_in, theirs_in = ours.get("inputs", {}), theirs.get("inputs", {})
        for name in sorted(set(ours_in) | set(theirs_in)):
            if name not in ours_in and frontend_only(ours["class_type"], name, declared):
                ignored.append(f"{node_id} {ours['class_type']}.{name}")
                continue
            if name not in theirs_in:
                lines.append(
                    f"node {node_id} {ours['class_type']}.{name}: shipped {json.dumps(ours_in[name])}, "
                    "missing in the frontend's conversion"
                )
            elif name not in ours_in:
                lines.append(
                    f"node {node_id} {ours['class_type']}.{name}: frontend {json.dumps(theirs_in[name])}, "
                    "missing in the shipped API file"
                )
            elif ours_in[name] != theirs_in[name]:
                lines.append(
                    f"node {node_id} {ours['class_type']}.{name}: frontend {json.dumps(theirs_in[name])}, "
                    f"shipped {json.dumps(ours_in[name])}"
                )
    return lines


@pytest.mark.parametrize("name", CANVAS_NAMES)
def test_real_frontend_converts_canvas_to_shipped_api(browser_page, declared_inputs, figures, name):
    canvas = json.loads((CANVAS_DIR / f"{name}.json").read_text())
    shipped = json.loads((API_DIR / f"{name}.json").read_text())
    converted = browser_page.to_api(canvas)
    ignored: list[str] = []
    differences = api_differences(converted, shipped, declared_inputs, ignored)
    verdict = "equal" if not differences else f"{len(differences)} difference(s): " + "; ".join(differences)
    if ignored:
        verdict += " (ignored frontend-only inputs: " + ", ".join(ignored) + ")"
    figures.setdefault("frontend conversions", {})[name] = verdict
    assert not differences, (
        f"{name}: the real frontend's API form differs from example_workflows/api/{name}.json "
        f"in {len(differences)} place(s):\n  " + "\n  ".join(differences)
    )
