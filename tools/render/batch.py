"""Batch renders from a job list (JSON array or JSONL), resumable after a crash.

A job is an object with ``audio`` (required), ``image``, ``workflow``, ``schedule``, ``seed``,
``budget`` (minutes) and an optional ``id``. Relative paths are relative to the job file.
Missing ``workflow``/``budget``/``seed`` take the command line's values.

Resume rule: the batch id is the job file's resolved path unless ``--batch-id`` is given;
the job key is the job's ``id``, else a hash of its settings. Before a job runs, the tracker
is asked for that (batch, key): a ``success`` row means it is skipped; a row left ``running``
by a crash whose prompt finished successfully on the server is completed from the server's
history (outputs downloaded) instead of being rendered again, and one whose prompt is still
queued or running there is followed (by polling) to its end. Anything else is rendered.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict
from pathlib import Path

from ...safeio import confined_path
from .client import RenderJob, check_budget, check_seed, collect_outputs, render
from .progress import ProgressState
from .transport import ComfyError, ComfyTransport
from .watch import follow, history_status

log = logging.getLogger(__name__)

JOB_KEYS = {"id", "audio", "image", "workflow", "schedule", "seed", "budget"}


def load_jobs(path: str | Path, defaults: dict | None = None) -> list[tuple[str, RenderJob]]:
    """Parse a job file into ``(job_key, RenderJob)`` pairs; ValueError names the bad line/entry."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ValueError(f"--batch {path}: cannot read: {err.strerror}") from None
    stripped = text.lstrip()
    entries: list = []
    if stripped.startswith("["):
        try:
            entries = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"--batch {path}: not valid JSON: {err}") from None
    else:
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ValueError(f"--batch {path} line {number}: not valid JSON: {err}") from None
    defaults = defaults or {}
    jobs, keys = [], set()
    for index, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or "audio" not in entry:
            raise ValueError(f"--batch {path} job {index}: must be an object with at least 'audio'")
        unknown = set(entry) - JOB_KEYS
        if unknown:
            raise ValueError(f"--batch {path} job {index}: unknown keys {sorted(unknown)}; allowed {sorted(JOB_KEYS)}")
        merged = {**{k: v for k, v in defaults.items() if v is not None}, **entry}
        job = RenderJob(
            audio=_resolve(path, merged["audio"]),
            image=_resolve(path, merged.get("image")),
            workflow=_resolve(path, merged.get("workflow")) if merged.get("workflow") else None,
            schedule=_resolve(path, merged.get("schedule")),
            seed=merged.get("seed"),
            budget_minutes=merged.get("budget"),
            name=str(entry["id"]) if "id" in entry else None,
        )
        if job.workflow is None:
            raise ValueError(f"--batch {path} job {index}: no workflow; give 'workflow' or --workflow")
        try:
            check_seed(job.seed, "'seed'")
            check_budget(job.budget_minutes, "'budget'")
            if job.name is not None:
                check_job_id(job.name)
        except ValueError as err:
            raise ValueError(f"--batch {path} job {index}: {err}") from None
        key = job.name or hashlib.sha1(json.dumps(asdict(job), sort_keys=True).encode()).hexdigest()[:16]
        if key in keys:
            raise ValueError(f"--batch {path} job {index}: duplicate job {key!r} (give each job a distinct 'id')")
        keys.add(key)
        jobs.append((key, job))
    if not jobs:
        raise ValueError(f"--batch {path}: no jobs")
    return jobs


def check_job_id(name: str) -> None:
    """A job ``id`` names the job's folder under ``--out``: one plain folder name, nothing that
    climbs out (``..``), no absolute path, no separator."""
    if not name.strip() or name.strip(".") == "" or any(c in name for c in "/\\\x00") or len(name) > 200:
        raise ValueError(f"'id' {name!r} must be a plain folder name (no '/', '\\', '..'; at most 200 characters)")


def _resolve(base: Path, value):
    if value is None:
        return None
    candidate = Path(str(value)).expanduser()
    return str(candidate if candidate.is_absolute() else (base.parent / candidate))


def run_batch(transport: ComfyTransport, jobs: list[tuple[str, RenderJob]], out_dir: Path, tracker,
              batch_id: str, progress_stream=None, poll_s: float = 1.0) -> list[dict]:
    """Run the jobs in order, skipping finished ones; returns one summary dict per job."""
    summary = []
    for index, (key, job) in enumerate(jobs, 1):
        previous = tracker.job_runs(batch_id, key)
        done = [row for row in previous if row["status"] == "success"]
        if done:
            log.info("job %d/%d %s: done earlier (run %s), skipped", index, len(jobs), key, done[-1]["run_id"][:8])
            summary.append({"job": key, "status": "skipped", "run_id": done[-1]["run_id"]})
            continue
        job_dir = confined_path(out_dir, key, what="batch job id")
        recovered = _recover(transport, previous, job_dir, tracker, poll_s)
        if recovered:
            summary.append({"job": key, "status": "recovered", "run_id": recovered})
            continue
        log.info("job %d/%d %s: rendering", index, len(jobs), key)
        result = render(transport, job, job_dir, tracker=tracker, batch_id=batch_id, job_key=key,
                        progress_stream=progress_stream, poll_s=poll_s)
        summary.append({"job": key, "status": result["status"], "run_id": result["run_id"], "error": result["error"]})
    return summary


def _recover(transport: ComfyTransport | None, previous: list[dict], job_dir: Path, tracker, poll_s: float = 1.0,
             transport_for=None) -> str | None:
    """Complete a crashed run whose prompt succeeded (or still runs) on the server; returns its run id.

    ``transport_for(server_url)`` (a pool of servers) gives the transport of the server each run
    was recorded on; without it every run is looked up on ``transport``."""
    for row in reversed(previous):
        if row["status"] not in ("running", "aborted") or not row.get("prompt_id"):
            continue
        if transport_for is not None and row.get("server"):
            transport = transport_for(row["server"])
        if transport is None:
            continue
        try:
            entry = transport.history(row["prompt_id"])
            if entry is None and transport.queue_state(row["prompt_id"]) is not None:
                log.info("job %s: prompt %s is still on the server; following it", row["job_key"], row["prompt_id"])
                entry = follow(transport, row["prompt_id"], ProgressState(row.get("workflow") or {}),
                               poll_s=poll_s).history
        except ComfyError:
            return None
        if entry is None:
            tracker.finish(row["run_id"], "lost", error="client stopped; the server no longer knows this prompt")
            continue
        status, error = history_status(entry)
        if status != "success":
            tracker.finish(row["run_id"], status, error=str(error) if error else None)
            continue
        outputs = collect_outputs(transport, entry, job_dir)
        tracker.finish(row["run_id"], "success", outputs=outputs)
        log.info("job %s: prompt %s had finished on the server; outputs downloaded", row["job_key"], row["prompt_id"])
        return row["run_id"]
    return None
