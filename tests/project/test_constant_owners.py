"""One owner per constant: the loop-geometry defaults live in loop/geometry.py and nowhere else.

Two checks over every ``.py`` file of the package (tests/ and loop/geometry.py excepted):

* text: the derived defaults ``19.88`` (window) and ``17.92`` (stride) never appear, not even in
  a help string or a docstring (format them from the constants instead);
* syntax: no number is the default of a geometry quantity (window, overlap, fps, stride, frame
  rate, overlap/window latent or pixel frames), whether as a function parameter default, an
  argparse ``default=``, a node input spec (``{"default": ...}``, a spec helper's first
  argument, or a call naming the input first: ``Int("fps", default=...)``,
  ``frame_count_input("overlap_frames", 49, ...)``) or a module constant such as ``FPS = 25``.
  ``0`` stays allowed: it is the "derive it" or "leave it" sentinel, never a geometry value.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest

from ltx_audioloop.loop import geometry

ROOT = Path(__file__).resolve().parents[2]
OWNER = ROOT / "loop" / "geometry.py"

TEXT_LITERALS = re.compile(r"(?<![\d.])(19\.88|17\.92)(?![\d])")

GEOMETRY_NAME = re.compile(
    r"^(window|overlap|stride)(_(s|sec|secs|seconds|latents?|latent_frames|frames))?$"
    r"|^(fps|frame_rate|source_fps)$"
    r"|^(default_)?(window|overlap|stride)(_seconds)?$",
    re.IGNORECASE,
)
CONSTANT_NAME = re.compile(r"^(FPS|WINDOW(_SECONDS)?|OVERLAP(_SECONDS)?|STRIDE(_SECONDS)?)$")


SKIPPED_DIRS = {"tests", "build", "dist", "out", "docs", "__pycache__"}


def _sources() -> list[Path]:
    """Every package ``.py`` file; hidden folders (``.venv``, ``.git``) and tests are never entered."""
    files = []
    for folder, dirs, names in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS
                         and not d.endswith(".egg-info"))
        for name in sorted(names):
            path = Path(folder) / name
            if name.endswith(".py") and path != OWNER:
                files.append(path)
    return files


def _number(node: ast.AST | None) -> bool:
    """A non-zero int or float literal (``-x`` included); bools are not numbers here."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return (isinstance(node, ast.Constant) and isinstance(node.value, (int, float))
            and not isinstance(node.value, bool) and node.value != 0)


def _spec_default(node: ast.AST) -> bool:
    """A node input spec with a literal default: ``("INT", {"default": 25, ...})`` or ``helper(7, ...)``."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Dict):
            for key, value in zip(sub.keys, sub.values):
                if isinstance(key, ast.Constant) and key.value == "default" and _number(value):
                    return True
        if isinstance(sub, ast.Call) and sub.args and _number(sub.args[0]):
            return True
    return False


def _findings(text: str, rel: str) -> list[str]:
    """Every geometry literal of one file's ``text`` as ``rel:line: what``."""
    found = [f"{rel}:{n}: {m.group(1)}" for n, line in enumerate(text.splitlines(), 1)
             for m in TEXT_LITERALS.finditer(line)]
    for node in ast.walk(ast.parse(text, filename=rel)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            positional = args.posonlyargs + args.args
            pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
            pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
            found += [f"{rel}:{d.lineno}: parameter {a.arg}" for a, d in pairs
                      if GEOMETRY_NAME.match(a.arg) and _number(d)]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
            flags = [a.value.lstrip("-").replace("-", "_") for a in node.args
                     if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if any(GEOMETRY_NAME.match(f) for f in flags):
                found += [f"{rel}:{k.lineno}: argument {flags[0]}" for k in node.keywords
                          if k.arg == "default" and _number(k.value)]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str) and GEOMETRY_NAME.match(node.args[0].value)):
            # a node spec input: Int("fps", default=25, ...) or frame_count_input("overlap_frames", 49, ...)
            defaults = [k.value for k in node.keywords if k.arg == "default"] + node.args[1:2]
            if any(_number(value) for value in defaults):
                found.append(f"{rel}:{node.lineno}: input {node.args[0].value}")
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if (isinstance(key, ast.Constant) and isinstance(key.value, str)
                        and GEOMETRY_NAME.match(key.value) and _spec_default(value)):
                    found.append(f"{rel}:{key.lineno}: input {key.value}")
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names = target.elts if isinstance(target, ast.Tuple) else [target]
                values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
                for name, value in zip(names, values):
                    if isinstance(name, ast.Name) and CONSTANT_NAME.match(name.id) and _number(value):
                        found.append(f"{rel}:{node.lineno}: constant {name.id}")
    return found


def test_no_geometry_literal_outside_its_owner():
    found = [item for path in _sources()
             for item in _findings(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())]
    assert not found, (
        "geometry defaults typed outside loop/geometry.py (import DEFAULT_WINDOW_SECONDS, "
        "DEFAULT_OVERLAP_SECONDS, DEFAULT_FPS, DEFAULT_STRIDE_SECONDS ... instead):\n" + "\n".join(found)
    )


def test_the_walk_sees_the_package():
    names = {path.relative_to(ROOT).as_posix() for path in _sources()}
    expected = {"tools/commands/plan.py", "nodes/common.py", "tools/workflows/library/blocks.py", "bench/loop_nodes.py"}
    assert expected <= names
    assert not any(name.startswith(("tests/", ".")) for name in names) and "loop/geometry.py" not in names


@pytest.mark.parametrize("source, expected", [
    ("def f(window_s: float = 19.9):\n    pass\n", "parameter window_s"),
    ("p.add_argument('--fps', type=float, default=24.0)\n", "argument fps"),
    ("X = {'fps': ('INT', {'default': 30, 'min': 1})}\n", "input fps"),
    ("X = {'overlap_latent_frames': _count_input(5, 1, 'tip')}\n", "input overlap_latent_frames"),
    ("X = Int('fps', default=30, min=1, max=240, tooltip='t')\n", "input fps"),
    ("X = frame_count_input('overlap_latent_frames', 5, 1, 'tip')\n", "input overlap_latent_frames"),
    ("FPS = 30\n", "constant FPS"),
    ("s = 'stride 17.92 s'\n", "17.92"),
])
def test_the_check_catches_each_form(source, expected):
    assert any(expected in item for item in _findings(source, "probe.py"))


def test_zero_sentinels_and_other_numbers_pass():
    source = ("X = {'stride_seconds': ('FLOAT', {'default': 0.0, 'min': 0.0})}\n"
              "def f(max_lag_s=2.0, fps=None):\n    pass\n")
    assert _findings(source, "probe.py") == []


def test_defaults_are_the_documented_geometry():
    geo = geometry.DEFAULT_GEOMETRY
    assert (geometry.DEFAULT_WINDOW_SECONDS, geometry.DEFAULT_OVERLAP_SECONDS, geometry.DEFAULT_FPS) == (19.88, 2.0, 25)
    assert geometry.DEFAULT_STRIDE_SECONDS == 17.92
    assert (geo.window_frames, geo.window_latents, geo.overlap_latents, geo.overlap_frames) == (497, 63, 7, 49)
    assert geometry.DEFAULT_WINDOW_LATENTS == 63 and geometry.DEFAULT_OVERLAP_LATENTS == 7
    assert geometry.DEFAULT_OVERLAP_FRAMES == 49
