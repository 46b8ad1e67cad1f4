"""Command-line rendering through ComfyUI's HTTP/WebSocket API.

Modules: ``workflow`` (load a graph by name or path), ``binding`` (fill a graph's inputs),
``transport`` (HTTP with retries), ``progress`` (iteration/step heuristic), ``watch``
(WebSocket events with history polling fallback and budget), ``client`` (one render),
``batch`` (job lists, resumable), ``command`` (the ``render`` subcommand).
"""
