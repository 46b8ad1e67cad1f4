"""The pictures the package draws with Pillow: the render-plan timeline (``timeline``), the
audio-analysis picture (``analysis``), and the text and colour helpers they and the command-line
pictures share (``drawing``)."""
