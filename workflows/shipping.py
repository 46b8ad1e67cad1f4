"""Write the shipped workflows: canvas JSON, API JSON and a thumbnail per workflow.

Layout of ``example_workflows/`` (ComfyUI lists every ``*.json`` directly in that folder in its
template browser, so only canvas files live there):

* ``<name>.json``: the canvas (UI) format, with template metadata in ``extra.ltx_audioloop``;
* ``<name>.jpg``: the template thumbnail;
* ``api/<name>.json``: the API format, for ``POST /prompt`` and ``ltx-audioloop render``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator

from ..safeio import atomic_output, atomic_write
from .emit import dumps, to_api, to_ui
from .library import BUILDERS, PRIMARY
from .picture import draw_workflow
from .registry import NodeRegistry

log = logging.getLogger(__name__)

THUMBNAIL_WIDTH = 640


def _documents(registry: NodeRegistry) -> Iterator[tuple[str, dict, dict]]:
    """(name, canvas document, API graph) of every shipped workflow."""
    for name, builder in BUILDERS.items():
        workflow = builder(registry)
        yield name, to_ui(workflow), to_api(workflow)


def rendered_files(registry: NodeRegistry | None = None) -> dict[str, str]:
    """Relative path -> JSON text of every shipped workflow file."""
    files: dict[str, str] = {}
    for name, canvas, api in _documents(registry or NodeRegistry.default()):
        files[f"{name}.json"] = dumps(canvas)
        files[f"api/{name}.json"] = dumps(api)
    return files


def write_shipped(out_dir: str | Path, registry: NodeRegistry | None = None, *, thumbnails: bool = True,
                  readme_picture: str | Path | None = None) -> list[Path]:
    """Write every shipped workflow under ``out_dir``; returns the files written."""
    from ..nodes import NODE_CLASS_MAPPINGS

    own = frozenset(NODE_CLASS_MAPPINGS)
    root = Path(out_dir)
    if root.exists() and not root.is_dir():
        raise ValueError(f"--write {root} is a file; give a folder")
    written = []
    for name, canvas, api in _documents(registry or NodeRegistry.default()):
        for path, document in ((root / f"{name}.json", canvas), (root / "api" / f"{name}.json", api)):
            atomic_write(path, dumps(document))
            written.append(path)
        if thumbnails:
            thumb = root / f"{name}.jpg"
            with atomic_output(thumb) as temporary:
                draw_workflow(canvas, width=THUMBNAIL_WIDTH, own_types=own).save(temporary, format="JPEG", quality=85)
            written.append(thumb)
            if readme_picture and name == PRIMARY:
                with atomic_output(readme_picture) as temporary:
                    draw_workflow(canvas, width=1800, own_types=own,
                                  title=canvas["extra"]["ltx_audioloop"]["title"]).save(temporary)
                written.append(Path(readme_picture))
    log.info("wrote %d files under %s", len(written), root)
    return written


def stale_files(out_dir: str | Path, registry: NodeRegistry | None = None) -> list[str]:
    """Shipped JSON files that differ from what the library emits now (empty: up to date)."""
    root = Path(out_dir)
    stale = []
    for relative, text in rendered_files(registry).items():
        path = root / relative
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(relative)
    return stale
