"""The shipped workflows as a user meets them: template titles and thumbnails in ComfyUI's
browser, the model files they ask for (those of ComfyUI's own LTX-2.3 templates), ``ver``."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from ltx_audioloop import __version__
from ltx_audioloop.tools.workflows.library import BUILDERS, FORMER_NAMES, PRIMARY, build, shipped_name
from ltx_audioloop.tools.workflows.library.blocks import KORNIA_PIN
from ltx_audioloop.tools.workflows.shipping import stale_files

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "example_workflows"
# the files of ComfyUI's LTX-2.3 templates (comfyui-workflow-templates 0.9.73, video_ltx2_3_flf2v)
TEMPLATE_FILES = {
    "ltx-2.3-22b-distilled-fp8.safetensors": (
        "checkpoints", "https://huggingface.co/Lightricks/LTX-2.3-fp8/resolve/main/ltx-2.3-22b-distilled-fp8.safetensors"),
    "gemma_3_12B_it_fp4_mixed.safetensors": (
        "text_encoders",
        "https://huggingface.co/Comfy-Org/ltx-2/resolve/main/split_files/text_encoders/gemma_3_12B_it_fp4_mixed.safetensors"),
}
MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".gguf")


def _canvas(name: str) -> dict:
    return json.loads((SHIPPED / f"{name}.json").read_text(encoding="utf-8"))


def test_file_names_are_the_titles_and_safe_on_every_system():
    assert len(BUILDERS) == 7
    for name in BUILDERS:
        assert build(name).title == name
        assert not set(name) & set('<>:"/\\|?*#%') and name == name.strip()
        assert (SHIPPED / f"{name}.json").is_file() and (SHIPPED / "api" / f"{name}.json").is_file()


def test_former_names_and_any_case_still_resolve():
    for former, title in FORMER_NAMES.items():
        assert shipped_name(former) == title
    assert shipped_name(PRIMARY.upper()) == PRIMARY
    assert shipped_name("no such workflow") is None
    with pytest.raises(ValueError, match="shipped workflows"):
        build("no such workflow")


def test_a_leftover_file_of_a_renamed_workflow_is_stale(tmp_path):
    copy = tmp_path / "example_workflows"
    shutil.copytree(SHIPPED, copy)
    (copy / "audio-loop-music-video-latent.json").write_text("{}", encoding="utf-8")
    assert stale_files(copy) == ["audio-loop-music-video-latent.json (not shipped any more)"]


def test_thumbnails_are_distinct_squares():
    from PIL import Image

    digests = set()
    for name in BUILDERS:
        path = SHIPPED / f"{name}.jpg"
        with Image.open(path) as image:
            assert image.size[0] == image.size[1] <= 512
            digests.add(hashlib.sha256(image.convert("RGB").tobytes()).hexdigest())
    assert len(digests) == len(BUILDERS)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_our_nodes_carry_cnr_id_and_ver(name):
    own = [n for n in _canvas(name)["nodes"] if n.get("properties", {}).get("cnr_id") == "ltx-audioloop"]
    assert own and all(n["properties"]["ver"] == __version__ for n in own)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_loaders_ask_for_comfyuis_template_files_with_download_entries(name):
    canvas = _canvas(name)
    asked = set()
    for node in canvas["nodes"]:
        files = [v for v in node.get("widgets_values") or [] if isinstance(v, str) and v.endswith(MODEL_SUFFIXES)]
        if not files:
            continue
        entries = {m["name"]: m for m in node["properties"].get("models", [])}
        assert set(files) <= set(entries), (node["type"], files)
        for file in files:
            assert (entries[file]["directory"], entries[file]["url"]) == TEMPLATE_FILES[file]
        asked |= set(files)
    assert asked == set(TEMPLATE_FILES)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_each_workflow_notes_its_files_vram_and_the_ltxvideo_pack(name):
    canvas = _canvas(name)
    notes = [n["widgets_values"][0] for n in canvas["nodes"] if n["type"] == "MarkdownNote"
             and n.get("title") == "Model files and VRAM"]
    assert len(notes) == 1
    for file, (folder, _) in TEMPLATE_FILES.items():
        assert f"models/{folder}/{file}" in notes[0]
    assert "VRAM" in notes[0] and KORNIA_PIN == "kornia==0.8.2"
    uses_ltxvideo = any(n["type"] == "LTXVTiledVAEDecode" for n in canvas["nodes"])
    # the pack (and its kornia pin) is named exactly where a node of it is used
    assert ("ComfyUI-LTXVideo" in notes[0] and KORNIA_PIN in notes[0]) == uses_ltxvideo
