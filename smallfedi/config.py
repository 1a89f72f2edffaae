"""Configuration: a TOML file read into a frozen dataclass.

Every problem is reported as a `ConfigError` naming the setting, so the command line can print
one clear line instead of a traceback.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


class ConfigError(Exception):
    """A setting is missing or wrong; the message names it."""


USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{1,30}$")


@dataclass(frozen=True)
class Limits:
    max_post_chars: int = 5000
    max_body_bytes: int = 1024 * 1024  # forms and JSON; media uploads get their own cap
    max_profile_fields: int = 4


@dataclass(frozen=True)
class Media:
    max_image_bytes: int = 16 * 1024 * 1024  # an upload, before processing
    max_video_bytes: int = 40 * 1024 * 1024  # video and audio are stored as they come
    max_image_side: int = 2560  # longer side after resizing, in pixels
    alt_text: str = "warn"  # "warn", "require" or "off": what the web page does without a description


@dataclass(frozen=True)
class Storage:
    cache_mb: int = 300  # the on-disk cache of remote avatars, headers and previews
    # Remote posts nobody here interacted with are deleted after this many days; 0 keeps them.
    prune_remote_after_days: int = 0


@dataclass(frozen=True)
class Federation:
    allow_private_addresses: bool = False
    # Authorized fetch: posts and collections only for signed GETs (the actor's key stays open).
    require_signed_fetch: bool = False
    # Show only the counts of followers and followed accounts, not who they are.
    hide_network: bool = False


@dataclass(frozen=True)
class Config:
    url: str  # public base URL, no trailing slash
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    # Addresses whose X-Forwarded-For / X-Forwarded-Proto we believe (the reverse proxy).
    forwarded_allow_ips: str = "127.0.0.1,::1"
    log_level: str = "info"
    limits: Limits = field(default_factory=Limits)
    federation: Federation = field(default_factory=Federation)
    media: Media = field(default_factory=Media)
    storage: Storage = field(default_factory=Storage)
    path: Path | None = None  # the file it was read from, for messages

    @property
    def domain(self) -> str:
        """host[:port] of the public URL: the part after the @ of the owner's handle."""
        return urlsplit(self.url).netloc.lower()

    @property
    def https(self) -> bool:
        return self.url.startswith("https://")

    @property
    def db_path(self) -> Path:
        return self.data_dir / "smallfedi.db"

    @property
    def media_dir(self) -> Path:
        """The owner's media, content-addressed; a reverse proxy may serve it as /media/."""
        return self.data_dir / "media"

    @property
    def cache_dir(self) -> Path:
        """Copies of remote avatars, headers and previews, evicted least recently used first."""
        return self.data_dir / "cache"

    @property
    def max_upload_bytes(self) -> int:
        """The body cap on the paths that take uploads: the web form's four images, or a video,
        with the multipart envelope and the form's text on top."""
        return max(4 * self.media.max_image_bytes, self.media.max_video_bytes) + 64 * 1024


def normalise_url(value: object, setting: str = "url") -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{setting}: must be a URL such as https://social.example.org")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"{setting}: must start with https:// (or http:// for local testing), got {value!r}")
    if not parts.hostname:
        raise ConfigError(f"{setting}: has no host name: {value!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(f"{setting}: must be a bare origin without a path, query or fragment, got {value!r}")
    if parts.username or parts.password:
        raise ConfigError(f"{setting}: must not contain a user name or password")
    try:
        parts.port
    except ValueError:
        raise ConfigError(f"{setting}: has an invalid port: {value!r}") from None
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _get(table: dict, key: str, kind: type | tuple, default, setting: str):
    value = table.get(key, default)
    # bool is an int in Python; refuse it where a number is meant, and vice versa.
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(f"{setting}: must be of type {names}, got {value!r}")
    return value


def _positive(value: int, setting: str, low: int = 1, high: int | None = None) -> int:
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"{setting}: must be {bound}, got {value}")
    return value


