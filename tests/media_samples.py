"""Files for media tests, made on the spot with Pillow: a phone photo with GPS, a decompression
bomb, a truncated JPEG, a file that lies about its type."""

from __future__ import annotations

import io
import struct
import zlib

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE = 0x010F


def jpeg(width: int = 1200, height: int = 900, *, gps: bool = True, orientation: int = 1,
         color=(200, 60, 40)) -> bytes:
    """A JPEG as a phone writes it: EXIF with the camera, an orientation and a GPS position."""
    from PIL import Image

    im = Image.new("RGB", (width, height), color)
    # A darker left half, so the orientation can be seen in the result.
    im.paste((20, 20, 20), (0, 0, width // 2, height))
    exif = Image.Exif()
    exif[MAKE] = "PhoneMaker"
    exif[ORIENTATION] = orientation
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (52.0, 31.0, 12.5), 3: "E", 4: (13.0, 24.0, 7.25)}
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def png(width: int = 64, height: int = 48, alpha: bool = False) -> bytes:
    from PIL import Image

    im = Image.new("RGBA" if alpha else "RGB", (width, height), (10, 120, 200, 128) if alpha else (10, 120, 200))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def gif_animated(frames: int = 3, width: int = 40, height: int = 30) -> bytes:
    from PIL import Image

    images = [Image.new("RGB", (width, height), (i * 80 % 256, 40, 200 - i * 50)) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0,
                   comment=b"made by a secret camera")
    return out.getvalue()


def bomb_png(side: int = 10_000) -> bytes:
    """About a hundred kilobytes that would decode to side×side pixels (100 MP by default)."""
    row = b"\x00" + b"\x00" * side  # filter byte, then one grey byte per pixel
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def truncated_jpeg() -> bytes:
    whole = jpeg(800, 600, gps=False)
    return whole[: len(whole) // 2]


def html_pretending_to_be_jpeg() -> bytes:
    return b"<html><script>alert(1)</script></html>" + b" " * 200


def mp4_header() -> bytes:
    """The start of an MP4 file (an ftyp box) with some bytes after: enough to be typed video."""
    return struct.pack(">I", 24) + b"ftypisom" + b"\x00\x00\x02\x00" + b"isomiso2" + b"\x00" * 2048
