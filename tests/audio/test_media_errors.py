"""FFmpeg errors read as FFmpeg's description, without its internal error tag."""

from __future__ import annotations

import av
import pytest

from ltx_audioloop.audio.files import load_audio
from ltx_audioloop.audio.media_errors import describe_media_error


def test_garbage_file_error_names_the_file_and_no_errno(tmp_path):
    path = tmp_path / "song.wav"
    path.write_bytes(b"RIFF0000WAVE" + b"\x00junk" * 50)
    with pytest.raises(ValueError) as caught:
        load_audio(path)
    text = str(caught.value)
    assert str(path) in text and "Errno" not in text and "Invalid data" in text


def test_describe_media_error_falls_back_to_the_text():
    assert describe_media_error(ValueError("plain")) == "plain"
    try:
        av.open("/nonexistent/dir/file.mp4")
    except av.error.FFmpegError as err:
        assert describe_media_error(err) == "No such file or directory"
