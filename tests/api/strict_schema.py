"""Strict-client schema for Mastodon API entities (research artifact).

From the client-API research: the union of what Tusky, Ice Cubes and the official apps require of each entity.

Union of what the strictest real clients need, so an acceptance test can fail
where Tusky (Moshi), Ice Cubes / Mastodon iOS (Swift Codable) or the official
Android app (Gson + @RequiredField) would fail.  Mastodon.py / masto.js /
megalodon do NOT validate, so run every JSON body your tests receive through
`check(entity, obj)`.

Spec per field:  "name": kind
  kind suffix "?"  -> key may be absent or null
  kind suffix "!"  -> key MUST be present, value may be null
  no suffix        -> key must be present and non-null
kinds: id (numeric string), str, str0 (string, may be ""), url (absolute
http(s) URL, non-empty), int, num, bool, dt (RFC3339 with .mmm and Z/offset),
date (YYYY-MM-DD), list:<Entity|kind>, <Entity>, enum:a|b|c, any
Sources for each requirement are in REPORT.md section (c).
"""
import re

ID_RE = re.compile(r"^[1-9][0-9]{0,18}$")           # numeric, no leading zero, fits int64
DT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}(Z|[+-]\d{2}:\d{2})$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
URL_RE = re.compile(r"^https?://[^\s/]+")

E = {}
E["Emoji"] = {"shortcode": "str", "url": "url", "static_url": "url", "visible_in_picker": "bool", "category": "str?"}
E["Field"] = {"name": "str0", "value": "str0", "verified_at": "dt!"}
E["Source"] = {"privacy": "enum:public|unlisted|private|direct", "sensitive": "bool", "language": "str!",
               "note": "str0", "fields": "list:SourceField", "follow_requests_count": "int"}
E["SourceField"] = {"name": "str0", "value": "str0"}
E["Account"] = {
    "id": "id", "username": "str", "acct": "str", "display_name": "str0", "locked": "bool", "bot": "bool",
    "discoverable": "bool!", "group": "bool", "created_at": "dt", "note": "str0", "url": "url", "uri": "url",
    "avatar": "url", "avatar_static": "url", "header": "url", "header_static": "url",
    "followers_count": "int", "following_count": "int", "statuses_count": "int", "last_status_at": "date!",
    "emojis": "list:Emoji", "fields": "list:Field", "moved": "Account?", "roles": "list:any?",
}
E["CredentialAccount"] = dict(E["Account"], source="Source")
E["Mention"] = {"id": "id", "username": "str", "acct": "str", "url": "url"}
E["StatusTag"] = {"name": "str", "url": "url"}
E["Application"] = {"name": "str", "website": "str!"}
E["MediaMetaSize"] = {"width": "int", "height": "int", "size": "str?", "aspect": "num?"}
E["MediaMeta"] = {"original": "MediaMetaSize?", "small": "MediaMetaSize?", "focus": "any?"}
E["MediaAttachment"] = {
    "id": "id", "type": "enum:image|gifv|video|audio|unknown", "url": "url", "preview_url": "url!",
    "remote_url": "url!", "text_url": "url?", "meta": "MediaMeta!", "description": "str!", "blurhash": "str!",
}
E["PollOption"] = {"title": "str", "votes_count": "int!"}
E["Poll"] = {"id": "id", "expires_at": "dt!", "expired": "bool", "multiple": "bool", "votes_count": "int",
             "voters_count": "int!", "voted": "bool", "own_votes": "list:int", "options": "list:PollOption",
             "emojis": "list:Emoji"}
E["PreviewCard"] = {"url": "url", "title": "str0", "description": "str0", "type": "enum:link|photo|video|rich",
                    "author_name": "str0", "author_url": "str0", "provider_name": "str0", "provider_url": "str0",
                    "html": "str0", "width": "int", "height": "int", "image": "url!", "embed_url": "str0",
                    "blurhash": "str!", "authors": "list:any?"}
E["Status"] = {
    "id": "id", "uri": "url", "url": "url!", "created_at": "dt", "edited_at": "dt!", "account": "Account",
    "content": "str0", "visibility": "enum:public|unlisted|private|direct", "sensitive": "bool",
    "spoiler_text": "str0", "media_attachments": "list:MediaAttachment", "application": "Application?",
    "mentions": "list:Mention", "tags": "list:StatusTag", "emojis": "list:Emoji",
    "reblogs_count": "int", "favourites_count": "int", "replies_count": "int",
    "in_reply_to_id": "id!", "in_reply_to_account_id": "id!", "reblog": "Status!", "poll": "Poll!",
    "card": "PreviewCard!", "language": "str!",
    # authenticated requests: include these (never null); Tusky rejects null, Android uses `filtered` to detect v2 filters
    "favourited": "bool?", "reblogged": "bool?", "muted": "bool?", "bookmarked": "bool?", "pinned": "bool?",
    "filtered": "list:any?",
}
E["Context"] = {"ancestors": "list:Status", "descendants": "list:Status"}
E["Notification"] = {"id": "id", "type": "str", "created_at": "dt", "account": "Account", "status": "Status?",
                     "group_key": "str"}
