"""Drive ComfyUI's real frontend in headless Chromium over the Chrome DevTools Protocol.

``Frontend(url)`` starts Chromium with a throw-away profile, opens the server's page, waits until the
app has registered its node types, and ``to_api(canvas)`` then does in the page what the UI does when
a user queues a loaded canvas: ``app.loadGraphData(canvas)`` followed by ``app.graphToPrompt()``,
returning its ``output`` (the API graph). Chromium may reach only 127.0.0.1 and localhost.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from .server import free_port

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

_APP_READY = """(() => { try {
  return Boolean(window.app && app.graph && app.loadGraphData && app.graphToPrompt && window.LiteGraph
                 && Object.keys(LiteGraph.registered_node_types || {}).length > 50);
} catch (e) { return false; } })()"""

_TO_API = """(async () => {
  await app.loadGraphData(%s, true, true, null, {showMissingNodesDialog: false});
  const prompt = await app.graphToPrompt();
  return JSON.stringify(prompt.output);
})()"""


def find_browser() -> str | None:
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit
    return next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)


class Frontend:
    """One Chromium tab on the ComfyUI page; use as a context manager."""

    def __init__(self, url: str, browser: str, timeout: float = 120.0):
        self.url, self.browser, self.timeout = url, browser, timeout
        self.loop = asyncio.new_event_loop()
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self.page_load_seconds = float("nan")

    def __enter__(self) -> "Frontend":
        self.profile = tempfile.mkdtemp(prefix="ltx_comfytests_chromium_")
        self.debug_port = free_port()
        self.process = subprocess.Popen(
            [self.browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-background-networking", "--disable-component-update", "--mute-audio",
             "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost",
             "--remote-debugging-address=127.0.0.1", f"--remote-debugging-port={self.debug_port}",
             f"--user-data-dir={self.profile}", "--window-size=1600,1000", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            self.loop.run_until_complete(self._open())
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            if getattr(self, "session", None) is not None:
                self.loop.run_until_complete(self._close())
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait(5)
            shutil.rmtree(self.profile, ignore_errors=True)
            self.loop.close()

    def to_api(self, canvas: dict) -> dict:
        """The API graph the real frontend makes of ``canvas``."""
        text = self.loop.run_until_complete(self._evaluate(_TO_API % json.dumps(canvas)))
        return json.loads(text)

    # -- protocol ---------------------------------------------------------------------------------

    async def _open(self) -> None:
        import aiohttp
        self.session = aiohttp.ClientSession()
        deadline = time.monotonic() + 30
        page = None
        while page is None:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.browser} exited with code {self.process.returncode} at start")
            try:
                async with self.session.get(f"http://127.0.0.1:{self.debug_port}/json/list") as response:
                    targets = await response.json(content_type=None)
                page = next((t for t in targets if t.get("type") == "page"), None)
            except (aiohttp.ClientError, ValueError):
                pass
            if page is None:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.browser}: no DevTools page within 30 s")
                await asyncio.sleep(0.2)
        self.socket = await self.session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        self.reader = asyncio.ensure_future(self._read())
        await self._call("Page.enable")
        await self._call("Runtime.enable")
        started = time.monotonic()
        await self._call("Page.navigate", url=self.url + "/")
        while not await self._evaluate(_APP_READY):
            if time.monotonic() - started > self.timeout:
                raise RuntimeError(f"the frontend at {self.url} was not ready after {self.timeout:.0f} s")
            await asyncio.sleep(0.25)
        await asyncio.sleep(1.0)  # extensions register widgets after the node types
        self.page_load_seconds = time.monotonic() - started

    async def _close(self) -> None:
        self.reader.cancel()
        await self.socket.close()
        await self.session.close()

    async def _read(self) -> None:
        import aiohttp
        async for message in self.socket:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            future = self._pending.pop(data.get("id"), None)
            if future is not None and not future.done():
                future.set_result(data)

    async def _call(self, method: str, **params):
        call_id = next(self._ids)
        future = self.loop.create_future()
        self._pending[call_id] = future
        await self.socket.send_str(json.dumps({"id": call_id, "method": method, "params": params}))
        data = await asyncio.wait_for(future, self.timeout)
        if "error" in data:
            raise RuntimeError(f"DevTools {method}: {data['error']}")
        return data.get("result", {})

    async def _evaluate(self, expression: str):
        result = await self._call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if result.get("exceptionDetails"):
            details = result["exceptionDetails"]
            description = (details.get("exception") or {}).get("description") or details.get("text")
            raise RuntimeError("in the page: " + str(description))
        return (result.get("result") or {}).get("value")
