"""The two wings of the package and the direction of their imports.

* core: ``loop``, ``audio``, ``attention``, ``video``, ``safeio``, ``pictures``: the node pack's logic,
  no ComfyUI;
* ``nodes``: thin ComfyUI adapters over the core;
* ``tools``: the command line and everything only it uses.

Imports point one way, tools -> nodes -> core; ``loop`` imports nothing but ``loop``; ``pictures``
draws what the rest of the core computes, so no other core package imports it; no module imports a
private (``_name``) from another top-level package. Every import counts, module level or
inside a function, relative or absolute.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "ltx_audioloop"
CORE = {"loop", "audio", "attention", "video", "safeio", "pictures"}
BELOW_PICTURES = CORE - {"pictures"}
ALLOWED = {
    "loop": {"loop"},
    "audio": BELOW_PICTURES,
    "attention": BELOW_PICTURES,
    "video": BELOW_PICTURES,
    "safeio": BELOW_PICTURES,
    "pictures": CORE,
    "nodes": CORE | {"nodes"},
    "tools": CORE | {"nodes", "tools", ""},  # "": the package root (its __version__)
}
SKIPPED = {"tests", "bench", "scripts", "docs", "example_workflows", "build", "dist", "out", "__pycache__"}


def package_modules() -> dict[str, Path]:
    """Dotted module name (without the package prefix; '' for the root) -> file."""
    modules = {}
    for folder, dirs, names in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED and not d.endswith(".egg-info"))
        for name in names:
            if not name.endswith(".py"):
                continue
            rel = (Path(folder) / name).relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = Path(folder) / name
    return modules


def imports_of(module: str, path: Path) -> list[tuple[str, list[str], int]]:
    """``(target module, imported names, line)`` for every import of the package's own modules."""
    is_package = path.name == "__init__.py"
    here = module.split(".") if module else []
    base = here if is_package else here[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join(anchor + ([node.module] if node.module else []))
            elif node.module and (node.module == PACKAGE or node.module.startswith(PACKAGE + ".")):
                target = node.module[len(PACKAGE) + 1:]
            else:
                continue
            found.append((target, [alias.name for alias in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE + "."):
                    found.append((alias.name[len(PACKAGE) + 1:], [], node.lineno))
    return found


def top(module: str) -> str:
    return module.split(".")[0] if module else ""


def check_module(module: str, path: Path, modules: dict[str, Path]) -> tuple[list[str], list[str]]:
    """``(direction, private)`` violations of one module, each ``file:line: module imports target``."""
    wing = top(module)
    direction, private = [], []
    for target, names, line in imports_of(module, path):
        where = f"{path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name}:{line}"
        # "from .pkg import module" imports a module: judge the module, not the package
        targets = {f"{target}.{n}".strip(".") if f"{target}.{n}".strip(".") in modules else target for n in names}
        for full in sorted(targets or {target}):
            if wing in ALLOWED and top(full) not in ALLOWED[wing]:
                direction.append(f"{where}: {module} imports {full or PACKAGE}")
        if top(target) != wing:
            private += [f"{where}: {module} imports {target}.{n}" for n in names
                        if n.startswith("_") and not n.startswith("__")]
    return direction, private


def violations() -> tuple[list[str], list[str]]:
    modules = package_modules()
    direction, private = [], []
    for module, path in sorted(modules.items()):
        found = check_module(module, path, modules)
        direction += found[0]
        private += found[1]
    return direction, private


def test_imports_point_from_tools_to_nodes_to_core():
    direction, _ = violations()
    assert not direction, "imports against the direction tools -> nodes -> core (loop imports only loop):\n" + (
        "\n".join(direction))


def test_no_private_name_crosses_a_package():
    _, private = violations()
    assert not private, "private names imported from another package (make them public or move them):\n" + (
        "\n".join(private))


def test_the_walk_sees_every_wing():
    wings = {top(module) for module in package_modules()}
    assert CORE | {"nodes", "tools"} <= wings
    assert not wings & {"tests", "bench", "scripts"}


@pytest.mark.parametrize("module, source, expected", [
    ("loop.plan", "from ..audio.waveform import check_audio\n", "loop.plan imports audio.waveform"),
    ("nodes.x", "from ..tools.render import client\n", "nodes.x imports tools.render.client"),
    ("audio.x", "def f():\n    from ltx_audioloop.nodes.common import ANY\n", "audio.x imports nodes.common"),
    ("audio.x", "from ..pictures.timeline import render_timeline\n", "audio.x imports pictures.timeline"),
])
def test_a_backward_import_is_found(tmp_path, module, source, expected):
    path = tmp_path.joinpath(*module.split(".")).with_suffix(".py")
    path.parent.mkdir(parents=True)
    path.write_text(source, encoding="utf-8")
    direction, _ = check_module(module, path, {module: path, "tools.render.client": path})
    assert [item.split(": ", 1)[1] for item in direction] == [expected]


def test_a_private_import_across_packages_is_found(tmp_path):
    path = tmp_path / "audio" / "x.py"
    path.parent.mkdir()
    path.write_text("from ..pictures.timeline import _wrap_parts, render_timeline\nfrom .y import _local\n",
                    encoding="utf-8")
    _, private = check_module("audio.x", path, {})
    assert [item.split(": ", 1)[1] for item in private] == ["audio.x imports pictures.timeline._wrap_parts"]
