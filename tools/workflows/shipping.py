"""Write the shipped workflows: canvas JSON, API JSON and a thumbnail per workflow.

Layout of ``example_workflows/`` (ComfyUI lists every ``*.json`` directly in that folder in its
template browser, with the file name as the card's title, so only canvas files live there and
``<name>`` is the readable title, e.g. "Music video from a song (latent loop)"):

* ``<name>.json``: the canvas (UI) format, with template metadata in ``extra.ltx_audioloop``;
* ``<name>.jpg``: the card thumbnail, a picture of what the workflow makes (:mod:`.thumbnail`);
* ``api/<name>.json``: the API format, for ``POST /prompt`` and ``ltx-audioloop render``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator

from ...safeio import atomic_output, atomic_write
from .emit import dumps, to_api, to_ui
from .library import BUILDERS, PRIMARY
from .picture import draw_workflow
from .registry import NodeRegistry
from .thumbnail import THUMBNAILS, draw_thumbnail

log = logging.getLogger(__name__)


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
    from ...nodes import NODE_CLASS_MAPPINGS

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
                spec = THUMBNAILS[canvas["extra"]["ltx_audioloop"]["name"]]
                draw_thumbnail(spec).save(temporary, format="JPEG", quality=88)
            written.append(thumb)
            if readme_picture and name == PRIMARY:
                with atomic_output(readme_picture) as temporary:
                    draw_workflow(canvas, width=1800, own_types=own,
                                  title=canvas["extra"]["ltx_audioloop"]["title"]).save(temporary)
                written.append(Path(readme_picture))
    log.info("wrote %d files under %s", len(written), root)
    return written


def stale_files(out_dir: str | Path, registry: NodeRegistry | None = None) -> list[str]:
    """Shipped JSON files that differ from what the library emits now, and JSON files or
    thumbnails the library no longer ships (a renamed workflow's old file): empty when up to date."""
    root = Path(out_dir)
    rendered = rendered_files(registry)
    stale = []
    for relative, text in rendered.items():
        path = root / relative
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(relative)
    shipped_stems = {Path(relative).stem for relative in rendered}
    for path in sorted([*root.glob("*.json"), *root.glob("*.jpg"), *root.glob("api/*.json")]):
        if path.stem not in shipped_stems:
            stale.append(f"{path.relative_to(root).as_posix()} (not shipped any more)")
    return stale
