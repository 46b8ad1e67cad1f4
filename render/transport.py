"""HTTP side of ComfyUI's API, with bounded retries and exponential backoff.

Endpoints (ComfyUI ``server.py``): ``POST /upload/image`` (multipart ``image`` file,
``type=input``; audio files use it too), ``POST /prompt`` ``{"prompt", "client_id",
"prompt_id"}``, ``GET /history/{prompt_id}``, ``GET /queue``, ``GET /view?filename=&subfolder=&type=``,
``POST /interrupt`` ``{"prompt_id"}``, ``POST /free`` ``{"unload_models", "free_memory"}``,
``POST /queue`` ``{"delete": [prompt_id]}``.

Retry rule: connection errors, timeouts and HTTP 5xx are retried up to ``attempts`` times,
waiting ``min(backoff * 2**k, max_backoff)`` seconds before retry ``k + 1``; any 4xx is final.
A 400 from ``/prompt`` becomes :class:`PromptValidationError`.
"""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import requests

from ..safeio import atomic_output, confined_path

log = logging.getLogger(__name__)


class ComfyError(RuntimeError):
    """A request to ComfyUI failed for good (after retries, or with a non-retryable status)."""


class PromptValidationError(ComfyError):
    """ComfyUI refused the graph (HTTP 400 with ``error`` and ``node_errors``)."""

    def __init__(self, error: dict | str, node_errors: dict, graph: dict | None = None):
        self.error = error
        self.node_errors = node_errors or {}
        super().__init__(format_validation_error(error, self.node_errors, graph))


def format_validation_error(error: dict | str, node_errors: dict, graph: dict | None = None) -> str:
    """One readable block: the overall message, then ``node N (Class) input X: message: details``."""
    if isinstance(error, dict):
        head = error.get("message") or error.get("type") or "prompt refused"
    else:
        head = str(error)
    lines = [f"ComfyUI refused the workflow: {head}"]
    for node_id, info in (node_errors or {}).items():
        class_type = info.get("class_type") or (graph or {}).get(node_id, {}).get("class_type", "?")
        for reason in info.get("errors", []):
            name = (reason.get("extra_info") or {}).get("input_name")
            where = f"node {node_id} ({class_type})" + (f" input {name!r}" if name else "")
            detail = reason.get("details")
            lines.append(f"  {where}: {reason.get('message', '')}" + (f": {detail}" if detail else ""))
    if len(lines) == 1 and isinstance(error, dict) and error.get("details"):
        lines.append(f"  {error['details']}")
    return "\n".join(lines)


def check_server_url(url: str) -> str:
    """Normalise ``--server``: ``http(s)://host:port`` without a trailing slash."""
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--server {url!r} is not an http(s) URL; use e.g. http://127.0.0.1:8188")
    return url.rstrip("/")


