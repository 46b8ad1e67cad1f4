"""``ltx-audioloop extract`` on real PNG / APNG / WEBP / MP4 / MKV files written the way ComfyUI
and VideoHelperSuite write them (same Pillow / FFmpeg calls, made here in the test)."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from ltx_audioloop.tools.cli import main
from ltx_audioloop.tools.metadata import MAX_CHUNK_BYTES, MAX_TEXT_BYTES, extract_metadata
from ltx_audioloop.tools.metadata.containers import read_png
from ltx_audioloop.tools.metadata.extract import ExtractedMetadata
from ltx_audioloop.tools.metadata.summary import summarize

PROMPT = {
    "3": {
        "class_type": "RandomNoise",
        "inputs": {"noise_seed": 123456789012},
        "_meta": {"title": "RandomNoise"},
    },
    "4": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler_ancestral"}},
    "5": {"class_type": "ManualSigmas", "inputs": {"sigmas": "1.0, 0.99375, 0.9875, 0.0"}},
    "6": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "ltx-2.3-22b-distilled.safetensors"}},
    "7": {
        "class_type": "AudioLoopPlanner",
        "inputs": {
            "audio": ["9", 0],
            "window_seconds": 19.88,
            "overlap_seconds": 2.0,
            "fps": 25.0,
            "max_iterations": 0,
            "schedule": "0:00-0:30: a singer on a stage, medium shot\n0:30+: close-up, blue light",
        },
    },
    "8": {"class_type": "CLIPTextEncode", "inputs": {"text": "a singer = \"quoted\"; # \\ ü", "clip": ["6", 1]}},
    "9": {"class_type": "LoadAudio", "inputs": {"audio": "song.flac"}},
}
WORKFLOW = {
    "id": "4c8f0b5e-0000-4000-8000-000000000000",
    "last_node_id": 10,
    "last_link_id": 2,
    "nodes": [
        {"id": 3, "type": "RandomNoise", "widgets_values": [123456789012, "fixed"]},
        {"id": 4, "type": "KSamplerSelect", "widgets_values": ["euler_ancestral"]},
        {"id": 7, "type": "AudioLoopPlanner", "widgets_values": [19.88, 2.0, 25.0, 0, "0:00+: x"]},
        {"id": 10, "type": "0f1e2d3c-subgraph", "widgets_values": []},
    ],
    "links": [[1, 9, 0, 7, 0, "AUDIO"], [2, 6, 1, 8, 0, "CLIP"]],
    "definitions": {
        "subgraphs": [
            {
                "id": "0f1e2d3c-subgraph",
                "name": "Decode and mux",
                "nodes": [{"id": 1, "type": "VAEDecode"}, {"id": 2, "type": "CreateVideo"}],
            }
        ]
    },
    "version": 0.4,
}
OUR_IDS = {"AudioLoopPlanner", "AudioLoopController", "TimestampPromptScheduleBatchEncode"}


# --- writers, mirroring ComfyUI / VideoHelperSuite -------------------------------------------------


def save_png_like_saveimage(path: Path, prompt=PROMPT, workflow=WORKFLOW, **extra) -> Path:
    """ComfyUI SaveImage: PngInfo.add_text(key, json.dumps(value)) for prompt then extra_pnginfo."""
    info = PngInfo()
    if prompt is not None:
        info.add_text("prompt", json.dumps(prompt))
    for key, value in {**({"workflow": workflow} if workflow is not None else {}), **extra}.items():
        info.add_text(key, json.dumps(value))
    Image.new("RGB", (32, 24), (40, 80, 120)).save(path, pnginfo=info, compress_level=4)
    return path


def save_apng_like_saveanimatedpng(path: Path) -> Path:
    """ComfyUI SaveAnimatedPNG: private ``comf`` chunks after the image data."""
    info = PngInfo()
    for key, value in (("prompt", PROMPT), ("workflow", WORKFLOW)):
        info.add(b"comf", key.encode("latin-1") + b"\0" + json.dumps(value).encode("latin-1"), after_idat=True)
    frames = [Image.new("RGB", (16, 16), colour) for colour in ("red", "green", "blue")]
    frames[0].save(path, pnginfo=info, compress_level=4, save_all=True, duration=40, append_images=frames[1:])
    return path


def save_webp_like_saveanimatedwebp(path: Path, extra: dict | None = None) -> Path:
    """ComfyUI SaveAnimatedWEBP: EXIF 0x0110 = "prompt:<json>", extra keys from 0x010F downwards."""
    frames = [Image.new("RGB", (16, 16), colour) for colour in ("red", "green")]
    exif = frames[0].getexif()
    exif[0x0110] = "prompt:{}".format(json.dumps(PROMPT))
    tag = 0x010F
    for key, value in (extra if extra is not None else {"workflow": WORKFLOW}).items():
        exif[tag] = "{}:{}".format(key, json.dumps(value))
        tag -= 1
    frames[0].save(
        path, save_all=True, duration=40, append_images=frames[1:], exif=exif, lossless=True, quality=80, method=4
    )
    return path


def save_video(path: Path, tags: dict[str, str], options: dict[str, str] | None = None) -> Path:
    """A tiny MPEG-4 video whose container carries ``tags`` (ComfyUI SaveVideo uses use_metadata_tags)."""
    with av.open(str(path), "w", options=options or {}) as container:
        for key, value in tags.items():
            container.metadata[key] = value
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for index in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), index * 60, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def save_flac_like_saveaudio(path: Path) -> Path:
    """ComfyUI SaveAudio: container tags prompt / workflow on an audio file."""
    with av.open(str(path), "w", format="flac") as container:
        container.metadata["prompt"] = json.dumps(PROMPT)
        container.metadata["workflow"] = json.dumps(WORKFLOW)
        stream = container.add_stream("flac", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1600), np.int16), format="s16", layout="mono")
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def save_mp4_like_savevideo(path: Path) -> Path:
    return save_video(
        path, {"workflow": json.dumps(WORKFLOW), "prompt": json.dumps(PROMPT)}, {"movflags": "use_metadata_tags"}
    )


def vhs_ffmetadata(video_metadata: dict) -> str:
    """VideoHelperSuite's metadata.txt: FFMETADATA1 with ``\\ ; # =`` and newline escaped."""

    def escape(key: str, value) -> str:
        value = str(value).replace("\\", "\\\\").replace(";", "\\;").replace("#", "\\#").replace("=", "\\=")
        return f"{key}={value.replace(chr(10), chr(92) + chr(10))}"

    lines = [";FFMETADATA1"]
    lines += [escape(key, json.dumps(video_metadata[key])) for key in ("prompt", "workflow") if key in video_metadata]
    lines += [
        escape(key, json.dumps(value)) for key, value in video_metadata.items() if key not in ("prompt", "workflow")
    ]
    return "\n".join(lines) + "\n"


