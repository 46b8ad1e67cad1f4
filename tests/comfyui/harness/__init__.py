"""Helpers of the real-ComfyUI tests (``tests/comfyui``): server lay-out and life cycle, HTTP client,
rewriting workflows to the tiny model, synthetic inputs, reading rendered videos, and a small
Chrome DevTools driver for the real frontend.

``tests/comfyui/conftest.py`` loads this folder as the package ``ltx_comfytests`` (pytest runs with
``--import-mode=importlib``, so sibling modules are not importable by plain name). Only
``build_tiny_stack.py`` and ``tiny_te_patch.py`` run in ComfyUI's own Python; the rest runs in pytest's.
"""
