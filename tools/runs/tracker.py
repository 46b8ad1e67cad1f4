"""DuckDB run tracker.

One table ``runs``; JSON columns are stored as text (``settings``, ``workflow``, ``timings``,
``outputs``, ``metrics``) so no DuckDB extension is needed. Every operation opens the file,
writes and closes it, so a render lasting half an hour never holds DuckDB's file lock and
``ltx-audioloop runs`` works from another shell meanwhile (a lock conflict is retried for up
to ``lock_wait_s`` seconds).

Database path: ``--db``, else ``$LTX_AUDIOLOOP_RUNS_DB``, else
``$XDG_DATA_HOME/ltx-audioloop/runs.duckdb`` (``~/.local/share/ltx-audioloop/runs.duckdb``).
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

ENV_DB = "LTX_AUDIOLOOP_RUNS_DB"
DUCKDB_MAGIC = b"DUCK"  # bytes 8..12 of every DuckDB database file
DUCKDB_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


class TrackerError(ValueError):
    """The run tracker file cannot be used (foreign, corrupt, locked, unwritable)."""


def check_tracker_file(path: Path) -> None:
    """Refuse an existing ``path`` that is not a DuckDB database, without modifying it."""
    if not path.exists():
        return
    if not path.is_file():
        raise TrackerError(f"run tracker {path} is not a file; pass another --db, or --no-track")
    try:
        with path.open("rb") as stream:
            head = stream.read(16)
    except OSError as err:
        raise TrackerError(
            f"run tracker {path}: cannot read it ({err.strerror}); pass another --db, or --no-track"
        ) from None
    if head[8:12] != DUCKDB_MAGIC:
        what = (
            "empty"
            if not head
            else ("an SQLite database" if head.startswith(b"SQLite format 3") else "not a DuckDB database")
        )
        raise TrackerError(
            f"run tracker {path} is {what}; it was left untouched. Pass another --db "
            "(or remove that file), or --no-track"
        )


SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    duration_s DOUBLE,
    batch_id VARCHAR,
    job_key VARCHAR,
    server VARCHAR,
    prompt_id VARCHAR,
    workflow_name VARCHAR,
    workflow VARCHAR,
    seed UBIGINT,
    settings VARCHAR,
    timings VARCHAR,
    outputs VARCHAR,
    metrics VARCHAR,
    parent_run_id VARCHAR,
    error VARCHAR
)
"""

JSON_COLUMNS = ("workflow", "settings", "timings", "outputs", "metrics")
COLUMNS = (
    "run_id",
    "kind",
    "status",
    "created_at",
    "finished_at",
    "duration_s",
    "batch_id",
    "job_key",
    "server",
    "prompt_id",
    "workflow_name",
    "workflow",
    "seed",
    "settings",
    "timings",
    "outputs",
    "metrics",
    "parent_run_id",
    "error",
)


