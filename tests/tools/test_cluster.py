"""Batches across several servers with Ray: a local Ray (2 CPUs, one per test module) against
fake ComfyUI servers started as subprocesses (the render client's test server, serving one prompt
at a time with a fixed time per pass), so one can be killed mid-job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from ltx_audioloop.tools.cli import main
from ltx_audioloop.tools.render.transport import ComfyTransport
from tests.conftest import write_wav
from tests.support.fake_comfy import make_graph, write_workflow

ray = pytest.importorskip("ray", reason="the cluster tests need Ray: pip install -e '.[test]' installs it")

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT.parent)] + [p for p in sys.path if p])}


class ServerProcess:
    """One fake ComfyUI in its own process (``serve_forever``); ``kill()`` is SIGKILL."""

    def __init__(self, pass_seconds: float = 0.2, real_video: bool = False):
        code = ("import sys; sys.path.insert(0, sys.argv[1]); from tests.support.fake_comfy import serve_forever; "
                f"serve_forever(0, {pass_seconds!r}, {real_video!r})")
        self.proc = subprocess.Popen([sys.executable, "-c", code, str(ROOT)], stdout=subprocess.PIPE, cwd=ROOT,
                                     env=_env(), text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("port "), f"fake server did not start: {line!r}"
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"

    def running(self) -> bool:
        try:
            queue = ComfyTransport(self.url, attempts=1).session.get(self.url + "/queue", timeout=2).json()
        except Exception:
            return False
        return bool(queue["queue_running"])

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


@pytest.fixture(scope="module")
def ray_session():
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, namespace="ltx-audioloop", log_to_driver=False,
                 configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def servers(request):
    started: list[ServerProcess] = []

    def start(count: int, **kwargs) -> list[ServerProcess]:
        started.extend(ServerProcess(**kwargs) for _ in range(count))
        return started[-count:]

    yield start
    for server in started:
        server.kill()


def write_jobs(tmp_path: Path, count: int, workflow: Path, audio: Path, first_workflow: Path | None = None) -> Path:
    """``count`` jobs ``j0..`` on ``workflow`` (``j0`` on ``first_workflow`` when given)."""
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(
        "".join(
            json.dumps({"id": f"j{i}", "audio": audio.name,
                        "workflow": (first_workflow if i == 0 and first_workflow else workflow).name, "seed": i})
            + "\n"
            for i in range(count)
        ),
        encoding="utf-8",
    )
    return jobs


def batch_args(jobs: Path, pool: list, out: Path, db: Path, *extra: str) -> list[str]:
    """``render --batch`` on ``pool`` with a fast poll, then ``extra``."""
    return ["render", "--batch", str(jobs), "--servers", ",".join(s.url for s in pool), "--out", str(out),
            "--db", str(db), "--poll", "0.1", *extra]


def job_rows(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "SELECT job_key, status, server, created_at, finished_at FROM runs ORDER BY created_at"
        ).fetchall()


def test_batch_runs_concurrently_and_survives_a_killed_server(ray_session, servers, tmp_path, capsys):
    pool = servers(3, pass_seconds=0.25)
    audio = write_wav(tmp_path / "song.wav")
    workflow = write_workflow(tmp_path, make_graph(steps=2, passes=4))  # about 1 s per job
    jobs = write_jobs(tmp_path, 6, workflow, audio)
    db = tmp_path / "runs.duckdb"
    victim = pool[1]

    def kill_when_busy():
        end = time.monotonic() + 60
        while time.monotonic() < end and not victim.running():
            time.sleep(0.05)
        time.sleep(0.2)
        victim.kill()

    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    code = main(batch_args(jobs, pool, tmp_path / "out", db, "--retries", "2"))
    killer.join()
    out = capsys.readouterr()
    assert code == 0, out
    rows = job_rows(db)
    successes = [r for r in rows if r[1] == "success"]
    assert sorted(r[0] for r in successes) == [f"j{i}" for i in range(6)]  # every job done exactly once
    failed = [r for r in rows if r[1] != "success"]
    assert failed and all(r[1] == "failed" and r[2] == victim.url for r in failed)
    for key, *_ in failed:  # the job lost with the server finished on another one
        assert next(r[2] for r in successes if r[0] == key) != victim.url
    # concurrency: at some moment all three servers ran a job at once
    spans = [(r[3], r[4]) for r in rows]
    most = max(sum(1 for a, b in spans if a <= start < b) for start, _ in spans)
    assert most == 3
    assert "taken out of the pool" in out.err
    for key in (f"j{i}" for i in range(6)):
        assert (tmp_path / "out" / key / "vid" / "clip_00001.mp4").exists()


def test_validation_error_is_reported_once_and_not_retried(ray_session, servers, tmp_path, capsys):
    pool = servers(2, pass_seconds=0.0)
    audio = write_wav(tmp_path / "song.wav")
    good = write_workflow(tmp_path, make_graph(steps=1, passes=1, loop=False), "good.json")
    bad = write_workflow(tmp_path, make_graph(steps=0, passes=1, loop=False), "bad.json")
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(
        json.dumps({"id": "ok", "audio": audio.name, "workflow": good.name})
        + "\n"
        + json.dumps({"id": "broken", "audio": audio.name, "workflow": bad.name})
        + "\n",
        encoding="utf-8",
    )
    db = tmp_path / "runs.duckdb"
    code = main(batch_args(jobs, pool, tmp_path / "out", db))
    out = capsys.readouterr()
    assert code == 3
    rows = job_rows(db)
    assert sorted((r[0], r[1]) for r in rows) == [("broken", "invalid"), ("ok", "success")]
    assert out.out.count("node 10 (FakeSampler) input 'steps'") == 1
    assert "retrying" not in out.err


# Opt-in until a rare fault is understood: in about one full-suite run in eight, one server's held
# job left its queue before the driver was killed (seen live: one server still holding, the other
# idle), so the test waited for both and failed. It passes alone and under load. Run it with
# LTX_AUDIOLOOP_RAY_KILL_TEST=1.
@pytest.mark.skipif(not os.environ.get("LTX_AUDIOLOOP_RAY_KILL_TEST"),
                    reason="set LTX_AUDIOLOOP_RAY_KILL_TEST=1: rare unexplained fault under the full suite")
def test_batch_resumes_after_the_driver_is_killed(ray_session, servers, tmp_path):
    """j0 renders; j1.. hold on their server until the test releases them, so the driver is
    killed with exactly two jobs in flight however slow the machine is."""
    pool = servers(2, pass_seconds=0.1)
    audio = write_wav(tmp_path / "song.wav")
    quick = write_workflow(tmp_path, make_graph(steps=1, passes=2), "quick.json")
    hold = write_workflow(tmp_path, make_graph(steps=1, passes=1, mode="hold"), "hold.json")
    jobs = write_jobs(tmp_path, 5, hold, audio, first_workflow=quick)
    db = tmp_path / "runs.duckdb"
    out = tmp_path / "out"
    args = batch_args(jobs, pool, out, db, "--ray-address", ray_session.get_runtime_context().gcs_address)
    driver = subprocess.Popen(
        [sys.executable, "-m", "ltx_audioloop", *args],
        env=_env(),
        cwd=ROOT.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: (out / "j0" / "vid" / "clip_00001.mp4").exists(), driver, "j0's output")
        wait_until(lambda: all(s.running() for s in pool), driver, "a held job on both servers")
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait(30)
    before = {r[0]: r[1] for r in read_rows_when_unlocked(db)}
    assert before == {"j0": "success", "j1": "running", "j2": "running"}  # killed with two jobs in flight
    for server in pool:  # the held jobs finish on their servers while no driver watches
        ComfyTransport(server.url, attempts=1).request("POST", "/test/release")
    assert main(args[:-2]) == 0  # resumed with a local session (the test's own)
    rows = job_rows(db)
    successes = sorted(r[0] for r in rows if r[1] == "success")
    assert successes == [f"j{i}" for i in range(5)]  # nothing redone: one success row per job
    assert len(rows) == 5
    for key in ("j1", "j2"):  # finished while the driver was away: outputs fetched on resume
        assert (out / key / "vid" / "clip_00001.mp4").exists()


def wait_until(condition, driver: subprocess.Popen, what: str, seconds: float = 300) -> None:
    """Poll ``condition`` until true; fail naming ``what`` if the driver exits or time runs out."""
    end = time.monotonic() + seconds
    while not condition():
        if driver.poll() is not None:
            pytest.fail(f"the driver exited ({driver.returncode}) before {what}: {driver.stderr.read().decode()}")
        if time.monotonic() > end:
            pytest.fail(f"no {what} within {seconds:g} s")
        time.sleep(0.05)


def read_rows_when_unlocked(db: Path, seconds: float = 60) -> list[tuple]:
    """``job_rows`` once the killed driver's tracker actor (reaped by Ray) has let go of the file."""
    end = time.monotonic() + seconds
    while True:
        try:
            return job_rows(db)
        except duckdb.IOException:
            if time.monotonic() > end:
                raise
            time.sleep(0.2)


