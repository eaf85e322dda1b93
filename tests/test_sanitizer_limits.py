"""The sanitizer's absolute limits on plain letters: no plain form of any letter of any alphabet
is flagged, drawn with the collector's pen in the shapes of the machine's fonts, rendered from
the fonts directly, or drawn as the one- and two-stroke forms of I, L, J, Г, Т and 1."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from chalicelib.alphabets import alphabets
from chalicelib.raster import encode_png, render_png
from sanitizer import mark_reasons, score_drawing
from sanitizer.features import image_features, ink_thickness
from sanitizer.glyphs import GLYPH_CANVAS, GLYPH_SIZE, glyph_strokes, thin
from sanitizer.image import decode_ink

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation"))
# Regular weights: a pen draws strokes of one width, and bold glyphs are thicker than two.
FONTS = sorted(
    path
    for folder in FONT_DIRS
    if folder.is_dir()
    for path in folder.glob("*.ttf")
    if "Bold" not in path.name and "Math" not in path.name
)
LETTERS = [(a.id, letter) for a in alphabets().values() for letter in a.letters]


def limits_of(png: bytes) -> list[str]:
    features = image_features(decode_ink(png))
    assert features is not None, "a plain letter is not blank"
    return mark_reasons(features)


def test_the_machine_has_the_fonts_make_test_installs():
    names = {path.name for path in FONTS}
    assert {"DejaVuSans.ttf", "DejaVuSerif.ttf", "LiberationSans-Regular.ttf"} <= names, (
        "make test installs fonts-dejavu-core, fonts-dejavu-extra and fonts-liberation"
    )


@pytest.mark.parametrize("font_path", FONTS, ids=lambda p: p.stem)
def test_every_letter_in_every_font_passes_the_limits(font_path):
    pen_font = ImageFont.truetype(str(font_path), GLYPH_SIZE)
    print_font = ImageFont.truetype(str(font_path), 200)
    flagged = {}
    drawn = 0
    for alphabet, letter in LETTERS:
        strokes = glyph_strokes(pen_font, letter)
        if not strokes:
            continue
        drawn += 1
        pen = limits_of(render_png(strokes, GLYPH_CANVAS, GLYPH_CANVAS))
        printed = Image.new("L", (278, 278))
        ImageDraw.Draw(printed).text((139, 139), letter, fill=255, font=print_font, anchor="mm")
        font = limits_of(encode_png(printed))
        if pen or font:
            flagged[(alphabet, letter)] = {"pen": pen, "font": font}
    assert drawn >= 26, f"{font_path.name} drew only {drawn} letters"
    assert flagged == {}


def line(*points: tuple[float, float]) -> list[list[float]]:
    return [[x for x, _ in points], [y for _, y in points], list(range(len(points)))]


# Plain one- and two-stroke letters on a 360 x 360 canvas, as a finger draws them.
SIMPLE_FORMS = {
    "I": [line((180, 40), (180, 320))],
    "I short": [line((180, 120), (182, 240))],
    "I slanted": [line((200, 40), (160, 320))],
    "1": [line((140, 90), (190, 40), (190, 320))],
    "L": [line((110, 40), (110, 320), (260, 320))],
    "J": [line((240, 40), (240, 270), (210, 318), (160, 320), (120, 280))],
    "Г": [line((110, 320), (110, 40), (260, 40))],
    "Т": [line((70, 40), (290, 40)), line((180, 40), (180, 320))],
    "-like I (wide)": [line((60, 180), (300, 182))],
}


@pytest.mark.parametrize("name", SIMPLE_FORMS)
@pytest.mark.parametrize("canvas", [(360, 360), (360, 640), (640, 360), (80, 400)])
def test_single_stroke_letters_pass_the_limits_on_any_canvas(name, canvas):
    width, height = canvas
    # A finger fills the canvas it is given: a narrow canvas gets a narrow letter.
    strokes = [
        [[x * width / 360 for x in xs], [y * height / 360 for y in ys], ts]
        for xs, ys, ts in SIMPLE_FORMS[name]
    ]
    png = render_png(strokes, width, height)
    assert limits_of(png) == []
    verdict = score_drawing(png, None, None, alphabet="latin", letter="I")
    assert verdict.status == "unscored" and verdict.reasons == []


def test_a_straight_line_posted_as_an_i_is_not_filled_but_a_filled_blob_is():
    posted = render_png([line((150, 0), (150, 300))], 300, 300)
    assert limits_of(posted) == []
    features = image_features(decode_ink(posted))
    assert np.exp(features["cover"]) > 0.6, "the I fills its own box: the old limit's mistake"
    assert 12 < features["thickness"] < 20, "it measures the collector's 15 px stroke"

    blob = Image.new("L", (278, 278))
    ImageDraw.Draw(blob).ellipse((70, 70, 200, 200), fill=255)
    assert "filled" in limits_of(encode_png(blob))
    zigzag = [line(*[(40 + (i % 2) * 220, 40 + i * 6) for i in range(40)])]
    assert set(limits_of(render_png(zigzag, 300, 300))) & {"filled", "ink-high"}


def test_thickness_is_the_stroke_width_of_a_line_and_half_the_side_of_a_filled_box():
    bar = np.zeros((278, 278), dtype=np.float32)
    bar[20:260, 100:115] = 1.0
    assert ink_thickness(bar) == pytest.approx(15, rel=0.1)
    bar[:] = 0.0
    bar[100:200, 100:200] = 1.0
    assert ink_thickness(bar) == pytest.approx(50, rel=0.2)
    assert ink_thickness(np.zeros((10, 10))) == 0.0


def test_thinning_leaves_a_one_pixel_skeleton_of_each_stroke():
    mask = np.zeros((40, 60), dtype=bool)
    mask[10:18, 5:55] = True  # a horizontal bar 8 px thick
    skeleton = thin(mask)
    assert skeleton.sum() >= 35 and skeleton.any(axis=0)[10:50].all()
    assert (skeleton.sum(axis=0)[10:50] == 1).all(), "one pixel across the bar"
    assert not (skeleton & ~mask).any()


def test_a_character_the_font_lacks_draws_nothing():
    font = ImageFont.truetype(str(FONTS[0]), GLYPH_SIZE)
    assert glyph_strokes(font, "\ue001") == []
    assert glyph_strokes(font, "A")
