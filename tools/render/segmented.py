"""``render AUDIO IMAGE --segments N``: one track rendered as N loop renders, then joined.

Steps: plan the cuts (:mod:`.segments`, with section boundaries and the loudness curve of
``analyze`` unless ``--no-analyze``); write each segment's audio slice (samples
``round(start sr / fps) .. round(render_end sr / fps)`` of the original, 16-bit WAV) and its
part of the schedule under ``OUT/segments/``; render the segments as a batch (on the pool of
``--servers`` with Ray, else one after another on ``--server``), resumable like any batch; keep
frames ``[0, render_end - start)`` of each segment's video and join them with ``assemble``
(optional crossfade), muxing the original audio once over the whole: ``OUT/joined.mp4``, exactly
``ceil(D fps)`` frames.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import wave
from fractions import Fraction
from pathlib import Path

import numpy as np

from ...safeio import atomic_output, confined_path
from .client import RenderJob

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm")


def cut_hints(audio: str) -> tuple[list[float], object]:
    """Section boundaries (s) and a quietness function from ``analyze``'s analysis of ``audio``."""
    from ...audio.analysis import analyse_file
    from .segments import quietness_from_levels

    analysis = analyse_file(audio)
    spec = analysis.spectrogram
    levels = 10 * np.log10(np.maximum(np.asarray(spec.mean_square, float), 1e-12))
    times = np.arange(len(levels)) * spec.frame_seconds
    return [s.start for s in analysis.sections[1:]], quietness_from_levels(times, levels)


def write_slice(track: np.ndarray, rate: int, first: int, last: int, path: Path) -> None:
    """Samples ``[first, last)`` of ``track`` (float, ``(channels, n)``) as a 16-bit WAV, atomically."""
    part = np.zeros((track.shape[0], last - first), np.float32)
    available = track[:, first:min(last, track.shape[1])]
    part[:, :available.shape[1]] = available
    pcm = (np.clip(part, -1.0, 1.0) * 32767).round().astype("<i2").T.copy()
    with atomic_output(path) as temporary:
        with wave.open(str(temporary), "wb") as handle:
            handle.setnchannels(track.shape[0])
            handle.setsampwidth(2)
            handle.setframerate(rate)
            handle.writeframes(pcm.tobytes())


def segment_video(job_dir: Path) -> Path | None:
    """The newest video file under a segment's download folder."""
    videos = [p for p in job_dir.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file()]
    return max(videos, key=lambda p: p.stat().st_mtime) if videos else None


def run_segmented(args: argparse.Namespace, servers: list[str] | None, transport) -> int:
    from ...audio.stream import probe_audio
    from ...loop.geometry import loop_geometry
    from ...loop.schedule import read_schedule_file
    from ..assembly.assemble import assemble
    from ..assembly.audio import decode_track, samples_at
    from ..assembly.clips import probe
    from ..runs.tracker import GuardedTracker
    from .batch import run_batch
    from .segments import plan_segments, segment_count, shift_schedule

    if args.batch:
        raise ValueError("--segments renders one AUDIO; it cannot be combined with --batch")
    if not args.audio:
        raise ValueError("AUDIO is required with --segments/--segment-seconds")
    base = RenderJob(audio=args.audio, image=args.image, workflow=args.workflow, schedule=args.schedule,
                     seed=args.seed, budget_minutes=args.budget)
    base.check()
    info = probe_audio(args.audio)
    geometry = loop_geometry(args.window, args.overlap, args.fps)
    count = segment_count(info.duration, args.segments, args.segment_seconds)
    boundaries, quiet = ([], None) if args.no_analyze or count == 1 else cut_hints(args.audio)
    segments = plan_segments(info.duration, geometry, count, boundaries=boundaries, quietness=quiet,
                             crossfade=args.crossfade)
    schedule = read_schedule_file(args.schedule) if args.schedule else None
    folder = confined_path(args.out, "segments", what="segment folder")
    folder.mkdir(parents=True, exist_ok=True)
    rate, channels = info.sample_rate, min(2, info.channels)
    track = decode_track(args.audio, rate, channels)
    fps = Fraction(args.fps).limit_denominator(1001)
    jobs = []
    for seg in segments:
        key = f"segment-{seg.index:03d}"
        wav = folder / f"{key}.wav"
        write_slice(track, rate, samples_at(seg.start, fps, rate), samples_at(seg.render_end, fps, rate), wav)
        part = shift_schedule(schedule, seg.start_seconds, seg.render_end / args.fps)
        schedule_file = None
        if part:
            schedule_file = folder / f"{key}.txt"
            with atomic_output(schedule_file) as temporary:
                temporary.write_text(part, encoding="utf-8")
        jobs.append((key, RenderJob(audio=str(wav), image=args.image, workflow=args.workflow,
                                    schedule=str(schedule_file) if schedule_file else None, seed=args.seed,
                                    budget_minutes=args.budget, name=key)))
        print(f"{key}: frames {seg.start}..{seg.end} ({seg.start_seconds:.2f}-{seg.end_seconds:.2f} s), "
              f"renders {seg.render_seconds:.2f} s")
    identity = f"{Path(args.audio).resolve()}|{args.workflow}|{args.seed}|{args.schedule}|" + \
        ",".join(f"{s.start}:{s.render_end}" for s in segments)
    batch_id = args.batch_id or "segments:" + hashlib.sha1(identity.encode()).hexdigest()[:16]
    if servers is not None:
        from ..cluster.pool import run_pool

        summary = run_pool(servers, jobs, args.out, batch_id, db=args.db, track=not args.no_track,
                           ray_address=args.ray_address, attempts=args.retries, poll_s=args.poll)
    else:
        summary = run_batch(transport, jobs, args.out, GuardedTracker(args.db, enabled=not args.no_track), batch_id,
                            poll_s=args.poll)
    failed = [item for item in summary if item["status"] not in ("success", "skipped", "recovered")]
    for item in summary:
        print(f"{item['job']}: {item['status']}" + (f" on {item['server']}" if item.get("server") else "")
              + (f": {item['error']}" if item.get("error") else ""))
    if failed:
        print(f"{len(failed)} segment(s) did not render; run the same command again to render only those")
        return 3
    specs = []
    for seg, (key, _) in zip(segments, jobs):
        video = segment_video(confined_path(args.out, key, what="segment folder"))
        keep = seg.render_end - seg.start
        if video is None:
            raise ValueError(f"{key}: the render left no video under {args.out / key}; does the workflow save one?")
        clip = probe(str(video))
        if clip.total_frames < keep:
            raise ValueError(f"{key}: {video} has {clip.total_frames} frames but the segment needs {keep}; "
                             "is --window/--overlap/--fps the workflow's?")
        specs.append(f"{video}@0:{keep}")
    joined = confined_path(args.out, "joined.mp4", what="joined video")
    result = assemble(specs, joined, crossfade=args.crossfade if len(specs) > 1 else 0, audio_track=args.audio)
    expected = segments[-1].end
    if result["frames"] != expected:
        raise RuntimeError(f"joined {result['frames']} frames, planned {expected}")
    print(f"joined: {joined} ({result['frames']} frames, {result['duration_s']:.3f} s; audio {info.duration:.3f} s)")
    if len(segments) > 1:
        print(
            f"seams: ltx-audioloop metrics {joined} --audio {args.audio} --window {args.window} "
            f"--overlap {args.overlap} "
            f"--cuts {','.join(str(s.start) for s in segments[1:])}"
        )
    return 0
