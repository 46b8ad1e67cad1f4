"""The ``assemble`` subcommand."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NAMES = ("assemble",)
"""The subcommands this module adds."""


def add_parsers(commands) -> None:
    assemble = commands.add_parser(
        "assemble", help="join clips with frame-exact trims and crossfades, audio as long as the video, watermark",
        description="Concatenate clips (PATH or PATH@START:END in frames, slice rules) with an optional crossfade; "
                    "the audio is padded with silence or cut to exactly the video's length. With --watermark "
                    "(or $LTX_AUDIOLOOP_WATERMARK) every frame is watermarked and a missing file stops the job "
                    "before anything is written.",
    )
    assemble.add_argument("clips", nargs="+", help="clip files, optionally PATH@START:END (frames)")
    assemble.add_argument("-o", "--out", type=Path, required=True, help="output video (.mp4, .mkv or .mov)")
    assemble.add_argument("--audio", metavar="FILE",
                          help="mux this track once over the whole video instead of the clips' audio "
                               "(cut or padded with silence to the video's length)")
    assemble.add_argument("--crossfade", type=int, default=0, metavar="FRAMES", help="crossfade length in frames")
    assemble.add_argument("--watermark", help="RGBA image composited on every frame (default $LTX_AUDIOLOOP_WATERMARK)")
    assemble.add_argument("--watermark-scale", type=float, default=0.15, help="width as a fraction of the video's")
    assemble.add_argument("--watermark-opacity", type=float, default=1.0, help="0..1 multiplier of its alpha")
    assemble.add_argument("--watermark-position", default="br", choices=("br", "bl", "tr", "tl"))
    assemble.add_argument("--audio-codec", choices=("flac", "pcm_s16le", "aac"),
                          help="default flac (.mp4/.mkv) or pcm_s16le (.mov): exact length; aac pads the end")
    assemble.add_argument("--sample-rate", type=int, help="output audio rate (default: the first clip's)")
    assemble.add_argument("--crf", type=int, default=18, help="x264 quality (default 18)")
    assemble.add_argument("--preset", default="medium", help="x264 preset (default medium)")
    assemble.add_argument("--db", type=Path, help="run tracker file (see 'runs')")
    assemble.add_argument("--no-track", action="store_true", help="do not record the run")


def run(args: argparse.Namespace) -> int:
    from ...safeio import check_not_input
    from ..assembly.assemble import assemble, check_output_options
    from ..assembly.clips import parse_spec
    from ..assembly.watermark import watermark_path
    from ..runs.tracker import GuardedTracker

    mark = watermark_path(args.watermark)
    if mark is not None and not mark.is_file():
        raise ValueError(f"watermark {mark}: no such file; refusing to assemble without it "
                         "(fix the path, or unset $LTX_AUDIOLOOP_WATERMARK)")
    check_output_options(args.out, args.sample_rate, args.crf, args.preset)
    check_not_input(args.out, [parse_spec(spec)[0] for spec in args.clips] + ([mark] if mark else [])
                    + ([args.audio] if args.audio else []), "-o/--out")
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                if k not in ("func", "command", "verbose", "db", "no_track")}
    settings["watermark"] = str(mark) if mark else None
    tracker = GuardedTracker(args.db, enabled=not args.no_track)
    run_id = tracker.start("assemble", settings)
    try:
        result = assemble(args.clips, args.out, crossfade=args.crossfade, watermark=mark,
                          watermark_scale=args.watermark_scale, watermark_opacity=args.watermark_opacity,
                          watermark_position=args.watermark_position, audio_codec=args.audio_codec,
                          sample_rate=args.sample_rate, crf=args.crf, preset=args.preset,
                          audio_track=args.audio)
    except Exception as err:
        tracker.finish(run_id, "failed", error=str(err))
        raise
    tracker.finish(run_id, "success", outputs=[{"kind": "video", "path": str(Path(args.out).resolve())}],
                   metrics={"summary": {}, "assembly": result})
    print(json.dumps(result, indent=2))
    return 0
