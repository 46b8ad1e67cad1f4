"""The command line, ``ltx-audioloop <command>`` (also ``python -m ltx_audioloop``).

Every subcommand lives in one module of :mod:`.commands`, listed in
:data:`.commands.MODULES`; this module builds the parser from them and turns errors into
one-line messages and exit statuses.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from .commands import command_modules
from .extras import missing_extra

log = logging.getLogger("ltx_audioloop")


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    """The parser and a table subcommand name -> the module that runs it."""
    parser = argparse.ArgumentParser(
        prog="ltx-audioloop",
        description="Plan and check LTX-2.3 audio-loop renders for ComfyUI.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    subparsers = parser.add_subparsers(dest="command", required=True)
    runners = {}
    for module in command_modules():
        module.add_parsers(subparsers)
        runners.update(dict.fromkeys(module.NAMES, module))
    return parser, runners


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand. Exit status: 0 done, 2 a user mistake or a missing optional extra (one line, never a
    traceback), 3 a render that did not succeed, 130 Ctrl-C (one line), 141 stdout closed early (quietly)."""
    parser, runners = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return runners[args.command].run(args)
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




if __name__ == "__main__":
    sys.exit(main())
