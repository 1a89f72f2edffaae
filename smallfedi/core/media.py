"""The owner's media: uploads processed into files named by their contents, attached to posts,
described (alt text, focal point), and let go when nothing uses them any more.

Files are written and flushed to disk before the row that names them commits, so a post
never points at a file a power cut took away. Processing runs in a worker thread, one upload
at a time: decoding a photo is the largest thing this server holds in memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO, Sequence

from smallfedi.core import images, media_cache
from smallfedi.core.errors import DomainError, Invalid, NotFound
from smallfedi.core.instance import Instance
from smallfedi.core.models import AttachmentInfo, MediaAttachment
from smallfedi.store import media as media_store
from smallfedi.store.db import format_time, utcnow

log = logging.getLogger("smallfedi.media")

MAX_ATTACHMENTS = 4
MAX_DESCRIPTION = 1500  # characters of alt text, as Mastodon
MAX_REMOTE_ATTACHMENTS = 16
UNATTACHED_TTL = timedelta(days=1)  # an upload never posted is removed after this
CHUNK = 1024 * 1024
# Media is public by nature: readable by others, so a reverse proxy may serve the folder itself
# (the data folder above stays closed; see docs/media.md).
PUBLIC_FILE = 0o644


class TooLarge(DomainError):
    status = 413


@dataclass(frozen=True)
class Upload:
    """An uploaded file, as a face hands it over: a seekable file object, often on disk."""
    file: BinaryIO
    description: str = ""
    focus: str | None = None  # "x,y", each -1.0 .. 1.0


def _size_of(fp: BinaryIO) -> int:
    fp.seek(0, os.SEEK_END)
    size = fp.tell()
    fp.seek(0)
    return size


def parse_focus(value: str | None) -> tuple[float, float]:
    if value is None or not str(value).strip():
        return 0.0, 0.0
    try:
        x, y = (float(p) for p in str(value).split(","))
    except ValueError:
        raise Invalid("focus must be two numbers between -1.0 and 1.0, such as 0.5,-0.25") from None
    if not (-1.0 <= x <= 1.0 and -1.0 <= y <= 1.0):
        raise Invalid("focus must be two numbers between -1.0 and 1.0, such as 0.5,-0.25")
    return x, y


def _description(value: str | None) -> str:
    text = (value or "").replace("\r\n", "\n").strip()
    if len(text) > MAX_DESCRIPTION:
        raise Invalid(f"The description can have at most {MAX_DESCRIPTION} characters.")
    return text


def _identify(inst: Instance, fp: BinaryIO) -> images.Kind:
    size = _size_of(fp)
    if size == 0:
        raise Invalid("The file is empty.")
    kind = images.sniff(fp.read(16))
    fp.seek(0)
    if kind is None:
        raise Invalid("This file is not an image, video or audio file this server takes "
                      "(JPEG, PNG, WebP, GIF, HEIC, AVIF; MP4, MOV, WebM; MP3, M4A, Ogg, FLAC, WAV).")
    limits = inst.config.media
    limit = limits.max_image_bytes if kind.type == "image" else limits.max_video_bytes
    if size > limit:
        raise TooLarge(f"The file is {_human(size)}; the limit for {kind.type} is {_human(limit)}.")
    return kind


def _human(n: int) -> str:
    return f"{n / 1048576:.1f} MiB" if n >= 1048576 else f"{n / 1024:.0f} KiB"


# ------------------------------------------------------------------------------ files on disk

def _write(folder: Path, data: bytes, ext: str) -> str:
    """Store bytes under the hash of their contents (an identical file is stored once)."""
    name = f"{hashlib.sha256(data).hexdigest()[:32]}.{ext}"
    path = folder / name
    if not path.exists():
        tmp = folder / f".{name}.tmp"
        with open(tmp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, PUBLIC_FILE)
        os.replace(tmp, path)
        _sync_dir(folder)
    return name


def _copy(folder: Path, fp: BinaryIO, ext: str) -> tuple[str, int]:
    """A video or audio file, copied as it came (streamed, hashed on the way)."""
    digest = hashlib.sha256()
    tmp = folder / f".upload-{os.getpid()}-{time.monotonic_ns()}.tmp"
    size = 0
    try:
        with open(tmp, "wb") as out:
            fp.seek(0)
            while chunk := fp.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, PUBLIC_FILE)
        name = f"{digest.hexdigest()[:32]}.{ext}"
        os.replace(tmp, folder / name)
    finally:
        tmp.unlink(missing_ok=True)
    _sync_dir(folder)
    return name, size


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ------------------------------------------------------------------------------------ intake

async def upload(inst: Instance, up: Upload) -> MediaAttachment:
    """Take one file for a post: checked, processed and stored, not yet attached."""
    description = _description(up.description)
    focus = parse_focus(up.focus)
    kind = _identify(inst, up.file)
    folder = inst.config.media_dir
    values: dict = {"type": kind.type, "mime": kind.mime}
    async with inst.media_processing:
        if kind.type == "image":
            try:
                done = await asyncio.to_thread(images.process, up.file, max_side=inst.config.media.max_image_side)
            except images.Refused as exc:
                raise Invalid(exc.message) from None
            values.update(
                mime=done.main.mime, file=await asyncio.to_thread(_write, folder, done.main.data, done.main.ext),
                size=len(done.main.data), width=done.main.width, height=done.main.height,
                blurhash=done.blurhash)
            if done.preview is not None:
                values.update(preview_file=await asyncio.to_thread(_write, folder, done.preview.data,
                                                                   done.preview.ext),
                              preview_width=done.preview.width, preview_height=done.preview.height)
        else:
            name, size = await asyncio.to_thread(_copy, folder, up.file, kind.ext)
            values.update(file=name, size=size)
    media_id = inst.ids.next()
    values.update(id=media_id, account_id=inst.owner.id, description=description, focus_x=focus[0],
                  focus_y=focus[1], created_at=utcnow())
    async with inst.db.transaction() as tx:
        await media_store.insert(tx, values)
    log.info("stored %s upload %s (%s bytes)", kind.type, values["file"], values.get("size"))
    return await get(inst, media_id)


async def profile_image(inst: Instance, fp: BinaryIO, purpose: str) -> str:
    """An avatar (square) or header (3:1) image, stored; returns its public URL."""
    kind = _identify(inst, fp)
    if kind.type != "image":
        raise Invalid(f"The {purpose} must be an image.")
    async with inst.media_processing:
        try:
            done = await asyncio.to_thread(images.process, fp, max_side=inst.config.media.max_image_side,
                                           purpose=purpose)
        except images.Refused as exc:
            raise Invalid(exc.message) from None
        name = await asyncio.to_thread(_write, inst.config.media_dir, done.main.data, done.main.ext)
    return file_url(inst, name)


# ------------------------------------------------------------------------------------ reading

async def get(inst: Instance, media_id: int) -> MediaAttachment:
    """One of the owner's uploads."""
    row = await media_store.get(inst.db, media_id)
    if row is None or row["account_id"] != inst.owner.id:
        raise NotFound("This media attachment does not exist.")
    return MediaAttachment.from_row(row)