def save_mp4_like_vhs(path: Path, tmp: Path) -> Path:
    """VHS VideoCombine: ffmpeg -i metadata.txt ... -movflags use_metadata_tags; FFmpeg takes the
    global tags of the ffmetadata input, which PyAV's ffmetadata demuxer reads the same way."""
    meta_file = tmp / "metadata.txt"
    meta_file.write_text(vhs_ffmetadata({"prompt": PROMPT, "workflow": WORKFLOW}), encoding="utf-8")
    with av.open(str(meta_file), format="ffmetadata") as source:
        tags = dict(source.metadata)
    tags["creation_time"] = "2026-01-01T00:00:00.000000Z"
    return save_video(path, tags, {"movflags": "use_metadata_tags"})


def png_chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def raw_png(*chunks: bytes) -> bytes:
    """A valid 1x1 grey PNG with ``chunks`` placed before the image data."""
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    idat = png_chunk(b"IDAT", zlib.compress(b"\0\x80"))
    return b"\x89PNG\r\n\x1a\n" + ihdr + b"".join(chunks) + idat + png_chunk(b"IEND", b"")


# --- formats ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "writer, container, where",
    [
        (lambda p, t: save_png_like_saveimage(p.with_suffix(".png")), "png", "PNG tEXt chunk 'workflow'"),
        (lambda p, t: save_apng_like_saveanimatedpng(p.with_suffix(".png")), "png", "PNG comf chunk 'workflow'"),
        (lambda p, t: save_webp_like_saveanimatedwebp(p.with_suffix(".webp")), "webp", "WEBP EXIF tag 0x010F"),
        (
            lambda p, t: save_mp4_like_savevideo(p.with_suffix(".mp4")),
            "QuickTime / MOV",
            "QuickTime / MOV container tag 'workflow'",
        ),
        (
            lambda p, t: save_mp4_like_vhs(p.with_suffix(".mp4"), t),
            "QuickTime / MOV",
            "QuickTime / MOV container tag 'workflow'",
        ),
        (
            lambda p, t: save_flac_like_saveaudio(p.with_suffix(".flac")),
            "raw FLAC",
            "raw FLAC container tag 'workflow'",
        ),
    ],
    ids=["png-saveimage", "apng-comf", "webp-exif", "mp4-savevideo", "mp4-vhs", "flac-saveaudio"],
)
def test_workflow_and_prompt_come_back_exactly(tmp_path, writer, container, where):
    meta = extract_metadata(writer(tmp_path / "render", tmp_path))
    assert meta.workflow == WORKFLOW
    assert meta.prompt == PROMPT
    assert meta.container == container
    assert meta.found_in["workflow"] == where


