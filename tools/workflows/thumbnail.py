"""Template thumbnails: what each shipped workflow makes, readable at card size (Pillow, no ComfyUI).

ComfyUI's template browser shows ``<name>.jpg`` next to ``<name>.json`` on a card about 350 px
wide, so the picture is a square ``SIZE`` px: a headline of two short lines, the input it starts
from, a film strip of the video it makes (scene drawn per workflow, frame colours per section)
and the sound under it (the user's track, or sound the model generates). A graph diagram is
unreadable at that size; ``docs/workflows.md`` has the canvases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...pictures.drawing import load_font

SIZE = 400  # px, square
INK = (244, 241, 222)
MUTED = (180, 186, 200)


@dataclass(frozen=True)
class Thumbnail:
    headline: tuple[str, str]
    source: str                           # what the user gives, e.g. "your song"
    scene: str                            # "singer", "face" or "rooms"
    frames: tuple[tuple[int, int, int], ...]  # frame background colours, left to right
    sound: str                            # "track", "generated" or "none"
    background: tuple[int, int, int]
    loop: bool = True                     # draw the loop arrow over the strip


_STAGE_WARM, _STAGE_BLUE, _STAGE_GREEN = (176, 92, 52), (52, 86, 160), (46, 128, 96)
_ROOM_A, _ROOM_B, _ROOM_C = (196, 160, 98), (150, 172, 120), (120, 150, 190)
_SOFT = (120, 104, 96)

# by the workflow's slug name (Workflow.name), which never changes
THUMBNAILS = {
    "audio-loop-music-video-latent": Thumbnail(("Music video", "from a song"), "your song + a photo", "singer",
                                               (_STAGE_WARM,) * 4, "track", (30, 36, 62)),
    "audio-loop-music-video-image": Thumbnail(("Music video", "image-space loop"), "your song + a photo", "singer",
                                              (_STAGE_BLUE,) * 4, "track", (24, 52, 58)),
    "audio-loop-music-video-keyframes": Thumbnail(("Music video", "keyframe per section"), "your song + 3 photos",
                                                  "singer", (_STAGE_WARM, _STAGE_BLUE, _STAGE_GREEN, _STAGE_GREEN),
                                                  "track", (58, 34, 60)),
    "keyframe-walkthrough-flf": Thumbnail(("Walkthrough", "through keyframes"), "your keyframe photos", "rooms",
                                          (_ROOM_A, _ROOM_B, _ROOM_C, _ROOM_C), "none", (40, 46, 40)),
    "asmr-text-to-video": Thumbnail(("ASMR clip", "from text"), "a prompt", "face", (_SOFT,) * 4, "generated",
                                    (44, 40, 52), loop=False),
    "asmr-image-to-video": Thumbnail(("ASMR clip", "from an image"), "a photo + a prompt", "face", (_SOFT,) * 4,
                                     "generated", (56, 44, 36), loop=False),
    "asmr-long-form-loop": Thumbnail(("ASMR", "long-form, any length"), "your recording + a photo", "face",
                                     (_SOFT, (96, 110, 124), _SOFT, (96, 110, 124)), "track", (28, 44, 48)),
}


def _scene(draw, box: tuple[float, float, float, float], scene: str, colour: tuple[int, int, int], index: int) -> None:
    """One film frame's picture inside ``box`` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    draw.rectangle(box, fill=colour)
    skin, dark = (236, 196, 160), (34, 30, 40)
    if scene == "singer":
        # stage light cone, head, shoulders; the mouth opens and closes along the strip
        cx = x0 + w * 0.5
        draw.polygon([(cx - w * 0.12, y0), (cx + w * 0.12, y0), (x1, y1), (x0, y1)],
                     fill=tuple(min(255, c + 40) for c in colour))
        draw.ellipse((cx - w * 0.42, y0 + h * 0.70, cx + w * 0.42, y1 + h * 0.45), fill=(46, 120, 70))
        draw.ellipse((cx - w * 0.2, y0 + h * 0.28, cx + w * 0.2, y0 + h * 0.72), fill=skin)
        draw.pieslice((cx - w * 0.24, y0 + h * 0.2, cx + w * 0.24, y0 + h * 0.6), 180, 360, fill=(200, 60, 40))
        mouth = h * (0.03 + 0.05 * (index % 2))
        draw.ellipse((cx - w * 0.06, y0 + h * 0.6 - mouth, cx + w * 0.06, y0 + h * 0.6 + mouth), fill=dark)
    elif scene == "face":
        # a close-up: a large face, eyes closed, hands near it
        cx = x0 + w * 0.5
        draw.ellipse((cx - w * 0.36, y0 + h * 0.12, cx + w * 0.36, y1 + h * 0.1), fill=skin)
        draw.pieslice((cx - w * 0.42, y0 + h * 0.02, cx + w * 0.42, y0 + h * 0.75), 180, 360, fill=(50, 36, 30))
        for side in (-1, 1):
            draw.arc((cx + side * w * 0.16 - w * 0.08, y0 + h * 0.5, cx + side * w * 0.16 + w * 0.08, y0 + h * 0.6),
                     20, 160, fill=dark, width=2)
        draw.ellipse((cx - w * 0.05, y0 + h * 0.78, cx + w * 0.05, y0 + h * 0.84), fill=(170, 90, 90))
        hand_x = x0 + w * (0.15 + 0.2 * (index % 2))
        draw.rounded_rectangle((hand_x, y0 + h * 0.7, hand_x + w * 0.22, y1), radius=6, fill=(226, 186, 150))
    else:
        # rooms: a doorway in perspective, one step further into the house per frame
        depth = 0.18 + 0.06 * index
        inner = (x0 + w * depth, y0 + h * depth, x1 - w * depth, y1 - h * 0.05)
        draw.polygon([(x0, y1), (inner[0], inner[3]), (inner[2], inner[3]), (x1, y1)],
                     fill=tuple(max(0, c - 50) for c in colour))
        draw.rectangle(inner, fill=tuple(min(255, c + 45) for c in colour))
        door = (inner[0] + (inner[2] - inner[0]) * 0.35, inner[1] + (inner[3] - inner[1]) * 0.3,
                inner[0] + (inner[2] - inner[0]) * 0.65, inner[3])
        draw.rectangle(door, fill=(255, 236, 180))


