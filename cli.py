"""Command line: ``ltx-audioloop plan|analyze|preprocess|extract|audit|migrate|workflows|render|metrics|runs|assemble``
(also ``python -m ltx_audioloop``)."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import math
import os
import sys
from pathlib import Path

from .extras import missing_extra
from .loop.geometry import DEFAULT_FPS, DEFAULT_OVERLAP_SECONDS, DEFAULT_WINDOW_SECONDS
from .metadata import command as extract_command
from .workflows import commands as workflow_commands

log = logging.getLogger("ltx_audioloop")

# subcommands implemented in their own subpackages: <name>/command.py with add_parser() and run()
SUBPACKAGE_COMMANDS = {"render": "render", "metrics": "metrics", "runs": "runs", "assemble": "assembly",
                       "serve": "cluster"}

DEMO_SECONDS = 75.0
DEMO_SCHEDULE = """\
# demo schedule: one subject string, medium/close framing, static camera
0:00-0:24: a woman with short red hair in a green jacket is singing, medium shot, static camera, warm stage light
0:24-0:40: a woman with short red hair in a green jacket is singing, close-up, static camera, warm stage light
0:40-0:54: a woman with short red hair in a green jacket is singing, medium shot, static camera, blue stage light
0:54+: a woman with short red hair in a green jacket is singing, medium close-up, static camera, warm stage light
"""


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ltx-audioloop",
        description="Plan and check LTX-2.3 audio-loop renders for ComfyUI.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    commands = parser.add_subparsers(dest="command", required=True)
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
    extract_command.add_parser(commands)
    workflow_commands.add_parsers(commands)
    for package in SUBPACKAGE_COMMANDS.values():
        importlib.import_module(f".{package}.command", __package__).add_parser(commands)
    from .audio.commands import add_parsers as add_audio_parsers

    add_audio_parsers(commands)
    return parser


def _run_plan(args: argparse.Namespace) -> int:
    from .audio.files import demo_track
    from .audio.progress import TerminalProgress
    from .audio.stream import check_format, load_preview, probe_audio
    from .loop.geometry import loop_geometry
    from .loop.plan import build_render_plan
    from .loop.schedule import MAX_BLEND_SECONDS, read_schedule_file
    from .safeio import check_not_input

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
        from .audio.waveform import check_audio

        waveform, rate = check_audio(audio)
    else:
        waveform, rate = None, info.sample_rate
    duration = info.duration if args.audio else waveform.shape[-1] / rate
    if args.audio:
        from .audio.files import declared_wav_seconds, warn_if_truncated

        warn_if_truncated(Path(args.audio), declared_wav_seconds(Path(args.audio)), info.duration)
    geometry = loop_geometry(args.window, args.overlap, args.fps)
    plan = build_render_plan(duration, geometry, schedule, args.blend, not args.no_snap)
    segments = []
    if args.segments is not None or args.segment_seconds is not None:
        from .render.segments import plan_segments, segment_count

        count = segment_count(duration, args.segments, args.segment_seconds)
        hints = ([], None)
        if args.audio and count > 1:
            from .render.segmented import cut_hints

            hints = cut_hints(args.audio)
        segments = plan_segments(duration, geometry, count, boundaries=hints[0], quietness=hints[1])
    if args.png:
        from .loop.timeline import render_timeline
        from .safeio import atomic_output

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


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand. Exit status: 0 done, 2 a user mistake or a missing optional extra (one line, never a
    traceback), 3 a render that did not succeed, 130 Ctrl-C (one line), 141 stdout closed early (quietly)."""
    args = _build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return _dispatch(args)
    except ModuleNotFoundError as err:
        fix = missing_extra(err)
        if fix is None:
            raise
        print(f"ltx-audioloop {args.command}: error: {fix}", file=sys.stderr)
        return 2
    except ValueError as err:
        print(f"ltx-audioloop {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ltx-audioloop {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 141
    except OSError as err:
        where = f" {err.filename}" if err.filename else ""
        print(f"ltx-audioloop {args.command}: error:{where} {err.strerror or err}", file=sys.stderr)
        return 2


def _silence_stdout() -> None:
    """After the reader of stdout went away: point stdout at /dev/null so the final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "plan":
        return _run_plan(args)
    if args.command == "extract":
        return extract_command.run(args)
    if args.command in workflow_commands.COMMANDS:
        return workflow_commands.run(args)
    if args.command in SUBPACKAGE_COMMANDS:
        package = SUBPACKAGE_COMMANDS[args.command]
        return importlib.import_module(f".{package}.command", __package__).run(args)
    if args.command in ("analyze", "preprocess"):
        from .audio import commands as audio_commands

        return audio_commands.run_analyze(args) if args.command == "analyze" else audio_commands.run_preprocess(args)
    return 1


if __name__ == "__main__":
    sys.exit(main())
