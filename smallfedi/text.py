"""Text: the owner's Markdown to safe HTML, mentions, hashtags, links, and HTML sanitising.

Markdown is rendered by python-markdown with raw HTML turned off (it is escaped, not passed
through), then sanitised by nh3 with an allow-list like Mastodon's, so what leaves here is
what Mastodon and the apps display. Remote HTML goes through the same sanitiser.
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable
from urllib.parse import quote

if TYPE_CHECKING:
    import markdown

# markdown and nh3 are imported where text is rendered or sanitised, not with this module.

# What Mastodon keeps (app/lib/sanitize_config.rb, MASTODON_STRICT), headings aside: we turn
# those into bold paragraphs because many apps show h1–h6 poorly.
ALLOWED_TAGS = {
    "p", "br", "span", "a", "abbr", "del", "s", "pre", "blockquote", "code", "b", "strong", "u",
    "sub", "sup", "i", "em", "ul", "ol", "li", "ruby", "rt", "rp",
}
ALLOWED_ATTRIBUTES = {
    # "class" is governed by ALLOWED_CLASSES below (nh3 refuses both at once).
    "a": {"href", "translate"},
    "span": {"translate"},
    "ol": {"start", "reversed"},
    "li": {"value"},
    "abbr": {"title"},
}
ALLOWED_CLASSES = {
    "a": {"mention", "hashtag", "u-url", "h-card", "status-link", "unhandled-link"},
    "span": {"h-card", "ellipsis", "invisible", "mention"},
}
URL_SCHEMES = {"http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp", "magnet", "gemini"}
LINK_REL = "nofollow noopener noreferrer"

URL_LENGTH = 23  # Mastodon counts every link as 23 characters

URL_RE = re.compile(r"(?<![\w/@#])https?://[^\s<>\"'`]+", re.IGNORECASE)
# @user or @user@host[:port]; the port form is for instances on loopback and LANs.
MENTION_RE = re.compile(
    r"(?<![\w@/:.])@([A-Za-z0-9_]{1,64})(?:@((?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]+(?::\d{1,5})?))?(?![\w@])"
)
HASHTAG_RE = re.compile(r"(?<![\w/&#])#([^\W_][\w]{0,99}|_[\w]{0,99})(?![\w#])")
ATX_HEADING_RE = re.compile(r"(?:^|\n)(?P<level>#{1,6})[ \t]+(?P<header>(?:\\.|[^\\])*?)#*(?:\n|$)")
TRAILING_PUNCTUATION = ".,;:!?)]}'\""


@dataclass
class Rendered:
    html: str
    mentions: list[str] = field(default_factory=list)  # "user@host" (host lower-cased) or "user"
    tags: list[str] = field(default_factory=list)  # lower-cased names without '#'


# Turns a mention ("user", "host or None") into (href) or None when it is not known yet.
MentionResolver = Callable[[str, str | None], str | None]


def _trim_url(url: str) -> str:
    while url and url[-1] in TRAILING_PUNCTUATION:
        # Keep a closing parenthesis that closes one opened inside the URL (Wikipedia links).
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


@functools.cache
def _extensions():
    """Our python-markdown processors; defined on the first render, as they subclass its classes."""
    import xml.etree.ElementTree as etree

    from markdown.inlinepatterns import InlineProcessor
    from markdown.treeprocessors import Treeprocessor

    class _UrlPattern(InlineProcessor):
        def handleMatch(self, m, data):  # noqa: N802 (python-markdown's name)
            url = _trim_url(m.group(0))
            el = etree.Element("a", {"href": url})
            el.text = url
            return el, m.start(0), m.start(0) + len(url)

    class _MentionPattern(InlineProcessor):
        def __init__(self, pattern: str, md, state: "_RenderState") -> None:
            super().__init__(pattern, md)
            self.state = state

        def handleMatch(self, m, data):  # noqa: N802
            user, host = m.group(1), m.group(2)
            host = host.lower() if host else None
            if host == self.state.own_domain:
                host = None
            self.state.mentions.append(f"{user}@{host}" if host else user)
            href = self.state.resolve(user, host) if self.state.resolve else None
            if href is None:
                return None, None, None  # leave the text as it is
            card = etree.Element("span", {"class": "h-card", "translate": "no"})
            a = etree.SubElement(card, "a", {"href": href, "class": "u-url mention"})
            a.text = "@"
            etree.SubElement(a, "span").text = user
            return card, m.start(0), m.end(0)

    class _HashtagPattern(InlineProcessor):
        def __init__(self, pattern: str, md, state: "_RenderState") -> None:
            super().__init__(pattern, md)
            self.state = state

        def handleMatch(self, m, data):  # noqa: N802
            name = m.group(1)
            if name.isdigit():
                return None, None, None  # "#1" is a number, not a tag (as Mastodon)
            self.state.tags.append(name.lower())
            a = etree.Element("a", {"href": f"{self.state.base_url}/tags/{quote(name.lower())}",
                                    "class": "mention hashtag"})
            a.text = "#"
            etree.SubElement(a, "span").text = name
            return a, m.start(0), m.end(0)

    class _FlattenTree(Treeprocessor):
        """Headings become bold paragraphs; images become links to them (Mastodon shows neither)."""

        def run(self, root):
            for el in root.iter():
                if el.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                    strong = etree.Element("strong")
                    strong.text, el.text = el.text, None
                    for child in list(el):
                        el.remove(child)
                        strong.append(child)
                    el.tag = "p"
                    el.append(strong)
                elif el.tag == "img":
                    src, alt = el.get("src", ""), el.get("alt") or el.get("src", "")
                    el.attrib.clear()
                    el.tag, el.text = "a", alt
                    el.set("href", src)

    return _UrlPattern, _MentionPattern, _HashtagPattern, _FlattenTree


@dataclass
class _RenderState:
    base_url: str
    own_domain: str
    resolve: MentionResolver | None
    mentions: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def _markdown(state: _RenderState) -> markdown.Markdown:
    import markdown

    url_pattern, mention_pattern, hashtag_pattern, flatten_tree = _extensions()
    md = markdown.Markdown(extensions=["fenced_code", "nl2br", "sane_lists"], output_format="html")
    # Raw HTML in the source is shown as text, never interpreted.
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    # "#tag" opening a post is a hashtag, not a heading: a heading needs "# " (CommonMark's rule).
    md.parser.blockprocessors["hashheader"].RE = ATX_HEADING_RE
    md.inlinePatterns.register(url_pattern(URL_RE.pattern, md), "bare_url", 115)
    md.inlinePatterns.register(mention_pattern(MENTION_RE.pattern, md, state), "mention", 114)
    md.inlinePatterns.register(hashtag_pattern(HASHTAG_RE.pattern, md, state), "hashtag", 113)
    md.treeprocessors.register(flatten_tree(md), "flatten", 1)
    return md


def sanitize_html(value: str) -> str:
    """Clean HTML (remote or rendered) down to what Mastodon keeps; links get rel=nofollow."""
    import nh3

    return nh3.clean(
        value,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        allowed_classes=ALLOWED_CLASSES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    )


def render_markdown(source: str, *, base_url: str, own_domain: str,
                    resolve: MentionResolver | None = None) -> Rendered:
    """The owner's Markdown as safe HTML, with the mentions and hashtags it holds."""
    state = _RenderState(base_url=base_url.rstrip("/"), own_domain=own_domain.lower(), resolve=resolve)
    body = _markdown(state).convert(source.replace("\r\n", "\n"))
    return Rendered(html=sanitize_html(body), mentions=_unique(state.mentions), tags=_unique(state.tags))


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def count_characters(source: str) -> int:
    """Length as Mastodon counts it: every URL is 23 characters, a mention counts its @user."""
    text = URL_RE.sub(lambda m: "x" * URL_LENGTH + m.group(0)[len(_trim_url(m.group(0))):], source)
    text = MENTION_RE.sub(lambda m: "@" + m.group(1), text)
    return len(text)


def plain_text(html_value: str) -> str:
    """HTML to readable plain text (feed titles, page descriptions)."""
    import nh3

    text = re.sub(r"<br\s*/?>", "\n", html_value)
    text = re.sub(r"</p>\s*<p>", "\n\n", text)
    return html.unescape(nh3.clean(text, tags=set())).strip()