def parse_config(data: dict, base_dir: Path, path: Path | None = None) -> Config:
    """Build a Config from parsed TOML; relative data_dir is relative to the file's folder."""
    known = {"url", "data_dir", "server", "federation", "limits", "media", "storage", "log_level"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown setting")
    if "url" not in data:
        raise ConfigError("url: missing (the public base URL, such as https://social.example.org)")
    url = normalise_url(data["url"])
    if "data_dir" not in data:
        raise ConfigError("data_dir: missing (the folder for the database, keys and media)")
    data_dir_raw = _get(data, "data_dir", str, None, "data_dir")
    if not data_dir_raw.strip():
        raise ConfigError("data_dir: must not be empty")
    data_dir = Path(data_dir_raw).expanduser()
    if not data_dir.is_absolute():
        data_dir = (base_dir / data_dir).resolve()

    server = _get(data, "server", dict, {}, "server")
    for key in sorted(set(server) - {"host", "port", "forwarded_allow_ips"}):
        raise ConfigError(f"server.{key}: unknown setting")
    host = _get(server, "host", str, "127.0.0.1", "server.host")
    port = _positive(_get(server, "port", int, 8080, "server.port"), "server.port", 1, 65535)
    forwarded = _get(server, "forwarded_allow_ips", str, "127.0.0.1,::1", "server.forwarded_allow_ips")
    for entry in (e.strip() for e in forwarded.split(",")):
        try:
            if entry != "*":
                ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(f"server.forwarded_allow_ips: {entry!r} is not an IP address or network") from None

    fed = _get(data, "federation", dict, {}, "federation")
    for key in sorted(set(fed) - {"allow_private_addresses", "require_signed_fetch", "hide_network"}):
        raise ConfigError(f"federation.{key}: unknown setting")
    federation = Federation(
        allow_private_addresses=_get(fed, "allow_private_addresses", bool, False, "federation.allow_private_addresses"),
        require_signed_fetch=_get(fed, "require_signed_fetch", bool, False, "federation.require_signed_fetch"),
        hide_network=_get(fed, "hide_network", bool, False, "federation.hide_network"),
    )

    lim = _get(data, "limits", dict, {}, "limits")
    for key in sorted(set(lim) - {"max_post_chars", "max_body_bytes"}):
        raise ConfigError(f"limits.{key}: unknown setting")
    limits = Limits(
        max_post_chars=_positive(_get(lim, "max_post_chars", int, 5000, "limits.max_post_chars"),
                                 "limits.max_post_chars", 1, 100_000),
        max_body_bytes=_positive(_get(lim, "max_body_bytes", int, 1024 * 1024, "limits.max_body_bytes"),
                                 "limits.max_body_bytes", 16 * 1024),
    )

    media = _media(_get(data, "media", dict, {}, "media"))
    storage = _storage(_get(data, "storage", dict, {}, "storage"))

    log_level = _get(data, "log_level", str, "info", "log_level").lower()
    if log_level not in ("debug", "info", "warning", "error"):
        raise ConfigError(f"log_level: must be debug, info, warning or error, got {log_level!r}")

    return Config(url=url, data_dir=data_dir, host=host, port=port, forwarded_allow_ips=forwarded,
                  log_level=log_level, limits=limits, federation=federation, media=media, storage=storage,
                  path=path)


def _media(table: dict) -> Media:
    for key in sorted(set(table) - {"max_image_bytes", "max_video_bytes", "max_image_side", "alt_text"}):
        raise ConfigError(f"media.{key}: unknown setting")
    mib = 1024 * 1024
    alt_text = _get(table, "alt_text", str, "warn", "media.alt_text")
    if alt_text not in ("warn", "require", "off"):
        raise ConfigError(f"media.alt_text: must be warn, require or off, got {alt_text!r}")
    return Media(
        max_image_bytes=_positive(_get(table, "max_image_bytes", int, 16 * mib, "media.max_image_bytes"),
                                  "media.max_image_bytes", 64 * 1024, 200 * mib),
        max_video_bytes=_positive(_get(table, "max_video_bytes", int, 40 * mib, "media.max_video_bytes"),
                                  "media.max_video_bytes", 64 * 1024, 1024 * mib),
        max_image_side=_positive(_get(table, "max_image_side", int, 2560, "media.max_image_side"),
                                 "media.max_image_side", 320, 8192),
        alt_text=alt_text,
    )


def _storage(table: dict) -> Storage:
    for key in sorted(set(table) - {"cache_mb", "prune_remote_after_days"}):
        raise ConfigError(f"storage.{key}: unknown setting")
    return Storage(
        cache_mb=_positive(_get(table, "cache_mb", int, 300, "storage.cache_mb"), "storage.cache_mb", 0),
        prune_remote_after_days=_positive(
            _get(table, "prune_remote_after_days", int, 0, "storage.prune_remote_after_days"),
            "storage.prune_remote_after_days", 0),
    )


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist (create it with `smallfedi init`)") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return parse_config(data, path.resolve().parent, path)


def render_config(url: str, data_dir: str, host: str = "127.0.0.1", port: int = 8080) -> str:
    """The file `smallfedi init` writes: the essential settings, the rest left at defaults."""
    def q(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return (
        "# smallfedi configuration; every setting is described in config.example.toml\n"
        f"url = {q(url)}\n"
        f"data_dir = {q(data_dir)}\n\n"
        "[server]\n"
        f"host = {q(host)}\n"
        f"port = {port}\n\n"
        "[federation]\n"
        "allow_private_addresses = false\n"
    )
