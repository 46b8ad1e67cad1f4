"""The render client against a local server that speaks ComfyUI's HTTP and WebSocket protocol.

The server (aiohttp, in a thread, 127.0.0.1 on a free port) implements the endpoints the client
uses with the message shapes of ComfyUI's server.py/execution.py. Its behaviour per prompt is
read from the graph's ``FakeSampler`` node: ``steps``, ``passes`` (initial render + loop
iterations), ``mode`` (ok, error, drop = close the socket after the first pass, hold = wait for
an interrupt or for the test's release). Tests synchronise on threading events, never on sleeps.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid

import duckdb
import pytest
from aiohttp import WSMsgType, web
from hypothesis import given, settings
from hypothesis import strategies as st

from ltx_audioloop.cli import main
from ltx_audioloop.render.binding import bind_inputs
from ltx_audioloop.render.client import RenderJob, render
from ltx_audioloop.render.progress import ProgressState
from ltx_audioloop.render.transport import ComfyError, ComfyTransport, PromptValidationError
from ltx_audioloop.render.workflow import resolve_workflow
from ltx_audioloop.runs.tracker import RunTracker
from tests.conftest import write_png, write_wav

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


@pytest.fixture(scope="module")
def comfy():
    server = FakeComfy()
    yield server
    server.loop.call_soon_threadsafe(server.loop.stop)


@pytest.fixture
def server(comfy):
    comfy.reset()
    return comfy


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


@pytest.fixture
def inputs(tmp_path):
    audio = write_wav(tmp_path / "song.wav")
    image = write_png(tmp_path / "face.png")
    schedule = tmp_path / "schedule.txt"
    schedule.write_text("0:00+: a singer on a stage\n", encoding="utf-8")
    return audio, image, schedule


def write_workflow(tmp_path, graph, name="wf.json"):
    path = tmp_path / name
    path.write_text(json.dumps(graph), encoding="utf-8")
    return path


def test_render_success_binds_uploads_progress_and_downloads(server, inputs, tmp_path):
    audio, image, schedule = inputs
    wf = write_workflow(tmp_path, make_graph(steps=3, passes=4))
    tracker = RunTracker(tmp_path / "runs.duckdb")
    events = []
    job = RenderJob(audio=str(audio), image=str(image), workflow=str(wf), schedule=str(schedule), seed=1234)

    class Stream:
        def write(self, text):
            events.append(text)

        def flush(self):
            pass

    result = render(ComfyTransport(server.url), job, tmp_path / "out", tracker=tracker, progress_stream=Stream())
    assert result["status"] == "success", result
    assert [c[2]["type"] for c in server.calls if c[1] == "/upload/image"] == ["input", "input"]
    sent = next(c[2] for c in server.calls if c[1] == "/prompt")
    graph = sent["prompt"]
    assert graph["1"]["inputs"]["audio"] == "song.wav"
    assert graph["2"]["inputs"]["image"] == "face.png"
    assert graph["3"]["inputs"]["schedule"] == "0:00+: a singer on a stage\n"
    assert graph["10"]["inputs"]["noise_seed"] == 1234
    assert sent["client_id"]
    # progress lines: initial render then loop iterations 1..3 of 3
    text = "".join(events)
    assert "initial render" in text and "iteration 3 of 3" in text and "step 3 of 3" in text
    paths = sorted(os.path.relpath(o["path"], tmp_path / "out") for o in result["outputs"] if o.get("path"))
    assert paths == ["frame_00001.png", os.path.join("vid", "clip_00001.mp4")]
    assert (tmp_path / "out" / "vid" / "clip_00001.mp4").read_bytes() == VIDEO_BYTES
    temp = [o for o in result["outputs"] if o["type"] == "temp"]
    assert temp and "path" not in temp[0]
    row = tracker.get(result["run_id"])
    assert row["status"] == "success" and row["seed"] == 1234 and row["prompt_id"] == result["prompt_id"]
    assert row["workflow"]["1"]["inputs"]["audio"] == "song.wav"
    assert row["timings"]["total_s"] > 0 and row["timings"]["iterations_total"] == 3
    assert not result["socket_dropped"]


def test_validation_error_is_reported_not_retried(server, inputs, tmp_path):
    audio, _, _ = inputs
    wf = write_workflow(tmp_path, make_graph(steps=0))
    tracker = RunTracker(tmp_path / "runs.duckdb")
    result = render(ComfyTransport(server.url, backoff=0.01), RenderJob(audio=str(audio), workflow=str(wf)),
                    tmp_path / "out", tracker=tracker)
    assert result["status"] == "invalid"
    assert "node 10 (FakeSampler) input 'steps': Value 0 smaller than min of 1" in result["error"]
    assert sum(1 for c in server.calls if c[1] == "/prompt") == 1
    assert tracker.get(result["run_id"])["status"] == "invalid"


def test_validation_error_formats_every_node(server):
    graph = make_graph(steps=0)
    graph["1"]["inputs"]["audio"] = "never-uploaded.wav"
    with pytest.raises(PromptValidationError) as info:
        ComfyTransport(server.url).submit(graph, "cid")
    text = str(info.value)
    assert "node 1 (LoadAudio) input 'audio': Invalid audio file: never-uploaded.wav" in text
    assert "node 10 (FakeSampler) input 'steps'" in text


def test_partly_valid_graph_runs_but_is_reported_partial(server, inputs, tmp_path):
    audio, _, _ = inputs
    graph = make_graph(passes=1, loop=False)
    graph["40"] = {"class_type": "FakeBroken", "inputs": {"width": 0}}
    wf = write_workflow(tmp_path, graph)
    result = render(ComfyTransport(server.url), RenderJob(audio=str(audio), workflow=str(wf)), tmp_path / "out")
    assert result["status"] == "partial"
    assert "node 40 (FakeBroken) input 'width': Value 0 smaller than min of 1" in result["error"]
    assert (tmp_path / "out" / "vid" / "clip_00001.mp4").exists()


def test_5xx_is_retried_with_backoff_and_not_queued_twice(server, inputs, tmp_path):
    audio, _, _ = inputs
    server.fail_prompt_posts = 2
    wf = write_workflow(tmp_path, make_graph(passes=1, loop=False))
    result = render(ComfyTransport(server.url, backoff=0.01), RenderJob(audio=str(audio), workflow=str(wf)),
                    tmp_path / "out")
    assert result["status"] == "success"
    posts = [c[2]["prompt_id"] for c in server.calls if c[1] == "/prompt"]
    assert len(posts) == 3 and len(set(posts)) == 1


def test_transport_errors_give_up_after_bounded_attempts():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    transport = ComfyTransport(f"http://127.0.0.1:{port}", attempts=3, backoff=0.01, timeout=2)
    with pytest.raises(ComfyError, match="after 3 attempts"):
        transport.history("x")


def test_execution_error_names_the_node(server, inputs, tmp_path):
    audio, _, _ = inputs
    wf = write_workflow(tmp_path, make_graph(mode="error"))
    result = render(ComfyTransport(server.url), RenderJob(audio=str(audio), workflow=str(wf)), tmp_path / "out")
    assert result["status"] == "error"
    assert result["error"] == "node 10 (FakeSampler): CUDA out of memory"


def test_dropped_socket_falls_back_to_history_polling(server, inputs, tmp_path):
    audio, _, _ = inputs
    wf = write_workflow(tmp_path, make_graph(steps=2, passes=3, mode="drop"))
    result = render(ComfyTransport(server.url), RenderJob(audio=str(audio), workflow=str(wf)), tmp_path / "out",
                    poll_s=0.05)
    assert result["socket_dropped"] is True
    assert result["status"] == "success"
    assert any(c[1] == "/history" for c in server.calls)
    assert (tmp_path / "out" / "vid" / "clip_00001.mp4").exists()


def test_budget_spent_interrupts_and_frees(server, inputs, tmp_path):
    audio, _, _ = inputs
    wf = write_workflow(tmp_path, make_graph(mode="hold"))
    tracker = RunTracker(tmp_path / "runs.duckdb")
    job = RenderJob(audio=str(audio), workflow=str(wf), budget_minutes=0.01)  # 0.6 s
    result = render(ComfyTransport(server.url), job, tmp_path / "out", tracker=tracker, poll_s=0.05)
    assert result["status"] == "budget"
    interrupts = [c[2] for c in server.calls if c[1] == "/interrupt"]
    assert interrupts == [{"prompt_id": result["prompt_id"]}]
    assert [c[2] for c in server.calls if c[1] == "/free"] == [{"unload_models": True, "free_memory": True}]
    assert tracker.get(result["run_id"])["status"] == "budget"


def test_cli_render_reports_outputs(server, inputs, tmp_path, capsys):
    audio, image, schedule = inputs
    wf = write_workflow(tmp_path, make_graph(steps=2, passes=2))
    db = tmp_path / "runs.duckdb"
    code = main(["render", str(audio), str(image), "--server", server.url, "--workflow", str(wf), "--schedule",
                 str(schedule), "--seed", "7", "--out", str(tmp_path / "out"), "--db", str(db)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "status success" in out and "clip_00001.mp4" in out
    assert main(["runs", "--db", str(db)]) == 0
    assert "render" in capsys.readouterr().out


def test_batch_resumes_after_crash_without_redoing_finished_jobs(server, inputs, tmp_path):
    audio, _, _ = inputs
    fast = write_workflow(tmp_path, make_graph(steps=1, passes=1, loop=False), "fast.json")
    hold = write_workflow(tmp_path, make_graph(steps=1, passes=1, mode="hold", loop=False), "hold.json")
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("\n".join(json.dumps(j) for j in [
        {"id": "a", "audio": audio.name, "workflow": fast.name, "seed": 1},
        {"id": "b", "audio": audio.name, "workflow": hold.name, "seed": 2},
        {"id": "c", "audio": audio.name, "workflow": fast.name, "seed": 3},
    ]) + "\n", encoding="utf-8")
    db = tmp_path / "runs.duckdb"
    args = ["render", "--batch", str(jobs), "--server", server.url, "--out", str(tmp_path / "out"), "--db", str(db)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen([sys.executable, "-m", "ltx_audioloop", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert server.hold_started.wait(60), proc.stderr.read1().decode() if proc.poll() is not None else "no job b"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    seeds = [c[2]["prompt"]["10"]["inputs"]["noise_seed"] for c in server.calls if c[1] == "/prompt"]
    assert seeds == [1, 2]
    with duckdb.connect(str(db)) as con:
        rows = dict(con.execute("SELECT job_key, status FROM runs").fetchall())
    assert rows == {"a": "success", "b": "running"}
    server.release.set()  # job b finishes on the server while the client is dead
    assert main(args) == 0
    seeds = [c[2]["prompt"]["10"]["inputs"]["noise_seed"] for c in server.calls if c[1] == "/prompt"]
    assert seeds == [1, 2, 3]  # a skipped, b recovered from history, c rendered
    with duckdb.connect(str(db)) as con:
        rows = con.execute("SELECT job_key, status FROM runs ORDER BY created_at").fetchall()
    assert rows == [("a", "success"), ("b", "success"), ("c", "success")]
    assert (tmp_path / "out" / "b" / "vid" / "clip_00001.mp4").exists()


def test_progress_heuristic_counts_passes_of_a_two_stage_sampler():
    graph = {"5": {"class_type": "TensorLoopOpen", "inputs": {}}, "7": {"class_type": "KSampler", "inputs": {}}}
    state = ProgressState(graph)
    assert state.iteration == 0
    for node in ("7", "8"):  # initial render: two sampler stages
        for k in range(1, 4):
            state.update("progress", {"node": node, "value": k, "max": 3})
    assert state.iteration == 0 and state.runs_started == 2
    state.update("progress", {"node": "5", "value": 0, "max": 4})
    assert state.runs_per_pass == 2 and state.iteration == 1 and state.iterations == 4
    state.update("progress", {"node": "7.1", "value": 2, "max": 3})
    assert "iteration 1 of 4" in state.line() and "step 2 of 3" in state.line()
    state.update("progress", {"node": "5", "value": 4, "max": 4})
    assert state.iteration == 4 and state.fraction() <= 1.0


def test_progress_without_loop_counts_sampler_runs():
    state = ProgressState({"7": {"class_type": "KSampler", "inputs": {}}})
    for run in range(3):
        for k in range(1, 5):
            state.update("progress", {"node": "7", "value": k, "max": 4})
    assert state.iteration == 2 and state.iterations is None
    assert "iteration 2" in state.line()


def test_bind_inputs_rules():
    graph = make_graph()
    bound = bind_inputs(graph, audio="a.wav", image="i.png", schedule="0:00+: x", seed=5)
    assert graph["1"]["inputs"]["audio"] == "placeholder.wav"  # pure
    assert bound["1"]["inputs"]["audio"] == "a.wav" and bound["10"]["inputs"]["noise_seed"] == 5
    assert bound["10"]["inputs"]["audio"] == ["1", 0]  # links untouched
    no_image = {k: v for k, v in graph.items() if k != "2"}
    with pytest.raises(ValueError, match="no LoadImage node"):
        bind_inputs(no_image, image="i.png")
    two = {**graph, "5": {"class_type": "LoadAudio", "inputs": {"audio": "x.wav"}}}
    with pytest.raises(ValueError, match=r"ambiguous.*\[bind:audio\]"):
        bind_inputs(two, audio="a.wav")
    two["5"]["_meta"] = {"title": "Track [bind:audio]"}
    assert bind_inputs(two, audio="a.wav")["5"]["inputs"]["audio"] == "a.wav"
    with pytest.raises(ValueError, match="no literal noise_seed"):
        bind_inputs({"1": {"class_type": "LoadAudio", "inputs": {"audio": "x"}}}, seed=1)
    with pytest.raises(ValueError, match="seed must be"):
        bind_inputs(graph, seed=-1)
    wired = make_graph()
    wired["3"]["inputs"]["schedule"] = ["99", 0]
    with pytest.raises(ValueError, match="wired from node 99"):
        bind_inputs(wired, schedule="0:00+: x")
    assert bind_inputs(graph) == graph


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**64 - 1), st.sampled_from(["noise_seed", "seed", "base_seed"]))
def test_seed_binding_sets_every_literal_seed_and_nothing_else(seed, name):
    graph = make_graph()
    graph["11"] = {"class_type": "AudioLoopController", "inputs": {name: 3, "fps": 25.0}}
    graph["12"] = {"class_type": "RandomNoise", "inputs": {"noise_seed": ["11", 4]}}
    bound = bind_inputs(graph, seed=seed)
    assert bound["10"]["inputs"]["noise_seed"] == seed and bound["11"]["inputs"][name] == seed
    assert bound["12"]["inputs"]["noise_seed"] == ["11", 4]
    bound["10"]["inputs"]["noise_seed"] = graph["10"]["inputs"]["noise_seed"]
    bound["11"]["inputs"][name] = 3
    assert bound == graph


def test_resolve_workflow_names_canvas_files_and_missing_files(tmp_path):
    ui = write_workflow(tmp_path, {"nodes": [], "links": [], "version": 0.4}, "ui.json")
    with pytest.raises(ValueError, match="not an API-format graph"):
        resolve_workflow(ui)
    with pytest.raises(ValueError, match="neither a file nor a shipped workflow"):
        resolve_workflow(tmp_path / "missing.json")
    from ltx_audioloop.workflows.emit import to_api, to_ui
    from ltx_audioloop.workflows.library import PRIMARY, build

    primary = resolve_workflow(PRIMARY)
    assert primary == to_api(build(PRIMARY))
    canvas = write_workflow(tmp_path, to_ui(build(PRIMARY)), "canvas.json")
    assert resolve_workflow(canvas) == json.loads(json.dumps(primary))
    body = write_workflow(tmp_path, {"prompt": make_graph(), "client_id": "x"}, "body.json")
    assert resolve_workflow(body) == make_graph()


def test_binding_the_primary_workflow_sets_its_primitives():
    from ltx_audioloop.workflows.emit import to_api
    from ltx_audioloop.workflows.library import PRIMARY, build

    graph = to_api(build(PRIMARY))
    bound = bind_inputs(graph, audio="song.wav", image="me.png", schedule="0:00+: a singer is singing", seed=7)
    by_title = {node["_meta"]["title"]: node for node in bound.values()}
    assert by_title["Prompt schedule"]["inputs"]["value"] == "0:00+: a singer is singing"
    assert by_title["seed"]["inputs"]["value"] == 7
    assert by_title["Track"]["inputs"]["audio"] == "song.wav"
    assert by_title["Reference image"]["inputs"]["image"] == "me.png"


def test_hostile_server_output_paths_stay_inside_out(server, inputs, tmp_path):
    audio, _, _ = inputs
    wf = write_workflow(tmp_path, make_graph(steps=1, passes=1, mode="evil", loop=False))
    work = tmp_path / "a" / "b" / "c" / "d"
    work.mkdir(parents=True)
    result = render(ComfyTransport(server.url), RenderJob(audio=str(audio), workflow=str(wf)), work / "out",
                    poll_s=0.05)
    assert result["status"] == "partial" and "refusing" in result["error"]
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == sorted(["a/b/c/d/out/frame_00001.png", "a/b/c/d/out/vid/clip_00001.mp4", "song.wav",
                              "face.png", "schedule.txt", "wf.json"])
    assert not (tmp_path / "a" / "escape").exists()
    assert not os.path.exists("/tmp/ltx-audioloop-escape/y.png")
    refused = [o for o in result["outputs"] if o.get("error")]
    assert len(refused) == 3 and not any(o.get("path") for o in refused)
    views = [c[2]["filename"] for c in server.calls if c[1] == "/view"]
    assert "x.png" not in views and "y.png" not in views  # refused before any request


def test_batch_job_id_cannot_escape_out(tmp_path, capsys, inputs):
    audio, _, _ = inputs
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"id": "../../escape", "audio": str(audio)}) + "\n")
    assert main(["render", "--batch", str(jobs), "--out", str(tmp_path / "out"), "--server", "http://127.0.0.1:9",
                 "--no-track"]) == 2
    assert "plain folder name" in capsys.readouterr().err
    jobs.write_text(json.dumps({"id": "a", "audio": str(audio), "seed": "abc"}) + "\n")
    assert main(["render", "--batch", str(jobs), "--server", "http://127.0.0.1:9", "--no-track"]) == 2
    assert "'seed' must be a whole number" in capsys.readouterr().err
