"""A private ComfyUI server for the tests: its own base folder, custom nodes, port and database.

Lay-out made by ``prepare_base`` under a temporary folder ``base``::

    base/models/...                     the tiny model (build_tiny_stack.py)
    base/custom_nodes/ltx-audioloop  -> the checkout under test (symlink)
    base/custom_nodes/ltx_audioloop_test_tiny_te/   tiny_te_patch + tiny_sizes (copied, written by the test)
    base/custom_nodes/<extra>        -> <ComfyUI>/custom_nodes/<extra>  (symlinks, only when asked for)
    base/input, output, temp, user, comfyui.db

The server runs ``main.py --cpu --listen 127.0.0.1 --port <free>`` with ``--base-directory base`` and the
explicit input/output/temp/user/database options, and ``--disable-all-custom-nodes
--whitelist-custom-nodes`` naming only the folders above, so nothing of the checkout's own
``custom_nodes``, ``models``, ``user`` or database is read or written.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

PACKAGE_NODE_DIR = "ltx-audioloop"
TINY_TE_NODE_DIR = "ltx_audioloop_test_tiny_te"
HARNESS_DIR = Path(__file__).resolve().parent

_TINY_TE_INIT = '''"""Test-only custom node written by ltx-audioloop's tests/comfyui: no nodes; patches ComfyUI's
LTX-2 text encoder so the tiny random Gemma-3 of tiny_sizes.py loads (see tiny_te_patch.py)."""
from .tiny_te_patch import apply

NODE_CLASS_MAPPINGS = {}
NODE_DISPLAY_NAME_MAPPINGS = {}
apply()
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_base(base: Path, package_root: Path, comfy_root: Path, extra_nodes: list[str]) -> list[str]:
    """Create the folders and custom_nodes entries; return the custom node folder names to whitelist."""
    for sub in ("models", "input", "output", "temp", "user", "custom_nodes"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    nodes = base / "custom_nodes"
    link = nodes / PACKAGE_NODE_DIR
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(package_root, target_is_directory=True)
    te = nodes / TINY_TE_NODE_DIR
    te.mkdir(exist_ok=True)
    for name in ("tiny_te_patch.py", "tiny_sizes.py"):
        shutil.copyfile(HARNESS_DIR / name, te / name)
    (te / "__init__.py").write_text(_TINY_TE_INIT)
    whitelist = [PACKAGE_NODE_DIR, TINY_TE_NODE_DIR]
    for name in extra_nodes:
        source = comfy_root / "custom_nodes" / name
        if not source.is_dir():
            raise ValueError(f"LTX_AUDIOLOOP_COMFYUI_EXTRA_NODES names {name!r}, but {source} is not a folder; "
                             "name folders that exist in the ComfyUI checkout's custom_nodes")
        target = nodes / name
        if not target.exists():
            target.symlink_to(source, target_is_directory=True)
        whitelist.append(name)
    return whitelist


@dataclass
class ComfyServer:
    """A running ComfyUI process started by ``start``; ``stop`` ends exactly that process group."""
    url: str
    port: int
    base: Path
    log_path: Path
    process: subprocess.Popen
    startup_seconds: float
    whitelist: list[str] = field(default_factory=list)

    @property
    def output_dir(self) -> Path:
        return self.base / "output"

    @property
    def input_dir(self) -> Path:
        return self.base / "input"

    def keep_graph(self, name: str, graph: dict) -> Path:
        """Write the graph a test queues beside the server's log (base/graphs/NAME.json), for a look
        after a failure."""
        folder = self.base / "graphs"
        folder.mkdir(exist_ok=True)
        path = folder / f"{name}.json"
        path.write_text(json.dumps(graph, indent=1))
        return path

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace_seconds: float = 20.0) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)  # the group start() created for this process
        except ProcessLookupError:
            return
        try:
            self.process.wait(grace_seconds)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def start(comfy_root: Path, python: str, base: Path, whitelist: list[str],
          ready_timeout: float = 180.0) -> ComfyServer:
    """Start ComfyUI on a free local port and wait until ``GET /system_stats`` answers."""
    port = free_port()
    log_path = base / "comfyui.log"
    cmd = [python, "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(port),
           "--base-directory", str(base),
           "--input-directory", str(base / "input"), "--output-directory", str(base / "output"),
           "--temp-directory", str(base / "temp"), "--user-directory", str(base / "user"),
           "--database-url", f"sqlite:///{base / 'comfyui.db'}",
           "--disable-all-custom-nodes", "--whitelist-custom-nodes", *whitelist]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("PYTHONPATH", None)  # the package under test must load as ComfyUI loads it, from custom_nodes
    started = time.monotonic()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(cmd, cwd=comfy_root, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    server = ComfyServer(url, port, base, log_path, process, 0.0, whitelist)
    try:
        while True:
            if process.poll() is not None:
                tail = "\n".join(server.log_text().splitlines()[-40:])
                raise RuntimeError(f"ComfyUI exited with code {process.returncode} during start-up; log "
                                   f"{log_path}:\n{tail}")
            try:
                if requests.get(url + "/system_stats", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() - started > ready_timeout:
                raise RuntimeError(f"ComfyUI did not answer /system_stats within {ready_timeout:.0f} s; log {log_path}")
            time.sleep(0.25)
    except BaseException:
        server.stop()
        raise
    server.startup_seconds = time.monotonic() - started
    return server
