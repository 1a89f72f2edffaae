from pathlib import Path

import pytest

from smallfedi.config import ConfigError, parse_config


def parse(data):
    return parse_config(data, Path("/srv/x"))


def test_minimal_config_and_defaults():
    c = parse({"url": "https://Social.Example.org/", "data_dir": "data"})
    assert c.url == "https://social.example.org"
    assert c.domain == "social.example.org"
    assert c.data_dir == Path("/srv/x/data")
    assert (c.host, c.port) == ("127.0.0.1", 8080)
    assert c.federation.allow_private_addresses is False
    assert c.limits.max_post_chars == 5000


def test_domain_keeps_the_port():
    assert parse({"url": "http://127.0.0.1:8080", "data_dir": "/d"}).domain == "127.0.0.1:8080"


@pytest.mark.parametrize("data, setting", [
    ({"url": "https://x.example/social", "data_dir": "d"}, "url"),
    ({"url": "ftp://x.example", "data_dir": "d"}, "url"),
    ({"url": "https://x.example"}, "data_dir"),
    ({"data_dir": "d"}, "url"),
    ({"url": "https://x.example", "data_dir": "d", "server": {"port": 70000}}, "server.port"),
    ({"url": "https://x.example", "data_dir": "d", "server": {"port": "80"}}, "server.port"),
    ({"url": "https://x.example", "data_dir": "d", "server": {"port": True}}, "server.port"),
    ({"url": "https://x.example", "data_dir": "d", "federation": {"allow_private_addresses": "yes"}},
     "federation.allow_private_addresses"),
    ({"url": "https://x.example", "data_dir": "d", "colour": "blue"}, "colour"),
    ({"url": "https://x.example", "data_dir": "d", "limits": {"max_post_chars": 0}}, "limits.max_post_chars"),
])
def test_errors_name_the_setting(data, setting):
    with pytest.raises(ConfigError) as info:
        parse(data)
    assert str(info.value).startswith(setting + ":")


def test_forwarded_allow_ips_entries_are_checked():
    ok = parse({"url": "https://x.example", "data_dir": "d", "server": {"forwarded_allow_ips": "127.0.0.1, ::1, 10.0.0.0/8"}})
    assert "10.0.0.0/8" in ok.forwarded_allow_ips
    with pytest.raises(ConfigError, match="server.forwarded_allow_ips: '127.0.0.l'"):
        parse({"url": "https://x.example", "data_dir": "d", "server": {"forwarded_allow_ips": "127.0.0.l"}})
