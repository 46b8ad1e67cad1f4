"""The ``render`` subcommand (parser and entry point; cli.py only registers it)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..workflows.library import PRIMARY


def add_parser(commands) -> None:
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
    render.add_argument("--poll", type=float, default=1.0, help="history polling interval in seconds, 0.05..3600 (default 1)")


def run(args: argparse.Namespace) -> int:
    from ..runs.tracker import GuardedTracker
    from .batch import load_jobs, run_batch
    from .client import RenderJob, check_budget, check_poll, check_seed, render
    from .transport import ComfyTransport

    # every option is checked before the tracker is opened or the server is contacted
    check_poll(args.poll)
    check_seed(args.seed)
    check_budget(args.budget)
    transport = ComfyTransport(args.server, attempts=args.retries)
    if args.batch:
        if args.audio:
            raise ValueError("give either AUDIO or --batch FILE, not both")
        jobs = load_jobs(args.batch, {"workflow": args.workflow, "seed": args.seed, "budget": args.budget,
                                      "schedule": args.schedule})
        batch_id = args.batch_id or str(args.batch.resolve())
        tracker = GuardedTracker(args.db, enabled=not args.no_track)
        summary = run_batch(transport, jobs, args.out, tracker, batch_id, poll_s=args.poll)
        for item in summary:
            print(f"{item['job']}: {item['status']} (run {item['run_id'][:8]})"
                  + (f": {item['error']}" if item.get("error") else ""))
        return 0 if all(i["status"] in ("success", "skipped", "recovered") for i in summary) else 3
    if not args.audio:
        raise ValueError("AUDIO is required (or --batch FILE)")
    if not args.workflow:
        raise ValueError("--workflow is required: the path of an API-format workflow JSON")
    job = RenderJob(audio=args.audio, image=args.image, workflow=args.workflow, schedule=args.schedule,
                    seed=args.seed, budget_minutes=args.budget)
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
