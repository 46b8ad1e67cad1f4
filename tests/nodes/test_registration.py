"""The start-up warning about node ids another installed pack shares with ours."""

from __future__ import annotations

import asyncio
import logging
import sys
import types

from ltx_audioloop.nodes import NODE_CLASS_MAPPINGS
from ltx_audioloop.nodes.registration import report_overrides, shared_ids


def _comfy_nodes_module(table: dict) -> types.ModuleType:
    """A stand-in for ComfyUI's top-level ``nodes`` module: its live id -> class table."""
    module = types.ModuleType("nodes")
    module.NODE_CLASS_MAPPINGS = table
    module.load_custom_node = lambda *args, **kwargs: None
    return module


class _Signal(list):
    frozen = False


def _server_module() -> tuple[types.ModuleType, _Signal]:
    on_startup = _Signal()
    app = types.SimpleNamespace(on_startup=on_startup)
    module = types.ModuleType("server")
    module.PromptServer = types.SimpleNamespace(instance=types.SimpleNamespace(app=app))
    return module, on_startup


def _foreign(name: str, pack: str) -> type:
    return type(name, (), {"RELATIVE_PYTHON_MODULE": f"custom_nodes.{pack}"})


def test_shared_ids_names_the_owner():
    other = _foreign("AudioLoopController", "ComfyUI-AudioLoopHelper")
    registered = {"AudioLoopController": other, "AudioDuration": NODE_CLASS_MAPPINGS["AudioDuration"]}
    assert shared_ids(NODE_CLASS_MAPPINGS, registered) == {"AudioLoopController": "ComfyUI-AudioLoopHelper"}


def test_outside_comfyui_nothing_is_reported(monkeypatch, caplog):
    monkeypatch.delitem(sys.modules, "nodes", raising=False)
    with caplog.at_level(logging.WARNING, logger="ltx_audioloop"):
        report_overrides(NODE_CLASS_MAPPINGS)
    assert caplog.records == []


def test_earlier_and_later_packs_are_named_once_each(monkeypatch, caplog):
    earlier = {"AudioLoopController": _foreign("A", "ComfyUI-AudioLoopHelper"),
               "LatentOverlapTrim": _foreign("B", "ComfyUI-AudioLoopHelper")}
    table = dict(earlier)
    server, on_startup = _server_module()
    monkeypatch.setitem(sys.modules, "nodes", _comfy_nodes_module(table))
    monkeypatch.setitem(sys.modules, "server", server)
    with caplog.at_level(logging.WARNING, logger="ltx_audioloop"):
        report_overrides(NODE_CLASS_MAPPINGS)
        table.update(NODE_CLASS_MAPPINGS)  # ComfyUI registers our classes after reading the table
        table["AudioDuration"] = _foreign("C", "zz-later-pack")  # a pack loaded after ours
        assert len(on_startup) == 1
        asyncio.run(on_startup[0](None))
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "replaces 2 node id(s) of ComfyUI-AudioLoopHelper: AudioLoopController, LatentOverlapTrim" in messages[0]
    assert messages[1].startswith("zz-later-pack replaces 1 node id(s) of ltx-audioloop: AudioDuration")
