"""What a user installs: registry metadata, the node pack's environment, the CLI's optional extra.

Offline checks only: comfy-cli itself (``comfy node validate`` / ``comfy node pack``) is run by hand
(see docs/workflows.md); these tests pin the fields it reads and what the node pack imports.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ltx_audioloop.tools.extras import CLI_ONLY

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# comfy-cli's accepted accelerator classifiers (registry/config_parser.py)
ACCEPTED_ACCELERATORS = {
    "Environment :: GPU :: NVIDIA CUDA", "Environment :: GPU :: AMD ROCm", "Environment :: GPU :: Intel Arc",
    "Environment :: NPU :: Huawei Ascend", "Environment :: GPU :: Apple Metal",
}
# third-party modules the nodes may import: core dependencies, what ComfyUI provides, optional kernels
NODE_IMPORTS_ALLOWED = {"numpy", "PIL", "av", "torch", "torchaudio", "comfy", "comfy_api", "folder_paths",
                        "sageattention", "sageattn3"}  # comfy*, folder_paths: ComfyUI itself
CORE_FOR_IMPORT = {"numpy": "numpy", "PIL": "pillow", "av": "av"}
FRONTEND = "comfyui-frontend-package"


def _name(requirement: str) -> str:
    return requirement.split(";")[0].split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip().lower()


def test_accelerator_classifiers_are_the_registrys():
    environment = [c for c in PYPROJECT["project"]["classifiers"] if c.startswith("Environment ::")]
    assert environment and set(environment) <= ACCEPTED_ACCELERATORS


def test_registry_fields():
    comfy = PYPROJECT["tool"]["comfy"]
    urls = PYPROJECT["project"]["urls"]
    repository = urls["Repository"]
    assert comfy["PublisherId"] and comfy["DisplayName"]
    assert comfy["requires-comfyui"].startswith(">=")
    assert urls["Documentation"].startswith(repository) and urls["Issues"] == repository + "/issues"
    frontend = [d for d in PYPROJECT["project"]["dependencies"] if _name(d) == FRONTEND]
    assert len(frontend) == 1 and frontend[0].startswith(FRONTEND + ">=")


def test_icon_is_in_the_repository_and_square():
    from PIL import Image

    icon = PYPROJECT["tool"]["comfy"]["Icon"]
    prefix = "https://raw.githubusercontent.com/ltx-audioloop/ltx-audioloop/main/"
    assert icon.startswith(prefix)
    path = ROOT / icon[len(prefix):]
    with Image.open(path) as image:
        width, height = image.size
    assert width == height <= 400


def test_comfyignore_keeps_development_files_out_of_the_pack():
    lines = (ROOT / ".comfyignore").read_text(encoding="utf-8").splitlines()
    patterns = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    assert {"tests/", "bench/", ".ci/", "scripts/"} <= patterns
    for needed in ("nodes", "example_workflows", "docs", "workflows"):
        assert not any(p.rstrip("/") == needed for p in patterns)


def test_requirements_txt_is_the_core_dependencies():
    required = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    core = [d for d in PYPROJECT["project"]["dependencies"] if _name(d) != FRONTEND]
    assert sorted(required) == sorted(core)
    assert {_name(r) for r in required} == set(CORE_FOR_IMPORT.values())


def test_cli_extra_holds_the_cli_only_libraries():
    extra = {_name(d) for d in PYPROJECT["project"]["optional-dependencies"]["cli"]}
    assert extra == {distribution for distribution, _ in CLI_ONLY.values()}
    core = {_name(d) for d in PYPROJECT["project"]["dependencies"]}
    assert not extra & core


def _reachable_from_nodes() -> dict[str, set[str]]:
    """Third-party top-level module -> files importing it, over every module the nodes reach
    (imports inside functions included: what node bodies import at run time)."""
    modules = {path: path.relative_to(ROOT).with_suffix("").parts for path in ROOT.rglob("*.py")}
    by_name = {(parts[:-1] if parts[-1] == "__init__" else parts): path for path, parts in modules.items()}
    todo = [ROOT / "__init__.py", *sorted((ROOT / "nodes").glob("*.py"))]
    seen: set[Path] = set()
    third: dict[str, set[str]] = {}
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        parts = modules[path]
        package = parts[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1]
                target = base + tuple(node.module.split(".") if node.module else ())
                for candidate in [target] + [target + (alias.name,) for alias in node.names]:
                    for depth in range(len(candidate) + 1):
                        if candidate[:depth] in by_name:
                            todo.append(by_name[candidate[:depth]])
                continue
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "ltx_audioloop":
                    third.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return third


def test_nodes_import_only_core_dependencies_and_comfyui():
    third = _reachable_from_nodes()
    assert set(third) <= NODE_IMPORTS_ALLOWED, {k: v for k, v in third.items() if k not in NODE_IMPORTS_ALLOWED}
    # and every core dependency is used by the nodes (none is there for the CLI only)
    assert set(CORE_FOR_IMPORT) <= set(third)


def test_importing_the_node_pack_never_imports_cli_libraries():
    script = (
        "import importlib, json, pkgutil, sys\n"
        "import ltx_audioloop\n"
        "assert ltx_audioloop.NODE_CLASS_MAPPINGS\n"
        "import ltx_audioloop.nodes as nodes\n"
        "for info in pkgutil.iter_modules(nodes.__path__):\n"
        "    importlib.import_module('ltx_audioloop.nodes.' + info.name)\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout.splitlines()[-1]))
    assert not loaded & (set(CLI_ONLY) | {"scipy"})


@pytest.mark.parametrize("argv", [["runs"], ["render", "song.wav", "--no-track"]])
def test_a_command_without_its_extra_names_the_extra(tmp_path, monkeypatch, capsys, argv):
    """runs (tracker) and render (HTTP client, tracker) without the 'cli' extra: one line, exit 2."""
    from ltx_audioloop.tools.cli import main

    for name in CLI_ONLY:
        monkeypatch.setitem(sys.modules, name, None)  # as if the 'cli' extra were not installed
    for name in [m for m in sys.modules if m.startswith(("ltx_audioloop.tools.runs.", "ltx_audioloop.tools.render."))]:
        monkeypatch.delitem(sys.modules, name)  # re-imported (and restored afterwards)
    monkeypatch.chdir(tmp_path)
    status = main([*argv, "--db", str(tmp_path / "runs.duckdb")] if argv[0] == "runs" else argv)
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(lines) == 1, lines
    assert "optional extra 'cli'" in lines[0] and "ltx-audioloop[cli]" in lines[0]
