"""The ``analyze`` and ``preprocess`` subcommands of ``ltx-audioloop``."""

from __future__ import annotations

import argparse
import json
import logging
from contextlib import contextmanager
from pathlib import Path

from ...loop.geometry import DEFAULT_FPS, DEFAULT_OVERLAP_SECONDS, DEFAULT_WINDOW_SECONDS

log = logging.getLogger("ltx_audioloop")

ANALYZE_DEMO_SECONDS = 180.0


NAMES = ("analyze", "preprocess")
"""The subcommands this module adds."""


def add_parsers(commands) -> None:
    """Register ``analyze`` and ``preprocess`` on an argparse subparsers object."""
    analyze = commands.add_parser(
        "analyze",
        help="analyse a track for lip sync: report, timeline picture and a schedule on the loop grid",
        description="Analyse a track: tempo, beats, sections, voice and pitch, loudness, spectral balance and "
        "warnings; write a timestamp prompt schedule whose boundaries sit on the loop's stride grid. "
        "Without AUDIO, analyses a synthesised 3-minute demo song.",
    )
    analyze.add_argument("audio", nargs="?", help="audio or video file (any format FFmpeg reads)")
    analyze.add_argument("--subject", help="who is on screen, written identically into every schedule entry "
                         "(e.g. 'a woman with short red hair in a green jacket')")
    analyze.add_argument("--style", help="style text appended identically to every entry (e.g. 'Style: 35 mm film')")
    analyze.add_argument("--content", choices=["auto", "music", "speech", "instrumental"], default="auto",
                         help="what the track is: picks the action verbs and framing (default: guessed)")
    analyze.add_argument("--window", type=float, default=DEFAULT_WINDOW_SECONDS,
                      help="window length in seconds (default %(default)g)")
    analyze.add_argument("--overlap", type=float, default=DEFAULT_OVERLAP_SECONDS,
                      help="target overlap in seconds (default %(default)g)")
    analyze.add_argument("--fps", type=float, default=float(DEFAULT_FPS), help="video frame rate (default %(default)g)")
    analyze.add_argument("--json", action="store_true", help="print everything as JSON")
    analyze.add_argument("--png", type=Path, help="write the timeline picture to this PNG file")
    analyze.add_argument("--schedule", type=Path, help="write the schedule text to this file")
    analyze.add_argument("--llm-prompt", action="store_true",
                         help="also print a system prompt that asks an LLM to write such a schedule")
    analyze.add_argument("--quiet", action="store_true", help="no progress line on the terminal")

    pre = commands.add_parser(
        "preprocess",
        help="EQ and loudness-normalise a track for lip sync (the AudioPreprocessForLTX chain)",
        description="High-pass 80 Hz, 200 Hz -3 dB, 400 Hz -2 dB, 3 kHz +4 dB, 6.5 kHz +3 dB, loudness to "
        "-16 LUFS under a -2 dBTP ceiling. OUT: .wav (24-bit PCM) or .flac recommended.",
    )
    pre.add_argument("input", help="audio or video file to read")
    pre.add_argument("output", type=Path, help="file to write (.wav or .flac)")
    pre.add_argument("--quiet", action="store_true", help="no progress line on the terminal")
    from ...audio.preprocess_settings import PreprocessSettings

    defaults = PreprocessSettings()
    for name, unit in (("highpass_hz", "Hz, 0 = off"), ("highpass_q", ""), ("cut1_hz", "Hz"), ("cut1_db", "dB"),
                       ("cut2_hz", "Hz"), ("cut2_db", "dB"), ("presence_hz", "Hz"), ("presence_db", "dB"),
                       ("sibilance_hz", "Hz"), ("sibilance_db", "dB"), ("q", "bell width"),
                       ("target_lufs", "LUFS"), ("ceiling_dbtp", "dBTP"), ("max_gain_db", "dB")):
        default = getattr(defaults, name)
        pre.add_argument("--" + name.replace("_", "-"), dest=name, type=float, default=default,
                         help=f"{unit} (default {default:g})".strip())


