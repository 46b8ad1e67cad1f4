"""Chunked decode and streamed writing (video/), on a stand-in decoder with LTX's temporal layout."""

from __future__ import annotations

import av
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltx_audioloop.video.chunks import decode_chunks, pixel_frames, plan_chunks
from ltx_audioloop.video.comfy_io import ui_result, vae_chunk_decoder
from ltx_audioloop.video.save import write_latent_video
from ltx_audioloop.video.writer import audio_samples_at, frame_rate


def _smooth(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Non-causal temporal box filter along axis 2, edges replicated (as a padded conv sees a slice end)."""
    padded = torch.cat([x[:, :, :1]] * radius + [x] + [x[:, :, -1:]] * radius, dim=2)
    return sum(padded[:, :, k:k + x.shape[2]] for k in range(2 * radius + 1)) / (2 * radius + 1)


def stand_in_decode(latent: torch.Tensor) -> torch.Tensor:
    """[1, C, L, h, w] -> [1, 8L - 7, 2h, 2w, 3] in 0..1: LTX's layout, a reach of 1 latent + 2 pixel frames."""
    x = _smooth(latent[:, :3].double(), 1)
    x = x.repeat_interleave(8, dim=2)[:, :, 7:]
    x = x.repeat_interleave(2, dim=3).repeat_interleave(2, dim=4)
    x = _smooth(x, 2)
    return torch.sigmoid(x).movedim(1, -1).float()


def _latent(frames: int, seed: int = 0, height: int = 4, width: int = 6) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(1, 4, frames, height, width, generator=g)


def _one_shot(latent):
    return (stand_in_decode(latent)[0].clamp(0, 1) * 255).round().to(torch.uint8)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 200), st.integers(1, 40), st.integers(1, 10))
def test_plan_tiles_every_pixel_frame_once(latent_frames, chunk, context):
    plan = plan_chunks(latent_frames, chunk, context)
    covered = 0
    for c in plan:
        assert c.first_pixel == covered
        assert 0 <= c.keep_start < c.keep_end <= c.decoded_frames
        assert c.decode_start == 0 or c.keep_start >= 1  # the slice's one-frame first latent is never kept
        covered += c.kept_frames
    assert covered == pixel_frames(latent_frames) == 8 * latent_frames - 7
    assert max(c.decode_end - c.decode_start for c in plan) <= chunk + 2 * context


@pytest.mark.parametrize(("frames", "chunk"), [(1, 4), (2, 1), (9, 4), (25, 7), (40, 16)])
def test_chunks_equal_one_shot_decode(frames, chunk):
    latent = _latent(frames)
    blocks = list(decode_chunks(latent, stand_in_decode, chunk, 2))
    joined = torch.cat(blocks)
    assert joined.dtype == torch.uint8 and joined.shape[0] == 8 * frames - 7
    assert max(b.shape[0] for b in blocks) <= 8 * chunk
    diff = (joined.int() - _one_shot(latent).int()).abs()
    assert int(diff.max()) <= 1


def test_too_little_context_differs_only_at_the_cuts():
    latent = _latent(33, seed=3)
    joined = torch.cat(list(decode_chunks(latent, stand_in_decode, 8, 1)))
    diff = (joined.int() - _one_shot(latent).int()).abs().amax(dim=(1, 2, 3))
    bad = set(torch.nonzero(diff > 1).flatten().tolist())
    cuts = [c.first_pixel for c in plan_chunks(33, 8, 1)[1:]]
    assert bad, "a context shorter than the decoder's reach must show (else the test decoder is too weak)"
    assert all(any(abs(f - cut) <= 8 for cut in cuts) for f in bad)


def test_decoder_with_other_layout_is_refused():
    with pytest.raises(ValueError, match="vae: .*LTX-Video VAE"):
        list(decode_chunks(_latent(5), lambda x: torch.zeros(1, 4 * x.shape[2], 8, 8, 3), 2, 1))


def _tone(seconds: float, rate: int = 16000, channels: int = 2) -> dict:
    t = torch.arange(int(seconds * rate)) / rate
    wave = torch.stack([0.3 * torch.sin(2 * np.pi * 440 * t)] * channels)[None]
    return {"waveform": wave, "sample_rate": rate}


