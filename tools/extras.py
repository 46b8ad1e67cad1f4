"""Optional extras: which libraries only the command-line tools need, and the message when one is missing.

The node pack (what ComfyUI loads) needs only the core dependencies (numpy, Pillow, PyAV; torch
and torchaudio come from ComfyUI). The command-line tools that talk to a ComfyUI server or keep
the run tracker need more; they live in the optional extra ``cli`` so that ComfyUI-Manager, which
installs ``requirements.txt`` into the user's shared ComfyUI environment, never pulls them.
"""

from __future__ import annotations

# import name -> (distribution, extra that installs it)
CLI_ONLY = {
    "duckdb": ("duckdb", "cli"),
    "requests": ("requests", "cli"),
    "websocket": ("websocket-client", "cli"),
}


def missing_extra(err: ImportError) -> str | None:
    """The one-line fix for ``err`` when it is a missing optional library, else None.

    Example: ``No module named 'duckdb'`` ->
    "needs duckdb, from the optional extra 'cli': pip install 'ltx-audioloop[cli]'".
    """
    name = (getattr(err, "name", None) or "").split(".")[0]
    if name not in CLI_ONLY:
        return None
    distribution, extra = CLI_ONLY[name]
    return (
        f"this command needs {distribution}, from the optional extra '{extra}': "
        f"pip install 'ltx-audioloop[{extra}]' (in a clone: pip install -e '.[{extra}]')"
    )
