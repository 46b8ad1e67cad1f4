"""render against hostile local servers (127.0.0.1, each stops by itself): a server that hangs, one
that answers garbage, one that fails after accepting the prompt; and every local check that must
come before the first upload."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ltx_audioloop.tools.cli import main
from ltx_audioloop.tools.render.client import RenderJob, render
from ltx_audioloop.tools.render.transport import ComfyTransport
from tests.conftest import write_png, write_wav
from tests.support.fake_comfy import make_graph, write_workflow


class ScriptedServer:
    """A local HTTP server whose answer per path prefix is scripted: ``(status, body)`` or ``"hang"``.
    Every request is recorded; it shuts itself down after ``lifetime`` seconds at the latest."""

    def __init__(self, script: dict, lifetime: float = 30.0):
        self.script = script
        self.calls: list[tuple[str, str]] = []
        self.release = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                owner.calls.append((self.command, self.path))
                key = next((k for k in owner.script if f"{self.command} {self.path}".startswith(k)), None)
                answer = owner.script.get(key, (404, "not here"))
                if answer == "hang":
                    owner.release.wait(lifetime)
                    return
                status, body = answer
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.timer = threading.Timer(lifetime, self.stop)
        self.timer.daemon = True
        self.timer.start()

    def stop(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.timer.cancel()

    def count(self, method, prefix):
        return sum(1 for m, p in self.calls if m == method and p.startswith(prefix))


@pytest.fixture
def scripted():
    servers = []

    def make(script, lifetime=30.0):
        servers.append(ScriptedServer(script, lifetime))
        return servers[-1]

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def files(tmp_path):
    audio = write_wav(tmp_path / "song.wav")
    image = write_png(tmp_path / "face.png")
    workflow = write_workflow(tmp_path, make_graph(steps=1, passes=1, loop=False))
    return audio, image, workflow


def test_hung_server_gets_each_upload_once_and_gives_up_quickly(scripted, files, tmp_path, capsys):
    audio, _, workflow = files
    server = scripted({"POST /upload": "hang"})
    transport = ComfyTransport(server.url, timeout=0.5, backoff=0.01)
    started = time.monotonic()
    result = render(transport, RenderJob(audio=str(audio), workflow=str(workflow)), tmp_path / "out",
                    progress_stream=open(tmp_path / "progress.txt", "w"))
    assert time.monotonic() - started < 5
    assert result["status"] == "failed" and "no answer within 0.5 s" in result["error"]
    assert server.count("POST", "/upload") == 1
    assert "uploading AUDIO song.wav" in (tmp_path / "progress.txt").read_text()


def test_garbage_answers_exit_3_and_queued_prompt_is_interrupted(scripted, files, tmp_path, capsys):
    audio, _, workflow = files
    server = scripted({"POST /upload": (200, {"name": "song.wav", "subfolder": "", "type": "input"}),
                       "POST /prompt": (200, {"prompt_id": "p1", "number": 1, "node_errors": {}}),
                       "GET /history": (200, "<html>proxy error</html>"),
                       "POST /interrupt": (200, ""), "POST /queue": (200, "")})
    code = main(["render", str(audio), "--workflow", str(workflow), "--server", server.url, "--no-track",
                 "--out", str(tmp_path / "out"), "--retries", "1"])
    captured = capsys.readouterr()
    assert code == 3 and "not JSON" in captured.out
    assert server.count("POST", "/interrupt") == 1 and server.count("POST", "/queue") == 1


def test_garbage_upload_answer_is_a_server_fault_not_a_traceback(scripted, files, tmp_path, capsys):
    audio, _, workflow = files
    server = scripted({"POST /upload": (200, "garbage")})
    assert main(["render", str(audio), "--workflow", str(workflow), "--server", server.url, "--no-track",
                 "--out", str(tmp_path / "out")]) == 3
    assert "not JSON" in capsys.readouterr().out


@pytest.mark.parametrize("option", [["--poll", "-1"], ["--poll", "0"], ["--poll", "nan"], ["--seed", "-1"],
                                    ["--seed", str(2**70)], ["--retries", "0"], ["--budget", "-5"],
                                    ["--budget", "inf"]])
def test_bad_numbers_are_refused_before_any_request(scripted, files, tmp_path, capsys, option):
    audio, _, workflow = files
    server = scripted({})
    assert main(["render", str(audio), "--workflow", str(workflow), "--server", server.url, "--no-track",
                 *option]) == 2
    assert option[0] in capsys.readouterr().err
    assert server.calls == []


def test_local_checks_come_before_any_upload(scripted, files, tmp_path, capsys):
    audio, image, workflow = files
    server = scripted({})
    text = tmp_path / "notes.txt"
    text.write_text("not media")
    no_audio_node = write_workflow(tmp_path, {"1": {"class_type": "SaveImage", "inputs": {}}}, "bare.json")
    bad_schedule = tmp_path / "bad.txt"
    bad_schedule.write_text("this is not a schedule line\n")
    cases = [
        ([str(audio), "--workflow", str(no_audio_node)], "LoadAudio"),
        ([str(audio), "--workflow", str(workflow), "--schedule", str(bad_schedule)], "schedule line 1"),
        ([str(text), "--workflow", str(workflow)], "AUDIO"),
        ([str(audio), str(text), "--workflow", str(workflow)], "IMAGE"),
        ([str(audio), "--workflow", str(workflow), "--schedule", str(tmp_path)], "folder"),
    ]
    for argv, needle in cases:
        assert main(["render", *argv, "--server", server.url, "--no-track"]) == 2, argv
        assert needle in capsys.readouterr().err, argv
    assert server.calls == []


def test_a_server_that_answers_nothing_fails_in_seconds_at_default_timeouts(scripted, files, tmp_path):
    audio, _, workflow = files
    server = scripted({"GET /system_stats": "hang", "POST /upload": "hang"})
    transport = ComfyTransport(server.url, backoff=0.01)  # default 30 s read timeout
    started = time.monotonic()
    result = render(transport, RenderJob(audio=str(audio), workflow=str(workflow)), tmp_path / "out",
                    progress_stream=open(tmp_path / "progress.txt", "w"))
    assert time.monotonic() - started < 10
    assert result["status"] == "failed" and "/system_stats" in result["error"]
    assert server.count("POST", "/upload") == 0  # nothing uploaded to a hung server
    assert "contacting" in (tmp_path / "progress.txt").read_text()
