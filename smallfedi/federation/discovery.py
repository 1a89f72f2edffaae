"""Discovery documents: how the world finds this instance and its owner.

WebFinger (RFC 7033) turns `acct:NAME@host[:port]` into the actor's address; host-meta (RFC 6415)
points old clients at WebFinger; NodeInfo (2.0 and 2.1) says what software runs here. All are
public, read-only and cacheable, so every answer (errors too) carries `Access-Control-Allow-Origin: *`
for browser-based clients (RFC 7033 §5).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from smallfedi import MASTODON_API_VERSION, __version__
from smallfedi.core.errors import BadRequest, DomainError, NotFound

if TYPE_CHECKING:
    from smallfedi.core.instance import Instance

CORS = {"Access-Control-Allow-Origin": "*"}
JRD = "application/jrd+json"
PROFILE_PAGE = "http://webfinger.net/rel/profile-page"
SUBSCRIBE = "http://ostatus.org/schema/1.0/subscribe"
NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/{version}"


class _JSON(JSONResponse):
    def render(self, content) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _json(content, media_type: str = "application/json", status_code: int = 200) -> Response:
    return _JSON(content, status_code=status_code, media_type=media_type, headers=CORS)


def _errors(endpoint):
    """Domain errors become `{"error": …}` with their status, still open to any origin."""
    async def wrapper(request: Request) -> Response:
        try:
            return await endpoint(request)
        except DomainError as exc:
            return _json({"error": exc.message}, status_code=exc.status)
    wrapper.__name__ = endpoint.__name__
    return wrapper


# WebFinger ---------------------------------------------------------------------------------

def username_for(inst: Instance, resource: str) -> str:
    """The owner's username if `resource` names the owner; NotFound if it names anyone or
    anything else; BadRequest if it is not a resource at all (RFC 7033 §4.2)."""
    resource = resource.strip()
    if not resource:
        raise BadRequest("The resource parameter is required.")
    owner = inst.owner.username
    lowered = resource.lower()
    if lowered.startswith(("http://", "https://")):
        # The actor (/users/NAME) or the profile page (/@NAME), on this origin only.
        try:
            parts = urlsplit(resource)
        except ValueError:  # such as an unclosed [IPv6] host
            raise BadRequest("The resource is not a valid URL.") from None
        if f"{parts.scheme.lower()}://{parts.netloc.lower()}" != inst.base_url:
            raise NotFound("That address is not on this server.")
        path = unquote(parts.path).rstrip("/")
        for prefix in ("/users/", "/@"):
            if path.startswith(prefix) and path[len(prefix):].lower() == owner.lower():
                return owner
        raise NotFound("That address is not an account here.")
    # Like Mastodon, take `NAME@DOMAIN` without the acct: scheme too (and a leading @).
    has_scheme = lowered.startswith("acct:")
    user, at, domain = resource[5 if has_scheme else 0:].removeprefix("@").rpartition("@")
    if not (at and user and domain):
        if not has_scheme and ":" in resource and not at:  # another URI scheme: valid, unknown here
            raise NotFound("This server only knows acct: and http(s): resources.")
        raise BadRequest("The resource must look like acct:name@domain.")
    if domain.lower() != inst.config.domain:
        raise NotFound(f"This server answers only for {inst.config.domain}.")
    if unquote(user).lower() != owner.lower():
        raise NotFound(f"There is nobody called {user} here.")
    return owner


@_errors
async def webfinger(request: Request) -> Response:
    inst: Instance = request.app.state.instance
    username = username_for(inst, request.query_params.get("resource", ""))
    actor, profile = inst.actor_uri(username), inst.profile_url(username)
    links = [
        {"rel": "self", "type": "application/activity+json", "href": actor},
        {"rel": PROFILE_PAGE, "type": "text/html", "href": profile},
        {"rel": SUBSCRIBE, "template": f"{inst.base_url}/authorize_interaction?uri={{uri}}"},
    ]
    # RFC 7033 §4.3: with rel parameters, return only the links of those relations
    # (an empty list when none match); subject and aliases stay.
    wanted = request.query_params.getlist("rel")
    if wanted:
        links = [link for link in links if link["rel"] in wanted]
    return _json({"subject": f"acct:{username}@{inst.config.domain}", "aliases": [actor, profile],
                  "links": links}, media_type=JRD)


# host-meta ---------------------------------------------------------------------------------

def _lrdd_template(inst: Instance) -> str:
    return f"{inst.base_url}/.well-known/webfinger?resource={{uri}}"


def _host_meta_jrd(inst: Instance) -> Response:
    # RFC 6415 §3 serves the JRD form as application/json.
    return _json({"links": [{"rel": "lrdd", "template": _lrdd_template(inst)}]})


@_errors
async def host_meta(request: Request) -> Response:
    inst: Instance = request.app.state.instance
    accept = request.headers.get("accept", "").lower()
    if "json" in accept and "xml" not in accept:  # RFC 6415 §3: JRD on request
        response = _host_meta_jrd(inst)
    else:
        response = Response(_xrd(inst), media_type="application/xrd+xml; charset=utf-8", headers=CORS)
    response.headers["Vary"] = "Accept"  # one URL, two forms: caches must keep them apart
    return response


def _xrd(inst: Instance) -> str:
    from xml.sax.saxutils import quoteattr  # brings urllib.request: only for this old form

    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
            f'  <Link rel="lrdd" template={quoteattr(_lrdd_template(inst))}/>\n'
            '</XRD>\n')


@_errors
async def host_meta_json(request: Request) -> Response:
    return _host_meta_jrd(request.app.state.instance)


# NodeInfo ----------------------------------------------------------------------------------

@_errors
async def nodeinfo_links(request: Request) -> Response:
    base = request.app.state.instance.base_url
    return _json({"links": [{"rel": NODEINFO_SCHEMA.format(version=v), "href": f"{base}/nodeinfo/{v}"}
                            for v in ("2.0", "2.1")]})


async def nodeinfo_document(inst: Instance, version: str) -> dict:
    from smallfedi.core import reading

    # 2.1 only adds software.repository and .homepage; smallfedi has no public address for
    # either yet, so both versions carry the same document but for the version number.
    return {
        "version": version,
        "software": {"name": "smallfedi", "version": __version__},
        "protocols": ["activitypub"],
        # The owner's posts can be read as Atom and RSS feeds: the closest NodeInfo words.
        "services": {"inbound": [], "outbound": ["atom1.0", "rss2.0"]},
        "openRegistrations": False,
        "usage": {
            # One user, the owner, who is by definition the active one.
            "users": {"total": 1, "activeMonth": 1, "activeHalfyear": 1},
            # What a visitor can count on the profile: public posts.
            "localPosts": await reading.post_count(inst, viewer_is_owner=False),
        },
        # Clients that know only certain servers (megalodon: Whalebird, Fedistar) accept an
        # unknown name when the upstream says which API it speaks.
        "metadata": {"nodeName": inst.owner.display_name or inst.config.domain,
                     "upstream": {"name": "mastodon", "version": MASTODON_API_VERSION}},
    }


def _nodeinfo(version: str):
    media_type = f'application/json; profile="{NODEINFO_SCHEMA.format(version=version)}#"'

    async def endpoint(request: Request) -> Response:
        return _json(await nodeinfo_document(request.app.state.instance, version), media_type=media_type)
    endpoint.__name__ = f"nodeinfo_{version.replace('.', '_')}"
    return _errors(endpoint)


def routes() -> list[Route]:
    # GET routes answer HEAD too (Starlette adds it).
    return [
        Route("/.well-known/webfinger", webfinger, methods=["GET"]),
        Route("/.well-known/host-meta", host_meta, methods=["GET"]),
        Route("/.well-known/host-meta.json", host_meta_json, methods=["GET"]),
        Route("/.well-known/nodeinfo", nodeinfo_links, methods=["GET"]),
        Route("/nodeinfo/2.0", _nodeinfo("2.0"), methods=["GET"]),
        Route("/nodeinfo/2.1", _nodeinfo("2.1"), methods=["GET"]),
    ]
