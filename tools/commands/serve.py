"""The ``serve`` subcommand: start (or list, or stop) ComfyUI servers as Ray actors, one per GPU."""

from __future__ import annotations

import argparse
import shlex

NAMES = ("serve",)
"""The subcommands this module adds."""


def add_parsers(commands) -> None:
    serve = commands.add_parser(
        "serve", help="start one ComfyUI server per GPU of a Ray cluster (Ray actors), list or stop them",
        description="Each server is a detached Ray actor that owns a ComfyUI process on its own GPU "
                    "(CUDA_VISIBLE_DEVICES set by Ray) and port. 'render --ray-address ADDRESS' then spreads "
                    "jobs over them. Needs pip install 'ltx-audioloop[cluster]'. See docs/cluster.md.")
    serve.add_argument("comfy_dir", nargs="?", help="ComfyUI folder (the same path on every GPU node)")
    serve.add_argument("--ray-address", default="auto", help="Ray cluster to use (default auto: this machine's)")
    serve.add_argument("--count", type=int, help="servers to start (default: one per GPU of the cluster)")
    serve.add_argument("--gpus-per-server", type=float, default=1.0, help="GPUs per server (default 1; 0 = CPU)")
    serve.add_argument("--comfy-args", default="", help="extra arguments for ComfyUI's main.py, e.g. '--lowvram'")
    serve.add_argument("--list", action="store_true", help="list the running servers")
    serve.add_argument("--stop", action="store_true", help="stop every server started by serve")


def run(args: argparse.Namespace) -> int:
    from ..cluster.comfy_server import discover_servers, start_servers, stop_servers

    if args.list:
        for url in discover_servers(args.ray_address):
            print(url)
        return 0
    if args.stop:
        print(f"stopped {stop_servers(args.ray_address)} server(s)")
        return 0
    if not args.comfy_dir:
        raise ValueError("give the ComfyUI folder (or --list / --stop)")
    if args.count is not None and args.count < 1:
        raise ValueError(f"--count must be >= 1, got {args.count}")
    if args.gpus_per_server < 0:
        raise ValueError(f"--gpus-per-server must be >= 0, got {args.gpus_per_server}")
    urls = start_servers(args.comfy_dir, args.count, gpus_per_server=args.gpus_per_server, address=args.ray_address,
                         extra_args=shlex.split(args.comfy_args))
    for url in urls:
        print(url)
    return 0