def default_db_path() -> Path:
    """``$LTX_AUDIOLOOP_RUNS_DB``, else ``$XDG_DATA_HOME`` (``~/.local/share``) ``/ltx-audioloop/runs.duckdb``."""
    if os.environ.get(ENV_DB):
        return Path(os.environ[ENV_DB]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ltx-audioloop" / "runs.duckdb"


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class RunTracker:
    """Read and write run rows in the DuckDB file at ``path`` (created on first use)."""

    def __init__(self, path: str | Path | None = None, lock_wait_s: float = 3.0):
        self.path = Path(path).expanduser() if path else default_db_path()
        self.lock_wait_s = lock_wait_s
        check_tracker_file(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise TrackerError(
                f"run tracker {self.path}: cannot create its folder ({err.strerror}); pass another --db, or --no-track"
            ) from None
        with self._connect() as con:
            con.execute(SCHEMA)

    @contextmanager
    def _connect(self):
        end = time.monotonic() + self.lock_wait_s
        while True:
            check_tracker_file(self.path)
            try:
                con = duckdb.connect(str(self.path), config=DUCKDB_CONFIG)
                break
            except duckdb.IOException as err:
                if "lock" not in str(err).lower():
                    raise TrackerError(f"run tracker {self.path}: {err}; pass another --db, or --no-track") from None
                if time.monotonic() > end:
                    raise TrackerError(
                        f"run tracker {self.path} is locked by another process "
                        f"(waited {self.lock_wait_s:g} s); pass another --db, or --no-track"
                    ) from None
                time.sleep(0.2)
            except duckdb.Error as err:
                raise TrackerError(
                    f"run tracker {self.path} cannot be opened ({type(err).__name__}: "
                    f"{str(err).splitlines()[0] if str(err) else ''}); pass another --db, "
                    "or --no-track"
                ) from None
        try:
            yield con
        finally:
            con.close()

    def start(
        self,
        kind: str,
        settings: dict,
        *,
        workflow: dict | None = None,
        workflow_name: str | None = None,
        seed: int | None = None,
        server: str | None = None,
        batch_id: str | None = None,
        job_key: str | None = None,
        parent_run_id: str | None = None,
    ) -> str:
        """Insert a ``running`` row; returns its run id (32 hex digits)."""
        run_id = uuid.uuid4().hex
        row = {
            "run_id": run_id,
            "kind": kind,
            "status": "running",
            "created_at": _now(),
            "batch_id": batch_id,
            "job_key": job_key,
            "server": server,
            "workflow_name": workflow_name,
            "workflow": json.dumps(workflow) if workflow is not None else None,
            "seed": seed,
            "settings": json.dumps(settings, default=str),
            "parent_run_id": parent_run_id,
        }
        names = ", ".join(row)
        with self._connect() as con:
            con.execute(f"INSERT INTO runs ({names}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
        return run_id

    def update(self, run_id: str, **fields) -> None:
        """Set columns of one row; JSON columns take Python objects."""
        if not fields:
            return
        unknown = set(fields) - set(COLUMNS)
        if unknown:
            raise ValueError(f"unknown run columns {sorted(unknown)}")
        values = [json.dumps(v, default=str) if k in JSON_COLUMNS and v is not None else v for k, v in fields.items()]
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._connect() as con:
            con.execute(f"UPDATE runs SET {assignments} WHERE run_id = ?", values + [run_id])

    def finish(self, run_id: str, status: str, **fields) -> None:
        """Mark a run ended with ``status``; ``duration_s`` is measured from its ``created_at``."""
        row = self.get(run_id)
        finished = _now()
        self.update(
            run_id,
            status=status,
            finished_at=finished,
            duration_s=(finished - row["created_at"]).total_seconds(),
            **fields,
        )

    def _rows(self, sql: str, params: list) -> list[dict]:
        with self._connect() as con:
            cursor = con.execute(sql, params)
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, values)) for values in cursor.fetchall()]
        for row in rows:
            for name in JSON_COLUMNS:
                if row.get(name) is not None:
                    row[name] = json.loads(row[name])
        return rows

    def get(self, run_id: str) -> dict:
        """The row whose id is ``run_id`` or starts with it (a unique prefix); ValueError otherwise."""
        rows = self._rows("SELECT * FROM runs WHERE starts_with(run_id, ?) ORDER BY created_at", [run_id])
        if not rows:
            raise ValueError(f"no run with id {run_id!r} in {self.path}; list them with 'ltx-audioloop runs'")
        if len(rows) > 1:
            raise ValueError(f"run id prefix {run_id!r} matches {len(rows)} runs; give more characters")
        return rows[0]

    def list(self, limit: int = 20, kind: str | None = None, batch_id: str | None = None) -> list[dict]:
        """Newest runs first."""
        where, params = [], []
        if kind:
            where.append("kind = ?")
            params.append(kind)
        if batch_id:
            where.append("batch_id = ?")
            params.append(batch_id)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        return self._rows(f"SELECT * FROM runs {clause} ORDER BY created_at DESC LIMIT ?", params + [int(limit)])

    def job_runs(self, batch_id: str, job_key: str) -> list[dict]:
        """All runs of one batch job, oldest first."""
        return self._rows(
            "SELECT * FROM runs WHERE batch_id = ? AND job_key = ? ORDER BY created_at", [batch_id, job_key]
        )

    def render_for_output(self, path: str | Path) -> str | None:
        """Id of the newest render whose downloaded outputs include ``path`` (compared resolved)."""
        target = str(Path(path).resolve())
        for row in self._rows(
            "SELECT run_id, outputs FROM runs WHERE kind = 'render' AND outputs IS NOT NULL ORDER BY created_at DESC",
            [],
        ):
            for item in row["outputs"] or []:
                if item.get("path") and str(Path(item["path"]).resolve()) == target:
                    return row["run_id"]
        return None

    def latest_metrics(self, run_id: str) -> dict | None:
        """The newest successful metrics row measuring the outputs of render ``run_id``, if any."""
        rows = self._rows(
            "SELECT * FROM runs WHERE kind = 'metrics' AND status = 'success' AND parent_run_id = ? "
            "ORDER BY created_at DESC LIMIT 1",
            [run_id],
        )
        return rows[0] if rows else None


class GuardedTracker:
    """A :class:`RunTracker` whose faults never cost a command its result.

    Any tracker failure (foreign/corrupt/locked/unwritable file, DuckDB error) is logged once as
    a warning naming the file and ``--no-track``; from then on the tracker is off for this
    command: ``start`` returns a fresh id, writes are skipped, look-ups return nothing.
    ``enabled=False`` (``--no-track``) gives the same behaviour without the warning."""

    def __init__(self, path: str | Path | None = None, *, enabled: bool = True, lock_wait_s: float = 3.0):
        self.path = Path(path).expanduser() if path else default_db_path()
        self.inner: RunTracker | None = None
        self.failed: str | None = None
        if enabled:
            self._guard(lambda: setattr(self, "inner", RunTracker(self.path, lock_wait_s=lock_wait_s)))

    @property
    def active(self) -> bool:
        return self.inner is not None

    def _guard(self, action, default=None):
        try:
            return action()
        except (TrackerError, duckdb.Error, OSError, ValueError, TypeError) as err:
            message = str(err) if isinstance(err, TrackerError) else f"run tracker {self.path}: {err}"
            if "--no-track" not in message:
                message += "; pass another --db, or --no-track"
            if self.failed is None:
                log.warning("%s. The run is not recorded; its outputs are unaffected.", message)
            self.failed = message
            self.inner = None
            return default

    def start(self, kind: str, settings: dict, **fields) -> str:
        if self.inner is None:
            return uuid.uuid4().hex
        return self._guard(lambda: self.inner.start(kind, settings, **fields)) or uuid.uuid4().hex

    def update(self, run_id: str, **fields) -> None:
        if self.inner is not None:
            self._guard(lambda: self.inner.update(run_id, **fields))

    def finish(self, run_id: str, status: str, **fields) -> None:
        if self.inner is not None:
            self._guard(lambda: self.inner.finish(run_id, status, **fields))

    def job_runs(self, batch_id: str, job_key: str) -> list[dict]:
        return (self._guard(lambda: self.inner.job_runs(batch_id, job_key), []) or []) if self.inner else []

    def render_for_output(self, path: str | Path) -> str | None:
        return self._guard(lambda: self.inner.render_for_output(path)) if self.inner else None
