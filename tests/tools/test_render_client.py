"""The render client against the fake ComfyUI of ``tests/support/fake_comfy.py`` (ComfyUI's
HTTP and WebSocket protocol, behaviour per prompt read from the graph's ``FakeSampler`` node).
Tests synchronise on threading events, never on sleeps."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ltx_audioloop.tools.cli import main
from ltx_audioloop.tools.render.binding import bind_inputs
from ltx_audioloop.tools.render.client import RenderJob, render
from ltx_audioloop.tools.render.progress import ProgressState
from ltx_audioloop.tools.render.transport import ComfyError, ComfyTransport, PromptValidationError
from ltx_audioloop.tools.render.workflow import resolve_workflow
from ltx_audioloop.tools.runs.tracker import RunTracker
from tests.conftest import write_png, write_wav
from tests.support.fake_comfy import VIDEO_BYTES, FakeComfy, make_graph, write_workflow


@pytest.fixture(scope="module")
def comfy():
    server = FakeComfy()
    yield server
    server.loop.call_soon_threadsafe(server.loop.stop)


@pytest.fixture
def server(comfy):
    comfy.reset()
    return comfy


@pytest.fixture
def inputs(tmp_path):
    audio = write_wav(tmp_path / "song.wav")
    image = write_png(tmp_path / "face.png")
    schedule = tmp_path / "schedule.txt"
    schedule.write_text("0:00+: a singer on a stage\n", encoding="utf-8")
    return audio, image, schedule


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
    from ltx_audioloop.tools.workflows.emit import to_api, to_ui
    from ltx_audioloop.tools.workflows.library import PRIMARY, build

    primary = resolve_workflow(PRIMARY)
    assert primary == to_api(build(PRIMARY))
    canvas = write_workflow(tmp_path, to_ui(build(PRIMARY)), "canvas.json")
    assert resolve_workflow(canvas) == json.loads(json.dumps(primary))
    body = write_workflow(tmp_path, {"prompt": make_graph(), "client_id": "x"}, "body.json")
    assert resolve_workflow(body) == make_graph()


def test_binding_the_primary_workflow_sets_its_primitives():
    from ltx_audioloop.tools.workflows.emit import to_api
    from ltx_audioloop.tools.workflows.library import PRIMARY, build

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
