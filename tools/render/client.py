"""One render: upload inputs, bind them into the graph, submit, follow, download, record.

Timings recorded (seconds): ``queued_s`` (submit to ``execution_start``), ``total_s`` (submit
to end), ``iterations`` (per-iteration seconds from :class:`~.progress.ProgressState`).
"""

from __future__ import annotations

import logging
import math
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

from ...audio.media_errors import describe_media_error
from ...loop.schedule import parse_schedule, read_schedule_file
from .binding import MAX_SEED, bind_inputs
from .progress import ProgressState
from .transport import ComfyError, ComfyTransport, PromptValidationError, format_validation_error
from .watch import connect_socket, follow
from .workflow import resolve_workflow

log = logging.getLogger(__name__)

MEDIA_KEYS = ("images", "gifs", "audio", "video", "videos", "animated_images")


MAX_POLL_S = 3600.0
MIN_POLL_S = 0.05
MAX_BUDGET_MINUTES = 7 * 24 * 60.0
UPLOAD_PLACEHOLDER = "ltx-audioloop-local-check"


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
        """Fail early (before any upload) on missing files, a bad seed or a bad budget."""
        for label, value in (("AUDIO", self.audio), ("IMAGE", self.image), ("--schedule", self.schedule)):
            if value is not None and not Path(value).is_file():
                what = "is a folder, not a file" if Path(value).is_dir() else "no such file"
                raise ValueError(f"{label} {value}: {what}")
        check_seed(self.seed)
        check_budget(self.budget_minutes)


def check_seed(seed, option: str = "--seed") -> None:
    """``seed`` is None or a whole number in 0 .. 2^64-1 (the seed inputs' range)."""
    if seed is None:
        return
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"{option} must be a whole number in 0..2^64-1 (18446744073709551615), got {seed!r}")


def check_budget(minutes, option: str = "--budget") -> None:
    if minutes is None:
        return
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not math.isfinite(minutes) \
            or not 0 < minutes <= MAX_BUDGET_MINUTES:
        raise ValueError(f"{option} must be minutes in (0, {MAX_BUDGET_MINUTES:g}], got {minutes!r}")


def check_poll(poll_s) -> None:
    """``--poll`` seconds between history requests: MIN_POLL_S .. MAX_POLL_S."""
    if isinstance(poll_s, bool) or not isinstance(poll_s, (int, float)) or not math.isfinite(poll_s) \
            or not MIN_POLL_S <= poll_s <= MAX_POLL_S:
        raise ValueError(f"--poll must be seconds in {MIN_POLL_S:g}..{MAX_POLL_S:g}, got {poll_s!r}")


def check_media(path: str, label: str, kind: str) -> None:
    """``path`` is a file FFmpeg (audio) or Pillow (image) can open: checked before any upload."""
    if kind == "audio":
        import av

        try:
            with av.open(str(path)) as container:
                if not container.streams.audio:
                    raise ValueError(f"{label} {path} has no audio stream; give an audio or video file with sound")
        except (av.error.FFmpegError, UnicodeDecodeError) as err:
            raise ValueError(
                f"{label} {path} is not an audio file FFmpeg can read ({describe_media_error(err)})"
            ) from None
        return
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ValueError(f"{label} {path} is not an image Pillow can read ({err})") from None


def check_locally(job: RenderJob, graph: dict) -> str | None:
    """Every check that needs no server, in upload order: files, seed, budget, schedule text,
    media types, and a trial binding into ``graph``. Returns the schedule text."""
    job.check()
    schedule_text = None
    if job.schedule:
        schedule_text = read_schedule_file(job.schedule)
        parse_schedule(schedule_text)
    check_media(job.audio, "AUDIO", "audio")
    if job.image:
        check_media(job.image, "IMAGE", "image")
    bind_inputs(
        graph,
        audio=UPLOAD_PLACEHOLDER,
        image=UPLOAD_PLACEHOLDER if job.image else None,
        schedule=schedule_text,
        seed=job.seed,
    )
    return schedule_text


