"""What the pack costs at ComfyUI start-up, and how fast the command line answers ``--help``.

Two figures, each the median over ``--repeat`` fresh Python processes (so nothing is cached in
memory between runs; the bytecode cache on disk is warmed once first, as on a user's machine):

* **pack import**: in a process that has already imported what ComfyUI imports before it loads
  custom nodes (torch, torchaudio, numpy, PIL, av, aiohttp when installed), the wall time of
  loading this folder the way ComfyUI does (``importlib.util.spec_from_file_location`` on its
  ``__init__.py``, under a module name that is not ``ltx_audioloop``) and reading
  ``NODE_CLASS_MAPPINGS``. The child also reports which heavy modules the import pulled in
  (``torch._dynamo``, ``scipy.signal``, ``duckdb``, ``websocket``): there should be none.
* **--help**: wall time of ``python -m ltx_audioloop --help`` minus that of ``python -c pass``.

Targets (issue 10): pack import <= 50 ms; ``--help`` within 0.5 s of a bare Python start.

Run: ``python bench/startup.py [--repeat N]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch._dynamo", "scipy.signal", "scipy", "duckdb", "websocket", "matplotlib", "PIL.ImageFont")

PRELOAD = "torch, torchaudio, numpy, PIL.Image, av"

CHILD = f"""
import importlib.util, json, sys, time
import {PRELOAD}
try:
    import aiohttp  # ComfyUI's server is loaded before custom nodes
except ImportError:
    pass
before = set(sys.modules)
start = time.perf_counter()
spec = importlib.util.spec_from_file_location("ltx-audioloop", {str(ROOT / '__init__.py')!r},
                                              submodule_search_locations=[{str(ROOT)!r}])
module = importlib.util.module_from_spec(spec)
sys.modules["ltx-audioloop"] = module
spec.loader.exec_module(module)
count = len(module.NODE_CLASS_MAPPINGS)
elapsed = time.perf_counter() - start
new = set(sys.modules) - before
heavy = sorted(m for m in new if m in {HEAVY!r})
print(json.dumps({{"seconds": elapsed, "nodes": count, "heavy": heavy, "modules": len(new)}}))
"""


def _env() -> dict:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # users have a bytecode cache; measure with it
    return env


def pack_import(repeat: int) -> dict:
    runs = []
    for _ in range(repeat + 1):  # the first run warms the bytecode cache and is dropped
        out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=_env(), check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    runs = runs[1:]
    return {"median_ms": 1000 * statistics.median(r["seconds"] for r in runs),
            "min_ms": 1000 * min(r["seconds"] for r in runs),
            "nodes": runs[0]["nodes"], "heavy": runs[0]["heavy"], "modules": runs[0]["modules"]}


def _wall(command: list[str], repeat: int) -> float:
    times = []
    for i in range(repeat + 1):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, env=_env(), check=True)
        if i:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def help_time(repeat: int) -> dict:
    bare = _wall([sys.executable, "-c", "pass"], repeat)
    help_ = _wall([sys.executable, "-m", "ltx_audioloop", "--help"], repeat)  # the installed package
    return {"bare_s": bare, "help_s": help_, "above_bare_s": help_ - bare}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7, help="fresh processes per figure (default 7)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    pack = pack_import(args.repeat)
    print(f"pack import after {PRELOAD}: median {pack['median_ms']:.1f} ms (min {pack['min_ms']:.1f} ms, "
          f"target <= 50 ms), {pack['nodes']} nodes, {pack['modules']} new modules, heavy: {pack['heavy'] or 'none'}")
    cli = help_time(args.repeat)
    print(f"ltx-audioloop --help: {cli['help_s']:.3f} s, bare python {cli['bare_s']:.3f} s, "
          f"above bare {cli['above_bare_s']:.3f} s (target <= 0.5 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