E["NotificationGroup"] = {"group_key": "str", "notifications_count": "int", "type": "str",
                          "most_recent_notification_id": "int",          # a JSON NUMBER (Ice Cubes decodes Int)
                          "page_min_id": "id?", "page_max_id": "id?", "latest_page_notification_at": "dt",
                          "sample_account_ids": "list:id", "status_id": "id?"}
E["GroupedNotificationsResults"] = {"accounts": "list:Account", "statuses": "list:Status",
                                    "notification_groups": "list:NotificationGroup"}
E["Relationship"] = {k: "bool" for k in ("following", "showing_reblogs", "notifying", "followed_by", "blocking",
                                          "blocked_by", "muting", "muting_notifications", "requested",
                                          "requested_by", "domain_blocking", "endorsed")}
E["Relationship"].update({"id": "id", "note": "str0", "languages": "list:str!"})
E["Tag"] = {"name": "str", "url": "url", "history": "list:any", "following": "bool?"}
E["CredentialApplication"] = {"id": "id", "name": "str", "website": "str!", "scopes": "list:str",
                              "redirect_uri": "str", "redirect_uris": "list:str", "client_id": "str",
                              "client_secret": "str", "client_secret_expires_at": "int", "vapid_key": "str?"}
E["Token"] = {"access_token": "str", "token_type": "str", "scope": "str", "created_at": "int"}
E["Error"] = {"error": "str", "error_description": "str?"}
E["MarkerPos"] = {"last_read_id": "id", "version": "int", "updated_at": "dt"}
E["Preferences"] = {"posting:default:visibility": "enum:public|unlisted|private|direct",
                    "posting:default:sensitive": "bool", "posting:default:language": "str!",
                    "reading:expand:media": "enum:default|show_all|hide_all", "reading:expand:spoilers": "bool",
                    "reading:autoplay:gifs": "bool?"}
E["List"] = {"id": "id", "title": "str", "replies_policy": "enum:followed|list|none", "exclusive": "bool?"}
E["FilterV2"] = {"id": "id", "title": "str", "context": "list:str", "expires_at": "dt!",
                 "filter_action": "enum:warn|hide|blur", "keywords": "list:any", "statuses": "list:any"}
E["StatusSource"] = {"id": "id", "text": "str0", "spoiler_text": "str0"}
E["StatusEdit"] = {"content": "str0", "spoiler_text": "str0", "sensitive": "bool", "created_at": "dt",
                   "account": "Account", "media_attachments": "list:MediaAttachment", "emojis": "list:Emoji",
                   "poll": "any?"}
E["Search"] = {"accounts": "list:Account", "statuses": "list:Status", "hashtags": "list:Tag"}
E["PushAlerts"] = {k: "bool" for k in ("mention", "status", "reblog", "follow", "follow_request", "favourite",
                                       "poll", "update")}
E["WebPushSubscription"] = {"id": "int",            # a JSON NUMBER (Ice Cubes decodes Int)
                            "endpoint": "url", "standard": "bool?", "alerts": "PushAlerts", "policy": "str",
                            "server_key": "str"}
_CFG_STATUSES = {"max_characters": "int", "max_media_attachments": "int", "characters_reserved_per_url": "int"}
_CFG_POLLS = {"max_options": "int", "max_characters_per_option": "int", "min_expiration": "int", "max_expiration": "int"}
_CFG_MEDIA = {"supported_mime_types": "list:str", "image_size_limit": "int", "image_matrix_limit": "int",
              "video_size_limit": "int", "video_frame_rate_limit": "int", "video_matrix_limit": "int"}
E["CfgStatuses"], E["CfgPolls"], E["CfgMedia"] = _CFG_STATUSES, _CFG_POLLS, _CFG_MEDIA
E["CfgUrls"] = {"streaming": "str"}
E["CfgVapid"] = {"public_key": "str"}
E["CfgAccounts"] = {"max_featured_tags": "int", "max_pinned_statuses": "int?"}
E["CfgTranslation"] = {"enabled": "bool"}
E["InstanceV2Config"] = {"urls": "CfgUrls", "vapid": "CfgVapid", "accounts": "CfgAccounts", "statuses": "CfgStatuses",
                         "media_attachments": "CfgMedia", "polls": "CfgPolls", "translation": "CfgTranslation"}
