"""Time the track analysis on a synthesised 3-minute stereo 44.1 kHz song, stage by stage.

    python bench/analyze.py              # warm and first-run (fresh process) timings
    python bench/analyze.py --librosa    # also a straightforward librosa pipeline, and a comparison

Prints:

* warm: the analysis run repeatedly in one process (imports and caches already loaded), median
  seconds per stage over ``--repeats`` runs;
* first run: a fresh Python process that imports the package, reads the WAV and analyses it
  (wall seconds: interpreter start, imports, file decode, analysis);
* with ``--librosa`` (needs ``pip install librosa``): the same questions answered the usual way
  with librosa at 22.05 kHz - ``beat_track``, ``pyin`` over the whole track, an STFT for the band
  levels, RMS, MFCC + agglomerative segmentation - warm, and as a first run both with librosa's
  numba cache in place and with an empty one (``NUMBA_CACHE_DIR`` pointed at a new folder: what a
  fresh install pays), then how close the two pipelines' answers are.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
RATE = 44_100
SECONDS = 180.0
BPM = 96.0


def synthesise(seconds: float = SECONDS, rate: int = RATE) -> dict:
    """A stereo song: kick and hi-hat at 96 BPM, bass, a sung harmonic line with vibrato in the
    verses and choruses (louder choruses), a quiet intro, a break and a fade-out."""
    rng = np.random.default_rng(2024)
    t = np.arange(int(seconds * rate)) / rate
    beat = 60.0 / BPM
    level = np.interp(t, [0, 15, 15.5, 60, 60.5, 90, 90.5, 105, 105.5, 150, 150.5, 170, 180],
                      [0.25, 0.25, 0.6, 0.6, 1.0, 1.0, 0.15, 0.15, 0.6, 0.6, 1.0, 1.0, 0.05])
    sung = ((t > 15) & (t < 90)) | ((t > 105) & (t < 172))
    kick = np.exp(-np.mod(t, beat) * 22) * np.sin(2 * math.pi * 52 * t)
    hat_env = np.exp(-np.mod(t + beat / 2, beat) * 60)
    hat = np.diff(rng.standard_normal(len(t) + 1)) * 0.5 * hat_env
    roots = np.array([98.0, 82.4, 110.0, 73.4])
    bass = 0.5 * np.sin(2 * math.pi * roots[(t // (4 * beat)).astype(int) % 4] * t)
    notes = 196.0 * 2 ** (np.array([0, 2, 4, 7, 9, 7, 4, 2]) / 12)
    f0 = notes[(t // (2 * beat)).astype(int) % len(notes)] * (1 + 0.01 * np.sin(2 * math.pi * 5.5 * t))
    phase = 2 * math.pi * np.cumsum(f0) / rate
    voice = sum(np.sin(k * phase) / k ** 1.2 for k in range(1, 16)) * sung
    syllables = 0.55 + 0.45 * np.sin(2 * math.pi * 4 * t) ** 2
    mono = level * (0.45 * kick + 0.12 * hat + 0.08 * bass + 0.3 * voice * syllables)
    left, right = mono + 0.004 * rng.standard_normal(len(t)), np.roll(mono, 40) + 0.004 * rng.standard_normal(len(t))
    wave = np.stack([left, right])
    wave *= 0.9 / np.abs(wave).max()
    return {"waveform": torch.from_numpy(wave.astype(np.float32)).unsqueeze(0), "sample_rate": rate}


def warm(audio: dict, repeats: int):
    from ltx_audioloop.audio.analysis import analyse_track

    analyse_track(audio)  # warm-up: imports, filter banks, kernels
    runs = [analyse_track(audio) for _ in range(repeats)]
    stages = list(runs[0].timings)
    return runs[-1], {s: statistics.median(r.timings[s] for r in runs) for s in stages}


FIRST_RUN = """
import time, sys
t0 = time.perf_counter()
import torch
torch.set_num_threads(int(sys.argv[2]))
from ltx_audioloop.audio.files import load_audio
from ltx_audioloop.audio.analysis import analyse_track
t1 = time.perf_counter()
audio = load_audio(sys.argv[1])
t2 = time.perf_counter()
result = analyse_track(audio)
t3 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f} {t3 - t2:.3f} " + " ".join(f"{k}={v:.3f}" for k, v in result.timings.items()))
"""


def first_run(path: Path, env: dict | None = None, threads: int = 1) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", FIRST_RUN, str(path), str(threads)], capture_output=True, text=True,
                         env=env, check=True)
    return time.perf_counter() - start, out.stdout.strip()


LIBROSA = """
import time, sys, json
t0 = time.perf_counter()
import numpy as np, librosa
from ltx_audioloop.audio.files import load_audio
audio = load_audio(sys.argv[1])
y = librosa.to_mono(audio["waveform"][0].numpy())
times = {}
def lap(name, start):
    times[name] = time.perf_counter() - start
    return time.perf_counter()
