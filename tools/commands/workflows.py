"""Command-line entry points: ``audit``, ``migrate`` and ``workflows``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

NAMES = ("audit", "migrate", "workflows")
"""The subcommands this module adds."""


def add_parsers(commands: argparse._SubParsersAction) -> None:
    audit = commands.add_parser(
        "audit", help="check workflows for the known failure modes of LTX-2 audio loops",
        description="Audit canvas or API workflow files (subgraphs included). Exit status 1 when any has an error.")
    audit.add_argument("workflows", nargs="+", type=Path, help="workflow JSON files")
    audit.add_argument("--json", action="store_true", help="print the findings as JSON")
    audit.add_argument("--strict", action="store_true", help="treat warnings as errors for the exit status")

    migrate = commands.add_parser(
        "migrate", help="apply a mechanical fix to a workflow file (idempotent, with backup)",
        description="Apply one fix to a workflow file in place. A backup FILE.bak is kept; --revert restores it.")
    migrate.add_argument("workflow", type=Path, nargs="?", help="workflow JSON file (not needed with --list)")
    migrate.add_argument("--fix", help="fix to apply (see --list)")
    migrate.add_argument("--dry-run", action="store_true", help="show what would change, write nothing")
    migrate.add_argument("--revert", action="store_true", help="restore the file from its backup")
    migrate.add_argument("--list", action="store_true", help="list the available fixes")

    workflows = commands.add_parser(
        "workflows", help="list, write or check the shipped example workflows",
        description="Without options: list the shipped workflows. --write DIR: emit them (canvas JSON, API JSON, "
                    "thumbnails). --check DIR: exit 1 when the files in DIR differ from the library.")
    workflows.add_argument("--write", type=Path, metavar="DIR", help="write the workflows into DIR")
    workflows.add_argument("--check", type=Path, metavar="DIR", help="compare DIR with the library")
    workflows.add_argument("--api", metavar="NAME", help="print the API form of workflow NAME")


def run(args: argparse.Namespace) -> int:
    from ..workflows.registry import NodeRegistry

    registry = NodeRegistry.default()
    if args.command == "audit":
        return _audit(args, registry)
    if args.command == "migrate":
        return _migrate(args, registry)
    return _workflows(args, registry)


def _audit(args: argparse.Namespace, registry) -> int:
    from ..workflows.audit import audit_file

    reports = [audit_file(path, registry) for path in args.workflows]
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], indent=1))
    else:
        print("\n".join(r.text() for r in reports))
    failed = any(r.errors or (args.strict and r.warnings) for r in reports)
    return 1 if failed else 0


def _migrate(args: argparse.Namespace, registry) -> int:
    from ..workflows.migrate import FIXES, migrate_file, revert_file

    if args.list:
        for name, item in sorted(FIXES.items()):
            formats = "canvas" + (" + API" if item.api else "")
            print(f"{name:24s} {item.summary} [{formats}]")
        return 0
    if args.workflow is None:
        raise ValueError("give the workflow JSON file to migrate (ltx-audioloop migrate FILE --fix NAME)")
    if args.revert:
        print(f"restored {revert_file(args.workflow)} from its backup")
        return 0
    if not args.fix:
        raise ValueError("--fix NAME is required (ltx-audioloop migrate --list shows the fixes)")
    result = migrate_file(args.workflow, args.fix, registry, dry_run=args.dry_run)
    if not result.changes:
        print(f"{result.path}: nothing to change for {result.fix}")
        return 0
    verb = "would change" if args.dry_run else "changed"
    print(f"{result.path}: {verb} ({result.fix}):")
    for change in result.changes:
        print(f"  - {change}")
    if result.written:
        print(f"backup: {result.backup}")
    return 0


def _workflows(args: argparse.Namespace, registry) -> int:
    from ..workflows.emit import dumps, to_api
    from ..workflows.library import BUILDERS, build
    from ..workflows.shipping import stale_files, write_shipped

    if args.api:
        sys.stdout.write(dumps(to_api(build(args.api, registry))))
        return 0
    if args.write:
        for path in write_shipped(args.write, registry):
            print(path)
        return 0
    if args.check:
        stale = stale_files(args.check, registry)
        for name in stale:
            print(f"out of date: {name}")
        return 1 if stale else 0
    for name, builder in BUILDERS.items():
        workflow = builder(registry)
        print(f"{name:44s} {workflow.description}")
    return 0
