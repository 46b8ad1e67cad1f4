"""A Ray actor that owns one ComfyUI process on one GPU, and the ``serve`` helpers.

:class:`ComfyServer` is created with ``num_gpus=1`` (Ray picks the GPU and sets
``CUDA_VISIBLE_DEVICES`` for the actor); it starts ``python main.py --listen HOST --port PORT``
in the ComfyUI folder with that ``CUDA_VISIBLE_DEVICES``, waits until ``GET /queue`` answers,
and reports its URL. The actor is named ``comfyui-<node>-<gpu>`` in the ``ltx-audioloop``
namespace and detached, so it outlives the command that started it; a render driver joining
the cluster (``render --ray-address``) finds every such server with :func:`discover_servers`.
Killing the actor (``serve --stop``) terminates its ComfyUI process.

Models must be present on every node in the ComfyUI folder's ``models/`` (same paths), since
each server loads its own; inputs are uploaded and outputs downloaded over HTTP.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time

import requests

from .ray_setup import NAMESPACE, connect

log = logging.getLogger(__name__)

PREFIX = "comfyui-"
SCHEDULE_GRACE_S = 120.0
"""Seconds Ray gets, beyond a server's start timeout, to place and start its actor."""


def free_port(start: int = 8190) -> int:
    """The first port from ``start`` that nobody listens on (on this node)."""
    for port in range(start, start + 1000):
        with socket.socket() as sock:
            try:
                sock.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {start}..{start + 999}")


class ComfyServer:
    """Starts and owns one ComfyUI process. ``command`` (for tests: any program that serves
    ComfyUI's API) is a list whose items may contain ``{port}`` and ``{host}``."""

    def __init__(self, comfy_dir: str, *, port: int | None = None, extra_args: list[str] | None = None,
                 command: list[str] | None = None, gpu_ids: list[str] | None = None, start_timeout_s: float = 600,
                 host: str | None = None):
        import ray

        self.host = host or ray.util.get_node_ip_address()
        self.port = port or free_port()
        ids = gpu_ids if gpu_ids is not None else [str(g) for g in ray.get_gpu_ids()]
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": ",".join(ids)}
        template = command or [sys.executable, "main.py", "--listen", "{host}", "--port", "{port}"]
        argv = [part.format(port=self.port, host=self.host) for part in template] + list(extra_args or [])
        self.gpus = ",".join(ids)
        self.proc = subprocess.Popen(argv, cwd=comfy_dir, env=env)
        end = time.monotonic() + start_timeout_s
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ComfyUI in {comfy_dir} exited with status {self.proc.returncode} while starting")
            try:
                requests.get(self.url() + "/queue", timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.5)
        self.proc.kill()
        raise RuntimeError(f"ComfyUI in {comfy_dir} did not answer on port {self.port} within {start_timeout_s:g} s")

    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def info(self) -> dict:
        return {"url": self.url(), "gpus": self.gpus, "pid": self.proc.pid, "alive": self.proc.poll() is None}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def __del__(self):
        try:
            self.stop()
        except Exception:  # interpreter shutting down
            pass


def start_servers(comfy_dir: str, count: int | None = None, *, gpus_per_server: float = 1.0, address: str | None = None,
                  extra_args: list[str] | None = None, command: list[str] | None = None,
                  num_cpus_per_server: float = 1.0, host: str | None = None,
                  start_timeout_s: float = 600) -> list[str]:
    """Start ``count`` servers (default: one per GPU of the cluster) as detached named actors;
    returns their URLs.

    Each server gets ``start_timeout_s`` seconds to answer ``GET /queue``, and Ray
    ``start_timeout_s + SCHEDULE_GRACE_S`` seconds to place and start its actor; a server that
    misses either is killed and the call raises RuntimeError naming it (never waits forever:
    an actor Ray cannot place, say for want of a GPU, would otherwise block ``serve`` for good).
    """
    ray = connect(address)
    if count is None:
        gpus = ray.cluster_resources().get("GPU", 0)
        count = int(gpus // gpus_per_server) if gpus_per_server else 0
        if count < 1:
            raise ValueError("the Ray cluster has no GPU; give --count (and --gpus-per-server 0 to run on CPU)")
    actor = ray.remote(ComfyServer)
    existing = len(list_server_actors(ray))
    names = [f"{PREFIX}{existing + i}" for i in range(count)]
    handles = [actor.options(name=name, namespace=NAMESPACE, lifetime="detached",
                             num_gpus=gpus_per_server, num_cpus=num_cpus_per_server).remote(
        comfy_dir, extra_args=extra_args, command=command, gpu_ids=None if gpus_per_server else [], host=host,
        start_timeout_s=start_timeout_s)
        for name in names]
    refs = [h.url.remote() for h in handles]
    ready, waiting = ray.wait(refs, num_returns=len(refs), timeout=start_timeout_s + SCHEDULE_GRACE_S)
    if waiting:
        late = [name for name, ref in zip(names, refs) if ref in set(waiting)]
        for handle in handles:
            ray.kill(handle)
        raise RuntimeError(
            f"server actor(s) {', '.join(late)} did not start within {start_timeout_s + SCHEDULE_GRACE_S:g} s "
            "(Ray could not place them or ComfyUI did not answer); all servers of this call were stopped. "
            "Check 'ray status' for free GPUs/CPUs and the ComfyUI log on the node")
    try:
        return [ray.get(ref) for ref in refs]
    except Exception:
        for handle in handles:
            ray.kill(handle)
        raise


def list_server_actors(ray) -> list[str]:
    """Names of the live ComfyServer actors in the pack's namespace."""
    from ray.util import list_named_actors

    return sorted(item["name"] for item in list_named_actors(all_namespaces=True)
                  if item.get("namespace") == NAMESPACE and item["name"].startswith(PREFIX))


def discover_servers(address: str | None) -> list[str]:
    """URLs of the servers :func:`start_servers` started in the cluster at ``address``."""
    ray = connect(address)
    urls = []
    for name in list_server_actors(ray):
        try:
            urls.append(ray.get(ray.get_actor(name, namespace=NAMESPACE).url.remote(), timeout=30))
        except Exception as err:  # an actor on a node that went away
            log.warning("server actor %s does not answer (%s); left out", name, err)
    return urls


def stop_servers(address: str | None) -> int:
    """Stop every server actor (and its ComfyUI); returns how many."""
    ray = connect(address)
    names = list_server_actors(ray)
    for name in names:
        handle = ray.get_actor(name, namespace=NAMESPACE)
        try:
            ray.get(handle.stop.remote(), timeout=60)
        finally:
            ray.kill(handle)
    return len(names)
