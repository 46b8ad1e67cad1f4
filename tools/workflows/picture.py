"""A picture of a canvas workflow: groups, nodes with their titles, links (Pillow, no ComfyUI).

Used for the template thumbnails next to each shipped workflow and for the README. The
drawing follows the canvas layout of the UI-format document, scaled to ``width`` pixels.
"""

from __future__ import annotations

from typing import Any, Mapping

from PIL import Image, ImageDraw

from ...pictures.drawing import drawable, fit_text, load_font

BACKGROUND = (32, 33, 36)
NODE_FILL = (53, 53, 53)
NODE_OWN = (40, 70, 60)
NODE_OUTLINE = (110, 110, 110)
LINK_COLOUR = (150, 170, 190)
TEXT = (230, 230, 230)


def _hex(colour: str, alpha: int = 70) -> tuple[int, int, int, int]:
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16), alpha


def draw_workflow(document: Mapping[str, Any], *, width: int = 1600, own_types: frozenset[str] = frozenset(),
                  title: str | None = None) -> Image.Image:
    """Render ``document`` (UI format) to an RGB image ``width`` pixels wide."""
    nodes = document.get("nodes") or []
    boxes = [(n["pos"][0], n["pos"][1], n["pos"][0] + n["size"][0], n["pos"][1] + n["size"][1]) for n in nodes]
    for group in document.get("groups") or []:
        x, y, w, h = group["bounding"]
        boxes.append((x, y, x + w, y + h))
    if not boxes:
        raise ValueError("the workflow has no nodes to draw")
    left, top = min(b[0] for b in boxes), min(b[1] for b in boxes)
    right, bottom = max(b[2] for b in boxes), max(b[3] for b in boxes)
    margin = 40.0
    header = 60 if title else 0
    scale = (width - 2 * margin) / max(right - left, 1.0)
    height = int((bottom - top) * scale + 2 * margin) + header

    def at(x: float, y: float) -> tuple[float, float]:
        return margin + (x - left) * scale, header + margin + (y - top) * scale

    image = Image.new("RGB", (width, height), BACKGROUND)
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    layer = ImageDraw.Draw(overlay)
    font = load_font(max(10, int(22 * scale)))
    big = load_font(max(12, int(34 * scale)))
    for group in document.get("groups") or []:
        x, y, w, h = group["bounding"]
        layer.rectangle([*at(x, y), *at(x + w, y + h)], fill=_hex(group.get("color", "#3f789e")))
        layer.text(at(x + 12, y + 8), drawable(big, group.get("title", "")), fill=TEXT, font=big)
    image.paste(overlay, (0, 0), overlay)
    draw = ImageDraw.Draw(image)
    by_id = {n["id"]: n for n in nodes}
    for link in document.get("links") or []:
        origin, target = by_id.get(link[1]), by_id.get(link[3])
        if origin is None or target is None:
            continue
        x0, y0 = at(origin["pos"][0] + origin["size"][0], origin["pos"][1] + 20 + 22 * link[2])
        x1, y1 = at(target["pos"][0], target["pos"][1] + 20 + 22 * link[4])
        draw.line([(x0, y0), ((x0 + x1) / 2, y0), ((x0 + x1) / 2, y1), (x1, y1)], fill=LINK_COLOUR, width=1)
    for node in nodes:
        x, y = node["pos"]
        w, h = node["size"]
        fill = NODE_OWN if node["type"] in own_types else NODE_FILL
        draw.rounded_rectangle([*at(x, y), *at(x + w, y + h)], radius=max(2, int(8 * scale)), fill=fill,
                               outline=NODE_OUTLINE)
        label = node.get("title") or node["type"]
        label = fit_text(font, label, (w - 16) * scale, min_chars=1, ellipsis="\u2026", trailing="")
        if label:
            draw.text(at(x + 8, y + 6), drawable(font, label), fill=TEXT, font=font)
    if title:
        title_font = load_font(30)
        draw.text((margin, 14), drawable(title_font, title), fill=TEXT, font=title_font)
    return image