def test_servers_option_is_checked_before_ray_starts(tmp_path, capsys):
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text('{"audio": "a.wav", "workflow": "w.json"}\n', encoding="utf-8")
    assert main(["render", "--batch", str(jobs), "--servers", "ftp://x,", "--no-track"]) == 2
    assert "not an http(s) URL" in capsys.readouterr().err
    listing = tmp_path / "servers.txt"
    listing.write_text("# pool\nhttp://a:1\n127.0.0.1:2  # second\n", encoding="utf-8")
    from ltx_audioloop.tools.cluster.pool import read_servers

    assert read_servers(str(listing)) == ["http://a:1", "http://127.0.0.1:2"]
    with pytest.raises(ValueError, match="twice"):
        read_servers("http://a:1,http://a:1")


def test_comfy_server_actor_owns_its_process_and_is_discovered(ray_session, tmp_path):
    from ltx_audioloop.tools.cluster.comfy_server import discover_servers, start_servers, stop_servers

    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from tests.support.fake_comfy import serve_forever; "
        "serve_forever(int(sys.argv[2]), 0.0)"
    )
    urls = start_servers(
        str(ROOT),
        1,
        gpus_per_server=0,
        num_cpus_per_server=0,
        host="127.0.0.1",
        command=[sys.executable, "-c", code, str(ROOT), "{port}"],
        start_timeout_s=60,
    )
    try:
        assert discover_servers(None) == urls
        assert ComfyTransport(urls[0], attempts=1).request("GET", "/queue").status_code == 200
    finally:
        assert stop_servers(None) == 1
    assert discover_servers(None) == []


def test_segments_render_on_the_pool(ray_session, servers, tmp_path, capsys):
    import av

    pool = servers(2, pass_seconds=0.0, real_video=True)
    audio = write_wav(tmp_path / "song.wav", seconds=4.0)
    workflow = write_workflow(tmp_path, make_graph(steps=1, passes=1, loop=False))
    out = tmp_path / "out"
    assert (
        main(
            [
                "render",
                str(audio),
                "--workflow",
                str(workflow),
                "--servers",
                ",".join(s.url for s in pool),
                "--out",
                str(out),
                "--segments",
                "2",
                "--window",
                "1",
                "--overlap",
                "0.3",
                "--crossfade",
                "2",
                "--no-analyze",
                "--poll",
                "0.05",
                "--db",
                str(tmp_path / "runs.duckdb"),
            ]
        )
        == 0
    ), capsys.readouterr()
    with av.open(str(out / "joined.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 100  # 4 s at 25 fps, crossfade included
    servers_used = {line.split(" on ")[1] for line in capsys.readouterr().out.splitlines() if ": success on " in line}
    assert servers_used == {s.url for s in pool}  # both segments at once, one per server