def test_webp_agrees_with_pillows_own_exif_reader(tmp_path):
    path = save_webp_like_saveanimatedwebp(tmp_path / "a.webp")
    with Image.open(path) as image:
        pillow = image.getexif()
    assert json.loads(pillow[0x010F].split(":", 1)[1]) == extract_metadata(path).workflow


def test_webp_second_extra_key_lands_in_imagedescription(tmp_path):
    path = save_webp_like_saveanimatedwebp(tmp_path / "b.webp", {"note": {"a": 1}, "workflow": WORKFLOW})
    meta = extract_metadata(path)
    assert meta.found_in["workflow"] == "WEBP EXIF tag 0x010E"
    assert meta.workflow == WORKFLOW
    assert "note" in meta.other_keys


def test_matroska_upper_case_tags(tmp_path):
    path = save_video(tmp_path / "a.mkv", {"prompt": json.dumps(PROMPT), "workflow": json.dumps(WORKFLOW)})
    with av.open(str(path)) as container:
        assert "WORKFLOW" in container.metadata  # the Matroska muxer upper-cases tag names
    meta = extract_metadata(path)
    assert (meta.workflow, meta.prompt) == (WORKFLOW, PROMPT)


def test_json_in_comment_tag_when_mp4_dropped_custom_tags(tmp_path):
    path = save_video(
        tmp_path / "plain.mp4", {"comment": json.dumps({"prompt": json.dumps(PROMPT), "workflow": WORKFLOW})}
    )
    meta = extract_metadata(path)
    assert (meta.workflow, meta.prompt) == (WORKFLOW, PROMPT)
    assert meta.found_in["prompt"].endswith("-> 'prompt'")


def test_compressed_text_chunks(tmp_path):
    info = PngInfo()
    info.add_text("prompt", json.dumps(PROMPT), zip=True)  # Latin-1 -> zTXt
    workflow = {**WORKFLOW, "extra": {"note": "\u4e2d\u6587 \u00fc"}}
    info.add_itxt("workflow", json.dumps(workflow, ensure_ascii=False), zip=True)  # UTF-8 -> iTXt
    path = tmp_path / "z.png"
    Image.new("L", (4, 4)).save(path, pnginfo=info)
    meta = extract_metadata(path)
    assert (meta.workflow, meta.prompt) == (workflow, PROMPT)
    assert meta.found_in == {"prompt": "PNG zTXt chunk 'prompt'", "workflow": "PNG iTXt chunk 'workflow'"}


