"""Rendering across many ComfyUI servers with Ray (optional extra ``ltx-audioloop[cluster]``).

Modules: ``ray_setup`` (import Ray or say which extra to install; join or start a Ray session),
``worker`` (the Ray actor that drives one ComfyUI server through the render client, and the
actor that owns the run tracker), ``pool`` (the scheduler on the driver: one job per server,
retry on another server when one dies, resume from the tracker), ``display`` (one progress
display for the whole batch), ``comfy_server`` (a Ray actor that starts and owns a ComfyUI
process on one GPU).

Nothing here imports Ray at module import time, and the node pack never imports this package.
"""
