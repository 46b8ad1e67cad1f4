"""The ``ltx-audioloop extract IMAGE_OR_VIDEO`` command: print or save a file's workflow and prompt."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ...safeio import atomic_write, check_not_input
from ..metadata.extract import ExtractedMetadata, extract_metadata
from ..metadata.summary import format_summary, summarize

NAMES = ("extract",)
"""The subcommands this module adds."""


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """Register the ``extract`` subcommand on the CLI's subparsers."""
    parser = commands.add_parser(
        "extract",
        help="read the ComfyUI workflow and prompt saved in a PNG, WEBP or video file",
        description=(
            "Read the workflow (UI format) and prompt (API format) that ComfyUI or VideoHelperSuite "
            "stored in a PNG, WEBP, MP4, MKV, WEBM or MOV file. Prints a summary; --out saves both as "
            "JSON files. The metadata is parsed as JSON only, never executed; a metadata chunk over "
            "64 MiB or a text value over 16 MiB is refused."
        ),
    )
    parser.add_argument("file", metavar="IMAGE_OR_VIDEO", type=Path, help="file saved by ComfyUI")
    parser.add_argument(
        "-o", "--out", type=Path, metavar="DIR",
        help="write <name>.workflow.json (load it in ComfyUI) and <name>.prompt.json (API format) into DIR",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--force", action="store_true", help="overwrite existing files in --out")


def write_outputs(meta: ExtractedMetadata, out_dir: Path, force: bool) -> list[Path]:
    """Write ``<stem>.workflow.json`` and ``<stem>.prompt.json`` (those present) into ``out_dir``."""
    stem = Path(meta.path).stem
    targets = [
        (out_dir / f"{stem}.{key}.json", value)
        for key, value in (("workflow", meta.workflow), ("prompt", meta.prompt))
        if value is not None
    ]
    existing = {target for target, _ in targets if target.exists()}
    if not force:
        for target, _ in targets:
            if target.exists():
                raise ValueError(f"--out: {target} already exists; pass --force to overwrite it or pick another DIR")
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"--out {out_dir} is a file; give a folder")
    for target, _ in targets:
        check_not_input(target, [meta.path], "--out")
    texts = [(target, json.dumps(value, indent=2, ensure_ascii=False) + "\n") for target, value in targets]
    written: list[Path] = []
    try:
        for target, text in texts:
            atomic_write(target, text)
            written.append(target)
    except ValueError:
        # all or nothing: a second file that fails takes back the first one this run created
        for target in written:
            if target not in existing:
                target.unlink(missing_ok=True)
        raise
    return [target for target, _ in targets]


def run(args: argparse.Namespace) -> int:
    from ...nodes import NODE_CLASS_MAPPINGS

    meta = extract_metadata(args.file)
    summary = summarize(meta, NODE_CLASS_MAPPINGS)
    if args.out is not None:
        summary["written"] = [str(path) for path in write_outputs(meta, args.out, args.force)]
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print(format_summary(summary))
        for path in summary.get("written", []):
            print(f"Wrote {path}")
    return 0
