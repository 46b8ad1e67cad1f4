"""Tests of the shared drawing helpers (pictures/drawing.py): fonts and their fallback, text
width, shortened text that never overflows, centred text, axis tick steps."""

from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFont

from ltx_audioloop.pictures.drawing import (
    ELLIPSIS,
    TRAILING,
    draw_text,
    drawable,
    first_fitting,
    fit_text,
    load_font,
    load_font_from,
    text_width,
    tick_step,
)


def bitmap_font():
    """The fixed bitmap font: what ``load_default()`` gives on Pillow < 10.1 or without FreeType."""
    return getattr(ImageFont, "load_default_imagefont", ImageFont.load_default)()


def pillow_9_5_load_default():
    """``ImageFont.load_default`` as Pillow 9.5 defines it: no ``size`` parameter."""
    return bitmap_font()


def no_freetype_load_default(size=None):
    """``ImageFont.load_default`` of Pillow >= 10.1 built without FreeType, asked for a size."""
    if size is not None:
        raise ImportError("The _imagingft C module is not installed")
    return bitmap_font()


FONTS = {"13 px": load_font(13), "15 px": load_font(15), "bitmap": bitmap_font()}
texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)


@settings(max_examples=400, deadline=None)
@given(texts, st.floats(0, 500), st.sampled_from(sorted(FONTS)), st.integers(0, 8),
       st.sampled_from([ELLIPSIS, "\u2026"]), st.sampled_from([TRAILING, ""]))
def test_fitted_text_never_exceeds_the_width(text, width, font_name, min_chars, ellipsis, trailing):
    font = FONTS[font_name]
    fitted = fit_text(font, text, width, min_chars, ellipsis=ellipsis, trailing=trailing)
    if text_width(font, text) <= width:
        assert fitted == text
        return
    if fitted is None:
        return
    assert text_width(font, fitted) <= width
    assert fitted.endswith(ellipsis)
    kept = fitted[: len(fitted) - len(ellipsis)]
    assert text.startswith(kept) and len(kept) >= max(min_chars, 1)
    assert not kept.endswith(tuple(trailing)) if trailing else True


@settings(max_examples=200, deadline=None)
@given(st.text(st.sampled_from("abcdefghij KLMNOP,;:-"), min_size=30, max_size=60), st.integers(40, 150))
def test_fitting_keeps_the_longest_prefix_that_fits(text, width):
    font = FONTS["13 px"]
    fitted = fit_text(font, text, width, min_chars=1)
    assume(fitted is not None)
    kept = fitted[: -len(ELLIPSIS)]
    longer = [text[:n].rstrip(TRAILING) for n in range(len(kept) + 1, len(text) + 1)]
    assert all(text_width(font, p + ELLIPSIS) > width for p in longer if len(p) > len(kept))


def test_fit_text_examples():
    font = FONTS["13 px"]
    assert fit_text(font, "short", 500) == "short"
    assert fit_text(font, "a long sentence, with a comma in it", text_width(font, "a long sentence...")) == (
        "a long sentence...")
    assert fit_text(font, "a long sentence, with a comma", text_width(font, "a long sentence,...")) == (
        "a long sentence...")  # the comma before the ellipsis goes
    assert fit_text(font, "abcdef", 1) is None  # not even the ellipsis fits
    assert fit_text(font, "abcdefgh", text_width(font, "ab..."), min_chars=3) is None


def test_first_fitting_takes_the_first_that_fits_unshortened():
    font = FONTS["13 px"]
    wide, narrow = "a rather long label", "short"
    assert first_fitting(font, [wide, narrow], text_width(font, wide)) == wide
    assert first_fitting(font, [wide, narrow], text_width(font, narrow)) == narrow
    assert first_fitting(font, [wide, narrow], 1) is None


def test_font_at_a_size_on_this_pillow():
    font = load_font(21)
    if hasattr(ImageFont, "load_default_imagefont"):  # Pillow >= 10.1 (FreeType is in every wheel)
        assert isinstance(font, ImageFont.FreeTypeFont) and font.size == 21
        assert text_width(load_font(30), "Wide") > text_width(load_font(12), "Wide")


