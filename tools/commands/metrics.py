"""The ``metrics`` subcommand."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ...loop.geometry import DEFAULT_FPS, DEFAULT_OVERLAP_SECONDS, DEFAULT_STRIDE_SECONDS, DEFAULT_WINDOW_SECONDS

NAMES = ("metrics",)
"""The subcommands this module adds."""


def add_parsers(commands) -> None:
    metrics = commands.add_parser(
        "metrics", help="seam scores, colour drift, audio offset and durations of a rendered video",
        description="Measure a render: seam score at each iteration boundary, colour drift per iteration "
                    "(CIE Lab), audio/video offset against the source track, duration match. "
                    "Writes JSON (stdout or --json-out) and a PNG plot, and records the run.",
    )
    metrics.add_argument("video", type=Path, help="rendered video file")
    metrics.add_argument("--audio", type=Path, help="source audio track, for the offset and duration match")
    metrics.add_argument("--stride", type=float, metavar="S",
                         help=f"iteration stride in seconds (default: the loop geometry's, "
                         f"{DEFAULT_STRIDE_SECONDS:g} s at {DEFAULT_FPS} fps)")
    metrics.add_argument("--first", type=float, metavar="S",
                         help="first boundary in seconds (default: the initial window, or S with --stride)")
    metrics.add_argument("--window", type=float, default=DEFAULT_WINDOW_SECONDS,
                         help="window seconds for the default geometry (default %(default)g)")
    metrics.add_argument("--overlap", type=float, default=DEFAULT_OVERLAP_SECONDS,
                         help="overlap seconds for the default geometry (default %(default)g)")
    metrics.add_argument("--cuts", metavar="FRAME,FRAME,...",
                         help="segment cut frames of a 'render --segments' join: their seams are scored apart")
    metrics.add_argument("--png", type=Path, help="plot file (default VIDEO.metrics.png)")
    metrics.add_argument("--json-out", type=Path, help="write the JSON here instead of stdout")
    metrics.add_argument("--db", type=Path, help="run tracker file (see 'runs')")
    metrics.add_argument("--no-track", action="store_true", help="do not record the run")
    metrics.add_argument("--quiet", action="store_true", help="no progress line on the terminal")


def run(args: argparse.Namespace) -> int:
    """Measure, write the plot and the JSON (atomically), then record the run: a tracker fault is a
    warning and never costs the written results."""
    from ...safeio import atomic_output, atomic_write, check_not_input
    from ..metrics.plot import render_metrics_plot
    from ..metrics.report import compute_metrics
    from ..runs.tracker import GuardedTracker

    png = args.png or args.video.with_name(args.video.name + ".metrics.png")
    for option, path in (("--png", png), ("--json-out", args.json_out)):
        if path is not None:
            check_not_input(path, [args.video, args.audio], option)
    settings = {"video": str(args.video), "audio": str(args.audio) if args.audio else None, "stride": args.stride,
                "first": args.first, "window": args.window, "overlap": args.overlap}
    cuts = None
    if args.cuts:
        try:
            cuts = [int(item) for item in args.cuts.split(",") if item.strip()]
        except ValueError:
            raise ValueError(f"--cuts {args.cuts!r} must be whole frame numbers separated by commas, "
                             "e.g. 448,1344") from None
        settings["cuts"] = cuts
    from ...audio.progress import TerminalProgress

    progress = TerminalProgress("metrics", getattr(args, "quiet", False))
    try:
        report = compute_metrics(args.video, args.audio, stride_s=args.stride, first_s=args.first,
                                 window_s=args.window, overlap_s=args.overlap, cuts=cuts, progress=progress)
    finally:
        progress.close()
    json.dumps(report, allow_nan=False)  # a non-finite value is refused before anything is written
    with atomic_output(png) as temporary:
        render_metrics_plot(report).save(temporary, format="PNG")
    report["png"] = str(png)
    if args.json_out:
        atomic_write(args.json_out, json.dumps(report, indent=2, allow_nan=False))
    tracker = GuardedTracker(args.db, enabled=not args.no_track)
    if tracker.active:
        run_id = tracker.start("metrics", settings, parent_run_id=tracker.render_for_output(args.video))
        tracker.finish(run_id, "success", metrics=report, outputs=[{"kind": "plot", "path": str(png)}])
        if tracker.active:
            report["run_id"] = run_id
    if args.json_out:
        if "run_id" in report:
            atomic_write(args.json_out, json.dumps(report, indent=2, allow_nan=False))
        s = report["summary"]
        print(f"{args.video}: {s['iterations']} window(s), max seam {s['seam_max']}, "
              f"max drift {s['drift_max']:.2f} dE, "
              f"offset {s['offset_s']} s; JSON {args.json_out}, plot {png}")
    else:
        print(json.dumps(report, indent=2, allow_nan=False))
    return 0
