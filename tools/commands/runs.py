"""The ``runs`` subcommand: list recorded runs, show one, or compare two."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

SUMMARY_METRICS = (
    ("seam_max", "max seam score"),
    ("drift_max", "max colour drift (dE76)"),
    ("offset_s", "audio offset (s)"),
    ("duration_diff_s", "video - source duration (s)"),
)


NAMES = ("runs",)
"""The subcommands this module adds."""


def add_parsers(commands) -> None:
    runs = commands.add_parser("runs", help="list, show or compare tracked render/metrics/assemble runs",
                               description="Read the run tracker (DuckDB).")
    runs.add_argument("--db", type=Path, help="tracker file (default $LTX_AUDIOLOOP_RUNS_DB or "
                      "~/.local/share/ltx-audioloop/runs.duckdb)")
    runs.add_argument("--limit", type=int, default=20, help="rows to list (default 20)")
    runs.add_argument("--kind", choices=("render", "metrics", "assemble"), help="only this kind")
    runs.add_argument("--show", metavar="RUN", help="print one run as JSON (id or unique prefix)")
    runs.add_argument("--compare", nargs=2, metavar=("A", "B"), help="compare two runs side by side")
    runs.add_argument("--json", action="store_true", help="print rows as JSON")


def _metric_summary(metrics: dict | None) -> dict:
    return (metrics or {}).get("summary", {})


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _flatten(prefix: str, value, out: dict) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, out)
    else:
        out[prefix] = value


def compare_rows(a: dict, b: dict) -> list[tuple[str, object, object]]:
    """``(field, A, B)`` for settings, seed, status, timings and metric summary fields that differ or matter."""
    fa, fb = {}, {}
    for row, flat in ((a, fa), (b, fb)):
        _flatten("settings", row.get("settings") or {}, flat)
        flat["status"] = row["status"]
        flat["seed"] = row.get("seed")
        flat["duration_s"] = row.get("duration_s")
        flat["workflow_name"] = row.get("workflow_name")
        _flatten("metrics", _metric_summary(row.get("metrics")), flat)
        timings = row.get("timings") or {}
        flat["timings.total_s"] = timings.get("total_s")
    keys = sorted(set(fa) | set(fb))
    return [(key, fa.get(key), fb.get(key)) for key in keys]


def _with_metrics(tracker, row: dict) -> dict:
    """A render row with the metrics of its newest metrics run merged in (for comparing renders)."""
    if row["kind"] == "render" and not row.get("metrics"):
        measured = tracker.latest_metrics(row["run_id"])
        if measured:
            row = {**row, "metrics": measured["metrics"]}
    return row


def run(args: argparse.Namespace) -> int:
    from ..runs.tracker import RunTracker

    if not 1 <= args.limit <= 100_000:
        raise ValueError(f"--limit must be 1..100000 rows, got {args.limit}")
    tracker = RunTracker(args.db)
    if args.show:
        print(json.dumps(tracker.get(args.show), indent=2, default=str))
        return 0
    if args.compare:
        a, b = (_with_metrics(tracker, tracker.get(x)) for x in args.compare)
        rows = compare_rows(a, b)
        if args.json:
            print(json.dumps([{"field": f, "a": x, "b": y} for f, x, y in rows], indent=2, default=str))
            return 0
        width = max(len(f) for f, _, _ in rows)
        print(f"{'':{width}}  {'A ' + a['run_id'][:8]:>36}  {'B ' + b['run_id'][:8]:>36}")
        for field, x, y in rows:
            mark = " " if x == y else "*"
            print(f"{field:{width}}  {_fmt(x)[-36:]:>36}  {_fmt(y)[-36:]:>36} {mark}")
        return 0
    rows = tracker.list(args.limit, args.kind)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    print(f"tracker: {tracker.path}")
    print(f"{'run':8}  {'kind':8}  {'status':11}  {'started (UTC)':19}  {'secs':>7}  {'seed':>6}  "
          f"{'seam':>6}  {'drift':>6}  {'offset':>7}  outputs / source")
    for row in rows:
        summary = _metric_summary(_with_metrics(tracker, row).get("metrics"))
        outputs = row.get("outputs") or []
        target = ", ".join(Path(o["path"]).name for o in outputs if o.get("path"))[:40] or (
            (row.get("settings") or {}).get("video") or (row.get("settings") or {}).get("audio") or "")
        print(f"{row['run_id'][:8]}  {row['kind']:8}  {row['status']:11}  {str(row['created_at'])[:19]:19}  "
              f"{_fmt(row.get('duration_s')):>7}  {_fmt(row.get('seed')):>6}  {_fmt(summary.get('seam_max')):>6}  "
              f"{_fmt(summary.get('drift_max')):>6}  {_fmt(summary.get('offset_s')):>7}  {target}")
    return 0
