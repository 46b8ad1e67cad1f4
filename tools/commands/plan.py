"""The ``plan`` subcommand: every window of a render, its audio range, prompt and the timeline picture."""

from __future__ import annotations

import argparse
import json
import logging
import math
from pathlib import Path

from ...loop.geometry import DEFAULT_FPS, DEFAULT_OVERLAP_SECONDS, DEFAULT_WINDOW_SECONDS

log = logging.getLogger("ltx_audioloop")

NAMES = ("plan",)
"""The subcommands this module adds."""

DEMO_SECONDS = 75.0
DEMO_SCHEDULE = """\
# demo schedule: one subject string, medium/close framing, static camera
0:00-0:24: a woman with short red hair in a green jacket is singing, medium shot, static camera, warm stage light
0:24-0:40: a woman with short red hair in a green jacket is singing, close-up, static camera, warm stage light
0:40-0:54: a woman with short red hair in a green jacket is singing, medium shot, static camera, blue stage light
0:54+: a woman with short red hair in a green jacket is singing, medium close-up, static camera, warm stage light
"""



def add_parsers(commands: argparse._SubParsersAction) -> None:
    plan = commands.add_parser(
        "plan",
        help="show every window of a render: audio ranges, stride, prompts, rendered vs audio length",
        description="Plan the loop for a track. Without AUDIO, plans a synthesised demo song.",
    )
    plan.add_argument("audio", nargs="?", help="audio or video file (any format FFmpeg reads)")
    plan.add_argument("--window", type=float, default=DEFAULT_WINDOW_SECONDS,
                      help="window length in seconds (default %(default)g)")
    plan.add_argument("--overlap", type=float, default=DEFAULT_OVERLAP_SECONDS,
                      help="target overlap in seconds (default %(default)g)")
    plan.add_argument("--fps", type=float, default=float(DEFAULT_FPS), help="video frame rate (default %(default)g)")
    plan.add_argument("--schedule", type=Path, help="prompt schedule text file")
    plan.add_argument("--blend", type=float, default=0.0, help="blend_seconds of the schedule (default 0)")
    plan.add_argument("--no-snap", action="store_true", help="do not snap schedule boundaries to the stride grid")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan.add_argument(
        "--segments",
        type=int,
        metavar="N",
        help="also show where 'render --segments N' cuts the track (stride grid, sections, quiet moments)",
    )
    plan.add_argument("--segment-seconds", type=float, metavar="S", help="as --segments, about S seconds each")
    plan.add_argument("--png", type=Path, help="write the timeline picture to this PNG file")
    plan.add_argument("--quiet", action="store_true", help="no progress line on the terminal")


def run(args: argparse.Namespace) -> int:
    from ...audio.files import demo_track
    from ...audio.progress import TerminalProgress
    from ...audio.stream import check_format, load_preview, probe_audio
    from ...loop.geometry import loop_geometry
    from ...loop.plan import build_render_plan
    from ...loop.schedule import MAX_BLEND_SECONDS, read_schedule_file
    from ...safeio import check_not_input

    if not (math.isfinite(args.blend) and 0 <= args.blend <= MAX_BLEND_SECONDS):
        raise ValueError(f"--blend must be seconds in 0..{MAX_BLEND_SECONDS:g}, got {args.blend:g}")
    if args.png:
        check_not_input(args.png, [args.audio, args.schedule], "--png")

    if args.audio:
        # The length comes from the container's headers; only the picture needs samples (a
        # low-rate downmix, decoded chunk by chunk).
        info = probe_audio(args.audio)
        check_format(info.sample_rate, info.channels, str(args.audio))
        audio = None
        if args.png:
            progress = TerminalProgress("plan", args.quiet)
            try:
                audio = load_preview(args.audio, progress=progress)
            finally:
                progress.close()
        schedule = None
    else:
        log.info("no AUDIO given: planning a %.0f s synthesised demo song", DEMO_SECONDS)
        audio = demo_track(DEMO_SECONDS)
        schedule = DEMO_SCHEDULE
    if args.schedule is not None:
        schedule = read_schedule_file(args.schedule)
    if audio is not None:
        from ...audio.waveform import check_audio

        waveform, rate = check_audio(audio)
    else:
        waveform, rate = None, info.sample_rate
    duration = info.duration if args.audio else waveform.shape[-1] / rate
    if args.audio:
        from ...audio.files import declared_wav_seconds, warn_if_truncated

        warn_if_truncated(Path(args.audio), declared_wav_seconds(Path(args.audio)), info.duration)
    geometry = loop_geometry(args.window, args.overlap, args.fps)
    plan = build_render_plan(duration, geometry, schedule, args.blend, not args.no_snap)
    segments = []
    if args.segments is not None or args.segment_seconds is not None:
        from ..render.segments import plan_segments, segment_count

        count = segment_count(duration, args.segments, args.segment_seconds)
        hints = ([], None)
        if args.audio and count > 1:
            from ..render.segmented import cut_hints

            hints = cut_hints(args.audio)
        segments = plan_segments(duration, geometry, count, boundaries=hints[0], quietness=hints[1])
    if args.png:
        from ...pictures.timeline import render_timeline
        from ...safeio import atomic_output

        with atomic_output(args.png) as temporary:
            render_timeline(plan, waveform, rate, cuts=[s.start_seconds for s in segments[1:]]).save(
                temporary, format="PNG"
            )
    if args.json:
        data = plan.to_dict()
        data["source"] = str(args.audio) if args.audio else "demo"
        if args.png:
            data["png"] = str(args.png)
        if segments:
            data["segments"] = [s.to_dict() for s in segments]
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        source = args.audio or f"demo song ({DEMO_SECONDS:.0f} s, synthesised)"
        print(f"Source: {source}")
        print(plan.summary())
        for seg in segments:
            print(
                f"segment {seg.index}: frames {seg.start}..{seg.end} ({seg.frames}), "
                f"{seg.start_seconds:.2f}-{seg.end_seconds:.2f} s"
            )
        if args.png:
            print(f"Timeline picture: {args.png}")
    return 0
