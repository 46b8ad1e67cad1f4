"""Follow one prompt to its end: WebSocket events first, ``GET /history`` polling as fallback.

Socket messages (``/ws?clientId=...``) are JSON ``{"type", "data"}``; binary frames are
preview images and are ignored. The prompt ends with ``execution_success``,
``execution_error``, ``execution_interrupted`` or ``executing`` with ``node: null``. When the
socket drops (or stays silent for ``silence_s``), the history entry decides. A budget
deadline interrupts the prompt (``POST /interrupt``, then ``POST /free``) and waits up to
``grace_s`` for ComfyUI to confirm.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Callable

import websocket

from .progress import ProgressState
from .transport import ComfyError, ComfyTransport

log = logging.getLogger(__name__)

TERMINAL = {"execution_success": "success", "execution_error": "error", "execution_interrupted": "interrupted"}


@dataclass
class Outcome:
    """How a prompt ended: ``status`` is success, error, interrupted or budget."""

    status: str
    history: dict | None = None
    error: dict | None = None
    events: int = 0
    socket_dropped: bool = False
    timings: dict = field(default_factory=dict)


def connect_socket(transport: ComfyTransport, client_id: str, timeout: float = 10.0):
    """Open ``/ws?clientId=`` (before submitting, so no event is missed); None when it fails."""
    try:
        ws = websocket.create_connection(f"{transport.ws_url}?clientId={client_id}", timeout=timeout)
    except (OSError, websocket.WebSocketException) as err:
        log.warning("WebSocket %s unavailable (%s): following the prompt by polling /history", transport.ws_url, err)
        return None
    return ws


def history_status(entry: dict) -> tuple[str, dict | None]:
    """(status, error data) from a history entry's ``status`` block and its messages."""
    status = entry.get("status") or {}
    error = None
    for message in status.get("messages", []) or []:
        if isinstance(message, (list, tuple)) and len(message) == 2 and message[0] in TERMINAL:
            if message[0] != "execution_success":
                error = message[1]
                return TERMINAL[message[0]], error
    if status.get("status_str") == "error":
        return "error", error
    return "success", None


def follow(transport: ComfyTransport, prompt_id: str, progress: ProgressState, ws=None, *,
           deadline: float | None = None, on_update: Callable[[ProgressState], None] | None = None,
           poll_s: float = 1.0, silence_s: float = 30.0, grace_s: float = 60.0) -> Outcome:
    """Block until ``prompt_id`` ends (or the monotonic ``deadline`` passes); see module doc."""
    outcome = Outcome(status="running")
    start = time.monotonic()
    last_event = start
    last_poll = 0.0
    if ws is not None:
        ws.settimeout(min(poll_s, 1.0))
    while True:
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            return _stop_for_budget(transport, prompt_id, outcome, ws, grace_s, poll_s)
        if ws is not None:
            try:
                opcode, payload = ws.recv_data()
            except websocket.WebSocketTimeoutException:
                opcode = None
            except (OSError, websocket.WebSocketException) as err:
                log.warning("WebSocket dropped (%s): polling /history/%s", err, prompt_id)
                outcome.socket_dropped = True
                _close(ws)
                ws = None
                continue
            if opcode == websocket.ABNF.OPCODE_TEXT:
                last_event = time.monotonic()
                try:
                    message = json.loads(payload)
                except ValueError:
                    continue
                kind, data = message.get("type"), message.get("data") or {}
                if data.get("prompt_id") not in (None, prompt_id):
                    continue
                if "prompt_id" not in data and kind != "progress":
                    continue
                outcome.events += 1
                progress.update(kind, data)
                if on_update:
                    on_update(progress)
                if kind in TERMINAL:
                    outcome.status, outcome.error = TERMINAL[kind], (None if kind == "execution_success" else data)
                elif kind == "executing" and data.get("node") is None:
                    outcome.status = "success" if outcome.status == "running" else outcome.status
                if outcome.status != "running":
                    _close(ws)
                    outcome.history = _fetch_history(transport, prompt_id, poll_s)
                    if outcome.history is not None and outcome.status == "success":
                        outcome.status, outcome.error = history_status(outcome.history)
                    return outcome
            if time.monotonic() - last_event < silence_s:
                continue
        if time.monotonic() - last_poll >= poll_s or ws is not None:
            last_poll = time.monotonic()
            last_event = last_poll
            entry = transport.history(prompt_id)
            if entry is not None:
                _close(ws)
                outcome.history = entry
                outcome.status, outcome.error = history_status(entry)
                progress.finished = True
                if on_update:
                    on_update(progress)
                return outcome
        if ws is None:
            time.sleep(min(poll_s, 0.25))


def _fetch_history(transport: ComfyTransport, prompt_id: str, poll_s: float, tries: int = 20) -> dict | None:
    for _ in range(tries):
        entry = transport.history(prompt_id)
        if entry is not None:
            return entry
        time.sleep(poll_s / 2)
    return None


def _stop_for_budget(transport, prompt_id, outcome, ws, grace_s, poll_s) -> Outcome:
    log.warning("budget spent: interrupting prompt %s and freeing memory", prompt_id)
    _close(ws)
    try:
        transport.interrupt(prompt_id)
    finally:
        transport.free()
    outcome.status = "budget"
    end = time.monotonic() + grace_s
    while time.monotonic() < end:
        try:
            entry = transport.history(prompt_id)
            if entry is not None:
                outcome.history = entry
                break
            if transport.queue_state(prompt_id) is None:
                break
        except ComfyError as err:
            log.warning("after interrupt: %s", err)
            break
        time.sleep(poll_s / 2)
    return outcome


def _close(ws) -> None:
    if ws is not None:
        try:
            ws.close()
        except (OSError, websocket.WebSocketException):
            pass
