"""Whole-process cost of plan, analyze and preprocess on long tracks, against a bare torch process.

    python bench/long_audio.py [--minutes 60] [--predecessor PATH/analyze_audio_features.py] [--no-clicks]

Each figure is a fresh Python process (``/usr/bin/time``-style: wall seconds and peak RSS from
``resource.getrusage(RUSAGE_CHILDREN)``); the baseline is ``import torch, torchaudio`` alone, and
every line prints its cost above that baseline. The tracks are synthesised with FFmpeg and written
as 16-bit stereo 44.1 kHz WAV: a 220 Hz tone plus noise (the limiter never acts on it), and for
``preprocess`` also "clicks": 0.5 ms clicks at 0.8-0.9 twice a second over quiet tones, where the
limiter has to work for the loudness (its secant rounds decode the file again). ``preprocess`` runs
on the short and the long track and is compared with FFmpeg's chain (``highpass``, four
``equalizer``, ``loudnorm=I=-16:TP=-2``) on the same file; each output's loudness and true peak are
then measured independently by FFmpeg's ``ebur128`` filter and, when installed, pyloudnorm (with
our 4x true peak), next to the target. Without FFmpeg those rows are skipped with a message. With
``--predecessor`` the predecessor's analyzer runs on the same file and the time ratio is printed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
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


def write_clicks(path: Path, minutes: float) -> None:
    """Peaky material: clicks of 0.5 ms (0.9 left, 0.8 right, a quarter second apart) over 220/330 Hz tones."""
    expression = ("0.9*lt(mod(t\\,0.5)\\,0.0005)+0.03*sin(2*PI*220*t)|"
                  "0.8*lt(mod(t+0.25\\,0.5)\\,0.0005)+0.03*sin(2*PI*330*t)")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"aevalsrc={expression}:s=44100:d={minutes * 60}", "-c:a", "pcm_s16le", str(path)], check=True)


def ebur128(path: Path) -> tuple[float, float]:
    """``(integrated LUFS, true peak dBTP)`` of a file by FFmpeg's ``ebur128=peak=true`` (its Summary)."""
    out = subprocess.run(["ffmpeg", "-nostats", "-i", str(path), "-filter_complex", "ebur128=peak=true", "-f", "null",
                          "-"], capture_output=True, text=True, check=True).stderr
    summary = out[out.rindex("Summary:"):]
    loudness = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    if not loudness or not peak:
        raise SystemExit(f"cannot read ebur128's summary of {path}:\n{summary}")
    return float(loudness.group(1)), float(peak.group(1))


def pyloudnorm_check(path: Path, env: dict) -> str:
    """pyloudnorm's integrated loudness and our 4x true peak of a file, in a child process (the
    whole file is loaded there, not in this one)."""
    code = ("import sys, pyloudnorm; from ltx_audioloop.audio.files import load_audio; "
            "from ltx_audioloop.audio.loudness import true_peak_db; a = load_audio(sys.argv[1]); "
            "w = a['waveform']; print(pyloudnorm.Meter(a['sample_rate']).integrated_loudness(w[0].numpy().T), "
            "float(true_peak_db(w, a['sample_rate'])[0]))")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env)
    if out.returncode:
        return "pyloudnorm not run (" + (out.stderr.strip().splitlines() or ["?"])[-1] + ")"
    lufs, peak = (float(v) for v in out.stdout.split())
    return f"pyloudnorm {lufs:.2f} LUFS, 4x true peak {peak:.2f} dBTP"


FFMPEG_CHAIN = ("highpass=f=80,equalizer=f=200:t=q:w=1:g=-3,equalizer=f=400:t=q:w=1:g=-2,"
                "equalizer=f=3000:t=q:w=1:g=4,equalizer=f=6500:t=q:w=1:g=3,loudnorm=I=-16:TP=-2")