c = time.perf_counter()
y = librosa.resample(y, orig_sr=audio["sample_rate"], target_sr=22050); sr = 22050
c = lap("resample", c)
tempo, beats = librosa.beat.beat_track(y=y, sr=sr, units="time")
c = lap("beat_track", c)
f0, voiced, prob = librosa.pyin(y, fmin=65, fmax=1100, sr=sr)
c = lap("pyin", c)
S = np.abs(librosa.stft(y)) ** 2
freqs = librosa.fft_frequencies(sr=sr)
bands = {name: float(10 * np.log10(S[(freqs >= lo) & (freqs < hi)].sum(axis=0).mean() + 1e-20))
         for name, (lo, hi) in {"bass": (60, 300), "body": (300, 800), "mid": (800, 2000),
                                "presence": (2000, 4000), "sibilance": (4000, 8000)}.items()}
c = lap("stft_bands", c)
rms = librosa.feature.rms(y=y)[0]
c = lap("rms", c)
mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20)
bounds = librosa.segment.agglomerative(mfcc, 8)
section_times = librosa.frames_to_time(bounds, sr=sr).tolist()
c = lap("segments", c)
times["total"] = sum(v for k, v in times.items())
pitches = f0[voiced] if voiced is not None else np.array([])
print(json.dumps({"import_and_load": time.perf_counter() - t0 - times["total"], "times": times,
                  "tempo": float(np.atleast_1d(tempo)[0]), "beats": [float(b) for b in beats],
                  "voiced_fraction": float(np.mean(voiced)),
                  "pitch": [float(np.percentile(pitches, q)) for q in (5, 50, 95)] if len(pitches) else None,
                  "bands": bands, "sections": section_times}))
