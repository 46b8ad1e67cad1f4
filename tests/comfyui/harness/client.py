"""The parts of ComfyUI's HTTP and websocket API the tests use: queue a prompt, follow its execution,
and read what ran, what came from the cache, how long it took and which files it wrote.

Which nodes ran is taken from the websocket's ``executing`` events (sent only for a node that actually
executes, not for one served from the cache; a node of an expanded loop body reports the id of the node
it was cloned from as ``display_node``); the history's ``execution_cached`` list names the graph's nodes
found in the cache at the start, and its timestamps give the execution time."""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests


@dataclass
class PromptRun:
    """One finished prompt as the history reports it."""
    prompt_id: str
    graph: dict
    status: str                 # "success" or "error"
    seconds: float              # execution_start -> execution_success/error, executor timestamps
    cached: frozenset           # node ids the executor found in its cache at the start (execution_cached)
    outputs: dict               # history "outputs": node id -> UI output
    error: dict | None
    ran: frozenset = frozenset()  # node ids of the graph that executed (websocket "executing" events)

    @property
    def executed(self) -> frozenset:
        """Node ids of the graph that executed in this run (loop-body clones count as their original)."""
        return self.ran

    def output_files(self, output_dir: Path, kinds=("images", "videos", "gifs", "audio")) -> list[Path]:
        files = []
        for node_output in self.outputs.values():
            for kind in kinds:
                for item in node_output.get(kind, []) or []:
                    if isinstance(item, dict) and item.get("type") == "output" and item.get("filename"):
                        files.append(output_dir / item.get("subfolder", "") / item["filename"])
        return files


class PromptRejected(AssertionError):
    """POST /prompt answered with a validation error."""


def object_info(url: str) -> dict:
    response = requests.get(url + "/object_info", timeout=120)
    response.raise_for_status()
    return response.json()


def clear_cache(url: str) -> None:
    """Start the next prompt cold: ask the server to drop its node cache and unload models.

    ComfyUI applies the ``/free`` request after the prompt it is running or next runs, before it takes
    another; a trivial prompt queued right after guarantees the reset has happened when it finishes."""
    requests.post(url + "/free", json={"free_memory": True, "unload_models": True}, timeout=30).raise_for_status()
    marker = {"1": {"class_type": "PrimitiveInt", "inputs": {"value": int(time.time() * 1000) % 2**31}},
              "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}
    result = run(url, marker, timeout=120)
    if result.status != "success":
        raise RuntimeError(f"the cache-reset marker prompt failed: {result.error}")


def run(url: str, graph: dict, timeout: float = 900.0) -> PromptRun:
    """Queue ``graph`` (API format), follow it on the websocket until it ends, return its history."""
    import websocket  # websocket-client, a dependency of the package

    client_id = uuid.uuid4().hex
    socket = websocket.create_connection(url.replace("http://", "ws://") + f"/ws?clientId={client_id}", timeout=30)
    try:
        response = requests.post(url + "/prompt", json={"prompt": graph, "client_id": client_id}, timeout=60)
        if response.status_code != 200:
            raise PromptRejected(f"POST /prompt answered {response.status_code}: {response.text[:4000]}")
        body = response.json()
        if body.get("node_errors"):
            raise PromptRejected(f"POST /prompt accepted the graph but reported node errors: {body['node_errors']}")
        prompt_id = body["prompt_id"]
        ran: set[str] = set()
        deadline = time.monotonic() + timeout
        while True:
            socket.settimeout(max(1.0, deadline - time.monotonic()))
            try:
                message = socket.recv()
            except websocket.WebSocketTimeoutException:
                requests.post(url + "/interrupt", json={"prompt_id": prompt_id}, timeout=10)
                raise TimeoutError(f"prompt {prompt_id} not finished after {timeout:.0f} s") from None
            if not isinstance(message, str):
                continue  # binary preview images
            event = json.loads(message)
            data = event.get("data") or {}
            if data.get("prompt_id") != prompt_id:
                continue
            if event.get("type") == "executing" and data.get("node") is not None:
                ran.add(str(data.get("display_node") or data["node"]))
            if event.get("type") in ("execution_success", "execution_error", "execution_interrupted"):
                break
    finally:
        socket.close()
    for _ in range(100):  # the history entry is written right after the last event
        entry = requests.get(f"{url}/history/{prompt_id}", timeout=60).json().get(prompt_id)
        if entry and (entry.get("status") or {}).get("status_str") in ("success", "error"):
            result = _parse(prompt_id, graph, entry)
            result.ran = frozenset(ran & set(graph))
            return result
        time.sleep(0.1)
    raise TimeoutError(f"prompt {prompt_id} ended but its history entry did not appear")


def _parse(prompt_id: str, graph: dict, entry: dict) -> PromptRun:
    status = entry["status"]
    messages = status.get("messages", [])
    start = end = None
    cached: set = set()
    error = None
    for event, data in messages:
        if event == "execution_start":
            start = data.get("timestamp")
        elif event == "execution_cached":
            cached.update(str(n) for n in data.get("nodes", []))
        elif event in ("execution_success", "execution_error", "execution_interrupted"):
            end = data.get("timestamp")
            if event != "execution_success":
                error = {k: data.get(k) for k in ("node_id", "node_type", "exception_type", "exception_message")}
                error["event"] = event
                error["traceback"] = "".join(data.get("traceback") or [])[-3000:]
    seconds = (end - start) / 1000.0 if start is not None and end is not None else float("nan")
    return PromptRun(prompt_id, graph, status.get("status_str", "?"), seconds, frozenset(cached),
                     entry.get("outputs", {}), error)