@pytest.mark.parametrize("loader", [pillow_9_5_load_default, no_freetype_load_default])
def test_font_falls_back_to_the_bitmap_font_where_pillow_cannot_scale(loader):
    font = load_font_from(loader, 30)
    assert isinstance(font, ImageFont.ImageFont)  # the bitmap font, whatever size was asked for
    # and every helper works with it
    assert text_width(font, "abc") > 0
    fitted = fit_text(font, "a label much too long for its box", 60)
    assert fitted is not None and text_width(font, fitted) <= 60
    image = Image.new("RGB", (200, 40), (255, 255, 255))
    x0, x1 = draw_text(ImageDraw.Draw(image), 190, 20, "right", font, (0, 0, 0), align="right")
    assert x1 == 190 and x0 == pytest.approx(190 - text_width(font, "right"))
    assert image.getbbox() is not None and min(image.getpixel((x, 20))[0] for x in range(int(x0), 190)) < 128


def test_the_bitmap_font_measures_and_draws_any_text():
    """Pillow's bitmap font encodes Latin-1 only; a prompt in Japanese must not crash a picture."""
    font = bitmap_font()
    text = "\u65e5\u672c\u8a9e: caf\u00e9 \u2026 \U0001f3b5"
    assert drawable(font, text) == "???: caf\u00e9 ... ?"
    if isinstance(FONTS["13 px"], ImageFont.FreeTypeFont):  # Pillow >= 10.1
        assert drawable(FONTS["13 px"], text) == text  # FreeType fonts take any text
    image = Image.new("RGB", (300, 40), (255, 255, 255))
    x0, x1 = draw_text(ImageDraw.Draw(image), 10, 20, text, font, (0, 0, 0))
    assert x1 - x0 == text_width(font, text) > 0
    assert fit_text(font, text, 40) is not None


def test_font_loading_errors_other_than_the_known_ones_propagate():
    def broken(size=None):
        raise ValueError("not a font problem we know")

    with pytest.raises(ValueError, match="not a font problem"):
        load_font_from(broken, 12)


@pytest.mark.parametrize("align, expected_left", [("left", 100.0), ("right", 100.0 - 1), ("centre", 100.0 - 0.5)])
def test_draw_text_aligns_on_x_and_centres_on_the_row(align, expected_left):
    font = FONTS["13 px"]
    width = text_width(font, "Timeline")
    image = Image.new("RGB", (300, 60), (255, 255, 255))
    x0, x1 = draw_text(ImageDraw.Draw(image), 100, 30, "Timeline", font, (0, 0, 0), align=align)
    left = 100.0 - {"left": 0, "right": width, "centre": width / 2}[align]
    assert (x0, x1) == pytest.approx((left, left + width))
    ink = Image.eval(image.convert("L"), lambda v: 255 - v).getbbox()
    assert abs((ink[1] + ink[3]) / 2 - 30) <= 3  # vertically centred on the row
    assert left - 2 <= ink[0] and ink[2] <= left + width + 2


def test_draw_text_background_box_and_bad_alignment():
    font = FONTS["13 px"]
    image = Image.new("RGB", (300, 60), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    x0, x1 = draw_text(draw, 50, 30, "on a box", font, (0, 0, 0), background=(200, 0, 0))
    assert image.getpixel((round(x0) - 2, 30)) == (200, 0, 0)
    assert image.getpixel((round(x1) + 2, 30)) == (200, 0, 0)
    with pytest.raises(ValueError, match="align must be"):
        draw_text(draw, 50, 30, "x", font, (0, 0, 0), align="middle")


STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)


@given(st.floats(0.01, 1e7), st.floats(100, 4000), st.floats(10, 200))
def test_tick_step_is_the_smallest_nice_step_far_enough_apart(total, width, spacing):
    step = tick_step(total, width, spacing)
    assert step / total * width >= spacing * (1 - 1e-12)  # ticks at least `spacing` px apart
    smaller = [s for s in STEPS if s < step]
    if step in STEPS:
        assert all(s / total * width < spacing for s in smaller)
    else:
        assert step % 7200 == 0 and (step - 7200) / total * width < spacing


def test_only_the_drawing_module_loads_fonts():
    """One font policy: every picture gets its fonts from pictures/drawing.py."""
    root = Path(__file__).resolve().parents[2]
    skipped = {"tests", "bench", "scripts", "docs", "build", "dist", "out"}
    loaders = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if parts[0] in skipped or any(p.startswith(".") or p.endswith(".egg-info") for p in parts):
            continue
        if path != root / "pictures" / "drawing.py" and "ImageFont" in path.read_text(encoding="utf-8"):
            loaders.append(path.relative_to(root).as_posix())
    assert not loaders, f"load fonts with pictures.drawing.load_font instead: {loaders}"