def _read(path):
    with av.open(str(path)) as container:
        video = sum(1 for _ in container.decode(video=0))
    with av.open(str(path)) as container:
        stream = container.streams.audio[0] if container.streams.audio else None
        samples = sum(f.samples for f in container.decode(audio=0)) if stream else 0
    return video, samples


@pytest.mark.parametrize(("container", "codec", "pixel_format"),
                         [("mp4", "h264", "yuv420p"), ("mkv", "h265", "yuv444p")])
def test_written_file_has_every_frame_and_the_audio(tmp_path, container, codec, pixel_format):
    latent = {"samples": _latent(7, height=8, width=10)}  # 20x16 pixels: x265 needs 16 or more
    path = tmp_path / f"out.{container}"
    report = write_latent_video(latent, stand_in_decode, path, fps=25.0, audio=_tone(10.0), codec=codec, crf=23,
                                pixel_format=pixel_format, container=container, preset="ultrafast",
                                chunk_latent_frames=3, context_latent_frames=2)
    frames, samples = _read(path)
    assert frames == report["frames"] == 49
    expected = audio_samples_at(49, frame_rate(25.0), 16000)  # 1.96 s: the track is cut at the video's end
    assert report["audio_samples"] == expected == 31360
    assert abs(samples - expected) <= 1024 + 2048  # AAC priming and padding
    assert report["chunks"] == 3 and report["width"] == 20 and report["height"] == 16
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_short_audio_ends_early_and_video_keeps_its_length(tmp_path):
    path = tmp_path / "short.mp4"
    report = write_latent_video({"samples": _latent(9)}, stand_in_decode, path, fps=25.0, audio=_tone(1.0, 8000, 1),
                                preset="ultrafast", chunk_latent_frames=4, context_latent_frames=1)
    assert report["frames"] == 65 and report["audio_samples"] == 8000
    assert _read(path)[0] == 65


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"crf": 60}, "crf must be"),
    ({"codec": "vp9"}, "codec 'vp9'"),
    ({"pixel_format": "rgb24"}, "pixel_format 'rgb24'"),
    ({"fps": 0.0}, "fps must be"),
    ({"container": "avi"}, "container 'avi'"),
    ({"preset": "turbo"}, "preset 'turbo'"),
    ({"chunk_latent_frames": 0}, "chunk_latent_frames must be"),
    ({"context_latent_frames": 0}, "context_latent_frames must be"),
    ({"audio": _tone(1.0, channels=6)}, "audio has 6 channels"),
    ({"audio": {"waveform": torch.zeros(1, 2, 10)}}, "audio must be an AUDIO value"),
])
def test_bad_inputs_are_refused_before_writing(tmp_path, kwargs, message):
    path = tmp_path / "x.mp4"
    options = {"fps": 25.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        write_latent_video({"samples": _latent(3)}, stand_in_decode, path, **options)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("latent", "message"), [
    ({"samples": torch.zeros(1, 4, 8, 8)}, "latent must be a video latent"),
    ({"samples": torch.zeros(2, 4, 3, 4, 4)}, "batch of 2 videos"),
    ([1, 2], "latent must be a LATENT value"),
])
def test_bad_latents_are_refused(tmp_path, latent, message):
    with pytest.raises(ValueError, match=message):
        write_latent_video(latent, stand_in_decode, tmp_path / "x.mp4", fps=25.0)
    assert list(tmp_path.iterdir()) == []


def test_failed_decode_leaves_no_file(tmp_path):
    def failing(x):
        if x.shape[2] < 6:
            raise RuntimeError("device lost")
        return stand_in_decode(x)

    with pytest.raises(RuntimeError, match="device lost"):
        write_latent_video({"samples": _latent(12)}, failing, tmp_path / "x.mp4", fps=25.0, chunk_latent_frames=4,
                           context_latent_frames=1)
    assert list(tmp_path.iterdir()) == []


def test_tile_size_and_ui_result():
    with pytest.raises(ValueError, match="spatial_tile_size"):
        vae_chunk_decoder(object(), -32)
    assert ui_result("a_00001_.mp4", "ltx") == {
        "images": [{"filename": "a_00001_.mp4", "subfolder": "ltx", "type": "output"}], "animated": (True,)}