def output_refs(history: dict | None) -> list[dict]:
    """Every file entry ``{node, kind, filename, subfolder, type}`` in a history entry's ``outputs``."""
    refs = []
    for node_id, node_out in ((history or {}).get("outputs") or {}).items():
        for kind, items in (node_out or {}).items():
            if not isinstance(items, list):
                continue
            for item in items:
                if isinstance(item, dict) and "filename" in item:
                    refs.append(
                        {
                            "node": node_id,
                            "kind": kind,
                            "filename": item["filename"],
                            "subfolder": item.get("subfolder", ""),
                            "type": item.get("type", "output"),
                        }
                    )
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

    def say(self, text: str) -> None:
        """One status line about what the client is doing or waiting on (shown at once)."""
        if self.tty:
            self.stream.write("\r" + text.ljust(100)[:160])
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def render(
    transport: ComfyTransport,
    job: RenderJob,
    out_dir: Path,
    *,
    tracker=None,
    batch_id: str | None = None,
    job_key: str | None = None,
    progress_stream: TextIO | None = None,
    poll_s: float = 1.0,
    graph: dict | None = None,
) -> dict:
    """Run ``job`` on the server and return a result dict (run_id, status, prompt_id, outputs, timings, error).

    Raises ``ValueError`` for bad local inputs; a refused graph, a failed execution or an
    exhausted budget are results (``status`` ``invalid``, ``error``, ``interrupted``, ``budget``;
    ``partial`` when ComfyUI ran the graph but dropped outputs that failed validation),
    recorded in the tracker when one is given.
    """
    check_poll(poll_s)
    graph = graph if graph is not None else resolve_workflow(job.workflow)
    schedule_text = check_locally(job, graph)
    settings = {**asdict(job), "server": transport.base, "out_dir": str(out_dir)}
    run_id = (
        tracker.start(
            "render",
            settings,
            workflow_name=str(job.workflow),
            seed=job.seed,
            server=transport.base,
            batch_id=batch_id,
            job_key=job_key,
        )
        if tracker
        else uuid.uuid4().hex
    )
    result = {"run_id": run_id, "status": "running", "prompt_id": None, "outputs": [], "timings": {}, "error": None}
    printer = ProgressPrinter(progress_stream)
    submitted_id = None  # set once POST /prompt may have queued the job: any failure then interrupts it
    try:
        printer.say(f"contacting {transport.base}")
        transport.check_alive()
        printer.say(f"uploading AUDIO {Path(job.audio).name} ({_size(job.audio)}) to {transport.base}")
        audio_name = transport.upload(job.audio)
        image_name = None
        if job.image:
            printer.say(f"uploading IMAGE {Path(job.image).name} ({_size(job.image)})")
            image_name = transport.upload(job.image)
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
        printer.say(f"submitting the workflow (prompt {prompt_id[:8]})")
        submitted_id = prompt_id
        try:
            accepted, node_errors = transport.submit(bound, client_id, prompt_id)
        except BaseException:
            if ws is not None:
                ws.close()
            raise
        if accepted != prompt_id:
            prompt_id = submitted_id = accepted
            if tracker:
                tracker.update(run_id, prompt_id=prompt_id)
        result["prompt_id"] = prompt_id
        if node_errors:
            dropped = format_validation_error(
                "some outputs failed validation and will not be produced", node_errors, bound
            )
            log.warning("%s", dropped)
        printer.say(f"prompt {prompt_id[:8]} queued; waiting for ComfyUI to start it")
        state = ProgressState(bound)
        deadline = submitted + job.budget_minutes * 60 if job.budget_minutes else None
        outcome = follow(transport, prompt_id, state, ws, deadline=deadline, on_update=printer, poll_s=poll_s)
        submitted_id = None  # the prompt has ended on the server
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
        refused = [ref["error"] for ref in result["outputs"] if ref.get("error")]
        if refused and result["status"] == "success":
            result["status"], result["error"] = "partial", "; ".join(refused)
        if node_errors and result["status"] == "success":
            result["status"], result["error"] = "partial", dropped
    except PromptValidationError as err:
        result["status"], result["error"] = "invalid", str(err)
    except ComfyError as err:
        _interrupt_orphan(transport, submitted_id)
        result["status"], result["error"] = "failed", str(err)
    except ValueError as err:
        _interrupt_orphan(transport, submitted_id)
        result["status"], result["error"] = "failed", str(err)
        if tracker:
            tracker.finish(run_id, "failed", error=str(err))
        raise
    except BaseException as err:
        if isinstance(err, KeyboardInterrupt) and submitted_id:
            log.warning("stopped by the user: interrupting prompt %s", submitted_id)
        _interrupt_orphan(transport, submitted_id)
        if tracker:
            tracker.finish(run_id, "aborted", error=f"{type(err).__name__}: {err}")
        raise
    if tracker:
        tracker.finish(
            run_id, result["status"], outputs=result["outputs"], timings=result["timings"], error=result["error"]
        )
    return result


def _interrupt_orphan(transport: ComfyTransport, prompt_id: str | None) -> None:
    """After a failure once a prompt may be queued: interrupt it and drop it from the queue
    (one quick attempt each; a dead server cannot be helped)."""
    if not prompt_id:
        return
    try:
        transport.interrupt(prompt_id, quick=True)
        log.warning("prompt %s interrupted on %s so it does not run unattended", prompt_id, transport.base)
    except (ComfyError, ValueError, OSError) as err:
        log.warning(
            "could not interrupt prompt %s on %s (%s); stop it in ComfyUI's queue", prompt_id, transport.base, err
        )


def _size(path: str) -> str:
    try:
        return f"{Path(path).stat().st_size / 1e6:.1f} MB"
    except OSError:
        return "? MB"


def collect_outputs(transport: ComfyTransport, history: dict | None, out_dir: Path) -> list[dict]:
    """Download every ``type == "output"`` file of a history entry into ``out_dir``; list them all."""
    refs = output_refs(history)
    for ref in refs:
        if ref["type"] == "output":
            try:
                ref["path"] = str(transport.download(ref, Path(out_dir)))
            except ValueError as err:  # a path that would leave out_dir, or a local write failure
                ref["error"] = str(err)
                log.warning("output %r not downloaded: %s", ref.get("filename"), err)
    return refs


def _error_text(error: dict | None) -> str | None:
    if not error:
        return None
    node = error.get("node_id")
    where = f"node {node} ({error.get('node_type', '?')}): " if node is not None else ""
    message = error.get("exception_message") or error.get("exception_type") or "interrupted"
    return f"{where}{message}".strip()