def test_unrelated_text_chunks_are_listed_not_read(tmp_path):
    path = save_png_like_saveimage(tmp_path / "vhs.png", CreationTime="2026-01-01 10:00:00")
    meta = extract_metadata(path)
    assert meta.other_keys == ("CreationTime",)


# --- errors -----------------------------------------------------------------------------------------


def error_of(path) -> str:
    with pytest.raises(ValueError) as info:
        extract_metadata(path)
    return str(info.value)


def test_no_metadata_says_why(tmp_path):
    png = tmp_path / "bare.png"
    Image.new("RGB", (8, 8)).save(png)
    assert "no ComfyUI workflow or prompt" in error_of(png) and "--disable-metadata" in error_of(png)
    webp = tmp_path / "bare.webp"
    Image.new("RGB", (8, 8)).save(webp)
    assert "no ComfyUI workflow or prompt in this webp file" in error_of(webp)
    mp4 = save_video(tmp_path / "bare.mp4", {"title": "x"})
    assert "metadata keys present: " in error_of(mp4)


def test_missing_and_non_media_files(tmp_path):
    assert "cannot read IMAGE_OR_VIDEO" in error_of(tmp_path / "nope.png")
    blob = tmp_path / "blob.dat"
    blob.write_bytes(np.random.default_rng(5).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    assert "not a PNG, WEBP or audio/video file" in error_of(blob)


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"nodes": [', "is not valid JSON"),
        ("[1, 2, 3]", "is JSON list, expected an object"),
        ("[" * 200_000 + "]" * 200_000, "nested too deeply"),
        ("__import__('os').system('echo pwned')", "is not valid JSON"),
    ],
)
def test_malformed_json(tmp_path, text, message):
    path = tmp_path / "bad.png"
    path.write_bytes(raw_png(png_chunk(b"tEXt", b"workflow\0" + text.encode("latin-1"))))
    assert message in error_of(path)
    assert "PNG tEXt chunk 'workflow'" in error_of(path)


def test_duplicate_key_is_refused(tmp_path):
    body = b"prompt\0" + json.dumps(PROMPT).encode()
    path = tmp_path / "dup.png"
    path.write_bytes(raw_png(png_chunk(b"tEXt", body), png_chunk(b"tEXt", body)))
    assert "stored twice" in error_of(path)


def test_corrupt_crc_truncation_and_bad_keyword(tmp_path):
    good = png_chunk(b"tEXt", b"prompt\0" + json.dumps(PROMPT).encode())
    bad_crc = good[:-4] + b"\0\0\0\0"
    (tmp_path / "crc.png").write_bytes(raw_png(bad_crc))
    assert "CRC mismatch" in error_of(tmp_path / "crc.png")
    (tmp_path / "cut.png").write_bytes(raw_png(good)[:50])
    assert "truncated or corrupt" in error_of(tmp_path / "cut.png")
    (tmp_path / "kw.png").write_bytes(raw_png(png_chunk(b"tEXt", b"x" * 100)))
    assert "no keyword" in error_of(tmp_path / "kw.png")


def test_text_over_16_mib_is_refused(tmp_path):
    huge = json.dumps({"nodes": [], "pad": "x" * MAX_TEXT_BYTES})
    path = tmp_path / "huge.png"
    path.write_bytes(raw_png(png_chunk(b"tEXt", b"workflow\0" + huge.encode())))
    assert "over the 16 MiB limit" in error_of(path)


def test_chunk_over_64_mib_is_refused_before_reading(tmp_path):
    path = tmp_path / "giant.png"
    body = b"workflow\0" + b" " * (MAX_CHUNK_BYTES + 1)
    path.write_bytes(raw_png(struct.pack(">I", len(body)) + b"tEXt" + body + b"\0\0\0\0"))
    assert "over the 64 MiB limit" in error_of(path)


