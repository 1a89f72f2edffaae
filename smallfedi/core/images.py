"""Image intake: recognise a file by its bytes, decode it under a pixel limit, turn it upright,
drop every metadata block, resize, re-encode, and make a preview and a blurhash.

Pure and synchronous (Pillow does the decoding; nothing here parses image formats itself):
callers run it in a worker thread so the event loop never waits on a decoder.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import BinaryIO

# Decoded pixels we accept: 7680×4320, as Mastodon. A JPEG larger than this is decoded at a
# reduced scale when that brings it under (its decoder can skip detail for free); other
# formats are refused. An animation counts every frame.
MAX_PIXELS = 33_177_600
MAX_ANIMATION_PIXELS = 100_000_000
PREVIEW_PIXELS = 230_400  # 640×360, the size Mastodon's previews have
AVATAR_SIDE = 400
HEADER_SIZE = (1500, 500)
JPEG_QUALITY = 85
ORIENTATION = 0x0112  # the EXIF tag

# Formats Pillow may open for us, and what each is stored as. HEIC and AVIF (phone cameras)
# become JPEG, which every app and server shows.
OUTPUT_FORMAT = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "GIF": "GIF",
                 "HEIF": "JPEG", "AVIF": "JPEG"}
EXTENSIONS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp"),
              "GIF": ("gif", "image/gif")}


def _turns():
    from PIL import Image

    # EXIF orientation → the turn that makes the picture upright (as Pillow's exif_transpose).
    t = Image.Transpose
    return {2: t.FLIP_LEFT_RIGHT, 3: t.ROTATE_180, 4: t.FLIP_TOP_BOTTOM, 5: t.TRANSPOSE, 6: t.ROTATE_270,
            7: t.TRANSVERSE, 8: t.ROTATE_90}


class Refused(ValueError):
    """The file can't be taken; the message says why in words for the owner."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Kind:
    type: str  # image, video or audio
    mime: str
    ext: str


