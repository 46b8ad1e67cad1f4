"""Speed-up of batches and segments over 1, 2, 4, 8 simulated ComfyUI servers, and the Ray layer's
per-job overhead.

Servers: the render client's test server (tests/test_render_client.py) in its own process, one
prompt at a time, each pass (initial render or loop iteration) taking ``--pass-seconds``.

* batch: ``4 N`` jobs of ``--passes`` passes on ``N`` servers; speed-up = ``4 N t_1 / T_N`` with
  ``t_1`` the per-job time of the one-server batch (target >= 0.9 N).
* segments: a ``--track``-second track at the default geometry (``loop/geometry.py``'s
  ``DEFAULT_GEOMETRY``: window, overlap and fps defaults) split in ``N`` segments on ``N`` servers,
  each segment job running as many passes as its own loop render; speed-up = unsplit passes /
  longest segment's passes (the bound) and the measured ``T_unsplit / T_N``.
* overhead: ``--jobs`` jobs of one instant pass on one server through the pool against the same
  jobs through the plain one-server batch: ``(T_pool - T_direct) / jobs`` (target < 50 ms).

Run: PYTHONPATH=<parent of the package> .venv/bin/python bench/cluster.py [--pass-seconds 0.5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def start_servers(count: int, pass_seconds: float) -> list[subprocess.Popen]:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from tests.support.fake_comfy import serve_forever; "
        f"serve_forever(0, {pass_seconds!r})"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(ROOT)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
        for _ in range(count)
    ]
    for proc in procs:
        proc.url = f"http://127.0.0.1:{int(proc.stdout.readline().split()[1])}"
    return procs


def stop(procs) -> None:
    for proc in procs:
        proc.kill()
        proc.wait()


def make_jobs(folder: Path, passes: list[int]):
    from ltx_audioloop.tools.render.client import RenderJob
    from tests.conftest import write_wav
    from tests.support.fake_comfy import make_graph, write_workflow

    audio = write_wav(folder / "song.wav")
    jobs = []
    for index, count in enumerate(passes):
        workflow = write_workflow(folder, make_graph(steps=1, passes=count), f"wf{index}.json")
        jobs.append(
            (f"job{index}", RenderJob(audio=str(audio), workflow=str(workflow), seed=index, name=f"job{index}"))
        )
    return jobs


def timed_pool(urls, jobs, folder: Path) -> float:
    from ltx_audioloop.tools.cluster.pool import ServerPool

    pool = ServerPool(urls, track=False, poll_s=0.05)
    try:
        pool.ray.get([worker.answers.remote() for worker in pool.workers.values()])  # worker processes up
        with open(os.devnull, "w") as sink:
            started = time.perf_counter()
            summary = pool.run(jobs, folder / f"out{time.monotonic_ns()}", None, sink)
            elapsed = time.perf_counter() - started
    finally:
        pool.close()
    assert all(item["status"] == "success" for item in summary), summary
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pass-seconds", type=float, default=0.5)
    parser.add_argument("--passes", type=int, default=4)
    parser.add_argument("--servers", default="1,2,4,8")
    parser.add_argument("--track", type=float, default=600.0)
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--num-cpus", type=int, default=2)
    args = parser.parse_args()
    import ray

    from ltx_audioloop.loop.geometry import DEFAULT_GEOMETRY, plan_loop
    from ltx_audioloop.tools.cluster.ray_setup import connect
    from ltx_audioloop.tools.render.batch import run_batch
    from ltx_audioloop.tools.render.segments import plan_segments
    from ltx_audioloop.tools.render.transport import ComfyTransport
    from ltx_audioloop.tools.runs.tracker import GuardedTracker

    counts = [int(n) for n in args.servers.split(",")]
    connect(None, args.num_cpus)
    results = {"pass_seconds": args.pass_seconds, "batch": [], "segments": [], "cpus": os.cpu_count()}
    geometry = DEFAULT_GEOMETRY
    whole = plan_loop(args.track, geometry).loop_iterations + 1
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        procs = start_servers(max(counts), args.pass_seconds)
        urls = [p.url for p in procs]
        try:
            per_job = None
            for n in counts:
                jobs = make_jobs(folder, [args.passes] * 4 * n)
                elapsed = timed_pool(urls[:n], jobs, folder)
                per_job = per_job or elapsed / len(jobs)
                row = {
                    "servers": n,
                    "jobs": len(jobs),
                    "seconds": round(elapsed, 2),
                    "speedup": round(len(jobs) * per_job / elapsed, 2),
                }
                results["batch"].append(row)
                print(
                    f"batch    {n} servers: {len(jobs):3d} jobs in {elapsed:6.2f} s  speed-up {row['speedup']:.2f}"
                    f"  (ideal {n})",
                    flush=True,
                )
            unsplit = timed_pool(urls[:1], make_jobs(folder, [whole]), folder)
            for n in counts:
                segments = plan_segments(args.track, geometry, n)
                passes = [plan_loop(s.render_seconds, geometry).loop_iterations + 1 for s in segments]
                elapsed = timed_pool(urls[:n], make_jobs(folder, passes), folder)
                row = {
                    "segments": n,
                    "passes": passes,
                    "seconds": round(elapsed, 2),
                    "speedup": round(unsplit / elapsed, 2),
                    "bound": round(whole / max(passes), 2),
                }
                results["segments"].append(row)
                print(
                    f"segments {n} servers: passes {passes}  {elapsed:6.2f} s  speed-up {row['speedup']:.2f}"
                    f"  (bound {row['bound']:.2f}: {whole} passes / longest {max(passes)})",
                    flush=True,
                )
        finally:
            stop(procs)
        procs = start_servers(1, 0.0)
        try:
            jobs = make_jobs(folder, [1] * args.jobs)
            started = time.perf_counter()
            with open(os.devnull, "w") as sink:
                run_batch(
                    ComfyTransport(procs[0].url),
                    jobs,
                    folder / "direct",
                    GuardedTracker(enabled=False),
                    None,
                    progress_stream=sink,
                    poll_s=0.05,
                )
            direct = time.perf_counter() - started
            pooled = timed_pool([procs[0].url], jobs, folder)
        finally:
            stop(procs)
        overhead = (pooled - direct) / args.jobs
        results["overhead_ms_per_job"] = round(overhead * 1000, 1)
        print(
            f"overhead: {args.jobs} instant jobs direct {direct:.2f} s, through Ray {pooled:.2f} s: "
            f"{overhead * 1000:.1f} ms per job",
            flush=True,
        )
    print(json.dumps(results))
    ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