async def describe(inst: Instance, media_id: int, description: str | None = None,
                   focus: str | None = None, posted_ok: bool = False) -> MediaAttachment:
    """Change alt text or focal point; what is not given stays.

    Once posted, only an edit of the post may change them (`posted_ok`), so followers get the
    change in its Update; on its own it is refused, as Mastodon does.
    """
    current = await get(inst, media_id)
    if current.status_id is not None and not posted_ok:
        raise NotFound("This attachment is already part of a post: edit the post to change its description.")
    text = current.description if description is None else _description(description)
    x, y = (current.focus_x, current.focus_y) if focus is None else parse_focus(focus)
    async with inst.db.transaction() as tx:
        await media_store.update_description(tx, media_id, text, x, y)
    return await get(inst, media_id)


async def for_statuses(inst: Instance, status_ids: Sequence[int]) -> dict[int, tuple[MediaAttachment, ...]]:
    found: dict[int, list[MediaAttachment]] = {}
    for row in await media_store.for_statuses(inst.db, status_ids):
        found.setdefault(row["status_id"], []).append(MediaAttachment.from_row(row))
    return {k: tuple(v) for k, v in found.items()}


# ---------------------------------------------------------------------------------- attaching

async def check_attachable(inst: Instance, tx, media_ids: Sequence[int], status_id: int | None = None) -> list[int]:
    """The ids, in order, once each is known to be the owner's and free (or already this post's)."""
    ids = list(dict.fromkeys(media_ids))
    if len(ids) > MAX_ATTACHMENTS:
        raise Invalid(f"A post can have at most {MAX_ATTACHMENTS} attachments.")
    rows = {r["id"]: r for r in await media_store.get_many_in(tx, ids)}
    for media_id in ids:
        row = rows.get(media_id)
        if row is None or row["account_id"] != inst.owner.id:
            raise Invalid(f"Attachment {media_id} does not exist.")
        if row["status_id"] is not None and row["status_id"] != status_id:
            raise Invalid(f"Attachment {media_id} already belongs to another post.")
    kinds = [rows[i]["type"] for i in ids]
    if len(kinds) > 1 and any(k in ("video", "audio", "gifv") for k in kinds):
        raise Invalid("A video or audio file can't share a post with other attachments.")
    return ids


