"""What apps read before and right after signing in: the instance (v1 and v2), preferences,
custom emojis, and the answers to optional features we don't have (empty, never 404)."""

from __future__ import annotations

import functools
import importlib.util

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from smallfedi.api import entities
from smallfedi.api.http import JSON, endpoint
from smallfedi.api.params import Params
from smallfedi.core import images, media
from smallfedi.store import accounts as accounts_store

# What uploads may be: images are re-encoded (HEIC and AVIF become JPEG), video and audio kept.
IMAGE_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/avif"]
VIDEO_TYPES = ["video/mp4", "video/quicktime", "video/webm"]
AUDIO_TYPES = ["audio/mpeg", "audio/mp4", "audio/ogg", "audio/flac", "audio/wav"]


@functools.cache
def supported_mime_types() -> list[str]:
    """HEIC only with its optional decoder installed: without it, iPhone apps convert to JPEG
    first if not told HEIC is taken; told wrongly, their uploads would be refused."""
    heic = importlib.util.find_spec("pillow_heif") is not None
    return [t for t in IMAGE_TYPES if heic or t != "image/heic"] + VIDEO_TYPES + AUDIO_TYPES


def _streaming_url(base: str) -> str:
    return "wss://" + base[len("https://"):] if base.startswith("https://") else "ws://" + base[len("http://"):]


def _configuration(inst) -> dict:
    limits = inst.config.media
    return {
        "accounts": {"max_featured_tags": 0, "max_pinned_statuses": 5},
        "statuses": {"max_characters": inst.config.limits.max_post_chars,
                     "max_media_attachments": media.MAX_ATTACHMENTS, "characters_reserved_per_url": 23},
        # Apps shrink photos to fit these before uploading (Tusky does; none may be 0).
        "media_attachments": {"supported_mime_types": supported_mime_types(),
                              "image_size_limit": limits.max_image_bytes, "image_matrix_limit": images.MAX_PIXELS,
                              "video_size_limit": limits.max_video_bytes,
                              # Video is stored as sent, unchecked: Mastodon's limits, for apps to go by.
                              "video_frame_rate_limit": 60, "video_matrix_limit": 8_294_400,
                              "description_limit": media.MAX_DESCRIPTION},
        "polls": {"max_options": 4, "max_characters_per_option": 50, "min_expiration": 300,
                  "max_expiration": 2_629_746},
        "translation": {"enabled": False},
    }


def _description(ctx) -> str:
    owner = ctx.inst.owner
    return f"The fediverse home of {owner.display_name or owner.username}, on smallfedi."


@endpoint(public=True)
async def instance_v2(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    ctx = await entities.context(inst)
    config = _configuration(inst)
    config["urls"] = {"streaming": _streaming_url(inst.base_url), "status": None}
    # The instance's Web Push key (base64url): Mastodon Android registers for push only with it.
    config["vapid"] = {"public_key": inst.vapid_public_key}
    return JSON({
        "domain": inst.config.domain,
        "title": inst.owner.display_name or inst.config.domain,
        "version": entities.software_version(),
        "source_url": inst.base_url,  # no public repository address is fixed yet
        "description": _description(ctx),
        "usage": {"users": {"active_month": 1}},
        "thumbnail": {"url": f"{inst.base_url}/static/avatar.png", "blurhash": None, "versions": {}},
        "icon": [],
        "languages": ["en"],
        "configuration": config,
        "registrations": {"enabled": False, "approval_required": False, "message": None, "url": None},
        "api_versions": {"mastodon": 2},
        "contact": {"email": "", "account": entities.account(ctx, inst.owner)},
        "rules": [],
    })


@endpoint(public=True)
async def instance_v1(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    ctx = await entities.context(inst)
    statuses = ctx.owner_counts[2]
    domains = await accounts_store.count_remote_domains(inst.db)
    return JSON({
        "uri": inst.config.domain,
        "title": inst.owner.display_name or inst.config.domain,
        "short_description": _description(ctx),
        "description": _description(ctx),
        "email": "",
        "version": entities.software_version(),
        "urls": {"streaming_api": _streaming_url(inst.base_url)},
        "stats": {"user_count": 1, "status_count": statuses, "domain_count": domains},
        "thumbnail": f"{inst.base_url}/static/avatar.png",
        "languages": ["en"],
        "registrations": False,
        "approval_required": False,
        "invites_enabled": False,
        "configuration": _configuration(inst),
        "contact_account": entities.account(ctx, inst.owner),
        "rules": [],
    })


async def streaming_health(request: Request) -> Response:
    return PlainTextResponse("OK")


@endpoint("read:accounts")
async def preferences(request: Request, params: Params) -> Response:
    return JSON({"posting:default:visibility": "public", "posting:default:sensitive": False,
                 "posting:default:language": None, "reading:expand:media": "default",
                 "reading:expand:spoilers": False, "reading:autoplay:gifs": False})


def empty_list(scope: str | None = None, public: bool = False):
    """Features we don't have yet answer as Mastodon does when there is nothing: []."""
    @endpoint(scope, public=public)
    async def handler(request: Request, params: Params) -> Response:
        return JSON([])
    return handler


def empty_object(scope: str | None = None, public: bool = False):
    @endpoint(scope, public=public)
    async def handler(request: Request, params: Params) -> Response:
        return JSON({})
    return handler


@endpoint("read:notifications")
async def notification_policy(request: Request, params: Params) -> Response:
    return JSON({"for_not_following": "accept", "for_not_followers": "accept", "for_new_accounts": "accept",
                 "for_private_mentions": "accept", "for_limited_accounts": "accept",
                 "filter_not_following": False, "filter_not_followers": False, "filter_new_accounts": False,
                 "filter_private_mentions": False,
                 "summary": {"pending_requests_count": 0, "pending_notifications_count": 0}})


@endpoint(public=True)
async def extended_description(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    ctx = await entities.context(inst)
    return JSON({"updated_at": inst.owner.updated_at, "content": f"<p>{_description(ctx)}</p>"})
