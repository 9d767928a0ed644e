"""Decoding untrusted images (uploads, fetched avatars) and encoding what we store."""

from __future__ import annotations

import io
import warnings

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


def decode_image(data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_UPLOAD_PIXELS) -> Image.Image:
    """Fully decode a PNG, JPEG or WebP, refusing anything larger than the limits before decompressing it."""
    if not data:
        raise ImageRejected("the file is empty")
    if len(data) > max_bytes:
        raise ImageRejected(f"the file is larger than {max_bytes // (1024 * 1024)} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ALLOWED_FORMATS:
                raise ImageRejected("only PNG, JPEG and WebP images are accepted")
            width, height = image.size
            if width < 1 or height < 1 or width * height > max_pixels:
                raise ImageRejected(f"the image has more than {max_pixels} pixels")
            image.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(f"the image has more than {max_pixels} pixels") from None
    except UnidentifiedImageError:
        raise ImageRejected("the file is not a readable PNG, JPEG or WebP image") from None
    except (OSError, ValueError, SyntaxError):
        raise ImageRejected("the image data is corrupt") from None
    image = ImageOps.exif_transpose(image)
    return image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB")


def normalise_avatar(image: Image.Image) -> bytes:
    """Re-encode as PNG (no metadata), scaled down to at most ``MAX_AVATAR_SIDE`` on its longer side."""
    image = image.copy()
    image.thumbnail((MAX_AVATAR_SIDE, MAX_AVATAR_SIDE), Image.Resampling.LANCZOS)
    return encode_png(image)


def normalise_photo(image: Image.Image, *, quality: int = 90) -> tuple[bytes, int, int]:
    """A reference photo for pose extraction: RGB, at most ``MAX_PHOTO_SIDE`` on its longer side, re-encoded as
    JPEG without metadata (no camera or location data is kept); returns the bytes, width and height."""
    photo = image.convert("RGB")
    photo.thumbnail((MAX_PHOTO_SIDE, MAX_PHOTO_SIDE), Image.Resampling.LANCZOS)
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
