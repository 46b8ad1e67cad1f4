"""The parts of ComfyUI's HTTP API the tests use: queue a prompt, wait for its history entry, and
read from it what ran, what came from the cache, how long it took and which files it wrote."""
from __future__ import annotations

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
    cached: frozenset           # node ids the executor took from its cache (execution_cached)
    outputs: dict               # history "outputs": node id -> UI output
    error: dict | None

    @property
    def executed(self) -> frozenset:
        """Node ids of the graph that were not served from the cache."""
        return frozenset(self.graph) - self.cached

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


def run(url: str, graph: dict, timeout: float = 900.0, poll: float = 0.2) -> PromptRun:
    """Queue ``graph`` (API format), wait until its history entry is complete and return it."""
    response = requests.post(url + "/prompt", json={"prompt": graph, "client_id": uuid.uuid4().hex}, timeout=60)
    if response.status_code != 200:
        raise PromptRejected(f"POST /prompt answered {response.status_code}: {response.text[:4000]}")
    body = response.json()
    if body.get("node_errors"):
        raise PromptRejected(f"POST /prompt accepted the graph but reported node errors: {body['node_errors']}")
    prompt_id = body["prompt_id"]
    deadline = time.monotonic() + timeout
    while True:
        entry = requests.get(f"{url}/history/{prompt_id}", timeout=60).json().get(prompt_id)
        status = (entry or {}).get("status") or {}
        if status.get("completed") or status.get("status_str") in ("success", "error"):
            return _parse(prompt_id, graph, entry)
        if time.monotonic() > deadline:
            requests.post(url + "/interrupt", json={"prompt_id": prompt_id}, timeout=10)
            raise TimeoutError(f"prompt {prompt_id} not finished after {timeout:.0f} s")
        time.sleep(poll)


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