class ComfyTransport:
    """Blocking HTTP client for one ComfyUI server (``requests`` session)."""

    def __init__(self, server: str, *, attempts: int = 5, backoff: float = 0.5, max_backoff: float = 8.0,
                 timeout: float = 30.0):
        if attempts < 1:
            raise ValueError(f"attempts must be >= 1, got {attempts}")
        self.base = check_server_url(server)
        self.attempts = attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.session = requests.Session()

    @property
    def ws_url(self) -> str:
        """WebSocket base: ``ws(s)://host:port/ws``."""
        return ("wss" if self.base.startswith("https") else "ws") + self.base[self.base.index(":"):] + "/ws"

    def request(self, method: str, path: str, *, done_before_retry=None, **kwargs) -> requests.Response | None:
        """Send with retries (see module rule); returns the 2xx/4xx response, raises ComfyError otherwise.

        ``done_before_retry`` (a callable) is asked before each retry whether an earlier attempt
        already took effect; when it answers True nothing is resent and ``None`` is returned."""
        kwargs.setdefault("timeout", self.timeout)
        last = ""
        for attempt in range(self.attempts):
            if attempt:
                delay = min(self.backoff * 2 ** (attempt - 1), self.max_backoff)
                log.info("retrying %s %s in %.1f s (%s)", method, path, delay, last)
                time.sleep(delay)
                if done_before_retry is not None and done_before_retry():
                    return None
            try:
                if "files" in kwargs:
                    for item in kwargs["files"].values():
                        if hasattr(item[1], "seek"):
                            item[1].seek(0)
                response = self.session.request(method, self.base + path, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as err:
                last = f"{type(err).__name__}: {err}"
                continue
            if response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                continue
            return response
        raise ComfyError(f"{method} {self.base}{path} failed after {self.attempts} attempts: {last}")

    def _ok(self, response: requests.Response, what: str) -> requests.Response:
        if response.status_code >= 400:
            raise ComfyError(f"{what}: HTTP {response.status_code}: {response.text[:300]}")
        return response

    def upload(self, path: str | Path, *, subfolder: str = "", overwrite: bool = True) -> str:
        """Upload a local file to ComfyUI's input folder; returns the name a loader node takes."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"input file {path} does not exist")
        with path.open("rb") as handle:
            response = self.request(
                "POST", "/upload/image",
                files={"image": (path.name, handle, "application/octet-stream")},
                data={"type": "input", "subfolder": subfolder, "overwrite": "true" if overwrite else "false"},
            )
        info = self._ok(response, f"upload {path}").json()
        name = info["name"]
        return f"{info['subfolder']}/{name}" if info.get("subfolder") else name

    def submit(self, graph: dict, client_id: str, prompt_id: str | None = None) -> tuple[str, dict]:
        """``POST /prompt``; returns ``(prompt_id, node_errors)``. ComfyUI accepts a graph in which
        only some outputs are valid and lists the others in ``node_errors``; a graph with no valid
        output is a 400 (:class:`PromptValidationError`). Safe to retry: the prompt id is chosen
        here and looked up in the queue and history before a retry, so a lost response never
        queues the job twice."""
        prompt_id = prompt_id or str(uuid.uuid4())
        body = {"prompt": graph, "client_id": client_id, "prompt_id": prompt_id}
        response = self.request("POST", "/prompt", json=body, done_before_retry=lambda: self.is_known(prompt_id))
        if response is None:
            return prompt_id, {}
        if response.status_code == 400:
            try:
                data = response.json()
            except ValueError:
                data = {"error": response.text, "node_errors": {}}
            raise PromptValidationError(data.get("error", "invalid prompt"), data.get("node_errors", {}), graph)
        data = self._ok(response, "POST /prompt").json()
        return str(data.get("prompt_id", prompt_id)), data.get("node_errors") or {}

    def is_known(self, prompt_id: str) -> bool:
        """True when ``prompt_id`` is queued, running or in the history."""
        try:
            return self.history(prompt_id) is not None or self.queue_state(prompt_id) is not None
        except ComfyError:
            return False

    def queue_state(self, prompt_id: str) -> str | None:
        """``"running"``, ``"pending"`` or ``None`` (not in the queue)."""
        queue = self._ok(self.request("GET", "/queue"), "GET /queue").json()
        for state in ("running", "pending"):
            if any(len(item) > 1 and item[1] == prompt_id for item in queue.get(f"queue_{state}", [])):
                return state
        return None

    def history(self, prompt_id: str) -> dict | None:
        """The history entry of ``prompt_id`` (``prompt``, ``outputs``, ``status``), or None if absent."""
        data = self._ok(self.request("GET", f"/history/{prompt_id}"), "GET /history").json()
        return data.get(prompt_id)

    def interrupt(self, prompt_id: str | None = None) -> None:
        """Stop the running prompt (``POST /interrupt``) and drop it from the queue if still pending."""
        self._ok(self.request("POST", "/interrupt", json={"prompt_id": prompt_id} if prompt_id else {}),
                 "POST /interrupt")
        if prompt_id:
            self._ok(self.request("POST", "/queue", json={"delete": [prompt_id]}), "POST /queue")

    def free(self) -> None:
        """Ask ComfyUI to unload models and free memory after the current job (``POST /free``)."""
        self._ok(self.request("POST", "/free", json={"unload_models": True, "free_memory": True}), "POST /free")

    def download(self, ref: dict, dest_dir: Path) -> Path:
        """Download one output ``{filename, subfolder, type}`` via ``GET /view`` into ``dest_dir``.

        The server's ``subfolder`` and ``filename`` are confined to ``dest_dir`` (no absolute path,
        no ``..``, nothing that resolves outside) before any request; the file is written atomically."""
        filename = str(ref.get("filename") or "")
        subfolder = str(ref.get("subfolder", "") or "")
        target = confined_path(dest_dir, subfolder, filename, what="server output")
        if target.name != Path(filename.replace("\\", "/")).name:
            raise ValueError(f"server output {filename!r} is not a plain file name; refusing to write it")
        params = {"filename": filename, "subfolder": subfolder, "type": ref.get("type", "output")}
        response = self._ok(self.request("GET", "/view", params=params, stream=True), f"GET /view {filename}")
        with atomic_output(target, allow_empty=True) as temporary:
            with temporary.open("wb") as handle:
                for chunk in response.iter_content(1 << 20):
                    handle.write(chunk)
        return target
