"""Discovery documents: WebFinger (RFC 7033), host-meta (RFC 6415), NodeInfo 2.0 and 2.1."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from contextlib import asynccontextmanager
from urllib.parse import quote

import pytest

from smallfedi import __version__
from smallfedi.core import posting, profile
from smallfedi.federation import discovery
from tests.conftest import USERNAME, running_instance

pytestmark = pytest.mark.anyio

LOCAL = "http://127.0.0.1:8080"
PUBLIC = "https://social.example.org"
XRD_NS = "{http://docs.oasis-open.org/ns/xri/xrd-1.0}"
NODEINFO_REL = "http://nodeinfo.diaspora.software/ns/schema/"


@asynccontextmanager
async def discovering(tmp_path, url: str = LOCAL):
    """A running instance that serves the discovery routes, whether or not app.py mounts them yet."""
    async with running_instance(tmp_path, url=url) as client:
        table = client.app.router.routes
        if not any(getattr(r, "path", None) == "/.well-known/webfinger" for r in table):
            table[:0] = discovery.routes()
        yield client


async def finger(client, resource: str | None, rel: tuple[str, ...] = ()):
    params = ([("resource", resource)] if resource is not None else []) + [("rel", r) for r in rel]
    return await client.get("/.well-known/webfinger", params=params)


def assert_error(response, status: int, case: object = None) -> None:
    assert response.status_code == status, (case, response.text)
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["access-control-allow-origin"] == "*"
    assert isinstance(response.json()["error"], str) and response.json()["error"]


# WebFinger ---------------------------------------------------------------------------------

@pytest.mark.parametrize("url, domain", [(LOCAL, "127.0.0.1:8080"), (PUBLIC, "social.example.org")])
async def test_acct_lookup_answers_the_whole_jrd(tmp_path, url, domain):
    async with discovering(tmp_path, url) as client:
        response = await finger(client, f"acct:{USERNAME}@{domain}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == "application/jrd+json"
    assert response.headers["access-control-allow-origin"] == "*"
    actor, page = f"{url}/users/{USERNAME}", f"{url}/@{USERNAME}"
    assert response.json() == {
        "subject": f"acct:{USERNAME}@{domain}",
        "aliases": [actor, page],
        "links": [
            {"rel": "self", "type": "application/activity+json", "href": actor},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": page},
            {"rel": "http://ostatus.org/schema/1.0/subscribe", "template": f"{url}/authorize_interaction?uri={{uri}}"},
        ],
    }


async def test_the_domain_must_carry_the_port_when_the_url_has_one(tmp_path):
    async with discovering(tmp_path) as client:
        assert (await finger(client, f"acct:{USERNAME}@127.0.0.1:8080")).status_code == 200
        assert_error(await finger(client, f"acct:{USERNAME}@127.0.0.1"), 404)
        assert_error(await finger(client, f"acct:{USERNAME}@127.0.0.1:9090"), 404)


# Lists of cases share one instance each (an instance costs a key pair); messages name the case.

async def test_user_and_scheme_are_case_insensitive_and_the_scheme_optional(tmp_path):
    async with discovering(tmp_path) as client:
        for resource in ["acct:ALICE@127.0.0.1:8080", "ACCT:Alice@127.0.0.1:8080", "alice@127.0.0.1:8080",
                         "@Alice@127.0.0.1:8080", "acct:alice@127.0.0.1:8080 ", "acct:alice@127.0.0.1:8080".upper()]:
            response = await finger(client, resource)
            assert response.status_code == 200, resource
            assert response.json()["subject"] == f"acct:{USERNAME}@127.0.0.1:8080", resource


async def test_actor_and_profile_urls_are_resources_too(tmp_path):
    async with discovering(tmp_path, PUBLIC) as client:
        for path in [f"/users/{USERNAME}", f"/@{USERNAME}", "/users/Alice", f"/@{USERNAME}/"]:
            response = await finger(client, PUBLIC + path)
            assert response.status_code == 200, path
            body = response.json()
            assert body["subject"] == f"acct:{USERNAME}@social.example.org", path
            assert body["links"][0]["href"] == f"{PUBLIC}/users/{USERNAME}", path


UNKNOWN = [
    "acct:bob@127.0.0.1:8080",          # nobody of that name here
    "acct:alice@other.example",         # another server's alice
    "acct:alice@127.0.0.1:8080.evil",   # a domain that merely starts like ours
    "http://127.0.0.1:8080/users/bob",
    "http://127.0.0.1:8080/tags/alice",
    "https://127.0.0.1:8080/users/alice",  # same host, other scheme: another origin
    "https://other.example/users/alice",
    "mailto:someone",                   # a URI, but of a kind this server knows nothing of
]
MALFORMED = [None, "", "   ", "alice", "acct:alice", "acct:@127.0.0.1:8080", "acct:alice@", "http://[::1/users/alice"]


async def test_unknown_resources_are_not_found_and_malformed_ones_bad_requests(tmp_path):
    async with discovering(tmp_path) as client:
        for resource in UNKNOWN:
            assert_error(await finger(client, resource), 404, resource)
        for resource in MALFORMED:
            assert_error(await finger(client, resource), 400, resource)


async def test_rel_parameters_filter_the_links_only(tmp_path):
    resource = f"acct:{USERNAME}@127.0.0.1:8080"
    async with discovering(tmp_path) as client:
        one = (await finger(client, resource, ("self",))).json()
        two = (await finger(client, resource, ("http://webfinger.net/rel/profile-page", "self"))).json()
        none = await finger(client, resource, ("http://example.org/rel/unknown",))
    assert [link["rel"] for link in one["links"]] == ["self"]
    assert [link["rel"] for link in two["links"]] == ["self", "http://webfinger.net/rel/profile-page"]
    # RFC 7033 §4.3: no matching link is still a success; subject and aliases are unaffected.
    assert none.status_code == 200
    assert none.json()["links"] == []
    assert none.json()["subject"] == resource and len(none.json()["aliases"]) == 2


async def test_head_answers_without_a_body(tmp_path):
    async with discovering(tmp_path) as client:
        response = await client.head("/.well-known/webfinger", params={"resource": f"acct:{USERNAME}@127.0.0.1:8080"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jrd+json")
    assert response.content == b""


# host-meta ---------------------------------------------------------------------------------

async def test_host_meta_xrd_points_at_webfinger_and_the_template_works(tmp_path):
    async with discovering(tmp_path, PUBLIC) as client:
        response = await client.get("/.well-known/host-meta")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/xrd+xml")
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.headers["vary"] == "Accept"
        root = ET.fromstring(response.content)
        assert root.tag == f"{XRD_NS}XRD"
        [lrdd] = [link for link in root.findall(f"{XRD_NS}Link") if link.get("rel") == "lrdd"]
        template = lrdd.get("template")
        assert template == f"{PUBLIC}/.well-known/webfinger?resource={{uri}}"
        # Follow it as a client would (RFC 6415 §4.2: the URI percent-encoded into {uri}).
        followed = await client.get(template.replace("{uri}", quote(f"acct:{USERNAME}@social.example.org", safe="")))
    assert followed.status_code == 200
    assert followed.json()["subject"] == f"acct:{USERNAME}@social.example.org"


@pytest.mark.parametrize("path, accept", [("/.well-known/host-meta.json", None),
                                          ("/.well-known/host-meta", "application/json")])
async def test_host_meta_jrd(tmp_path, path, accept):
    async with discovering(tmp_path) as client:
        response = await client.get(path, headers={"accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["access-control-allow-origin"] == "*"
    template = f"{LOCAL}/.well-known/webfinger?resource={{uri}}"
    assert response.json() == {"links": [{"rel": "lrdd", "template": template}]}


# NodeInfo ----------------------------------------------------------------------------------

# From the NodeInfo 2.0 and 2.1 JSON schemas (nodeinfo.diaspora.software/ns/schema/2.x).
PROTOCOLS = {"activitypub", "buddycloud", "dfrn", "diaspora", "libertree", "ostatus", "pumpio", "tent", "xmpp", "zot"}
INBOUND = {"atom1.0", "gnusocial", "imap", "pnut", "pop3", "pumpio", "rss2.0", "twitter"}
OUTBOUND = {"acropolis", "atom1.0", "blogger", "buddycloud", "diaspora", "dreamwidth", "drupal", "facebook",
            "friendica", "gnusocial", "google", "insanejournal", "libertree", "linkedin", "livejournal",
            "mediagoblin", "myspace", "pinterest", "pnut", "posterous", "pumpio", "redmatrix", "rss2.0", "smtp",
            "tent", "tumblr", "twitter", "wordpress", "xmpp"}


def is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_nodeinfo(doc: dict, version: str) -> None:
    """The schema's rules, by hand: required keys, no others where it forbids them, types, enums."""
    top = {"version", "software", "protocols", "services", "openRegistrations", "usage", "metadata"}
    assert set(doc) == top
    assert doc["version"] == version
    software = doc["software"]
    allowed = {"name", "version"} | ({"repository", "homepage"} if version == "2.1" else set())
    assert {"name", "version"} <= set(software) <= allowed
    assert isinstance(software["name"], str) and re.fullmatch(r"[a-z0-9-]+", software["name"])
    assert all(isinstance(software[k], str) for k in software)
    assert isinstance(doc["protocols"], list) and len(doc["protocols"]) >= 1
    assert set(doc["protocols"]) <= PROTOCOLS
    assert set(doc["services"]) == {"inbound", "outbound"}
    assert isinstance(doc["services"]["inbound"], list) and set(doc["services"]["inbound"]) <= INBOUND
    assert isinstance(doc["services"]["outbound"], list) and set(doc["services"]["outbound"]) <= OUTBOUND
    assert isinstance(doc["openRegistrations"], bool)
    usage = doc["usage"]
    assert "users" in usage and set(usage) <= {"users", "localPosts", "localComments"}
    assert set(usage["users"]) <= {"total", "activeHalfyear", "activeMonth"}
    assert all(is_count(v) for v in usage["users"].values())
    assert all(is_count(usage[k]) for k in ("localPosts", "localComments") if k in usage)
    assert isinstance(doc["metadata"], dict)


