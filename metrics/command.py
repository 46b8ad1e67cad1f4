"""The ``metrics`` subcommand."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(commands) -> None:
    metrics = commands.add_parser(
        "metrics", help="seam scores, colour drift, audio offset and durations of a rendered video",
        description="Measure a render: seam score at each iteration boundary, colour drift per iteration "
                    "(CIE Lab), audio/video offset against the source track, duration match. "
                    "Writes JSON (stdout or --json-out) and a PNG plot, and records the run.",
    )
    metrics.add_argument("video", type=Path, help="rendered video file")
    metrics.add_argument("--audio", type=Path, help="source audio track, for the offset and duration match")
    metrics.add_argument("--stride", type=float, metavar="S",
                         help="iteration stride in seconds (default: the loop geometry's, 17.92 s at 25 fps)")
    metrics.add_argument("--first", type=float, metavar="S",
                         help="first boundary in seconds (default: the initial window, or S with --stride)")
    metrics.add_argument("--window", type=float, default=19.88, help="window seconds for the default geometry")
    metrics.add_argument("--overlap", type=float, default=2.0, help="overlap seconds for the default geometry")
    metrics.add_argument("--png", type=Path, help="plot file (default VIDEO.metrics.png)")
    metrics.add_argument("--json-out", type=Path, help="write the JSON here instead of stdout")
    metrics.add_argument("--db", type=Path, help="run tracker file (see 'runs')")
    metrics.add_argument("--no-track", action="store_true", help="do not record the run")


def run(args: argparse.Namespace) -> int:
    from .plot import render_metrics_plot
    from .report import compute_metrics

    settings = {"video": str(args.video), "audio": str(args.audio) if args.audio else None, "stride": args.stride,
                "first": args.first, "window": args.window, "overlap": args.overlap}
    tracker = run_id = None
    if not args.no_track:
        from ..runs.tracker import RunTracker

        tracker = RunTracker(args.db)
        run_id = tracker.start("metrics", settings, parent_run_id=tracker.render_for_output(args.video))
    try:
        report = compute_metrics(args.video, args.audio, stride_s=args.stride, first_s=args.first,
                                 window_s=args.window, overlap_s=args.overlap)
    except Exception as err:
        if tracker:
            tracker.finish(run_id, "failed", error=str(err))
        raise
    png = args.png or args.video.with_name(args.video.name + ".metrics.png")
    png.parent.mkdir(parents=True, exist_ok=True)
    render_metrics_plot(report).save(png)
    report["png"] = str(png)
    if tracker:
        tracker.finish(run_id, "success", metrics=report, outputs=[{"kind": "plot", "path": str(png)}])
        report["run_id"] = run_id
    text = json.dumps(report, indent=2)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(text, encoding="utf-8")
        s = report["summary"]
        print(f"{args.video}: {s['iterations']} window(s), max seam {s['seam_max']}, max drift {s['drift_max']:.2f} dE, "
              f"offset {s['offset_s']} s; JSON {args.json_out}, plot {png}")
    else:
        print(text)
    return 0
