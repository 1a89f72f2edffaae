"""The toot command-line client (PyPI) logs in with the out-of-band code and posts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import hidden_fields, strict
from tests.conftest import Server, need


@pytest.fixture
def live(tmp_path):
    srv = Server(tmp_path / "instance").init().start()
    yield srv
    srv.stop()


def _oob_code(url: str, password: str) -> str:
    """Play the owner in a browser: open toot's sign-in address, allow, copy the code."""
    with strict(httpx.Client(timeout=10)) as browser:
        page = browser.get(url)
        assert page.status_code == 200, page.text
        form = hidden_fields(page.text)
        form.update(password=password, decision="approve")
        answer = browser.post(url.split("/oauth/authorize")[0] + "/oauth/authorize", data=form)
        assert answer.status_code == 200, answer.text
        marker = 'id="authorization_code" readonly value="'
        assert marker in answer.text
        return answer.text.split(marker, 1)[1].split('"', 1)[0]


def test_toot_logs_in_posts_and_reads(live, tmp_path):
    need(shutil.which("toot") is not None or Path(sys.executable).with_name("toot").exists(),
         "the toot client is not installed (pip install toot)")
    toot = str(Path(sys.executable).with_name("toot")) if Path(sys.executable).with_name("toot").exists() \
        else shutil.which("toot")
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    script = (
        "import sys\n"
        "from toot import api, auth, config\n"
        "app = auth.get_or_create_app(sys.argv[1])\n"
        "print(api.get_browser_login_url(app), flush=True)\n"
        "code = sys.stdin.readline().strip()\n"
        "user = auth.login_auth_code(app, code)\n"
        "print('logged in as', user.username, flush=True)\n"
    )
    login = subprocess.Popen([sys.executable, "-c", script, live.url], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = login.stdout.readline().strip()
        assert url.startswith(f"{live.url}/oauth/authorize"), (url, login.stderr.read())
        login.stdin.write(_oob_code(url, live.password) + "\n")
        login.stdin.flush()
        out, err = login.communicate(timeout=30)
    finally:
        login.kill()
    assert login.returncode == 0, err
    assert "logged in as alice" in out

    def run(*args: str) -> str:
        result = subprocess.run([toot, *args], capture_output=True, text=True, env=env, timeout=60)
        assert result.returncode == 0, result.stderr + result.stdout
        return result.stdout

    assert "alice" in run("whoami")
    run("post", "hello from toot, with a warning", "--spoiler-text", "cw", "--visibility", "unlisted")
    timeline = run("timeline", "--once")
    assert "hello from toot" in timeline
    # What toot posted is a real post with its content warning and visibility.
    with strict(httpx.Client(base_url=live.url, timeout=10)) as web:
        feed = web.get("/api/v1/accounts/lookup", params={"acct": "alice"}).json()
        posts = web.get(f"/api/v1/accounts/{feed['id']}/statuses").json()
    assert [(p["spoiler_text"], p["visibility"]) for p in posts] == [("cw", "unlisted")]
    assert json.loads(json.dumps(posts))[0]["content"].startswith("<p>hello from toot")
