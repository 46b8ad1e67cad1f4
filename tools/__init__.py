"""The command-line tools of ltx-audioloop (``ltx-audioloop <command>``): workflows, renders
through ComfyUI's HTTP API, the run tracker, metrics, assembly, metadata and the Ray cluster.

The tools wing sits on top of the node pack: it may import ``nodes`` and the core (``loop``,
``audio``, ``attention``, ``video``, ``safeio``), never the other way round. ComfyUI does not
load it; ``pip install "ltx-audioloop[cli]"`` brings what it needs.
"""