async def attach_in(tx, status_id: int, media_ids: Sequence[int]) -> None:
    await media_store.attach(tx, status_id, media_ids)


async def store_remote_in(inst: Instance, tx, status_id: int, account_id: int,
                          attachments: Sequence[AttachmentInfo]) -> None:
    """A remote post's attachments, replacing what it had (an Update may change them)."""
    await media_store.delete_for_status(tx, status_id)
    now = utcnow()
    for position, a in enumerate(attachments[:MAX_REMOTE_ATTACHMENTS]):
        await media_store.insert(tx, {
            "id": inst.ids.next(), "account_id": account_id, "status_id": status_id, "position": position,
            "type": a.type, "mime": a.mime, "remote_url": a.url, "preview_remote_url": a.preview_url,
            "width": a.width, "height": a.height, "blurhash": a.blurhash,
            "description": a.description[:MAX_DESCRIPTION], "focus_x": a.focus[0], "focus_y": a.focus[1],
            "created_at": now})


# ----------------------------------------------------------------------------------- addresses

def file_url(inst: Instance, name: str) -> str:
    return f"{inst.base_url}/media/{name}"


def url(inst: Instance, m: MediaAttachment) -> str:
    return file_url(inst, m.file) if m.file else (m.remote_url or "")


def preview_url(inst: Instance, m: MediaAttachment) -> str | None:
    """A small image to show in a timeline: ours, or the remote one through the cache."""
    if m.file:
        if m.preview_file:
            return file_url(inst, m.preview_file)
        return file_url(inst, m.file) if m.type == "image" else None
    remote = m.preview_remote_url or (m.remote_url if m.type == "image" else None)
    return media_cache.url_for(inst, remote) if remote else None


def meta(m: MediaAttachment) -> dict:
    """Mastodon's `meta`: sizes and aspect of the original and the preview, and the focus."""
    out: dict = {}
    if m.width and m.height:
        out["original"] = _dims(m.width, m.height)
    if m.preview_width and m.preview_height:
        out["small"] = _dims(m.preview_width, m.preview_height)
    elif "original" in out and m.type == "image":
        out["small"] = out["original"]
    if m.type in ("image", "gifv", "video"):
        out["focus"] = {"x": m.focus_x, "y": m.focus_y}
    return out


def _dims(width: int, height: int) -> dict:
    return {"width": width, "height": height, "size": f"{width}x{height}", "aspect": width / height}


# ------------------------------------------------------------------------------- housekeeping

async def collect_garbage(inst: Instance, grace: timedelta = timedelta(hours=1)) -> tuple[int, int]:
    """Remove uploads never posted (after a day) and files nothing names any more.

    Files younger than `grace` are left: one may be written while its row is not yet committed.
    Returns (files removed, bytes freed).
    """
    cutoff = format_time(datetime.now(timezone.utc) - UNATTACHED_TTL)
    async with inst.db.transaction() as tx:
        await media_store.delete_unattached(tx, cutoff)
    used = await media_store.files_in_use(inst.db)
    owner = inst.owner
    for own in (owner.avatar_url, owner.header_url):
        if own and own.startswith(f"{inst.base_url}/media/"):
            used.add(own.rsplit("/", 1)[1])
    return await asyncio.to_thread(_sweep, inst.config.media_dir, used, time.time() - grace.total_seconds())


def _sweep(folder: Path, used: set[str], older_than: float) -> tuple[int, int]:
    removed = freed = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name in used or not entry.is_file():
                continue
            info = entry.stat()
            if info.st_mtime > older_than:
                continue
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                continue
            removed += 1
            freed += info.st_size
    return removed, freed


def folder_usage(folder: Path) -> tuple[int, int]:
    """(files, bytes) in a folder, as the disk holds them."""
    files = total = 0
    if folder.is_dir():
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_file():
                    files += 1
                    total += entry.stat().st_size
    return files, total