def test_unwanted_giant_chunk_is_skipped(tmp_path):
    path = tmp_path / "skip.png"
    junk = b"Comment\0" + b" " * (MAX_CHUNK_BYTES + 1)
    prompt = png_chunk(b"tEXt", b"prompt\0" + json.dumps(PROMPT).encode())
    path.write_bytes(raw_png(struct.pack(">I", len(junk)) + b"tEXt" + junk + b"\0\0\0\0", prompt))
    meta = extract_metadata(path)
    assert meta.prompt == PROMPT and meta.other_keys == ("Comment",)


def test_decompression_bomb_in_ztxt(tmp_path):
    bomb = zlib.compress(b" " * (MAX_TEXT_BYTES + 10), 9)
    path = tmp_path / "bomb.png"
    path.write_bytes(raw_png(png_chunk(b"zTXt", b"workflow\0\0" + bomb)))
    assert len(bomb) < 100_000
    assert "decompresses to more than 16 MiB" in error_of(path)


def test_invalid_utf8_in_itxt(tmp_path):
    path = tmp_path / "utf.png"
    path.write_bytes(raw_png(png_chunk(b"iTXt", b'workflow\0\0\0\0\0{"a": "\xff"}')))
    assert "not valid UTF-8" in error_of(path)


def test_bad_exif_and_oversized_video_tag(tmp_path):
    frames = Image.new("RGB", (8, 8))
    path = tmp_path / "exif.webp"
    frames.save(path, exif=b"Exif\0\0garbage-not-tiff")
    assert "not a valid EXIF/TIFF block" in error_of(path)
    big = save_video(tmp_path / "big.mp4", {"workflow": "x" * (MAX_TEXT_BYTES + 1)}, {"movflags": "use_metadata_tags"})
    assert "container tag 'workflow' is 16777217 bytes" in error_of(big)


# --- property: any JSON object survives a PNG text chunk ------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    workflow=st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=6),
    ascii_only=st.booleans(),
    zipped=st.booleans(),
)
def test_any_json_object_round_trips_through_png_text(tmp_path, workflow, ascii_only, zipped):
    info = PngInfo()
    info.add_text("workflow", json.dumps(workflow, ensure_ascii=ascii_only), zip=zipped)  # tEXt/zTXt/iTXt
    buffer = io.BytesIO()
    Image.new("L", (2, 2)).save(buffer, format="PNG", pnginfo=info)
    path = tmp_path / "prop.png"
    path.write_bytes(buffer.getvalue())
    assert extract_metadata(path).workflow == workflow
    raw = read_png(io.BytesIO(buffer.getvalue()), len(buffer.getvalue()))
    assert json.loads(raw.texts[0].text) == workflow


# --- summary and command ----------------------------------------------------------------------------


def test_summary_counts_nodes_types_ours_and_settings():
    meta = ExtractedMetadata("x.png", "png", WORKFLOW, PROMPT, {"workflow": "w", "prompt": "p"})
    summary = summarize(meta, OUR_IDS)
    assert summary["workflow"]["node_count"] == 4
    assert summary["workflow"]["subgraph_node_count"] == 2
    assert summary["workflow"]["link_count"] == 2
    assert summary["workflow"]["node_types"]["subgraph:Decode and mux"] == 1
    assert summary["workflow"]["node_types"]["VAEDecode"] == 1
    assert summary["prompt"]["node_count"] == 7
    assert summary["our_nodes"] == ["AudioLoopPlanner"]
    values = {(s["node"], s["input"]): s["value"] for s in summary["settings"]}
    assert values[("3", "noise_seed")] == 123456789012
    assert values[("4", "sampler_name")] == "euler_ancestral"
    assert values[("5", "sigmas")] == "1.0, 0.99375, 0.9875, 0.0"
    assert values[("7", "schedule")].startswith("0:00-0:30: a singer")
    assert values[("7", "window_seconds")] == 19.88
    assert ("7", "audio") not in values  # a link, not a setting
    assert [m["value"] for m in summary["models"]] == ["ltx-2.3-22b-distilled.safetensors"]
    assert summary["problems"] == []