E["InstanceV2"] = {
    "domain": "str", "title": "str", "version": "str", "source_url": "url", "description": "str0",
    "usage": "any", "thumbnail": "InstanceThumb", "icon": "list:any?", "languages": "list:str",
    "configuration": "InstanceV2Config", "registrations": "InstanceReg", "api_versions": "ApiVersions?",
    "contact": "InstanceContact", "rules": "list:any",
}
E["InstanceThumb"] = {"url": "url"}
E["InstanceReg"] = {"enabled": "bool", "approval_required": "bool", "message": "str!"}
E["ApiVersions"] = {"mastodon": "int"}
E["InstanceContact"] = {"email": "str0", "account": "Account!"}
E["InstanceV1"] = {
    "uri": "str", "title": "str", "short_description": "str0", "description": "str0", "email": "str0",
    "version": "str", "urls": "any", "stats": "any", "thumbnail": "url!", "languages": "list:str",
    "registrations": "bool", "approval_required": "bool", "invites_enabled": "bool",
    "configuration": "any", "contact_account": "Account!", "rules": "list:any",
}


def _kind_ok(kind, v, path, errs):
    if kind == "any":
        return
    if kind.startswith("list:"):
        if not isinstance(v, list):
            errs.append(f"{path}: expected list"); return
        for i, item in enumerate(v):
            if item is None:
                errs.append(f"{path}[{i}]: null item in list"); continue
            _kind_ok(kind[5:], item, f"{path}[{i}]", errs)
        return
    if kind.startswith("enum:"):
        if v not in kind[5:].split("|"):
            errs.append(f"{path}: {v!r} not in {kind[5:]}")
        return
    if kind in E:
        if not isinstance(v, dict):
            errs.append(f"{path}: expected object {kind}"); return
        errs.extend(check(kind, v, path))
        return
    ok = {
        "id": lambda x: isinstance(x, str) and bool(ID_RE.match(x)),
        "str": lambda x: isinstance(x, str) and x != "",
        "str0": lambda x: isinstance(x, str),
        "url": lambda x: isinstance(x, str) and bool(URL_RE.match(x)),
        "int": lambda x: isinstance(x, int) and not isinstance(x, bool),
        "num": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool),
        "bool": lambda x: isinstance(x, bool),
        "dt": lambda x: isinstance(x, str) and bool(DT_RE.match(x)),
        "date": lambda x: isinstance(x, str) and bool(DATE_RE.match(x)),
    }[kind](v)
    if not ok:
        errs.append(f"{path}: {v!r} is not a valid {kind}")


def check(entity, obj, path=None):
    """Return a list of problems (empty list = a strict client would accept it)."""
    path = path or entity
    errs = []
    for key, spec in E[entity].items():
        optional, null_ok = spec.endswith("?"), spec.endswith("!") or spec.endswith("?")
        kind = spec.rstrip("?!")
        if key not in obj:
            if not optional:
                errs.append(f"{path}.{key}: missing")
            continue
        if obj[key] is None:
            if not null_ok:
                errs.append(f"{path}.{key}: null not allowed")
            continue
        _kind_ok(kind, obj[key], f"{path}.{key}", errs)
    if entity == "Status" and isinstance(obj.get("reblog"), dict) and obj["reblog"].get("id") == obj.get("id"):
        errs.append(f"{path}: reblog wrapper must have its own id (Ivory crashes otherwise)")
    return errs


def check_markers(obj):
    errs = []
    for k, v in obj.items():
        errs.extend(check("MarkerPos", v, f"Markers.{k}"))
    return errs


if __name__ == "__main__":   # self-test against the throw-away mock objects
    import sys, importlib.util
    spec = importlib.util.spec_from_file_location("mock", sys.argv[1] if len(sys.argv) > 1 else "mock/mock_server.py")
    m = importlib.util.module_from_spec(spec); sys.argv = ["x", "8799", "1"]; spec.loader.exec_module(m)
    m.MEDIA["110000000000000005"] = {"id": "110000000000000005", "type": "image", "url": "http://h/x.png",
                                     "preview_url": None, "remote_url": None, "meta": None, "description": None,
                                     "blurhash": None}
    st = m.status_obj("hi", ["110000000000000005"])
    print("Status:", check("Status", st) or "OK")
    print("InstanceV2:", check("InstanceV2", m.INSTANCE_V2) or "OK")
    print("InstanceV1:", check("InstanceV1", m.INSTANCE_V1) or "OK")
    bad = dict(st, created_at="2024-01-01T00:00:00Z", emojis=None, id="01HABCDEF")
    print("bad Status:", check("Status", bad))
