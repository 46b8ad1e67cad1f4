"""A PNG summary of a metrics report, drawn with Pillow only.

Top panel: frame-to-frame dE76 over time with every iteration boundary (red when its seam score
is above 3, orange above 1.5, grey otherwise). Bottom panel: colour drift (dE76 to window 0)
per iteration window. Footer: offset and durations.
"""

from __future__ import annotations

from PIL import Image, ImageDraw

from ...pictures.drawing import drawable, load_font

WIDTH, HEIGHT = 960, 600
FONT_SIZE = 10
"""Text size in px: the size Pillow's default font has when no size is asked for (Pillow 10.1+)."""
MARGIN_L, MARGIN_R = 60, 20
BG, AXIS, CURVE, GREY = (255, 255, 255), (60, 60, 60), (40, 90, 200), (170, 170, 170)


def _score_colour(score: float) -> tuple[int, int, int]:
    if score > 3:
        return (210, 30, 30)
    if score > 1.5:
        return (240, 150, 20)
    return GREY


def _panel(draw, box, title, font):
    x0, y0, x1, y1 = box
    draw.rectangle(box, outline=AXIS)
    draw.text((x0, y0 - 14), title, fill=AXIS, font=font)


def render_metrics_plot(report: dict) -> Image.Image:
    """Draw ``report`` (from :func:`.report.compute_metrics`) into an RGB image."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BG)
    draw = ImageDraw.Draw(image)
    font = load_font(FONT_SIZE)
    fps = report["durations"]["fps"]
    frames = report["durations"]["video_frames"]
    duration = max(frames / fps, 1e-9)
    left, right = MARGIN_L, WIDTH - MARGIN_R

    def x_of(seconds: float) -> float:
        return left + (right - left) * seconds / duration

    diffs = report["frame_diffs"]
    box = (left, 40, right, 300)
    _panel(draw, box, "frame difference (mean dE76 between consecutive frames) and iteration boundaries", font)
    top = max(max(diffs, default=0.0), 1e-6) * 1.1
    for seam in report["seams"]:
        x = x_of(seam["frame"] / fps)
        colour = _score_colour(seam["score"])
        draw.line([(x, box[1]), (x, box[3])], fill=colour)
        draw.text((x + 2, box[1] + 2), f"{seam['score']:.1f}", fill=colour, font=font)
    if len(diffs) > 1:
        points = [(x_of((t + 1) / fps), box[3] - (box[3] - box[1]) * d / top) for t, d in enumerate(diffs)]
        draw.line(points, fill=CURVE, width=1)
    draw.text((4, box[1]), f"{top:.2g}", fill=AXIS, font=font)
    draw.text((4, box[3] - 10), "0", fill=AXIS, font=font)

    drift = report["drift"]
    box = (left, 350, right, 520)
    _panel(draw, box, "colour drift per iteration (dE76 of the window's mean Lab to window 0)", font)
    top = max(max((w["drift_de"] for w in drift), default=0.0), 1.0) * 1.1
    for w in drift:
        x0, x1 = x_of(w["start_s"]), x_of(w["end_s"])
        y = box[3] - (box[3] - box[1]) * w["drift_de"] / top
        draw.rectangle([x0 + 1, y, max(x0 + 1, x1 - 1), box[3]], fill=(120, 160, 220), outline=AXIS)
        draw.text((x0 + 3, max(box[1] + 2, y - 12)), f"{w['drift_de']:.1f}", fill=AXIS, font=font)
    draw.text((4, box[1]), f"{top:.2g}", fill=AXIS, font=font)
    draw.text((left, box[3] + 4), "0 s", fill=AXIS, font=font)
    draw.text((right - 60, box[3] + 4), f"{duration:.2f} s", fill=AXIS, font=font)

    s, d = report["summary"], report["durations"]
    offset = report.get("offset") or {}
    lines = [
        f"{report['video']}: {frames} frames at {fps:g} fps = {d['video_s']:.3f} s"
        + (f"; audio track {d['video_audio_s']:.3f} s" if "video_audio_s" in d else "")
        + (
            f"; source {d['source_s']:.3f} s (video - source {d['video_minus_source_s']:+.3f} s)"
            if "source_s" in d
            else ""
        ),
        f"max seam score {s['seam_max']:.2f}"
        if s["seam_max"] is not None
        else "no iteration boundary inside the video",
        (
            f"audio offset {round(offset['offset_s'] * 1000) + 0:+d} ms (positive = render's audio late), "
            f"confidence {offset['confidence']:.2f}"
        )
        if offset.get("offset_s") is not None
        else "audio offset: not measured",
    ]
    for i, line in enumerate(lines):
        draw.text((left, 545 + 16 * i), drawable(font, line), fill=AXIS, font=font)  # a file name: any text
    return image
