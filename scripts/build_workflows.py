"""Regenerate example_workflows/ (canvas + API JSON, thumbnails) and docs/workflow.png.

Run from a clone: ``.venv/bin/python scripts/build_workflows.py`` (or ``ltx-audioloop workflows --write``).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from ltx_audioloop.tools.workflows.shipping import write_shipped

    written = write_shipped(ROOT / "example_workflows", readme_picture=ROOT / "docs" / "workflow.png")
    for path in written:
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
