"""Whole-process cost of plan, analyze and preprocess on long tracks, against a bare torch process.

    python bench/long_audio.py [--minutes 60] [--predecessor PATH/analyze_audio_features.py]

Each figure is a fresh Python process (``/usr/bin/time``-style: wall seconds and peak RSS from
``resource.getrusage(RUSAGE_CHILDREN)``); the baseline is ``import torch, torchaudio`` alone, and
every line prints its cost above that baseline. The track is synthesised (a pad, a kick at 120 BPM,
noise) and written as 16-bit stereo 44.1 kHz WAV. With ``--predecessor`` the predecessor's
analyzer runs on the same file and the time ratio is printed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(args: list[str], env: dict) -> tuple[float, float]:
    """``(wall seconds, peak RSS MiB)`` of one child process."""
    code = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
            "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE); "
            "w = time.perf_counter() - t; r = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; "
            "print(w, r / 1024, p.returncode); sys.stderr.write(p.stderr.decode()[-400:])")
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=True)
    wall, rss, rc = out.stdout.split()
    if rc != "0":
        raise SystemExit(f"{args} failed: {out.stderr}")
    return float(wall), float(rss)


def write_track(path: Path, minutes: float) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=f=220:d={minutes * 60}:r=44100", "-f", "lavfi", "-i",
                    f"anoisesrc=d={minutes * 60}:a=0.05:r=44100", "-filter_complex",
                    "[0][1]amix=inputs=2,volume=1.5,aformat=channel_layouts=stereo", "-c:a", "pcm_s16le", str(path)],
                   check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--short-minutes", type=float, default=3.0)
    parser.add_argument("--predecessor", type=Path, help="the predecessor's scripts/analyze_audio_features.py")
    parser.add_argument("--predecessor-python", help="Python with librosa for the predecessor (default: this one)")
    parser.add_argument("--track", type=Path, help="use this long file instead of synthesising one")
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT.parent) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    py = sys.executable
    print(f"machine: {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as folder:
        long_path = args.track or Path(folder) / "long.wav"
        if not args.track:
            write_track(long_path, args.minutes)
        short_path = Path(folder) / "short.wav"
        write_track(short_path, args.short_minutes)
        base_wall, base_rss = run([py, "-c", "import torch, torchaudio"], env)
        print(f"baseline `import torch, torchaudio`: {base_wall:.2f} s, {base_rss:.0f} MiB peak")
        cli = [py, "-m", "ltx_audioloop"]
        rows = [
            ("plan", "long", cli + ["plan", str(long_path)]),
            ("analyze", "long", cli + ["analyze", str(long_path), "--quiet"]),
            ("analyze", "short", cli + ["analyze", str(short_path), "--quiet"]),
            ("preprocess", "short", cli + ["preprocess", str(short_path), str(Path(folder) / "out.wav"), "--quiet"]),
        ]
        results = {}
        for name, which, command in rows:
            wall, rss = run(command, env)
            results[(name, which)] = wall
            minutes = args.minutes if which == "long" else args.short_minutes
            print(f"{name:<10} {minutes:5.0f} min: {wall:6.2f} s, {rss:6.0f} MiB peak; above baseline "
                  f"{wall - base_wall:+6.2f} s, {rss - base_rss:+6.0f} MiB (load {os.getloadavg()[0]:.2f})")
        try:
            wall, rss = run(["ffprobe", "-loglevel", "error", "-show_entries", "stream=duration,sample_rate,channels",
                             str(long_path)], env)
            print(f"ffprobe    {args.minutes:5.0f} min: {wall:6.2f} s, {rss:6.0f} MiB peak; plan / ffprobe time "
                  f"{results[('plan', 'long')] / wall:.1f}x (load {os.getloadavg()[0]:.2f})")
        except (OSError, SystemExit) as err:
            print(f"ffprobe not run: {err}")
        try:
            chain = "highpass=f=80,equalizer=f=200:t=q:w=1:g=-3,equalizer=f=400:t=q:w=1:g=-2," \
                    "equalizer=f=3000:t=q:w=1:g=4,equalizer=f=6500:t=q:w=1:g=3,loudnorm=I=-16:TP=-2"
            wall, rss = run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(short_path), "-af", chain,
                             str(Path(folder) / "ff.wav")], env)
            print(f"ffmpeg chain {args.short_minutes:.0f} min: {wall:.2f} s, {rss:.0f} MiB peak; preprocess / ffmpeg "
                  f"time {results[('preprocess', 'short')] / wall:.2f}x (load {os.getloadavg()[0]:.2f})")
        except (OSError, SystemExit) as err:
            print(f"ffmpeg chain not run: {err}")
        if args.predecessor:
            predecessor_python = args.predecessor_python or py
            wall, rss = run([predecessor_python, str(args.predecessor), str(long_path)], env)
            print(f"predecessor analyzer {args.minutes:.0f} min: {wall:.1f} s, {rss:.0f} MiB peak; ours / theirs "
                  f"time {results[('analyze', 'long')] / wall:.3f}x (load {os.getloadavg()[0]:.2f})")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
