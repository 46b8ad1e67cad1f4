"""A local server that speaks ComfyUI's HTTP and WebSocket protocol, for the render client,
batch, cluster and segment tests (and bench/cluster.py).

It implements the endpoints the client uses with the message shapes of ComfyUI's server.py and
execution.py (aiohttp, in a thread, 127.0.0.1 on a free port). Its behaviour per prompt is read
from the graph's ``FakeSampler`` node: ``steps``, ``passes`` (initial render + loop
iterations), ``mode`` (ok, error, drop = close the socket after the first pass, hold = wait for
an interrupt or for a release: ``server.release.set()`` in process, ``POST /test/release``
from outside). :func:`serve_forever` runs one in its own process so a test can kill it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import uuid

from aiohttp import WSMsgType, web

VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42fake-video"
PNG_BYTES = b"\x89PNG\r\n\x1a\nfake"


class FakeComfy:
    """Minimal ComfyUI: upload, prompt (with validation), ws events, history, queue, view, interrupt, free."""

    def __init__(self, port: int = 0, pass_seconds: float = 0.0, serial: bool = False, real_video: bool = False):
        self.pass_seconds = pass_seconds  # simulated seconds per pass (initial render or loop iteration)
        self.serial = serial  # one prompt at a time, as ComfyUI's single executor
        self.real_video = real_video  # outputs a real mp4 of as many frames as the loop render of the audio
        self.bind_port = port
        self.calls: list[tuple[str, str, object]] = []
        self.files: dict[str, bytes] = {}
        self.uploads: dict[str, bytes] = {}
        self.prompts: dict[str, dict] = {}
        self.history: dict[str, dict] = {}
        self.running: dict[str, dict] = {}
        self.sockets: dict[str, web.WebSocketResponse] = {}
        self.fail_prompt_posts = 0
        self.hold_started = threading.Event()
        self.release = threading.Event()
        self.interrupted = threading.Event()
        self.number = 0
        self.loop = asyncio.new_event_loop()
        self.port = None
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        assert self._ready.wait(20), "fake ComfyUI did not start"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self):
        self.calls.clear()
        self.fail_prompt_posts = 0
        self.hold_started.clear()
        self.release.clear()
        self.interrupted.clear()

    def _serve(self):
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_post("/upload/image", self.upload)
        app.router.add_post("/prompt", self.post_prompt)
        app.router.add_get("/ws", self.ws)
        app.router.add_get("/history/{pid}", self.get_history)
        app.router.add_get("/queue", self.get_queue)
        app.router.add_post("/queue", self.post_queue)
        app.router.add_get("/view", self.view)
        app.router.add_post("/interrupt", self.interrupt)
        app.router.add_post("/free", self.free)
        app.router.add_post("/test/release", self.release_holds)  # not ComfyUI: lets a test end 'hold' jobs
        runner = web.AppRunner(app)
        self.loop.run_until_complete(runner.setup())
        sock = socket.socket()
        sock.bind(("127.0.0.1", self.bind_port))
        self.executor_lock = asyncio.Lock()
        self.port = sock.getsockname()[1]
        self.loop.run_until_complete(web.SockSite(runner, sock).start())
        self._ready.set()
        self.loop.run_forever()

    async def upload(self, request):
        post = await request.post()
        image = post["image"]
        self.calls.append(("POST", "/upload/image", {"type": post.get("type"), "name": image.filename}))
        self.uploads[image.filename] = image.file.read()
        return web.json_response({"name": image.filename, "subfolder": post.get("subfolder", ""), "type": post["type"]})

    async def post_prompt(self, request):
        body = await request.json()
        self.calls.append(("POST", "/prompt", body))
        if self.fail_prompt_posts:
            self.fail_prompt_posts -= 1
            return web.Response(status=503, text="busy")
        graph = body["prompt"]
        node_errors = {}
        for nid, node in graph.items():
            inputs = node["inputs"]
            if node["class_type"] == "LoadAudio" and inputs.get("audio") not in self.uploads:
                node_errors[nid] = {"errors": [{"type": "custom_validation_failed", "message": "Invalid audio file",
                                                "details": str(inputs.get("audio")),
                                                "extra_info": {"input_name": "audio"}}],
                                    "dependent_outputs": ["30"], "class_type": "LoadAudio"}
            if node["class_type"] == "FakeSampler" and inputs.get("steps", 1) < 1:
                node_errors[nid] = {"errors": [{"type": "value_smaller_than_min",
                                                "message": "Value 0 smaller than min of 1", "details": "steps",
                                                "extra_info": {"input_name": "steps", "received_value": 0}}],
                                    "dependent_outputs": ["30"], "class_type": "FakeSampler"}
        if node_errors:
            error = {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation",
                     "details": "", "extra_info": {}}
            return web.json_response({"error": error, "node_errors": node_errors}, status=400)
        partial = {nid: {"errors": [{"type": "value_smaller_than_min", "message": "Value 0 smaller than min of 1",
                                     "details": "width", "extra_info": {"input_name": "width"}}],
                         "dependent_outputs": ["40"], "class_type": n["class_type"]}
                   for nid, n in graph.items() if n["class_type"] == "FakeBroken"}
        pid = body.get("prompt_id") or str(uuid.uuid4())
        self.number += 1
        self.prompts[pid] = {"graph": graph, "client_id": body.get("client_id")}
        self.running[pid] = {"number": self.number}
        asyncio.ensure_future(self.execute(pid))
        return web.json_response({"prompt_id": pid, "number": self.number, "node_errors": partial})

    async def send(self, pid, kind, data):
        ws = self.sockets.get(self.prompts[pid]["client_id"])
        if ws is not None and not ws.closed:
            await ws.send_json({"type": kind, "data": data})

    async def execute(self, pid):
        if self.serial:
            async with self.executor_lock:
                await self._execute(pid)
        else:
            await self._execute(pid)

    async def _execute(self, pid):
        graph = self.prompts[pid]["graph"]
        sampler = next(n["inputs"] for n in graph.values() if n["class_type"] == "FakeSampler")
        loop_id = next((nid for nid, n in graph.items() if n["class_type"] == "TensorLoopOpen"), None)
        steps, passes, mode = sampler["steps"], sampler.get("passes", 1), sampler.get("mode", "ok")
        await asyncio.sleep(0.01)
        await self.send(pid, "execution_start", {"prompt_id": pid, "timestamp": 0})
        await self.send(pid, "execution_cached", {"nodes": [], "prompt_id": pid, "timestamp": 0})
        messages = [["execution_start", {"prompt_id": pid}]]
        status = "success"
        for p in range(passes):
            node = "10" if p == 0 else f"10.0.{p}"
            if p and loop_id:
                await self.send(pid, "progress", {"value": p - 1, "max": passes - 1, "prompt_id": pid, "node": loop_id})
            await self.send(pid, "executing", {"node": node, "display_node": "10", "prompt_id": pid})
            if self.pass_seconds:
                await asyncio.sleep(self.pass_seconds)
            for k in range(1, steps + 1):
                await self.send(pid, "progress", {"value": k, "max": steps, "prompt_id": pid, "node": node})
                ws = self.sockets.get(self.prompts[pid]["client_id"])
                if ws is not None and not ws.closed:
                    await ws.send_bytes(b"\x00\x00\x00\x01\x00\x00\x00\x02preview")
                if mode == "hold":
                    self.hold_started.set()
                    while not (self.interrupted.is_set() or self.release.is_set()):
                        await asyncio.sleep(0.02)
                    if self.interrupted.is_set():
                        status = "interrupted"
                        break
            if status != "success":
                break
            if mode == "error":
                status = "error"
                break
            if mode == "drop" and p == 0:
                ws = self.sockets.pop(self.prompts[pid]["client_id"], None)
                if ws is not None:
                    await ws.close()
        outputs = {}
        if status == "success":
            outputs = {"30": {"images": [{"filename": "frame_00001.png", "subfolder": "", "type": "output"}],
                              "gifs": [{"filename": "clip_00001.mp4", "subfolder": "vid", "type": "output",
                                        "format": "video/h264-mp4"}]},
                       "31": {"images": [{"filename": "preview.png", "subfolder": "", "type": "temp"}]}}
            if self.real_video:
                name = f"loop_{pid[:8]}.mp4"
                audio_name = next(n["inputs"]["audio"] for n in graph.values() if n["class_type"] == "LoadAudio")
                self.files[name] = await asyncio.get_running_loop().run_in_executor(
                    None, loop_video, self.uploads[audio_name])
                outputs["30"]["gifs"] = [{"filename": name, "subfolder": "vid", "type": "output",
                                          "format": "video/h264-mp4"}]
            if mode == "evil":  # a hostile server: output paths that climb out of --out
                outputs["30"]["images"] += [
                    {"filename": "x.png", "subfolder": "../../../../escape", "type": "output"},
                    {"filename": "y.png", "subfolder": "/tmp/ltx-audioloop-escape", "type": "output"},
                    {"filename": "../../z.png", "subfolder": "", "type": "output"}]
            for node_id, out in outputs.items():
                await self.send(pid, "executed", {"node": node_id, "display_node": node_id, "output": out,
                                                  "prompt_id": pid})
            end = ("execution_success", {"prompt_id": pid, "timestamp": 1})
        elif status == "error":
            end = ("execution_error", {"prompt_id": pid, "node_id": "10", "node_type": "FakeSampler",
                                       "executed": [], "exception_message": "CUDA out of memory",
                                       "exception_type": "torch.OutOfMemoryError", "traceback": [],
                                       "current_inputs": {}, "current_outputs": {}})
        else:
            end = ("execution_interrupted", {"prompt_id": pid, "node_id": "10", "node_type": "FakeSampler",
                                             "executed": []})
        messages.append(list(end))
        self.running.pop(pid, None)
        self.history[pid] = {"prompt": [0, pid, graph, {}, ["30"]], "outputs": outputs,
                             "status": {"status_str": "success" if status == "success" else "error",
                                        "completed": status == "success", "messages": messages}}
        await self.send(pid, *end)
        await self.send(pid, "executing", {"node": None, "prompt_id": pid})

    async def ws(self, request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sid = request.rel_url.query.get("clientId") or uuid.uuid4().hex
        self.sockets[sid] = ws
        await ws.send_json({"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 0}}, "sid": sid}})
        async for msg in ws:
            if msg.type == WSMsgType.ERROR:
                break
        return ws

    async def get_history(self, request):
        pid = request.match_info["pid"]
        self.calls.append(("GET", "/history", pid))
        return web.json_response({pid: self.history[pid]} if pid in self.history else {})

    async def get_queue(self, request):
        running = [[v["number"], pid, {}, {}, []] for pid, v in self.running.items()]
        return web.json_response({"queue_running": running, "queue_pending": []})

    async def post_queue(self, request):
        self.calls.append(("POST", "/queue", await request.json()))
        return web.Response(status=200)

    async def view(self, request):
        q = request.rel_url.query
        self.calls.append(("GET", "/view", dict(q)))
        if q.get("type") != "output":
            return web.Response(status=404)
        body = VIDEO_BYTES if q["filename"].endswith(".mp4") else PNG_BYTES
        body = self.files.get(q["filename"], body)
        return web.Response(body=body)

    async def interrupt(self, request):
        try:
            body = await request.json()
        except json.JSONDecodeError:
            body = {}
        self.calls.append(("POST", "/interrupt", body))
        self.interrupted.set()
        return web.Response(status=200)

    async def release_holds(self, request):
        self.release.set()
        return web.Response(status=200)

    async def free(self, request):
        self.calls.append(("POST", "/free", await request.json()))
        return web.Response(status=200)


def loop_video(wav_bytes: bytes, fps: int = 25) -> bytes:
    """A real mp4 as long as the loop render of a WAV: ``8 ceil((ceil(D fps) - 1) / 8) + 1`` frames,
    16x16, frame ``i`` filled with grey level ``i % 256`` (so joins can be checked frame by frame)."""
    import io
    import math
    import wave

    import av
    import numpy as np

    with wave.open(io.BytesIO(wav_bytes)) as handle:
        seconds = handle.getnframes() / handle.getframerate()
    needed = max(1, math.ceil(seconds * fps - 1e-6))
    frames = 8 * math.ceil((needed - 1) / 8) + 1
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width = stream.height = 16
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for index in range(frames):
            image = np.full((16, 16, 3), index % 256, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def serve_forever(port: int, pass_seconds: float, real_video: bool = False) -> None:
    """Run one fake ComfyUI in this process (for tests and bench/ that start servers as
    subprocesses, so that one can be killed); prints ``port N`` once it listens."""
    server = FakeComfy(port=port, pass_seconds=pass_seconds, serial=True, real_video=real_video)
    print(f"port {server.port}", flush=True)
    server.thread.join()


def make_graph(steps=3, passes=3, mode="ok", loop=True) -> dict:
    graph = {
        "1": {"class_type": "LoadAudio", "inputs": {"audio": "placeholder.wav"}},
        "2": {"class_type": "LoadImage", "inputs": {"image": "placeholder.png"}},
        "3": {"class_type": "TimestampPromptScheduleBatchEncode",
              "inputs": {"clip": ["4", 0], "schedule": "0:00+: default", "stride_seconds": 17.92}},
        "10": {"class_type": "FakeSampler", "inputs": {"noise_seed": 1, "steps": steps, "passes": passes,
                                                       "mode": mode, "audio": ["1", 0]}},
        "30": {"class_type": "FakeSave", "inputs": {"images": ["10", 0]}},
    }
    if loop:
        graph["20"] = {"class_type": "TensorLoopOpen", "inputs": {"mode": "iterations", "iterations": passes - 1}}
    return graph


def write_workflow(tmp_path, graph, name="wf.json"):
    path = tmp_path / name
    path.write_text(json.dumps(graph), encoding="utf-8")
    return path
