"""Serving files: the owner's media (named by their contents, so cached for good) and the
cache of remote images. Streaming, Range requests and validators come from FileResponse."""

from __future__ import annotations

import asyncio
import os
import re
import stat
from email.utils import parsedate_to_datetime
from pathlib import Path

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse

from smallfedi.core import media_cache
from smallfedi.core.errors import NotFound

# The names core.media writes: a hash, and the extension of what the bytes were found to be.
NAME_RE = re.compile(r"[0-9a-f]{32}\.(jpg|png|webp|gif|mp4|mov|webm|mp3|m4a|ogg|flac|wav|heic|avif)")
TYPES = {
    "jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif", "heic": "image/heic",
    "avif": "image/avif", "mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm",
    "mp3": "audio/mpeg", "m4a": "audio/mp4", "ogg": "audio/ogg", "flac": "audio/flac", "wav": "audio/wav",
}
OWN_CACHE = "public, max-age=31536000, immutable"  # a name never gets other contents
REMOTE_CACHE = "public, max-age=604800"  # a refetch may bring a changed image


async def own_file(request: Request) -> Response:
    name = request.path_params["name"]
    match = NAME_RE.fullmatch(name)
    if match is None:
        raise NotFound("There is nothing at this address.")
    path = request.app.state.instance.config.media_dir / name
    # The name is the contents' hash: a better validator than the file's time and size.
    return await _file(request, path, TYPES[match.group(1)], OWN_CACHE, etag=f'"{name[:32]}"')


async def cached_file(request: Request) -> Response:
    inst = request.app.state.instance
    path, mime = await media_cache.open_cached(inst, request.path_params["key"], request.path_params["encoded"])
    return await _file(request, path, mime, REMOTE_CACHE)


async def _file(request: Request, path: Path, mime: str, cache_control: str, etag: str | None = None) -> Response:
    try:
        info = await asyncio.to_thread(os.stat, path)
    except OSError:
        raise NotFound("There is nothing at this address.") from None
    if not stat.S_ISREG(info.st_mode):
        raise NotFound("There is nothing at this address.")
    headers = {"cache-control": cache_control}
    if etag:
        headers["etag"] = etag
    response = FileResponse(path, media_type=mime, headers=headers, stat_result=info)
    if not_modified(response.headers, request.headers):
        return NotModifiedResponse(response.headers)
    return response


def not_modified(response_headers: Headers, request_headers: Headers) -> bool:
    """RFC 9110 §13.2.2: If-None-Match decides when present; If-Modified-Since only without it."""
    if_none_match = request_headers.get("if-none-match")
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
        return response_headers["etag"] in tags
    since = request_headers.get("if-modified-since")
    if since is None:
        return False
    try:
        return parsedate_to_datetime(since) >= parsedate_to_datetime(response_headers["last-modified"])
    except (TypeError, ValueError):
        return False
