"""Real-ComfyUI tests: boot a ComfyUI with this checkout as a custom node pack and a tiny random-weight
LTX-2 audio+video model, then run the shipped workflows through ComfyUI's own executor and frontend.

Enabled by the environment (see docs/testing.md):
  LTX_AUDIOLOOP_COMFYUI          a ComfyUI checkout with the native LTX-2 AV code and loop nodes
  LTX_AUDIOLOOP_COMFYUI_PYTHON   its Python (default: the one running pytest)
  LTX_AUDIOLOOP_COMFYUI_WORKDIR  keep the server folder (models, log, outputs) here instead of a tmp dir
  LTX_AUDIOLOOP_COMFYUI_EXTRA_NODES  space-separated custom node folders of the checkout to load besides
                                 the package (default "ComfyUI-LTXVideo": the shipped workflows decode
                                 with its LTXVTiledVAEDecode)
  LTX_AUDIOLOOP_COMFYUI_AUDIO_SECONDS  length of the synthetic track (default 30)
Without LTX_AUDIOLOOP_COMFYUI every test here is skipped with one reason and nothing is started.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
HARNESS_PACKAGE = "ltx_comfytests"
DEFAULT_EXTRA_NODES = "ComfyUI-LTXVideo"
SKIP_REASON = ("LTX_AUDIOLOOP_COMFYUI is not set: point it at a ComfyUI checkout to run the "
               "real-ComfyUI tests (docs/testing.md)")


def _load_harness():
    if HARNESS_PACKAGE in sys.modules:
        return sys.modules[HARNESS_PACKAGE]
    spec = importlib.util.spec_from_file_location(HARNESS_PACKAGE, HERE / "harness" / "__init__.py",
                                                  submodule_search_locations=[str(HERE / "harness")])
    module = importlib.util.module_from_spec(spec)
    sys.modules[HARNESS_PACKAGE] = module
    spec.loader.exec_module(module)
    return module


_load_harness()
from ltx_comfytests import client, frontend, media, tinyize  # noqa: E402
from ltx_comfytests import server as comfy_server_lib  # noqa: E402
from ltx_comfytests.paths import API_DIR as SHIPPED_API_DIR  # noqa: E402
from ltx_comfytests.paths import PACKAGE_ROOT  # noqa: E402


def comfy_root() -> Path | None:
    value = os.environ.get("LTX_AUDIOLOOP_COMFYUI", "").strip()
    return Path(value).expanduser().resolve() if value else None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Without a ComfyUI checkout, skip every test here before any fixture starts. Raised from this
    hook, the skip carries this line as its location, so pytest folds them into one report line."""
    if comfy_root() is None:
        pytest.skip(SKIP_REASON)


COMFYUI_TEST_TIMEOUT_S = 3600
"""Hang guard for this folder (pytest-timeout): booting ComfyUI and sampling a loop on the CPU takes
minutes, far past the suite's default in pyproject.toml."""


def pytest_collection_modifyitems(items):
    for item in items:
        if item.get_closest_marker("comfyui") is not None:
            item.add_marker(pytest.mark.timeout(COMFYUI_TEST_TIMEOUT_S))


# ---- figures: every test adds what it measured; printed at the end of the run ------------------

FIGURES: dict[str, dict] = {}


@pytest.fixture(scope="session")
def figures() -> dict[str, dict]:
    return FIGURES


def pytest_terminal_summary(terminalreporter):
    if not FIGURES:
        return
    terminalreporter.section("real ComfyUI figures")
    for key in sorted(FIGURES):
        terminalreporter.write_line(f"{key}: {json.dumps(FIGURES[key], sort_keys=True, default=str)}")
    report = os.environ.get("LTX_AUDIOLOOP_COMFYUI_REPORT")
    if report:
        Path(report).write_text(json.dumps(FIGURES, indent=1, sort_keys=True, default=str))


# ---- the server ---------------------------------------------------------------------------------

