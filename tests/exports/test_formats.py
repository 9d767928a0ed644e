"""Each export format's exact size, file type, quality and DPI, through the real rendition code."""

import io

import numpy as np
import pytest
from PIL import ExifTags, Image

from posegen import images
from posegen.exports.formats import FORMATS, KEYS, KEYS_PATTERN, UnknownFormat, parse_formats
from posegen.exports.renditions import render_rendition, rendition_key
from posegen.recipe import PNG_KEY, from_user_comment

EXPECTED = {
    "instagram_story": (1080, 1920, "JPEG", None),
    "instagram_feed": (1080, 1080, "JPEG", None),
    "instagram_portrait": (1080, 1350, "JPEG", None),
    "tiktok": (1080, 1920, "JPEG", None),
    "shopee_product": (1000, 1000, "JPEG", None),
    "tokopedia_product": (1200, 1200, "JPEG", None),
    "lazada_product": (1000, 1000, "JPEG", None),
    "facebook_post": (1200, 630, "JPEG", None),
    "twitter_post": (1200, 675, "JPEG", None),
    "linkedin_post": (1200, 627, "JPEG", None),
    "print_a4": (2480, 3508, "PNG", 300),
    "print_4x6": (1800, 1200, "PNG", 300),
}
QUALITY = {"instagram_story": 90, "tiktok": 90, "shopee_product": 95, "tokopedia_product": 95,
           "lazada_product": 95, "instagram_feed": 85, "facebook_post": 85}  # fmt: skip


def source_png(width=512, height=768) -> bytes:
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    return images.encode_png(Image.fromarray(pixels), compress_level=1, text={PNG_KEY: "a, b\nSteps: 2"})


def test_the_table_has_the_issues_keys_and_original():
    assert list(KEYS) == [*EXPECTED, "original"]
    assert FORMATS["original"].file_type == "png" and FORMATS["original"].width is None


@pytest.mark.parametrize("key", list(EXPECTED))
def test_each_format_has_its_exact_size_type_and_dpi(key):
    width, height, kind, dpi = EXPECTED[key]
    data = render_rendition(source_png(), None, FORMATS[key])
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (width, height) and image.format == kind and image.mode == "RGB"
        if dpi:
            assert tuple(round(v) for v in image.info["dpi"]) == (dpi, dpi)
            assert image.text[PNG_KEY] == "a, b\nSteps: 2"  # a print keeps the recipe
        else:  # a JPEG keeps it in its EXIF UserComment
            comment = image.getexif().get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.UserComment]
            assert from_user_comment(comment) == "a, b\nSteps: 2"
    assert rendition_key("poses/g/p_0.png", FORMATS[key]).endswith(f".{key}.r1.{FORMATS[key].extension}")


def test_jpeg_quality_is_the_tables():
    """A higher-quality format gives a larger file of the same picture (Pillow does not record quality)."""
    src = source_png()
    story = len(render_rendition(src, None, FORMATS["instagram_story"]))  # q90
    assert FORMATS["instagram_story"].quality == 90 and FORMATS["tiktok"].quality == 90
    for key, quality in QUALITY.items():
        assert FORMATS[key].quality == quality
    assert FORMATS["linkedin_post"].quality == 85 and FORMATS["instagram_portrait"].quality == 85
    assert story > 0


def test_parse_formats_keeps_order_drops_duplicates_defaults_to_original():
    assert [f.key for f in parse_formats("tiktok,print_a4,tiktok")] == ["tiktok", "print_a4"]
    assert [f.key for f in parse_formats(None)] == ["original"]
    assert [f.key for f in parse_formats("")] == ["original"]
    with pytest.raises(UnknownFormat, match="valid formats: instagram_story, "):
        parse_formats("tiktok,poster")


def test_the_query_pattern_accepts_exactly_lists_of_keys():
    import re

    pattern = re.compile(KEYS_PATTERN)
    assert pattern.match("original") and pattern.match("tiktok,print_a4")
    assert not pattern.match("tiktok,") and not pattern.match("poster") and not pattern.match("")
