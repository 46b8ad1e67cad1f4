"""The subcommands of ``ltx-audioloop``: one module each, one way to register.

A command module has ``NAMES`` (the subcommands it adds), ``add_parsers(subparsers)`` (adds
them to argparse) and ``run(args) -> int`` (runs ``args.command``, one of ``NAMES``). To add a
subcommand, write such a module here and list it in :data:`MODULES`. Modules import only
argparse-level things at the top, so ``ltx-audioloop --help`` loads no torch.
"""

from __future__ import annotations

import importlib
from types import ModuleType

MODULES = ("plan", "audio", "extract", "workflows", "render", "metrics", "runs", "assemble", "serve")
"""Command modules, in the order ``--help`` lists their subcommands."""


def command_modules() -> list[ModuleType]:
    """The modules of :data:`MODULES`, imported."""
    return [importlib.import_module(f".{name}", __name__) for name in MODULES]