@contextmanager
def one_torch_thread():
    """Run torch on one intra-op thread inside the block (the previous count is restored after).

    The audio commands are many small tensor operations on bounded chunks (512 STFT frames, 10 s
    of samples): torch's thread pool gains nothing there and its workers spin between operations,
    fighting other processes for the cores. Measured on the 2-core machine at load 4-5, a 3-minute
    ``analyze`` took 6-7 s wall (3.7 s CPU) with 2 threads and 1.4-1.9 s (1.0-1.3 s CPU) with one;
    ``preprocess`` 19-26 s against 10-13 s. Only the CLI does this: a node leaves ComfyUI's
    setting alone."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run(args: argparse.Namespace) -> int:
    return run_analyze(args) if args.command == "analyze" else run_preprocess(args)


def run_analyze(args: argparse.Namespace) -> int:
    with one_torch_thread():
        return _analyze(args)


def _analyze(args: argparse.Namespace) -> int:
    from ...audio.analysis import analyse_file, analyse_track, format_report
    from ...audio.files import demo_track
    from ...audio.progress import TerminalProgress
    from ...audio.schedule_writer import check_style, check_subject, format_schedule, schedule_from_analysis
    from ...loop.geometry import loop_geometry
    from ...loop.schedule import parse_schedule
    from ...safeio import atomic_output, atomic_write, check_not_input

    geometry = loop_geometry(args.window, args.overlap, args.fps)  # bad values fail before the work
    check_subject(args.subject, "music")
    check_style(args.style)
    for option, path in (("--schedule", args.schedule), ("--png", args.png)):
        if path is not None:
            check_not_input(path, [args.audio], option)
    progress = TerminalProgress("analyze", getattr(args, "quiet", False))
    try:
        if args.audio:
            audio = None  # the file is analysed chunk by chunk, never held whole
            analysis = analyse_file(args.audio, args.content, progress)
            source = str(args.audio)
        else:
            log.info("no AUDIO given: analysing a %.0f s synthesised demo song", ANALYZE_DEMO_SECONDS)
            audio = demo_track(ANALYZE_DEMO_SECONDS, 44_100)
            source = f"demo song ({ANALYZE_DEMO_SECONDS:.0f} s, synthesised)"
            analysis = analyse_track(audio, args.content, progress)
    finally:
        progress.close()
    lines = schedule_from_analysis(analysis, geometry, args.subject, args.style)
    header = (
        f"ltx-audioloop analyze: {Path(source).name if args.audio else source}; stride "
        f"{geometry.stride_seconds:.2f} s (window {args.window:g} s, overlap {args.overlap:g} s, {args.fps:g} fps)"
    )
    schedule = format_schedule(lines, header)
    parse_schedule(schedule)  # what the nodes will read; a failure here is a bug, never hidden
    if args.schedule:
        atomic_write(args.schedule, schedule)
    if args.png:
        from ...pictures.analysis import render_analysis

        waveform = None if audio is None else audio["waveform"]
        with atomic_output(args.png) as temporary:
            render_analysis(analysis, waveform, analysis.sample_rate, geometry).save(temporary, format="PNG")
    prompt = None
    if args.llm_prompt:
        from ...audio.llm_prompt import llm_system_prompt

        prompt = llm_system_prompt(analysis, geometry, args.subject, args.style)
    if args.json:
        data = analysis.summary()
        data.update(
            source=source,
            stride_seconds=round(geometry.stride_seconds, 6),
            schedule=schedule,
            schedule_entries=[
                {
                    "start_s": round(line.start, 6),
                    "end_s": None if line.end is None else round(line.end, 6),
                    "label": line.label,
                    "prompt": line.prompt,
                }
                for line in lines
            ],
        )
        if args.png:
            data["png"] = str(args.png)
        if prompt is not None:
            data["llm_system_prompt"] = prompt
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    print(f"Source: {source}")
    print(format_report(analysis))
    print(f"\nSchedule (stride {geometry.stride_seconds:.2f} s; boundaries on the loop grid):")
    print(schedule, end="")
    if args.schedule:
        print(f"Schedule written to {args.schedule}")
    if args.png:
        print(f"Timeline picture: {args.png}")
    times = ", ".join(f"{k} {v:.2f}" for k, v in analysis.timings.items())
    print(f"Analysis time (s): {times}")
    if prompt is not None:
        print("\nLLM system prompt:\n")
        print(prompt)
    return 0


def run_preprocess(args: argparse.Namespace) -> int:
    with one_torch_thread():
        return _preprocess(args)


def _preprocess(args: argparse.Namespace) -> int:
    from dataclasses import fields

    from ...audio.preprocess import PreprocessSettings, format_preprocess_report
    from ...audio.preprocess_file import preprocess_file

    settings = PreprocessSettings(**{f.name: getattr(args, f.name) for f in fields(PreprocessSettings)}).validate()
    from ...safeio import check_not_input

    check_not_input(args.output, [args.input], "OUT")
    from ...audio.progress import TerminalProgress

    progress = TerminalProgress("preprocess", getattr(args, "quiet", False))
    try:
        reports, notes = preprocess_file(args.input, args.output, settings, progress=progress)
    finally:
        progress.close()
    print(format_preprocess_report(reports, settings, notes))
    print(f"Written: {args.output}")
    return 0
