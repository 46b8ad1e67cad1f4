"""Assembly: exact frame and audio sample counts, crossfades, trims, watermark refusal."""

from __future__ import annotations

import av
import numpy as np
import pytest
from PIL import Image

from ltx_audioloop.tools.assembly.assemble import assemble
from ltx_audioloop.tools.assembly.clips import parse_spec
from ltx_audioloop.tools.cli import main
from tests.support.media import FPS, H, W, write_video


def make_clip(path, frames, colour, audio_seconds=None, rate=48000, channels=2):
    """``frames`` solid-``colour`` frames, with ``audio_seconds`` of a 440 Hz tone when given."""
    images = np.zeros((frames, H, W, 3), np.uint8) + np.array(colour, np.uint8)
    audio = None
    if audio_seconds is not None:
        n = int(audio_seconds * rate)
        tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / rate)).astype(np.float32)
        audio = np.tile(tone, (channels, 1))
    return write_video(path, images, audio, rate=rate, fps=FPS, crf=None)


def counts(path):
    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    with av.open(str(path)) as c:
        samples = sum(f.samples for f in c.decode(audio=0)) if c.streams.audio else 0
        rate = c.streams.audio[0].rate if c.streams.audio else None
    return frames, samples, rate


@pytest.fixture
def clips(tmp_path):
    a = make_clip(tmp_path / "a.mp4", 30, (200, 40, 40), audio_seconds=1.5)   # audio longer than video (1.2 s)
    b = make_clip(tmp_path / "b.mp4", 20, (40, 40, 200), audio_seconds=0.5)   # audio shorter than video (0.8 s)
    c = make_clip(tmp_path / "c.mp4", 15, (40, 200, 40))                      # no audio
    return a, b, c


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov"])
def test_concat_lengths_exact(clips, tmp_path, suffix):
    out = tmp_path / f"joined{suffix}"
    result = assemble([str(c) for c in clips], out, preset="ultrafast")
    frames, samples, rate = counts(out)
    assert len(frames) == result["frames"] == 65
    assert rate == 48000 and samples == result["audio_samples"] == 65 * 48000 // 25


def test_crossfade_and_trims_exact(clips, tmp_path):
    a, b, c = clips
    out = tmp_path / "x.mkv"
    result = assemble([f"{a}@5:", f"{b}@:-3", f"{c}@2:12"], out, crossfade=4, preset="ultrafast")
    total = 25 + 17 + 10 - 2 * 4
    frames, samples, _ = counts(out)
    assert len(frames) == result["frames"] == total
    assert samples == round(total * 48000 / 25)
    assert [c_["at"] for c_ in result["clips"]] == [0, 21, 34]
    red, blue = frames[10].mean(axis=(0, 1)), frames[30].mean(axis=(0, 1))
    assert red[0] > 150 and blue[2] > 150
    mid = frames[22].mean(axis=(0, 1))  # second frame of the crossfade: w = 2/5 toward blue
    assert 80 < mid[0] < 170 and 80 < mid[2] < 170


def test_audio_of_silent_and_short_clips_is_silence(clips, tmp_path):
    a, b, c = clips
    out = tmp_path / "y.mkv"
    assemble([str(b), str(c)], out, preset="ultrafast")
    with av.open(str(out)) as container:
        audio = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    rate = 48000
    per_channel = audio.reshape(-1, 2) if audio.size == 35 * rate // 25 * 2 else None
    assert per_channel is not None
    loud_end = int(0.5 * rate)
    assert np.abs(per_channel[: loud_end - 2000]).max() > 0.1
    assert np.abs(per_channel[loud_end + 2000:]).max() < 1e-3


def test_watermark_applied_and_missing_file_refused(clips, tmp_path, capsys):
    a, _, _ = clips
    mark = tmp_path / "mark.png"
    Image.new("RGBA", (32, 16), (255, 255, 255, 255)).save(mark)
    out = tmp_path / "w.mp4"
    assert main(["assemble", str(a), "-o", str(out), "--watermark", str(mark), "--watermark-scale", "0.25",
                 "--preset", "ultrafast", "--no-track"]) == 0
    frames, _, _ = counts(out)
    corner = frames[0][-14:-10, -20:-12].mean()
    assert corner > 230 and frames[0][5:10, 5:10, 0].mean() > 150
    missing = tmp_path / "w2.mp4"
    assert main(["assemble", str(a), "-o", str(missing), "--watermark", str(tmp_path / "nope.png"),
                 "--no-track"]) == 2
    assert "refusing" in capsys.readouterr().err and not missing.exists()


def test_watermark_from_environment_is_mandatory(clips, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LTX_AUDIOLOOP_WATERMARK", str(tmp_path / "gone.png"))
    out = tmp_path / "e.mp4"
    assert main(["assemble", str(clips[0]), "-o", str(out), "--no-track"]) == 2
    assert "refusing" in capsys.readouterr().err and not out.exists()


def test_bad_specs_are_named(clips, tmp_path):
    a, b, _ = clips
    assert parse_spec("dir@x/clip.mp4") == (parse_spec("dir@x/clip.mp4")[0], None, None)
    with pytest.raises(ValueError, match="START:END"):
        parse_spec(f"{a}@x:1")
    with pytest.raises(ValueError, match="keeps no frame"):
        assemble([f"{a}@10:10"], tmp_path / "z.mp4")
    with pytest.raises(ValueError, match="not shorter than clip"):
        assemble([str(a), f"{b}@:3"], tmp_path / "z.mp4", crossfade=3)
    with pytest.raises(ValueError, match="no such file"):
        assemble([str(tmp_path / "none.mp4")], tmp_path / "z.mp4")