def preprocess_rows(tracks: dict, folder: Path, env: dict, base: tuple[float, float], have_ffmpeg: bool) -> None:
    """``preprocess`` on each ``{label: (path, minutes)}``, FFmpeg's chain on the same file, and the
    outputs measured by ebur128 and pyloudnorm against the target (-16 LUFS, -2 dBTP)."""
    cli = [sys.executable, "-m", "ltx_audioloop"]
    for label, (path, minutes) in tracks.items():
        out = folder / f"pre_{label.replace(' ', '_')}.wav"
        wall, rss = run(cli + ["preprocess", str(path), str(out), "--quiet"], env)
        print(f"preprocess {label:<15} {minutes:4g} min: {wall:7.2f} s, {rss:6.0f} MiB peak; above baseline "
              f"{wall - base[0]:+7.2f} s, {rss - base[1]:+6.0f} MiB (load {os.getloadavg()[0]:.2f})")
        if not have_ffmpeg:
            print("  ffmpeg chain and ebur128 check skipped: ffmpeg not found on PATH (apt-get install ffmpeg)")
            continue
        ff_wall, ff_rss = run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(path), "-af", FFMPEG_CHAIN,
                               str(folder / "ff.wav")], env)
        print(f"  ffmpeg chain: {ff_wall:7.2f} s, {ff_rss:.0f} MiB peak; preprocess / ffmpeg time "
              f"{wall / ff_wall:.2f}x (load {os.getloadavg()[0]:.2f})")
        lufs, peak = ebur128(out)
        ff_lufs, ff_peak = ebur128(folder / "ff.wav")
        print(f"  output, target -16 LUFS / -2 dBTP: ebur128 {lufs:.1f} LUFS, {peak:.1f} dBTP; "
              f"{pyloudnorm_check(out, env)}; ffmpeg chain's output by ebur128 {ff_lufs:.1f} LUFS, {ff_peak:.1f} dBTP")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--short-minutes", type=float, default=3.0)
    parser.add_argument("--predecessor", type=Path, help="the predecessor's scripts/analyze_audio_features.py")
    parser.add_argument("--predecessor-python", help="Python with librosa for the predecessor (default: this one)")
    parser.add_argument("--track", type=Path, help="use this long file instead of synthesising one")
    parser.add_argument("--no-clicks", action="store_true", help="skip preprocess on the peaky 'clicks' tracks")
    parser.add_argument("--preprocess-only", action="store_true", help="only the baseline and the preprocess rows")
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
        rows = [] if args.preprocess_only else [
            ("plan", "long", cli + ["plan", str(long_path)]),
            ("analyze", "long", cli + ["analyze", str(long_path), "--quiet"]),
            ("analyze", "short", cli + ["analyze", str(short_path), "--quiet"]),
        ]
        results = {}
        for name, which, command in rows:
            wall, rss = run(command, env)
            results[(name, which)] = wall
            minutes = args.minutes if which == "long" else args.short_minutes
            print(f"{name:<10} {minutes:5.0f} min: {wall:6.2f} s, {rss:6.0f} MiB peak; above baseline "
                  f"{wall - base_wall:+6.2f} s, {rss - base_rss:+6.0f} MiB (load {os.getloadavg()[0]:.2f})")
        try:
            if args.preprocess_only:
                raise OSError("--preprocess-only")
            wall, rss = run(["ffprobe", "-loglevel", "error", "-show_entries", "stream=duration,sample_rate,channels",
                             str(long_path)], env)
            print(f"ffprobe    {args.minutes:5.0f} min: {wall:6.2f} s, {rss:6.0f} MiB peak; plan / ffprobe time "
                  f"{results[('plan', 'long')] / wall:.1f}x (load {os.getloadavg()[0]:.2f})")
        except (OSError, SystemExit) as err:
            print(f"ffprobe not run: {err}")
        have_ffmpeg = shutil.which("ffmpeg") is not None
        tracks = {"tone+noise": (short_path, args.short_minutes)}
        tracks["tone+noise long"] = (long_path, args.minutes)
        if not args.no_clicks and have_ffmpeg:
            for which, minutes in (("clicks", args.short_minutes), ("clicks long", args.minutes)):
                write_clicks(Path(folder) / f"{which.replace(' ', '_')}.wav", minutes)
                tracks[which] = (Path(folder) / f"{which.replace(' ', '_')}.wav", minutes)
        preprocess_rows(tracks, Path(folder), env, (base_wall, base_rss), have_ffmpeg)
        if args.predecessor and not args.preprocess_only:
            predecessor_python = args.predecessor_python or py
            wall, rss = run([predecessor_python, str(args.predecessor), str(long_path)], env)
            print(f"predecessor analyzer {args.minutes:.0f} min: {wall:.1f} s, {rss:.0f} MiB peak; ours / theirs "
                  f"time {results[('analyze', 'long')] / wall:.3f}x (load {os.getloadavg()[0]:.2f})")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
