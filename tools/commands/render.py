"""The ``render`` subcommand (parser and entry point)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ...loop.geometry import DEFAULT_FPS, DEFAULT_OVERLAP_SECONDS, DEFAULT_WINDOW_SECONDS
from ..workflows.library import PRIMARY

NAMES = ("render",)
"""The subcommands this module adds."""


def add_parsers(commands) -> None:
    render = commands.add_parser(
        "render",
        help="render AUDIO (and IMAGE) through a ComfyUI server's API with a live progress bar",
        description="Upload the inputs, fill the workflow, submit it to ComfyUI, follow its progress and "
                    "download the outputs. Every run is recorded in the run tracker (see 'runs').",
    )
    render.add_argument("audio", nargs="?", help="audio file of the track (uploaded to ComfyUI's input folder)")
    render.add_argument("image", nargs="?", help="start image (bound to the workflow's LoadImage node)")
    render.add_argument("--server", default="http://127.0.0.1:8188", help="ComfyUI URL (default http://127.0.0.1:8188)")
    render.add_argument("--workflow", default=PRIMARY,
                        help=f"a shipped workflow's name (default: '{PRIMARY}', see "
                             "'ltx-audioloop workflows') or a workflow JSON file, API or canvas format")
    render.add_argument("--schedule", help="prompt schedule text file (bound to the schedule node)")
    render.add_argument("--seed", type=int, help="seed for every noise_seed/seed/base_seed input")
    render.add_argument("--budget", type=float, metavar="MINUTES",
                        help="wall-clock minutes from submission; then the prompt is interrupted and memory freed")
    render.add_argument("--out", type=Path, default=Path("renders"), help="download folder (default ./renders)")
    render.add_argument("--batch", type=Path, metavar="FILE",
                        help="JSON array or JSONL of jobs; finished jobs are skipped when run again")
    render.add_argument("--batch-id", help="batch identity for resuming (default: the job file's path)")
    render.add_argument("--db", type=Path, help="run tracker DuckDB file (default $LTX_AUDIOLOOP_RUNS_DB or "
                        "~/.local/share/ltx-audioloop/runs.duckdb)")
    render.add_argument("--no-track", action="store_true",
                        help="do not record the run (a batch then cannot skip the jobs it finished before)")
    render.add_argument("--retries", type=int, default=5, help="attempts per HTTP request, 1..20 (default 5)")
    render.add_argument(
        "--poll", type=float, default=1.0, help="history polling interval in seconds, 0.05..3600 (default 1)"
    )
    cluster = render.add_argument_group(
        "several servers (Ray, pip install 'ltx-audioloop[cluster]')",
        "With --servers, jobs (of --batch, or the segments of --segments) run at once, one per server, on "
        "whichever server is free; a job whose server dies is rendered on another. See docs/cluster.md.",
    )
    cluster.add_argument(
        "--servers",
        metavar="URL,URL,...|FILE",
        help="ComfyUI servers to spread the jobs over: comma-separated URLs or a file with one a line",
    )
    cluster.add_argument(
        "--ray-address",
        metavar="ADDRESS",
        help="join this Ray cluster ('auto': the one this machine is in) instead of starting Ray "
        "here; without --servers the ComfyUI servers started there by 'serve' are used",
    )
    segments = render.add_argument_group(
        "one track in segments",
        "Cut AUDIO on the loop's stride grid (preferring section boundaries and quiet moments), render each "
        "segment as its own loop render, join them frame-exactly with the original audio muxed once.",
    )
    segments.add_argument("--segments", type=int, metavar="N", help="number of segments")
    segments.add_argument("--segment-seconds", type=float, metavar="S", help="about S seconds per segment")
    segments.add_argument(
        "--window",
        type=float,
        default=DEFAULT_WINDOW_SECONDS,
        help="loop window in seconds, as the workflow's (default %(default)g)",
    )
    segments.add_argument(
        "--overlap", type=float, default=DEFAULT_OVERLAP_SECONDS, help="loop overlap in seconds (default %(default)g)"
    )
    segments.add_argument(
        "--fps", type=float, default=float(DEFAULT_FPS), help="video frame rate (default %(default)g)"
    )
    segments.add_argument(
        "--crossfade",
        type=int,
        default=0,
        metavar="FRAMES",
        help="crossfade at the cuts (each segment but the last is rendered FRAMES longer)",
    )
    segments.add_argument(
        "--no-analyze",
        action="store_true",
        help="cut at the nearest grid points only (skip the section/quiet analysis)",
    )


def run(args: argparse.Namespace) -> int:
    from ..render.batch import load_jobs, run_batch
    from ..render.client import RenderJob, check_budget, check_poll, check_seed, render
    from ..render.transport import ComfyTransport
    from ..runs.tracker import GuardedTracker

    # every option is checked before the tracker is opened or the server is contacted
    check_poll(args.poll)
    check_seed(args.seed)
    check_budget(args.budget)
    transport = ComfyTransport(args.server, attempts=args.retries)
    servers = _servers(args)
    if args.segments is not None or args.segment_seconds is not None:
        from ..render.segmented import run_segmented

        return run_segmented(args, servers, transport)
    if args.batch and servers is not None:
        if args.audio:
            raise ValueError("give either AUDIO or --batch FILE, not both")
        from ..cluster.pool import run_pool

        jobs = load_jobs(
            args.batch, {"workflow": args.workflow, "seed": args.seed, "budget": args.budget, "schedule": args.schedule}
        )
        batch_id = args.batch_id or str(args.batch.resolve())
        summary = run_pool(
            servers,
            jobs,
            args.out,
            batch_id,
            db=args.db,
            track=not args.no_track,
            ray_address=args.ray_address,
            attempts=args.retries,
            poll_s=args.poll,
        )
        return _print_summary(summary)
    if args.batch:
        if args.audio:
            raise ValueError("give either AUDIO or --batch FILE, not both")
        jobs = load_jobs(
            args.batch, {"workflow": args.workflow, "seed": args.seed, "budget": args.budget, "schedule": args.schedule}
        )
        batch_id = args.batch_id or str(args.batch.resolve())
        tracker = GuardedTracker(args.db, enabled=not args.no_track)
        summary = run_batch(transport, jobs, args.out, tracker, batch_id, poll_s=args.poll)
        return _print_summary(summary)
    if not args.audio:
        raise ValueError("AUDIO is required (or --batch FILE)")
    if not args.workflow:
        raise ValueError("--workflow is required: the path of an API-format workflow JSON")
    job = RenderJob(
        audio=args.audio,
        image=args.image,
        workflow=args.workflow,
        schedule=args.schedule,
        seed=args.seed,
        budget_minutes=args.budget,
    )
    job.check()
    tracker = GuardedTracker(args.db, enabled=not args.no_track)
    result = render(transport, job, args.out, tracker=tracker, poll_s=args.poll)
    print(f"run {result['run_id'][:8]}  prompt {result['prompt_id']}  status {result['status']}")
    if result["error"]:
        print(result["error"])
    for item in result["outputs"]:
        if item.get("path"):
            print(f"  {item['kind']}: {item['path']}")
    if args.verbose:
        print(json.dumps(result["timings"], indent=2))
    return 0 if result["status"] == "success" else 3


def _print_summary(summary: list[dict]) -> int:
    for item in summary:
        where = f" on {item['server']}" if item.get("server") else ""
        print(
            f"{item['job']}: {item['status']}{where} (run {(item.get('run_id') or '-')[:8]})"
            + (f": {item['error']}" if item.get("error") else "")
        )
    return 0 if all(i["status"] in ("success", "skipped", "recovered") for i in summary) else 3


def _servers(args: argparse.Namespace) -> list[str] | None:
    """The pool of servers: ``--servers``, else (with ``--ray-address``) the servers 'serve' started
    in that cluster; None for the one ``--server``."""
    if args.servers:
        from ..cluster.pool import read_servers

        return read_servers(args.servers)
    if args.ray_address:
        from ..cluster.comfy_server import discover_servers

        servers = discover_servers(args.ray_address)
        if not servers:
            raise ValueError(
                f"--ray-address {args.ray_address}: no ComfyUI server was started in that cluster; "
                "run 'ltx-audioloop serve' there, or give --servers"
            )
        return servers
    return None
