"""The batch scheduler on the driver: jobs spread over a pool of ComfyUI servers with Ray.

Rules:

* **One job per server.** Every server has one :class:`~.worker.RenderWorker` actor; a job goes
  to whichever server is idle (jobs in file order, servers in the order given).
* **Resume.** Before anything is submitted each job is looked up in the run tracker, as in a
  one-server batch: a ``success`` row skips it; a run left ``running`` by a killed driver is
  completed from the history of the server it was recorded on (or followed there); anything
  else is rendered.
* **Retry.** A job whose render *failed* (the server refused connections, stopped answering or
  answered 5xx after the transport's retries) goes back to the front of the queue for a server
  it has not been tried on; the server is asked ``GET /queue`` once, and one that does not
  answer is taken out of the pool for the rest of the batch. A job that failed validation
  (``invalid``), failed in execution (``error``), ran past its budget or has bad local inputs is
  final: it would fail the same way elsewhere. A job that ran out of servers is ``failed``.
* **Records.** Every attempt is a run row with the server it ran on (``server`` column); a
  retried job has a ``failed`` row on the dead server and a ``success`` row on the one that
  finished it.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from ...safeio import confined_path
from ..render.batch import _recover
from ..render.client import RenderJob
from ..render.transport import ComfyTransport, check_server_url
from .display import BatchDisplay
from .ray_setup import connect, on_this_node
from .worker import RenderWorker, TrackerProxy, TrackerService

log = logging.getLogger(__name__)

RETRYABLE = ("failed",)
OK = ("success", "skipped", "recovered")


@dataclass
class _Task:
    key: str
    job: RenderJob
    job_dir: Path
    tried: list[str] = field(default_factory=list)


def read_servers(spec: str) -> list[str]:
    """``--servers``: comma-separated URLs, or the path of a file with one URL a line (``#`` comments)."""
    path = Path(spec).expanduser()
    if "," not in spec and path.is_file():
        try:
            items = [line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
        except (OSError, UnicodeDecodeError) as err:
            raise ValueError(f"--servers {spec}: cannot read the file ({err})") from None
    else:
        items = [item.strip() for item in spec.split(",")]
    servers = []
    for item in items:
        if item:
            url = check_server_url(item)
            if url in servers:
                raise ValueError(f"--servers lists {url} twice; each server runs one job at a time")
            servers.append(url)
    if not servers:
        raise ValueError(f"--servers {spec!r} names no server; give URL,URL,... or a file with one URL a line")
    return servers


class ServerPool:
    """Ray session, tracker actor and one worker per server, kept for several batches."""

    def __init__(self, servers: list[str], *, db: str | Path | None = None, track: bool = True,
                 ray_address: str | None = None, num_cpus: int | None = None, attempts: int = 3,
                 backoff: float = 0.5, poll_s: float = 1.0, timeout_s: float = 30.0):
        self.ray = connect(ray_address, num_cpus)
        self.servers = list(servers)
        self.attempts, self.backoff, self.poll_s, self.timeout_s = attempts, backoff, poll_s, timeout_s
        self.here = on_this_node(self.ray)
        service = self.ray.remote(num_cpus=0)(TrackerService)
        self.tracker_actor = service.options(scheduling_strategy=self.here).remote(str(db) if db else None, track)
        self.tracker = TrackerProxy(self.tracker_actor)
        self._worker_class = self.ray.remote(num_cpus=0, max_concurrency=2)(RenderWorker)
        self.workers = {url: self._new_worker(url) for url in self.servers}

    def _new_worker(self, url: str):
        return self._worker_class.options(scheduling_strategy=self.here).remote(
            url, self.attempts, self.backoff, self.poll_s, self.timeout_s)

    def transport(self, url: str) -> ComfyTransport:
        return ComfyTransport(url, attempts=self.attempts, backoff=self.backoff, timeout=self.timeout_s)

    def close(self) -> None:
        for handle in list(self.workers.values()) + [self.tracker_actor]:
            self.ray.kill(handle)
        self.workers.clear()

    def tracker_failure(self) -> str | None:
        return self.ray.get(self.tracker_actor.failed.remote())

    def run(self, jobs: list[tuple[str, RenderJob]], out_dir: Path, batch_id: str | None,
            stream: TextIO | None = None) -> list[dict]:
        """Run ``jobs`` (``(key, RenderJob)`` pairs) across the pool; one summary dict per job, in order."""
        ray = self.ray
        display = BatchDisplay(len(jobs), self.servers, stream)
        summary: dict[str, dict] = {}
        pending: deque[_Task] = deque()
        for key, job in jobs:
            previous = self.tracker.job_runs(batch_id, key) if batch_id else []
            done = [row for row in previous if row["status"] == "success"]
            if done:
                summary[key] = {"job": key, "status": "skipped", "run_id": done[-1]["run_id"],
                                "server": done[-1].get("server")}
                display.event(f"{key}: done earlier on {done[-1].get('server')}, skipped", done=1)
                continue
            job_dir = confined_path(out_dir, key, what="batch job id")
            recovered = _recover(None, previous, job_dir, self.tracker, self.poll_s, transport_for=self.transport)
            if recovered:
                summary[key] = {"job": key, "status": "recovered", "run_id": recovered}
                display.event(f"{key}: finished on its server while the driver was away; outputs downloaded", done=1)
                continue
            pending.append(_Task(key, job, job_dir))
        healthy = list(self.servers)
        idle = deque(self.servers)
        inflight: dict = {}
        while pending or inflight:
            while pending and idle:
                task = self._next_task(pending, idle[0])
                server = idle.popleft()
                if task is None:  # every pending job was tried on this server already
                    idle.append(server)
                    break
                ref = self.workers[server].render.remote(task.key, task.job, str(task.job_dir), batch_id,
                                                         self.tracker_actor)
                inflight[ref] = (server, task)
                display.progress(server, task.key, "submitted")
            if not inflight:
                for task in pending:  # no server can take the remaining jobs
                    summary[task.key] = {"job": task.key, "status": "failed", "run_id": None,
                                         "error": f"no server left to run it (tried {', '.join(task.tried)})"}
                    display.event(f"{task.key}: failed, no server left", failed=1)
                pending.clear()
                break
            ready, _ = ray.wait(list(inflight), num_returns=1, timeout=0.25)
            self._show_progress(inflight, display)
            for ref in ready:
                server, task = inflight.pop(ref)
                task.tried.append(server)
                result = self._result(ref, server)
                display.progress(server, None, "")
                if result["status"] in RETRYABLE and not result.get("final"):
                    if not ray.get(self.workers[server].answers.remote()):
                        healthy.remove(server)
                        display.event(f"server {server} does not answer; taken out of the pool", down=server)
                    else:
                        idle.append(server)
                    if any(s not in task.tried for s in healthy):
                        pending.appendleft(task)
                        display.event(f"{task.key}: failed on {server} ({_first_line(result['error'])}); "
                                      "retrying on another server")
                        continue
                else:
                    idle.append(server)
                item = {"job": task.key, "status": result["status"], "run_id": result.get("run_id"),
                        "server": server, "error": result.get("error"), "tried": list(task.tried),
                        "outputs": result.get("outputs", [])}
                summary[task.key] = item
                ok = result["status"] in OK
                display.event(f"{task.key}: {result['status']} on {server}"
                              + ("" if ok else f": {_first_line(result.get('error'))}"),
                              done=int(ok), failed=int(not ok))
            display.refresh()
        display.close()
        return [summary[key] for key, _ in jobs]

    @staticmethod
    def _next_task(pending: deque, server: str) -> _Task | None:
        """The first pending job not yet tried on ``server`` (taken out of ``pending``)."""
        for index, task in enumerate(pending):
            if server not in task.tried:
                del pending[index]
                return task
        return None

    def _result(self, ref, server: str) -> dict:
        from ray.exceptions import RayError

        try:
            return self.ray.get(ref)
        except RayError as err:  # the worker process died (not the server): give the server a new one
            log.warning("the worker for %s died (%s); starting a new one", server, err)
            self.workers[server] = self._new_worker(server)
            return {"status": "failed", "error": f"worker for {server} died: {type(err).__name__}", "run_id": None,
                    "final": False}

    def _show_progress(self, inflight: dict, display: BatchDisplay) -> None:
        busy = [server for server, _ in inflight.values()]
        refs = [self.workers[s].progress.remote() for s in busy]
        ready, _ = self.ray.wait(refs, num_returns=len(refs), timeout=0.5)
        done = set(ready)
        for server, ref in zip(busy, refs):
            if ref in done:
                job, line = self.ray.get(ref)
                if job:
                    display.progress(server, job, line)


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else "no detail"


def run_pool(servers: list[str], jobs: list[tuple[str, RenderJob]], out_dir: Path, batch_id: str | None, *,
             db=None, track: bool = True, ray_address: str | None = None, num_cpus: int | None = None,
             attempts: int = 3, backoff: float = 0.5, poll_s: float = 1.0, stream: TextIO | None = None) -> list[dict]:
    """Run a batch on a fresh :class:`ServerPool` and close it (see module rules)."""
    started = time.monotonic()
    pool = ServerPool(servers, db=db, track=track, ray_address=ray_address, num_cpus=num_cpus, attempts=attempts,
                      backoff=backoff, poll_s=poll_s)
    try:
        summary = pool.run(jobs, out_dir, batch_id, stream)
        failure = pool.tracker_failure()
        if failure:
            log.warning("%s. Runs of this batch were not all recorded.", failure)
    finally:
        pool.close()
    log.info("batch of %d jobs on %d servers in %.1f s", len(jobs), len(servers), time.monotonic() - started)
    return summary