@dataclass
class ComfySetup:
    root: Path
    python: str
    server: comfy_server_lib.ComfyServer
    image: str              # file name under the server's input folder
    audio: str
    audio_seconds: float

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="session")
def comfy(tmp_path_factory, figures) -> ComfySetup:
    root = comfy_root()
    if not (root / "main.py").is_file() or not (root / "comfy_extras" / "nodes_lt.py").is_file():
        pytest.fail(f"LTX_AUDIOLOOP_COMFYUI={root} is not a ComfyUI checkout with the LTX nodes "
                    "(main.py and comfy_extras/nodes_lt.py expected)")
    python = os.environ.get("LTX_AUDIOLOOP_COMFYUI_PYTHON") or sys.executable
    workdir = os.environ.get("LTX_AUDIOLOOP_COMFYUI_WORKDIR")
    base = Path(workdir).resolve() if workdir else tmp_path_factory.mktemp("comfyui_base")
    extra = os.environ.get("LTX_AUDIOLOOP_COMFYUI_EXTRA_NODES", DEFAULT_EXTRA_NODES).split()
    whitelist = comfy_server_lib.prepare_base(base, PACKAGE_ROOT, root, extra)

    started = time.monotonic()
    build = subprocess.run([python, str(HERE / "harness" / "build_tiny_stack.py"), "--comfy", str(root),
                            "--models", str(base / "models")],
                           cwd=base, capture_output=True, text=True, timeout=600)
    if build.returncode != 0:
        pytest.fail(f"building the tiny model failed ({build.returncode}):\n{build.stderr[-4000:]}")
    params = json.loads(build.stdout.strip().splitlines()[-1])
    figures["tiny model"] = {"build_s": round(time.monotonic() - started, 1), "parameters": params}

    audio_seconds = float(os.environ.get("LTX_AUDIOLOOP_COMFYUI_AUDIO_SECONDS", "30"))
    media.write_test_image(base / "input" / "ltx_test_reference.png")
    media.write_test_music(base / "input" / "ltx_test_music.wav", audio_seconds)

    server = comfy_server_lib.start(root, python, base, whitelist)
    figures["server"] = {"startup_s": round(server.startup_seconds, 1), "port": server.port,
                         "base": str(base), "custom_nodes": whitelist}
    try:
        yield ComfySetup(root, python, server, "ltx_test_reference.png", "ltx_test_music.wav",
                         media.wav_seconds(base / "input" / "ltx_test_music.wav"))
    finally:
        server.stop()


# ---- shipped workflows, each run three times on the same server --------------------------------



@dataclass
class ShippedRuns:
    """A shipped workflow rewritten to the tiny model and run as a user would re-run it: first (cold,
    after the server dropped its cache), queued again unchanged, then with only the output prefix changed."""
    name: str
    graph: dict
    first: client.PromptRun
    requeue: client.PromptRun
    renamed: client.PromptRun
    video: media.VideoFacts | None


class ShippedRunner:
    def __init__(self, setup: ComfySetup, figures: dict):
        self.setup = setup
        self.figures = figures
        self.done: dict[str, ShippedRuns] = {}

    def tiny_graph(self, name: str, prefix: str) -> dict:
        graph = json.loads((SHIPPED_API_DIR / f"{name}.json").read_text())
        return tinyize.tinyize(graph, image=self.setup.image, audio=self.setup.audio, prefix=prefix)

    def runs(self, name: str) -> ShippedRuns:
        if name in self.done:
            return self.done[name]
        url = self.setup.url
        graph = self.tiny_graph(name, f"ltx-tests/{name}/first")
        self.setup.server.keep_graph(name, graph)
        client.clear_cache(url)  # a cold first run: nothing reused from the previous workflow
        first = client.run(url, graph)
        if first.status != "success":
            pytest.fail(f"{name}: the first run failed: {json.dumps(first.error, indent=1)}")
        requeue = client.run(url, graph)
        renamed = client.run(url, tinyize.with_prefix(graph, f"ltx-tests/{name}/renamed"))
        videos = [p for p in first.output_files(self.setup.server.output_dir) if p.suffix in (".mp4", ".webm")]
        video = media.probe_video(videos[0]) if videos else None
        result = ShippedRuns(name, graph, first, requeue, renamed, video)
        self.done[name] = result
        self.figures[f"workflow {name}"] = {
            "first_s": round(first.seconds, 2), "first_ran_nodes": len(first.executed),
            "requeue_s": round(requeue.seconds, 3), "requeue_executed": sorted(requeue.executed, key=_id_order),
            "prefix_change_s": round(renamed.seconds, 3),
            "prefix_change_executed": sorted(renamed.executed, key=_id_order),
            "video_frames": video.frames if video else None, "fps": str(video.fps) if video else None,
            "video_s": round(video.video_seconds, 3) if video else None,
            "audio_s": round(video.audio_seconds, 3) if video and video.audio_seconds is not None else None,
            "track_s": round(self.setup.audio_seconds, 3),
        }
        return result


def _id_order(node_id: str):
    return [int(p) if p.isdigit() else p for p in str(node_id).split(":")]


@pytest.fixture(scope="session")
def shipped(comfy, figures) -> ShippedRunner:
    return ShippedRunner(comfy, figures)


# ---- the real frontend --------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser_page(comfy, figures) -> frontend.Frontend:
    """One headless Chromium tab on the test server's page, shared by every frontend check."""
    pytest.importorskip("aiohttp", reason="the frontend driver talks to Chromium through aiohttp")
    browser = frontend.find_browser()
    if browser is None:
        pytest.skip("no Chromium found (install chromium or set CHROMIUM) for the real-frontend checks")
    with frontend.Frontend(comfy.url, browser) as page:
        figures["frontend"] = {"page_load_s": round(page.page_load_seconds, 1), "browser": browser}
        yield page