def sniff(head: bytes) -> Kind | None:
    """What the first bytes say the file is (the name and the declared type are not believed)."""
    if head.startswith(b"\xff\xd8\xff"):
        return Kind("image", "image/jpeg", "jpg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Kind("image", "image/png", "png")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Kind("image", "image/gif", "gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Kind("image", "image/webp", "webp")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return Kind("audio", "audio/wav", "wav")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
            return Kind("image", "image/heic", "heic")
        if brand in (b"avif", b"avis"):
            return Kind("image", "image/avif", "avif")
        if brand in (b"M4A ", b"M4B "):
            return Kind("audio", "audio/mp4", "m4a")
        if brand == b"qt  ":
            return Kind("video", "video/quicktime", "mov")
        return Kind("video", "video/mp4", "mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return Kind("video", "video/webm", "webm")
    if head.startswith(b"OggS"):
        return Kind("audio", "audio/ogg", "ogg")
    if head.startswith(b"fLaC"):
        return Kind("audio", "audio/flac", "flac")
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return Kind("audio", "audio/mpeg", "mp3")
    return None


@dataclass(frozen=True)
class Encoded:
    data: bytes
    ext: str
    mime: str
    width: int
    height: int


@dataclass(frozen=True)
class Processed:
    main: Encoded
    preview: Encoded | None  # None when the main image is already preview-sized
    blurhash: str
    original_width: int  # before resizing, upright
    original_height: int


def _open(fp: BinaryIO):
    from PIL import Image

    _register_heif()
    Image.MAX_IMAGE_PIXELS = None  # our own limit below, with our own message
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Image.init()
            return Image.open(fp, formats=[f for f in OUTPUT_FORMAT if f in Image.OPEN])
    except Exception:  # Pillow raises several types for files it can't identify
        raise Refused("This file is not an image this server can read (JPEG, PNG, WebP, GIF, HEIC or AVIF).") \
            from None


_heif_registered = False


def _register_heif() -> None:
    """HEIC (iPhone photos) where the optional pillow-heif plugin is installed."""
    global _heif_registered
    if not _heif_registered:
        _heif_registered = True
        try:
            from pillow_heif import register_heif_opener
        except ImportError:
            return
        register_heif_opener()


def process(fp: BinaryIO, *, max_side: int, purpose: str = "attachment") -> Processed:
    """The stored image and its preview; `purpose` is attachment, avatar or header."""
    from PIL import Image, ImageOps

    im = _open(fp)
    width, height = im.size
    frames = getattr(im, "n_frames", 1)
    if im.format in ("JPEG", "MPO") and width * height > MAX_PIXELS:
        # Decode at 1/2, 1/4 or 1/8 scale: free for JPEG, and the result fits the limit.
        scale = 1
        while scale < 8 and width * height // (scale * scale) > MAX_PIXELS:
            scale *= 2
        im.draft("RGB", (width // scale, height // scale))
        if im.size[0] * im.size[1] > MAX_PIXELS:
            raise Refused(_too_many(width, height))
    elif im.format in ("JPEG", "MPO"):
        im.draft("RGB", _fit(width, height, max_side))
    elif width * height > MAX_PIXELS:
        raise Refused(_too_many(width, height))
    if frames > 1 and width * height * frames > MAX_ANIMATION_PIXELS:
        raise Refused(f"This animation has too many frames of this size ({frames} of {width}×{height}).")
    source_format = im.format
    try:
        im.load()
        if frames > 1 and purpose == "attachment":
            return _animated(im, source_format, width, height)
        orientation = im.getexif().get(ORIENTATION, 1)
    except Refused:
        raise
    except Exception:  # truncated or damaged data surfaces as OSError, SyntaxError, ValueError…
        raise Refused("This image is damaged or incomplete; it could not be decoded.") from None
    turn = _turns().get(orientation)
    original = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    icc = im.info.get("icc_profile")
    out_format = OUTPUT_FORMAT[source_format]
    # Scale down before turning upright and converting colours: each of those copies the
    # image, and a copy of the scaled one is a fraction of a 12-megapixel original.
    if purpose == "attachment" and max(im.size) > max_side:
        im = im.resize(_fit(*im.size, max_side), Image.Resampling.LANCZOS, reducing_gap=3.0)
    if turn is not None:
        im = im.transpose(turn)
    upright = _to_srgb(im, icc)
    del im
    if purpose == "avatar":
        upright = ImageOps.fit(upright, (AVATAR_SIDE, AVATAR_SIDE), Image.Resampling.LANCZOS)
    elif purpose == "header":
        upright = ImageOps.fit(upright, HEADER_SIZE, Image.Resampling.LANCZOS)
    if out_format == "GIF":
        out_format = "PNG"  # a still GIF: PNG keeps it lossless with the full palette
    main = _encode(upright, out_format)
    preview_image = upright
    preview = None
    if upright.width * upright.height > PREVIEW_PIXELS:
        preview_image = upright.resize(_fit_area(*upright.size, PREVIEW_PIXELS), Image.Resampling.LANCZOS,
                                       reducing_gap=3.0)
        preview = _encode(preview_image, "PNG" if _has_alpha(preview_image) else "JPEG")
    return Processed(main=main, preview=preview, blurhash=blurhash_of(preview_image),
                     original_width=original[0], original_height=original[1])


def _animated(im, source_format: str, width: int, height: int) -> Processed:
    """Animations stay animated at their own size: every frame re-encoded without metadata."""
    out_format = OUTPUT_FORMAT[source_format]
    if out_format == "JPEG":  # a multi-frame HEIC or MPO: its first picture
        im.seek(0)
        single = _to_srgb(im.convert("RGB"), im.info.get("icc_profile"))
        main = _encode(single, "JPEG")
        return Processed(main=main, preview=None, blurhash=blurhash_of(single), original_width=width,
                         original_height=height)
    buffer = io.BytesIO()
    timing = {k: im.info[k] for k in ("duration", "loop") if k in im.info}
    im.info.clear()  # comments, XMP and ICC must not be copied into the new file
    options = {"save_all": True, **timing}
    if out_format == "WEBP":
        options.update(quality=80, method=4)
    im.save(buffer, format=out_format, **options)
    ext, mime = EXTENSIONS[out_format]
    im.seek(0)
    first = im.convert("RGBA" if _has_alpha(im) else "RGB")
    preview_image = first.resize(_fit_area(width, height, PREVIEW_PIXELS)) if width * height > PREVIEW_PIXELS \
        else first
    preview = _encode(preview_image, "PNG")
    return Processed(main=Encoded(buffer.getvalue(), ext, mime, width, height), preview=preview,
                     blurhash=blurhash_of(preview_image), original_width=width, original_height=height)


def _too_many(width: int, height: int) -> str:
    return (f"This image is too large to process ({width}×{height} pixels); the limit is "
            f"{MAX_PIXELS / 1e6:.0f} megapixels.")


def _fit(width: int, height: int, side: int) -> tuple[int, int]:
    """The size with its longer side at most `side`, proportions kept."""
    if max(width, height) <= side:
        return width, height
    scale = side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _fit_area(width: int, height: int, pixels: int) -> tuple[int, int]:
    scale = (pixels / (width * height)) ** 0.5
    return max(1, int(width * scale)), max(1, int(height * scale))


def _has_alpha(im) -> bool:
    return im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)


def _to_srgb(im, icc: bytes | None = None):
    """Pixels converted to sRGB from an embedded colour profile, so no profile need be kept
    (a profile can name the camera); if conversion fails, the profile stays for the colours."""
    keep = None
    if im.mode not in ("RGB", "RGBA", "L", "LA"):
        im = im.convert("RGBA" if _has_alpha(im) else "RGB")
    if icc:
        try:
            from PIL import ImageCms

            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if im.mode in ("L", "LA"):
                im = im.convert("RGBA" if im.mode == "LA" else "RGB")
            im = ImageCms.profileToProfile(im, source, ImageCms.createProfile("sRGB"), outputMode=im.mode)
        except Exception:  # a broken or unusual profile: keep it rather than shift the colours
            keep = icc
    im.info = {"icc_profile": keep} if keep else {}
    return im


def _encode(im, fmt: str) -> Encoded:
    buffer = io.BytesIO()
    icc = im.info.get("icc_profile")
    options: dict = {"icc_profile": icc} if icc else {}
    if fmt == "JPEG":
        if im.mode != "RGB":
            im = im.convert("RGB")
        options.update(quality=JPEG_QUALITY, optimize=False)
    elif fmt == "WEBP":
        options.update(quality=82, method=4)
    elif fmt == "PNG":
        options.update(compress_level=6)
    # No exif= and no pnginfo=: nothing from the original's metadata is written.
    im.save(buffer, format=fmt, **options)
    ext, mime = EXTENSIONS[fmt]
    return Encoded(buffer.getvalue(), ext, mime, im.width, im.height)



def blurhash_of(im) -> str:
    """The blurhash (4×3 components, as apps expect) of a 32-pixel thumbnail."""
    import blurhash

    small = im.convert("RGB")
    small.thumbnail((32, 32))
    pixels = list(getattr(small, "get_flattened_data", small.getdata)())  # renamed in Pillow 12
    rows = [pixels[y * small.width:(y + 1) * small.width] for y in range(small.height)]
    return blurhash.encode(rows, components_x=4, components_y=3)
