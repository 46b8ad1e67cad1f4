"""The Ray actors of a batch: one :class:`RenderWorker` per ComfyUI server and one
:class:`TrackerService` that owns the run tracker.

A worker is a plain HTTP client of its server (the render client of ``render/``), so it runs on
the driver's node: outputs are downloaded with ``GET /view`` straight into ``--out`` there, and
the server can be anywhere the driver can reach. It is a threaded actor (two threads): one runs
the render, the other answers :meth:`RenderWorker.progress` for the batch display.

The tracker file is opened by one process only (DuckDB allows one writer): the
:class:`TrackerService` actor on the driver's node. Workers and the driver reach it through
:class:`TrackerProxy`, which has the tracker's methods, so the render client records the prompt id
before it submits, exactly as in a one-server batch.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..render.client import RenderJob, render
from ..render.transport import ComfyError, ComfyTransport, check_server_url

log = logging.getLogger(__name__)


class LatestLine:
    """A text stream that keeps only the newest progress line. It says it is a terminal, so
    :class:`~ltx_audioloop.tools.render.client.ProgressPrinter` redraws it on every step."""

    def __init__(self):
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> None:
        line = text.strip()
        if line:
            self.text = line

    def flush(self) -> None:
        pass


class TrackerService:
    """The run tracker (a :class:`~ltx_audioloop.tools.runs.tracker.GuardedTracker`) in one actor."""

    def __init__(self, db: str | None, enabled: bool = True):
        from ..runs.tracker import GuardedTracker

        self.tracker = GuardedTracker(db, enabled=enabled)

    def call(self, method: str, args: tuple, kwargs: dict):
        if method not in TrackerProxy.METHODS:
            raise ValueError(f"tracker method {method!r} is not offered")
        return getattr(self.tracker, method)(*args, **kwargs)

    def failed(self) -> str | None:
        """The tracker's failure message once it switched itself off, else None."""
        return self.tracker.failed


class TrackerProxy:
    """The tracker methods the render client and the batch use, forwarded to a TrackerService."""

    METHODS = ("start", "update", "finish", "job_runs")

    def __init__(self, handle):
        self.handle = handle

    def _call(self, method: str, *args, **kwargs):
        import ray

        return ray.get(self.handle.call.remote(method, args, kwargs))

    def start(self, kind: str, settings: dict, **fields) -> str:
        return self._call("start", kind, settings, **fields)

    def update(self, run_id: str, **fields) -> None:
        self._call("update", run_id, **fields)

    def finish(self, run_id: str, status: str, **fields) -> None:
        self._call("finish", run_id, status, **fields)

    def job_runs(self, batch_id: str, job_key: str) -> list[dict]:
        return self._call("job_runs", batch_id, job_key)


class RenderWorker:
    """Renders one job at a time on one ComfyUI server (``server``: its URL)."""

    def __init__(self, server: str, attempts: int = 3, backoff: float = 0.5, poll_s: float = 1.0,
                 timeout_s: float = 30.0):
        self.server = check_server_url(server)
        self.attempts, self.backoff, self.poll_s, self.timeout_s = attempts, backoff, poll_s, timeout_s
        self.job: str | None = None
        self.stream = LatestLine()

    def render(self, key: str, job: RenderJob, job_dir: str, batch_id: str | None, tracker_handle=None) -> dict:
        """Run ``job`` and return the render client's result plus ``server`` and ``final``
        (True when retrying elsewhere cannot help: bad local input)."""
        transport = ComfyTransport(self.server, attempts=self.attempts, backoff=self.backoff, timeout=self.timeout_s)
        tracker = TrackerProxy(tracker_handle) if tracker_handle is not None else None
        self.job, self.stream = key, LatestLine()
        try:
            result = render(transport, job, Path(job_dir), tracker=tracker, batch_id=batch_id, job_key=key,
                            progress_stream=self.stream, poll_s=self.poll_s)
            result["final"] = False
        except ValueError as err:  # bad local input: recorded by render(); the same on every server
            result = {"status": "failed", "error": str(err), "run_id": None, "outputs": [], "final": True}
        finally:
            self.job = None
        result["server"] = self.server
        return result

    def progress(self) -> tuple[str | None, str]:
        """``(job key or None, newest progress line)``."""
        return self.job, self.stream.text

    def answers(self) -> bool:
        """True when the server answers ``GET /queue`` at once (one attempt, 5 s)."""
        try:
            ComfyTransport(self.server, attempts=1, timeout=5.0, connect_timeout=3.0).request("GET", "/queue")
            return True
        except (ComfyError, ValueError):
            return False
