"""Decoding untrusted images (uploads, fetched avatars) and encoding what we store."""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError
from PIL.PngImagePlugin import PngInfo

ALLOWED_FORMATS = frozenset({"PNG", "JPEG", "WEBP"})
UPLOAD_MEDIA_TYPES = ("image/png", "image/jpeg", "image/webp")
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_PIXELS = 4096 * 4096
MAX_AVATAR_SIDE = 2048
MAX_PHOTO_SIDE = 2048
THUMBNAIL_SIDE = 256


class ImageRejected(ValueError):
    """The bytes are not an acceptable image; the message is safe to show to the client."""


def open_image(
    data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_UPLOAD_PIXELS, max_side: int | None = None
) -> Image.Image:
    """Read a PNG, JPEG or WebP's header, refusing anything larger than the limits; nothing is decoded yet.

    With ``max_side`` (the longer side the caller will scale it down to), a JPEG is set to decode at the
    smallest of its DCT scales (1/2, 1/4, 1/8) that still covers that size (``Image.draft``)."""
    if not data:
        raise ImageRejected("the file is empty")
    if len(data) > max_bytes:
        raise ImageRejected(f"the file is larger than {max_bytes // (1024 * 1024)} MB")
    with _refusing(max_pixels):
        image = Image.open(io.BytesIO(data))
        if image.format not in ALLOWED_FORMATS:
            raise ImageRejected("only PNG, JPEG and WebP images are accepted")
        width, height = image.size
        if width < 1 or height < 1 or width * height > max_pixels:
            raise ImageRejected(f"the image has more than {max_pixels} pixels")
        if max_side and image.format == "JPEG" and max(width, height) > max_side:
            scale = max_side / max(width, height)
            image.draft(None, (math.ceil(width * scale), math.ceil(height * scale)))
    return image


def decode_cost(image: Image.Image) -> int:
    """The bytes decoding an opened image and making one image from it take at most: two frames of its size
    (drafted, if it was), four bytes a pixel as Pillow holds RGB and RGBA."""
    return 2 * 4 * image.width * image.height


def load_image(image: Image.Image, *, max_pixels: int = MAX_UPLOAD_PIXELS) -> Image.Image:
    """Decode an image from :func:`open_image`, turned upright (EXIF orientation), as RGB or RGBA."""
    with _refusing(max_pixels):
        image.load()
    ImageOps.exif_transpose(image, in_place=True)
    if image.mode in ("RGB", "RGBA"):
        return image
    return image.convert("RGBA" if image.mode in ("LA", "P", "PA") else "RGB")


def decode_image(
    data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_UPLOAD_PIXELS, max_side: int | None = None
) -> Image.Image:
    """Fully decode a PNG, JPEG or WebP, refusing anything larger than the limits before decompressing it."""
    opened = open_image(data, max_bytes=max_bytes, max_pixels=max_pixels, max_side=max_side)
    return load_image(opened, max_pixels=max_pixels)


@contextmanager
def _refusing(max_pixels: int) -> Iterator[None]:
    """Pillow's errors (and decompression bomb warnings) as :class:`ImageRejected`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(f"the image has more than {max_pixels} pixels") from None
    except UnidentifiedImageError:
        raise ImageRejected("the file is not a readable PNG, JPEG or WebP image") from None
    except (OSError, ValueError, SyntaxError):
        raise ImageRejected("the image data is corrupt") from None


def _fitted(image: Image.Image, side: int) -> Image.Image:
    """Scaled down (Lanczos) to at most ``side`` on its longer side; the image itself when it already fits."""
    if max(image.size) <= side:
        return image
    scale = side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)


def normalise_avatar(image: Image.Image) -> bytes:
    """Re-encode as PNG (no metadata), scaled down to at most ``MAX_AVATAR_SIDE`` on its longer side."""
    return encode_png(_fitted(image, MAX_AVATAR_SIDE))


def normalise_photo(image: Image.Image, *, quality: int = 90) -> tuple[bytes, int, int]:
    """A reference photo for pose extraction: RGB, at most ``MAX_PHOTO_SIDE`` on its longer side, re-encoded as
    JPEG without metadata (no camera or location data is kept); returns the bytes, width and height."""
    photo = _fitted(image, MAX_PHOTO_SIDE)
    photo = photo if photo.mode == "RGB" else photo.convert("RGB")
    return _encoded(photo, format="JPEG", quality=quality), photo.width, photo.height


def encode_png(
    image: Image.Image, *, compress_level: int = 6, text: dict[str, str] | None = None, dpi: int | None = None
) -> bytes:
    """PNG bytes; ``text`` goes into text chunks (``tEXt``, or ``iTXt`` beyond Latin-1), ``dpi`` into ``pHYs``."""
    options: dict = {"compress_level": compress_level}
    if text:
        info = PngInfo()
        for key, value in text.items():
            info.add_text(key, value)
        options["pnginfo"] = info
    if dpi:
        options["dpi"] = (dpi, dpi)
    return _encoded(image, format="PNG", **options)


def encode_jpeg(
    image: Image.Image, *, quality: int, dpi: int | None = None, user_comment: bytes | None = None
) -> bytes:
    """JPEG bytes; ``user_comment`` goes into the EXIF ``UserComment`` (already encoded with its prefix)."""
    options: dict = {"quality": quality, "optimize": False}
    if dpi:
        options["dpi"] = (dpi, dpi)
    if user_comment:
        exif = Image.Exif()
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.UserComment] = user_comment
        options["exif"] = exif.tobytes()
    return _encoded(image.convert("RGB"), format="JPEG", **options)


def thumbnail_jpeg(image: Image.Image, side: int = THUMBNAIL_SIDE, quality: int = 85) -> bytes:
    """A JPEG at most ``side`` px on its longer side (cheap enough to run beside a denoising loop)."""
    thumb = image.convert("RGB")
    thumb.thumbnail((side, side), Image.Resampling.BICUBIC, reducing_gap=2.0)
    return _encoded(thumb, format="JPEG", quality=quality)


def _encoded(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, **options)
    return buffer.getvalue()