def _wave(draw, box: tuple[float, float, float, float], sound: str, colour: tuple[int, int, int]) -> None:
    x0, y0, x1, y1 = box
    mid, half = (y0 + y1) / 2, (y1 - y0) / 2
    step = 5
    for i, x in enumerate(range(int(x0), int(x1), step)):
        if sound == "track":
            amplitude = 0.25 + 0.75 * abs(math.sin(i * 0.45) * 0.6 + math.sin(i * 0.13) * 0.4)
        else:  # generated sound: soft, breathy
            amplitude = 0.15 + 0.35 * abs(math.sin(i * 0.21)) * (0.6 + 0.4 * math.sin(i * 0.05))
        draw.line((x, mid - half * amplitude, x, mid + half * amplitude), fill=colour, width=3)


def draw_thumbnail(spec: Thumbnail):
    """The ``SIZE`` x ``SIZE`` RGB card picture of ``spec`` (drawn at 2x, then downsampled)."""
    from PIL import Image, ImageDraw

    scale = 2
    size = SIZE * scale
    image = Image.new("RGB", (size, size), spec.background)
    draw = ImageDraw.Draw(image)
    margin = 28 * scale
    draw.text((margin, 18 * scale), spec.headline[0], fill=INK, font=load_font(46 * scale))
    draw.text((margin, 70 * scale), spec.headline[1], fill=INK, font=load_font(30 * scale))
    draw.text((margin, 108 * scale), f"from {spec.source}", fill=MUTED, font=load_font(18 * scale))

    # film strip
    top, bottom = 160 * scale, 290 * scale
    draw.rectangle((0, top, size, bottom), fill=(18, 18, 20))
    for x in range(8 * scale, size, 22 * scale):
        draw.rectangle((x, top + 5 * scale, x + 10 * scale, top + 13 * scale), fill=(70, 70, 76))
        draw.rectangle((x, bottom - 13 * scale, x + 10 * scale, bottom - 5 * scale), fill=(70, 70, 76))
    count = len(spec.frames)
    gap = 8 * scale
    frame_w = (size - 2 * gap - (count - 1) * gap) / count
    frame_h = bottom - top - 40 * scale
    for index, colour in enumerate(spec.frames):
        frame = Image.new("RGB", (round(frame_w), round(frame_h)))  # its own image: the scene is clipped
        _scene(ImageDraw.Draw(frame), (0, 0, frame.width - 1, frame.height - 1), spec.scene, colour, index)
        image.paste(frame, (round(gap + index * (frame_w + gap)), top + 20 * scale))
    if spec.loop:
        # loop arrow over the strip: the window after window of the audio loop
        draw.arc((size * 0.55, top - 30 * scale, size * 0.9, top + 26 * scale), 200, 340, fill=INK, width=3 * scale)
        tip_x, tip_y = size * 0.9 - 14 * scale, top - 16 * scale
        draw.polygon([(tip_x, tip_y), (tip_x + 18 * scale, tip_y + 2 * scale), (tip_x + 5 * scale, tip_y + 15 * scale)],
                     fill=INK)

    # sound
    wave_box = (margin, 305 * scale, size - margin, 365 * scale)
    if spec.sound == "none":
        draw.text((margin, 320 * scale), "video only", fill=MUTED, font=load_font(20 * scale))
    else:
        _wave(draw, wave_box, spec.sound, (233, 196, 106) if spec.sound == "track" else (144, 202, 196))
        label = "lip-synced to your audio" if spec.sound == "track" else "with generated sound"
        draw.text((margin, 370 * scale), label, fill=MUTED, font=load_font(16 * scale))
    return image.resize((SIZE, SIZE), Image.LANCZOS)
