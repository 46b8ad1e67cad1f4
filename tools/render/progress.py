"""Turn ComfyUI's execution events into "iteration n of N, step k of K".

Heuristic (documented in docs/rendering.md):

1. **Loop counter.** ComfyUI's ``TensorLoopOpen`` reports ``progress`` events with ``node`` set
   to the loop node's own id (the one in the submitted graph), ``value`` = loop iterations
   finished and ``max`` = loop iterations in total. When such an event arrives, the running
   iteration is ``value + 1`` (capped at ``max``) of ``N = max``; before the first one the
   initial render runs and the iteration is 0.
2. **Sampler runs.** Every other ``progress`` event is a step counter (``value`` of ``max``
   steps) of some node, often with an expansion id inside the loop. A *run* starts when the
   node id changes or ``value`` falls back. Without a loop counter the iteration is the number
   of runs started so far divided by the runs of one pass (the runs seen before the loop first
   reported; 1 when the graph has no loop), so a two-stage sampler still counts one iteration.
3. **Step.** ``step k of K`` is the latest step counter's ``value``/``max``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

LOOP_CLASSES = ("TensorLoopOpen",)


@dataclass
class ProgressState:
    """Running state of one prompt, fed with (event type, data) pairs of that prompt."""

    graph: dict
    started: float = field(default_factory=time.monotonic)
    loop_done: int | None = None
    loop_total: int | None = None
    step: int = 0
    steps: int = 0
    node: str | None = None
    runs_started: int = 0
    runs_per_pass: int | None = None
    cached: int = 0
    finished: bool = False
    execution_started: float | None = None
    iteration_started: dict = field(default_factory=dict)
    _run_key: tuple | None = None

    def __post_init__(self):
        self.loop_nodes = {nid for nid, node in self.graph.items() if node.get("class_type") in LOOP_CLASSES}
        if not self.loop_nodes:
            self.runs_per_pass = 1

    def update(self, kind: str, data: dict) -> None:
        """Feed one event (``progress``, ``executing``, ``execution_cached`` ...)."""
        self._update(kind, data)
        now = time.monotonic()
        if kind == "execution_start" and self.execution_started is None:
            self.execution_started = now
        if kind == "progress" and self.iteration not in self.iteration_started:
            self.iteration_started[self.iteration] = now

    def iteration_seconds(self) -> dict[int, float]:
        """Seconds from each iteration's first progress event to the next one's (finished ones only)."""
        keys = sorted(self.iteration_started)
        return {k: self.iteration_started[n] - self.iteration_started[k] for k, n in zip(keys, keys[1:])}

    def _update(self, kind: str, data: dict) -> None:
        if kind == "progress":
            node = str(data.get("node"))
            value, total = int(data.get("value", 0)), int(data.get("max", 0))
            if node in self.loop_nodes:
                if self.loop_done is None and self.runs_per_pass is None:
                    self.runs_per_pass = max(self.runs_started, 1)
                self.loop_done, self.loop_total = value, total
                return
            if self._run_key is None or self._run_key[0] != node or value < self._run_key[1]:
                self.runs_started += 1
            self._run_key = (node, value)
            self.step, self.steps = value, total
        elif kind == "executing":
            self.node = data.get("display_node") or data.get("node")
            if data.get("node") is None:
                self.finished = True
        elif kind == "execution_cached":
            self.cached = len(data.get("nodes", []) or [])
        elif kind in ("execution_success",):
            self.finished = True

    @property
    def iteration(self) -> int:
        """Running iteration: 0 = initial render, 1..N = loop iterations (see module heuristic)."""
        if self.loop_done is not None:
            return min(self.loop_done + 1, self.loop_total) if self.loop_total else self.loop_done + 1
        if self.runs_started == 0:
            return 0
        per_pass = self.runs_per_pass or max(self.runs_started, 1)
        return (self.runs_started - 1) // per_pass

    @property
    def iterations(self) -> int | None:
        """Loop iterations in total (``N``), when the loop counter has reported it."""
        return self.loop_total

    def fraction(self) -> float | None:
        """Overall completion 0..1 when ``N`` is known: ``(iteration + step/K) / (N + 1)``."""
        if not self.loop_total:
            return None
        within = self.step / self.steps if self.steps else 0.0
        return min(1.0, (self.iteration + within) / (self.loop_total + 1))

    def line(self, width: int = 24) -> str:
        """One status line, e.g. ``[#####.....]  42%  iteration 3 of 10  step 5 of 8  node 12  01:23``."""
        parts = []
        frac = self.fraction()
        if frac is not None:
            filled = int(round(frac * width))
            parts.append("[" + "#" * filled + "." * (width - filled) + f"] {frac * 100:3.0f}%")
        it = self.iteration
        if self.iterations:
            parts.append(f"iteration {it} of {self.iterations}")
        else:
            parts.append("initial render" if it == 0 else f"iteration {it}")
        if self.steps:
            parts.append(f"step {self.step} of {self.steps}")
        if self.node is not None:
            class_type = self.graph.get(str(self.node), {}).get("class_type")
            parts.append(f"node {self.node}" + (f" ({class_type})" if class_type else ""))
        elapsed = int(time.monotonic() - self.started)
        parts.append(f"{elapsed // 60:02d}:{elapsed % 60:02d}")
        return "  ".join(parts)
