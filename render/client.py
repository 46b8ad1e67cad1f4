"""One render: upload inputs, bind them into the graph, submit, follow, download, record.

Timings recorded (seconds): ``queued_s`` (submit to ``execution_start``), ``total_s`` (submit
to end), ``iterations`` (per-iteration seconds from :class:`~.progress.ProgressState`).
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

from .binding import bind_inputs
from .progress import ProgressState
from .transport import ComfyError, ComfyTransport, PromptValidationError, format_validation_error
from .watch import connect_socket, follow
from .workflow import resolve_workflow

log = logging.getLogger(__name__)

MEDIA_KEYS = ("images", "gifs", "audio", "video", "videos", "animated_images")


@dataclass(frozen=True)
class RenderJob:
    """Settings of one render. ``budget_minutes`` of wall time from submission (None: no limit)."""

    audio: str
    workflow: str
    image: str | None = None
    schedule: str | None = None
    seed: int | None = None
    budget_minutes: float | None = None
    name: str | None = None

    def check(self) -> None:
        """Fail early (before any upload) on missing files or a bad budget."""
        for label, value in (("AUDIO", self.audio), ("IMAGE", self.image), ("--schedule", self.schedule)):
            if value is not None and not Path(value).is_file():
                raise ValueError(f"{label} {value}: no such file")
        if self.budget_minutes is not None and not self.budget_minutes > 0:
            raise ValueError(f"--budget must be > 0 minutes, got {self.budget_minutes}")


def output_refs(history: dict | None) -> list[dict]:
    """Every file entry ``{node, kind, filename, subfolder, type}`` in a history entry's ``outputs``."""
    refs = []
    for node_id, node_out in ((history or {}).get("outputs") or {}).items():
        for kind, items in (node_out or {}).items():
            if not isinstance(items, list):
                continue
            for item in items:
                if isinstance(item, dict) and "filename" in item:
                    refs.append({"node": node_id, "kind": kind, "filename": item["filename"],
                                 "subfolder": item.get("subfolder", ""), "type": item.get("type", "output")})
    return refs


class ProgressPrinter:
    """Writes the progress line to a stream: redrawn in place on a terminal, on changes otherwise."""

    def __init__(self, stream: TextIO | None = None, min_interval: float = 0.1):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.min_interval = min_interval
        self._last = 0.0
        self._last_key = None

    def __call__(self, state: ProgressState) -> None:
        now = time.monotonic()
        if self.tty:
            if now - self._last >= self.min_interval or state.finished:
                self._last = now
                self.stream.write("\r" + state.line().ljust(100)[:160])
                self.stream.flush()
        else:
            key = (state.iteration, state.iterations, state.finished)
            if key != self._last_key:
                self._last_key = key
                self.stream.write(state.line() + "\n")
                self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def render(transport: ComfyTransport, job: RenderJob, out_dir: Path, *, tracker=None, batch_id: str | None = None,
           job_key: str | None = None, progress_stream: TextIO | None = None, poll_s: float = 1.0,
           graph: dict | None = None) -> dict:
    """Run ``job`` on the server and return a result dict (run_id, status, prompt_id, outputs, timings, error).

    Raises ``ValueError`` for bad local inputs; a refused graph, a failed execution or an
    exhausted budget are results (``status`` ``invalid``, ``error``, ``interrupted``, ``budget``;
    ``partial`` when ComfyUI ran the graph but dropped outputs that failed validation),
    recorded in the tracker when one is given.
    """
    job.check()
    graph = graph if graph is not None else resolve_workflow(job.workflow)
    schedule_text = Path(job.schedule).read_text(encoding="utf-8") if job.schedule else None
    settings = {**asdict(job), "server": transport.base, "out_dir": str(out_dir)}
    run_id = tracker.start("render", settings, workflow_name=str(job.workflow), seed=job.seed, server=transport.base,
                           batch_id=batch_id, job_key=job_key) if tracker else uuid.uuid4().hex
    result = {"run_id": run_id, "status": "running", "prompt_id": None, "outputs": [], "timings": {}, "error": None}
    printer = ProgressPrinter(progress_stream)
    try:
        audio_name = transport.upload(job.audio)
        image_name = transport.upload(job.image) if job.image else None
        bound = bind_inputs(graph, audio=audio_name, image=image_name, schedule=schedule_text, seed=job.seed)
        if tracker:
            tracker.update(run_id, workflow=bound)
        client_id = uuid.uuid4().hex
        ws = connect_socket(transport, client_id)
        # the prompt id is chosen here and recorded before submitting, so a crash right after
        # the POST still leaves the id a resumed batch needs to find the prompt on the server
        prompt_id = str(uuid.uuid4())
        if tracker:
            tracker.update(run_id, prompt_id=prompt_id)
        submitted = time.monotonic()
        try:
            accepted, node_errors = transport.submit(bound, client_id, prompt_id)
        except BaseException:
            if ws is not None:
                ws.close()
            raise
        if accepted != prompt_id:
            prompt_id = accepted
            if tracker:
                tracker.update(run_id, prompt_id=prompt_id)
        result["prompt_id"] = prompt_id
        if node_errors:
            dropped = format_validation_error("some outputs failed validation and will not be produced",
                                              node_errors, bound)
            log.warning("%s", dropped)
        log.info("prompt %s queued on %s", prompt_id, transport.base)
        state = ProgressState(bound)
        deadline = submitted + job.budget_minutes * 60 if job.budget_minutes else None
        outcome = follow(transport, prompt_id, state, ws, deadline=deadline, on_update=printer, poll_s=poll_s)
        printer.close()
        ended = time.monotonic()
        result["status"] = outcome.status
        result["error"] = _error_text(outcome.error)
        result["socket_dropped"] = outcome.socket_dropped
        result["timings"] = {
            "total_s": ended - submitted,
            "queued_s": (state.execution_started - submitted) if state.execution_started else None,
            "iterations": state.iteration_seconds(),
            "iterations_total": state.iterations,
        }
        result["outputs"] = collect_outputs(transport, outcome.history, out_dir)
        if node_errors and result["status"] == "success":
            result["status"], result["error"] = "partial", dropped
    except PromptValidationError as err:
        result["status"], result["error"] = "invalid", str(err)
    except ComfyError as err:
        result["status"], result["error"] = "failed", str(err)
    except ValueError as err:
        result["status"], result["error"] = "failed", str(err)
        if tracker:
            tracker.finish(run_id, "failed", error=str(err))
        raise
    except BaseException as err:
        if isinstance(err, KeyboardInterrupt) and result["prompt_id"]:
            log.warning("stopped by the user: interrupting prompt %s", result["prompt_id"])
            try:
                transport.interrupt(result["prompt_id"])
            except ComfyError:
                pass
        if tracker:
            tracker.finish(run_id, "aborted", error=f"{type(err).__name__}: {err}")
        raise
    if tracker:
        tracker.finish(run_id, result["status"], outputs=result["outputs"], timings=result["timings"],
                       error=result["error"])
    return result


def collect_outputs(transport: ComfyTransport, history: dict | None, out_dir: Path) -> list[dict]:
    """Download every ``type == "output"`` file of a history entry into ``out_dir``; list them all."""
    refs = output_refs(history)
    for ref in refs:
        if ref["type"] == "output":
            ref["path"] = str(transport.download(ref, Path(out_dir)))
    return refs


def _error_text(error: dict | None) -> str | None:
    if not error:
        return None
    node = error.get("node_id")
    where = f"node {node} ({error.get('node_type', '?')}): " if node is not None else ""
    message = error.get("exception_message") or error.get("exception_type") or "interrupted"
    return f"{where}{message}".strip()
