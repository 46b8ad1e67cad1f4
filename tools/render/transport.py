"""HTTP side of ComfyUI's API, with bounded retries and exponential backoff.

Endpoints (ComfyUI ``server.py``): ``POST /upload/image`` (multipart ``image`` file,
``type=input``; audio files use it too), ``POST /prompt`` ``{"prompt", "client_id",
"prompt_id"}``, ``GET /history/{prompt_id}``, ``GET /queue``, ``GET /view?filename=&subfolder=&type=``,
``POST /interrupt`` ``{"prompt_id"}``, ``POST /free`` ``{"unload_models", "free_memory"}``,
``POST /queue`` ``{"delete": [prompt_id]}``.

Retry rule: connection errors, timeouts and HTTP 5xx are retried up to ``attempts`` times,
waiting ``min(backoff * 2**k, max_backoff)`` seconds before retry ``k + 1``; any 4xx is final.
A server that accepts the connection but does not answer (read timeout) is given one more try,
then the request fails (a hung server is not waited on ``attempts`` times); an upload is never
re-sent after a read timeout (the file went out once already). Each retry is logged as a
warning, so a waiting client always says what it waits on. A body that is not the JSON the
endpoint returns is a :class:`ComfyError` (exit status 3), like any other server fault.
A 400 from ``/prompt`` becomes :class:`PromptValidationError`.
"""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import requests

