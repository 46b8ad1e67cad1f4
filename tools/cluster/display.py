"""One progress display for a whole batch on several servers.

On a terminal the display is a block redrawn in place (at most every ``min_interval`` s): a
header ``jobs 3 of 10 done, 1 failed, 4 running, servers 4 of 4 up`` and one line per server
with its job and the render client's progress line (iteration and step). Elsewhere (a log
file, CI) a line is written for each event (job started, done, failed, retried, server lost)
and a server's progress line only when its iteration changes.
"""

from __future__ import annotations

import re
import sys
import time
from typing import TextIO

_ITERATION = re.compile(r"(initial render|iteration \d+(?: of \d+)?)")


class BatchDisplay:
    def __init__(self, total: int, servers: list[str], stream: TextIO | None = None, min_interval: float = 0.25):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.total, self.servers = total, list(servers)
        self.done = self.failed = 0
        self.down: set[str] = set()
        self.lines: dict[str, str] = {}
        self.min_interval = min_interval
        self._drawn = 0
        self._last = 0.0
        self._iteration: dict[str, str] = {}

    def event(self, text: str, *, done: int = 0, failed: int = 0, down: str | None = None) -> None:
        """A job finished/failed/was retried, or a server went down."""
        self.done += done
        self.failed += failed
        if down:
            self.down.add(down)
            self.lines.pop(down, None)
        if self.tty:
            self._clear()
            self.stream.write(text + "\n")
            self._draw(force=True)
        else:
            self.stream.write(f"[{self.done}/{self.total}] {text}\n")
        self.stream.flush()

    def progress(self, server: str, job: str | None, line: str) -> None:
        """The newest progress of the job running on ``server`` (``job`` None: idle)."""
        text = f"{job}: {line}" if job else "idle"
        self.lines[server] = text
        if not self.tty and job:
            found = _ITERATION.search(line)
            key = f"{job}:{found.group(1) if found else ''}"
            if found and self._iteration.get(server) != key:
                self._iteration[server] = key
                self.stream.write(f"  {server}  {job}: {found.group(1)}\n")
                self.stream.flush()

    def header(self) -> str:
        running = sum(1 for s in self.servers if self.lines.get(s, "idle") != "idle" and s not in self.down)
        up = len(self.servers) - len(self.down)
        return (f"jobs {self.done} of {self.total} done, {self.failed} failed, {running} running, "
                f"servers {up} of {len(self.servers)} up")

    def refresh(self) -> None:
        if self.tty:
            self._draw()

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.min_interval:
            return
        self._last = now
        self._clear()
        rows = [self.header()] + [f"  {s}  " + ("DOWN" if s in self.down else self.lines.get(s, "idle"))
                                  for s in self.servers]
        self.stream.write("\n".join(r[:160] for r in rows) + "\n")
        self._drawn = len(rows)
        self.stream.flush()

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0

    def close(self) -> None:
        if self.tty:
            self._draw(force=True)
        else:
            self.stream.write(self.header() + "\n")
        self.stream.flush()
