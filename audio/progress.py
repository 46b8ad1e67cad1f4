"""Progress of long audio work: stage and percentage on a terminal, ComfyUI's progress bar in nodes.

Long functions take ``progress``: a callable ``progress(stage, fraction)`` (``fraction`` in 0..1 of
that stage) or ``None``. Two implementations:

* :class:`TerminalProgress` writes ``"<command>: <stage> <pct>%"`` on one rewritten line of
  standard error, at most every ``interval`` seconds, and only when standard error is a terminal
  and ``quiet`` is off (piped output and logs stay clean); :meth:`~TerminalProgress.close` clears it.
* :func:`comfy_progress` advances ComfyUI's ``comfy.utils.ProgressBar`` (imported when called, so
  the package imports without ComfyUI); outside ComfyUI it returns ``None`` (no progress).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

ProgressFn = Callable[[str, float], None]


class TerminalProgress:
    """``progress(stage, fraction)`` that draws on a terminal (see the module docstring)."""

    def __init__(self, command: str, quiet: bool = False, stream=None, interval: float = 0.1):
        self.command = command
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = not quiet and bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval
        self._last = 0.0
        self._stage = None
        self._width = 0

    def __call__(self, stage: str, fraction: float) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if stage == self._stage and now - self._last < self.interval and fraction < 1.0:
            return
        self._stage, self._last = stage, now
        text = f"{self.command}: {stage} {100 * max(0.0, min(1.0, fraction)):3.0f}%"
        self.stream.write("\r" + text.ljust(self._width))
        self.stream.flush()
        self._width = len(text)

    def close(self) -> None:
        """Erase the progress line (call before printing results)."""
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0


def comfy_progress(steps: int = 100) -> ProgressFn | None:
    """A ``progress`` callable that moves ComfyUI's progress bar of the running node, or ``None``
    outside ComfyUI. Stages share the bar: each call sets it to ``fraction`` of ``steps``."""
    try:
        from comfy.utils import ProgressBar
    except ImportError:
        return None
    bar = ProgressBar(steps)

    def update(stage: str, fraction: float) -> None:
        bar.update_absolute(int(round(steps * max(0.0, min(1.0, fraction)))), steps)

    return update


def report(progress: ProgressFn | None, stage: str, fraction: float) -> None:
    """Call ``progress`` when there is one."""
    if progress is not None:
        progress(stage, fraction)