from ...safeio import atomic_output, confined_path

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 20


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
                 timeout: float = 30.0, connect_timeout: float = 5.0):
        if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= MAX_ATTEMPTS:
            raise ValueError(f"--retries must be a whole number of attempts in 1..{MAX_ATTEMPTS}, got {attempts!r}")
        self.connect_timeout = connect_timeout
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

    def request(self, method: str, path: str, *, done_before_retry=None, attempts: int | None = None,
                resend_after_timeout: bool = True, **kwargs) -> requests.Response | None:
        """Send with retries (see module rule); returns the 2xx/4xx response, raises ComfyError otherwise.

        ``done_before_retry`` (a callable) is asked before each retry whether an earlier attempt
        already took effect; when it answers True nothing is resent and ``None`` is returned.
        ``attempts`` overrides the transport's count; ``resend_after_timeout=False`` makes a read
        timeout final (for uploads)."""
        kwargs.setdefault("timeout", (self.connect_timeout, self.timeout))
        attempts = attempts or self.attempts
        last = ""
        silent = 0
        for attempt in range(attempts):
            if attempt:
                delay = min(self.backoff * 2 ** (attempt - 1), self.max_backoff)
                log.warning("%s %s: %s; retry %d of %d in %.1f s", method, path, last, attempt, attempts - 1, delay)
                time.sleep(delay)
                if done_before_retry is not None and done_before_retry():
                    return None
            try:
                if "files" in kwargs:
                    for item in kwargs["files"].values():
                        if hasattr(item[1], "seek"):
                            item[1].seek(0)
                response = self.session.request(method, self.base + path, **kwargs)
            except requests.ReadTimeout:
                silent += 1
                last = (
                    "no answer within "
                    f"{kwargs['timeout'][1] if isinstance(kwargs['timeout'], tuple) else kwargs['timeout']:g} s"
                )
                if silent >= 2 or not resend_after_timeout:
                    raise ComfyError(
                        f"{method} {self.base}{path}: the server accepted the connection but gave "
                        f"{last} ({silent} time(s)); is ComfyUI hung or busy? Not retried further"
                    ) from None
                continue
            except (requests.ConnectionError, requests.Timeout) as err:
                last = f"{type(err).__name__}: {err}"
                continue
            except requests.RequestException as err:
                raise ComfyError(f"{method} {self.base}{path}: {type(err).__name__}: {err}") from None
            if response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                continue
            return response
        raise ComfyError(f"{method} {self.base}{path} failed after {attempts} attempts: {last}")

    @staticmethod
    def _json(response: requests.Response, what: str, kind: type = dict):
        """The response body as JSON of type ``kind``; ComfyError (not a traceback) for anything else."""
        try:
            data = response.json()
        except ValueError:
            raise ComfyError(
                f"{what}: the server's answer is not JSON ({response.text[:120]!r}); is this a ComfyUI server?"
            ) from None
        if not isinstance(data, kind):
            raise ComfyError(f"{what}: unexpected answer {str(data)[:120]!r}; is this a ComfyUI server?")
        return data

    def _ok(self, response: requests.Response, what: str) -> requests.Response:
        if response.status_code >= 400:
            raise ComfyError(f"{what}: HTTP {response.status_code}: {response.text[:300]}")
        return response

    ALIVE_TIMEOUT = 5.0
    """Seconds a server gets to answer the first request of a render: ComfyUI answers
    ``/system_stats`` at once, even while it renders, so a silent server is hung."""

    def check_alive(self) -> None:
        """One quick ``GET /system_stats`` (any HTTP answer counts); a server that accepts the
        connection and stays silent fails here in seconds, before any file is uploaded.
        Connection errors are retried as usual (a server that is still starting)."""
        self.request(
            "GET",
            "/system_stats",
            resend_after_timeout=False,
            timeout=(self.connect_timeout, min(self.timeout, self.ALIVE_TIMEOUT)),
        )

    def upload(self, path: str | Path, *, subfolder: str = "", overwrite: bool = True) -> str:
        """Upload a local file to ComfyUI's input folder; returns the name a loader node takes."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"input file {path} does not exist")
        with path.open("rb") as handle:
            response = self.request(
                "POST",
                "/upload/image",
                resend_after_timeout=False,
                files={"image": (path.name, handle, "application/octet-stream")},
                data={"type": "input", "subfolder": subfolder, "overwrite": "true" if overwrite else "false"},
            )
        info = self._json(self._ok(response, f"upload {path}"), f"upload {path}")
        name = info.get("name")
        if not isinstance(name, str) or not name:
            raise ComfyError(f"upload {path}: the server's answer has no file name ({str(info)[:120]!r})")
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
        data = self._json(self._ok(response, "POST /prompt"), "POST /prompt")
        node_errors = data.get("node_errors") or {}
        return str(data.get("prompt_id", prompt_id)), node_errors if isinstance(node_errors, dict) else {}

    def is_known(self, prompt_id: str) -> bool:
        """True when ``prompt_id`` is queued, running or in the history."""
        try:
            return self.history(prompt_id) is not None or self.queue_state(prompt_id) is not None
        except ComfyError:
            return False

    def queue_state(self, prompt_id: str) -> str | None:
        """``"running"``, ``"pending"`` or ``None`` (not in the queue)."""
        queue = self._json(self._ok(self.request("GET", "/queue"), "GET /queue"), "GET /queue")
        for state in ("running", "pending"):
            items = queue.get(f"queue_{state}", [])
            if any(
                isinstance(item, list) and len(item) > 1 and item[1] == prompt_id
                for item in (items if isinstance(items, list) else [])
            ):
                return state
        return None

    def history(self, prompt_id: str) -> dict | None:
        """The history entry of ``prompt_id`` (``prompt``, ``outputs``, ``status``), or None if absent."""
        data = self._json(self._ok(self.request("GET", f"/history/{prompt_id}"), "GET /history"), "GET /history")
        entry = data.get(prompt_id)
        if entry is not None and not isinstance(entry, dict):
            raise ComfyError(f"GET /history: unexpected entry for {prompt_id}: {str(entry)[:120]!r}")
        return entry

    def interrupt(self, prompt_id: str | None = None, *, quick: bool = False) -> None:
        """Stop the running prompt (``POST /interrupt``) and drop it from the queue if still pending.

        ``quick``: one attempt each with a 5 s timeout (cleaning up after a failure)."""
        extra = {"attempts": 1, "timeout": (min(self.connect_timeout, 5.0), min(self.timeout, 5.0))} if quick else {}
        self._ok(
            self.request("POST", "/interrupt", json={"prompt_id": prompt_id} if prompt_id else {}, **extra),
            "POST /interrupt",
        )
        if prompt_id:
            self._ok(self.request("POST", "/queue", json={"delete": [prompt_id]}, **extra), "POST /queue")

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
