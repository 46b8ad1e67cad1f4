"""Workflow library: describe ComfyUI graphs in Python, emit canvas and API JSON, audit, migrate."""