def test_summary_of_broken_graphs_lists_problems():
    meta = ExtractedMetadata("x.png", "png", {"links": []}, {"1": {"inputs": {}}})
    summary = summarize(meta, OUR_IDS)
    assert summary["workflow"]["node_count"] == 0
    assert len(summary["problems"]) == 2


def test_command_json_summary(tmp_path, capsys):
    path = save_png_like_saveimage(tmp_path / "ComfyUI_00001_.png")
    assert main(["extract", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["our_nodes"] == ["AudioLoopPlanner"]
    assert data["prompt"]["node_count"] == 7


def test_command_text_summary(tmp_path, capsys):
    path = save_mp4_like_savevideo(tmp_path / "render.mp4")
    assert main(["extract", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Workflow (UI): 4 nodes, 2 links, 1 subgraphs with 2 nodes" in out
    assert "ltx-audioloop nodes: AudioLoopPlanner" in out
    assert "#3 RandomNoise.noise_seed = 123456789012" in out
    assert "        0:30+: close-up, blue light" in out


def test_command_writes_files_and_refuses_to_overwrite(tmp_path, capsys):
    path = save_webp_like_saveanimatedwebp(tmp_path / "clip.webp")
    out_dir = tmp_path / "out"
    assert main(["extract", str(path), "-o", str(out_dir)]) == 0
    assert json.loads((out_dir / "clip.workflow.json").read_text(encoding="utf-8")) == WORKFLOW
    assert json.loads((out_dir / "clip.prompt.json").read_text(encoding="utf-8")) == PROMPT
    capsys.readouterr()
    assert main(["extract", str(path), "--out", str(out_dir)]) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert main(["extract", str(path), "--out", str(out_dir), "--force"]) == 0


def test_command_error_exit_code(tmp_path, capsys):
    png = tmp_path / "plain.png"
    Image.new("RGB", (4, 4)).save(png)
    assert main(["extract", str(png)]) == 2
    assert "ltx-audioloop extract: error:" in capsys.readouterr().err


def test_summary_follows_settings_wired_from_value_nodes():
    prompt = {
        "1": {"class_type": "PrimitiveInt", "inputs": {"value": 1234}},
        "2": {"class_type": "PrimitiveStringMultiline", "inputs": {"value": "0:00+: a singer, medium shot"}},
        "3": {"class_type": "TensorLoopOpen", "inputs": {"mode": "iterations", "mode.iterations": 3}},
        "4": {
            "class_type": "AudioLoopController",
            "inputs": {"current_iteration": ["3", 3], "seed": ["1", 0], "window_seconds": 19.88},
        },
        "5": {
            "class_type": "TimestampPromptScheduleBatchEncode",
            "inputs": {"schedule": ["2", 0], "stride_seconds": ["4", 4]},
        },
        "6": {"class_type": "RandomNoise", "inputs": {"noise_seed": ["4", 3]}},
    }
    ours = ["AudioLoopController", "TimestampPromptScheduleBatchEncode"]
    settings = summarize(ExtractedMetadata("x.png", "png", None, prompt), ours)["settings"]
    wired = {(e["node"], e["input"]): (e["value"], e.get("via")) for e in settings}
    assert wired[("4", "seed")] == (1234, "PrimitiveInt #1")
    assert wired[("5", "schedule")] == ("0:00+: a singer, medium shot", "PrimitiveStringMultiline #2")
    assert ("5", "stride_seconds") not in wired and ("6", "noise_seed") not in wired  # computed, not set
    assert ("4", "current_iteration") not in wired