@pytest.mark.parametrize("url", [LOCAL, PUBLIC])
async def test_nodeinfo_discovery_leads_to_valid_documents(tmp_path, url):
    async with discovering(tmp_path, url) as client:
        inst = client.app.state.instance
        await posting.publish(inst, posting.Draft(text="one"))
        await posting.publish(inst, posting.Draft(text="two"))
        await posting.publish(inst, posting.Draft(text="for followers", visibility="private"))
        index = await client.get("/.well-known/nodeinfo")
        assert index.status_code == 200
        assert index.headers["content-type"].startswith("application/json")
        assert index.headers["access-control-allow-origin"] == "*"
        links = {link["rel"]: link["href"] for link in index.json()["links"]}
        assert links == {f"{NODEINFO_REL}2.0": f"{url}/nodeinfo/2.0", f"{NODEINFO_REL}2.1": f"{url}/nodeinfo/2.1"}
        for rel, href in links.items():
            version = rel.rsplit("/", 1)[1]
            response = await client.get(href)
            assert response.status_code == 200
            assert response.headers["content-type"] == f'application/json; profile="{rel}#"'
            assert response.headers["access-control-allow-origin"] == "*"
            doc = response.json()
            check_nodeinfo(doc, version)
            assert doc["software"] == {"name": "smallfedi", "version": __version__}
            assert doc["protocols"] == ["activitypub"]
            assert doc["services"] == {"inbound": [], "outbound": ["atom1.0", "rss2.0"]}
            assert doc["openRegistrations"] is False
            assert doc["usage"] == {"users": {"total": 1, "activeMonth": 1, "activeHalfyear": 1}, "localPosts": 2}
            assert doc["metadata"] == {"nodeName": url.split("://")[1],
                                       "upstream": {"name": "mastodon", "version": "4.3.0"}}