"""


def run_librosa(path: Path, env: dict | None = None) -> tuple[float, dict]:
    import json

    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", LIBROSA, str(path)], capture_output=True, text=True, env=env,
                         check=True)
    return time.perf_counter() - start, json.loads(out.stdout.strip().splitlines()[-1])


def beat_f_measure(ours: list[float], theirs: list[float], tolerance: float = 0.07) -> float:
    if not ours or not theirs:
        return 0.0
    a, b = np.array(ours), np.array(theirs)
    hits = sum(np.min(np.abs(b - t)) <= tolerance for t in a)
    precision, recall = hits / len(a), hits / len(b)
    return 0.0 if hits == 0 else 2 * precision * recall / (precision + recall)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (default 1, as the CLI's analyze uses)")
    parser.add_argument("--librosa", action="store_true",
                        help="also run and compare a straightforward librosa pipeline")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT.parent))
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", str(ROOT.parent))

    from ltx_audioloop.audio.loudness import integrated_loudness
    from ltx_audioloop.audio.save import save_audio

    torch.set_num_threads(args.threads)

    print(f"machine: {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.2f}, torch threads "
          f"{torch.get_num_threads()}")
    audio = synthesise()
    print(f"track: {SECONDS:.0f} s stereo {RATE} Hz synthesised song at {BPM:g} BPM")
    result, stages = warm(audio, args.repeats)
    print(f"\nwarm analysis, median of {args.repeats} runs (s):")
    for stage, seconds in stages.items():
        print(f"  {stage:<12} {seconds:7.3f}")
    reference = float(integrated_loudness(audio["waveform"], RATE)[0])
    print(
        f"  -> tempo {result.rhythm.tempo_bpm:.2f} BPM ({len(result.rhythm.beats)} beats), voice "
        f"{100 * result.voice.fraction:.0f}%, pitch "
        f"{result.voice.pitch_low_hz:.0f}-{result.voice.pitch_high_hz:.0f} Hz, "
        f"{len(result.sections)} sections, {result.loudness_lufs:.2f} LUFS (torchaudio on the full-rate "
        f"signal: {reference:.2f}), true peak {result.true_peak_db:.2f} dBTP"
    )

    with tempfile.TemporaryDirectory() as folder:
        path = save_audio(audio, Path(folder) / "song.wav")
        wall, detail = first_run(path, env, args.threads)
        imports, load, analysis, *stage_text = detail.split()
        print(
            f"\nfirst run (fresh process): {wall:.2f} s wall = interpreter + imports {float(imports):.2f} s + "
            f"decode {float(load):.2f} s + analysis {float(analysis):.2f} s (" + ", ".join(stage_text) + ")"
        )
        if args.librosa:
            try:
                import librosa  # noqa: F401
            except ImportError:
                print("\nlibrosa is not installed: pip install librosa (or the 'bench' extra)")
                return 0
            wall_lr, lr = run_librosa(path, env)
            print(
                "\nlibrosa pipeline, first run with its numba cache in place (s): "
                + ", ".join(f"{k} {v:.2f}" for k, v in lr["times"].items())
                + f"; wall {wall_lr:.2f}"
            )
            empty = dict(env, NUMBA_CACHE_DIR=str(Path(folder) / "numba-cache"))
            wall_cold, cold = run_librosa(path, empty)
            print(
                "librosa pipeline, first run with an empty numba cache (s): "
                + ", ".join(f"{k} {v:.2f}" for k, v in cold["times"].items())
                + f"; wall {wall_cold:.2f}"
            )
            ours_total = stages["total"]
            print(
                f"\nspeed: ours {ours_total:.2f} s warm vs librosa {lr['times']['total']:.2f} s "
                f"({lr['times']['total'] / ours_total:.1f}x); first run {wall:.1f} s vs {wall_lr:.1f} s "
                f"(cached numba) / {wall_cold:.1f} s (empty cache)"
            )
            print("agreement:")
            print(f"  tempo: ours {result.rhythm.tempo_bpm:.2f} BPM, librosa {lr['tempo']:.2f} BPM, truth {BPM:g}")
            print(
                f"  beats: F-measure (70 ms) ours vs librosa {beat_f_measure(result.rhythm.beats, lr['beats']):.3f}; "
                f"ours vs the kicks {beat_f_measure(result.rhythm.beats, _true_beats(0.0)):.3f}, vs the off-beat "
                f"hi-hats {beat_f_measure(result.rhythm.beats, _true_beats(0.5)):.3f}; librosa vs the kicks "
                f"{beat_f_measure(lr['beats'], _true_beats(0.0)):.3f}, vs the hi-hats "
                f"{beat_f_measure(lr['beats'], _true_beats(0.5)):.3f}"
            )
            if lr["pitch"]:
                print(
                    f"  pitch 5/50/95%: ours {result.voice.pitch_low_hz:.0f}/{result.voice.pitch_median_hz:.0f}/"
                    f"{result.voice.pitch_high_hz:.0f} Hz, pyin {lr['pitch'][0]:.0f}/{lr['pitch'][1]:.0f}/"
                    f"{lr['pitch'][2]:.0f} Hz; voiced ours {100 * result.voice.fraction:.0f}%, pyin "
                    f"{100 * lr['voiced_fraction']:.0f}% (truth {100 * (75 + 67) / 180:.0f}%)"
                )
            ours_bands = result.bands.relative()
            top = max(lr["bands"].values())
            print(
                "  bands rel. to loudest, ours / librosa (dB): "
                + ", ".join(
                    f"{name.split()[0]} {ours_bands[name]:.1f}/{lr['bands'][name.split()[0]] - top:.1f}"
                    for name in ours_bands
                )
            )
            ours_bounds = [round(s.start, 1) for s in result.sections[1:]]
            print(
                f"  section starts: ours {ours_bounds}; librosa agglomerative "
                f"{[round(t, 1) for t in lr['sections'][1:]]}; truth [15, 60, 90, 105, 150, 170]"
            )
    return 0


def _true_beats(phase: float) -> list[float]:
    """The synthesised grid: kicks at ``k * 60 / BPM`` (phase 0), hi-hats half a beat later (0.5)."""
    period = 60.0 / BPM
    return list(np.arange(phase * period, SECONDS, period))


if __name__ == "__main__":
    sys.exit(main())