async def test_nodeinfo_names_the_node_after_the_owner(tmp_path):
    async with discovering(tmp_path) as client:
        update = profile.ProfileUpdate(display_name="Alice’s place", bio="", fields=[], locked=False)
        await profile.update_profile(client.app.state.instance, update)
        response = await client.get("/nodeinfo/2.1")
    assert response.json()["metadata"]["nodeName"] == "Alice’s place"


def test_check_nodeinfo_can_fail():
    """The hand-written schema check rejects what the schema rejects."""
    good = {"version": "2.0", "software": {"name": "smallfedi", "version": "1"}, "protocols": ["activitypub"],
            "services": {"inbound": [], "outbound": []}, "openRegistrations": False,
            "usage": {"users": {"total": 1}}, "metadata": {}}
    check_nodeinfo(good, "2.0")
    bad = [
        {**good, "software": {"name": "SmallFedi", "version": "1"}},
        {**good, "software": {"name": "smallfedi", "version": "1", "homepage": "https://x"}},  # 2.1 only
        {**good, "protocols": []},
        {**good, "protocols": ["activitystreams"]},
        {**good, "services": {"inbound": [], "outbound": ["atom"]}},
        {**good, "openRegistrations": "no"},
        {**good, "usage": {"users": {"total": -1}}},
        {**good, "usage": {"users": {"total": True}}},
        {k: v for k, v in good.items() if k != "metadata"},
    ]
    for doc in bad:
        with pytest.raises(AssertionError):
            check_nodeinfo(doc, "2.0")
