"""The `smallfedi` command line, run as a real subprocess: init, passwd, check, backup, serve.

The contract (DESIGN.md, "Contracts"): every command exits non-zero with a one-line message on
bad input and never shows a traceback; serve drains and exits cleanly on SIGTERM.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import pytest

from smallfedi import __version__
from smallfedi.config import render_config
from tests.conftest import PASSWORD, USERNAME, Server, csrf_of

NEW_PASSWORD = "a brand new passphrase"


# Helpers

def cli(*args: object, input: str = "", timeout: float = 30) -> subprocess.CompletedProcess:
    """`python -m smallfedi ARGS`; stdin is always a pipe (never a terminal), so nothing can prompt."""
    return subprocess.run([sys.executable, "-m", "smallfedi", *map(str, args)], capture_output=True, text=True,
                          input=input, timeout=timeout)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    """The failure contract: non-zero exit, exactly one line on stderr, no traceback anywhere."""
    assert result.returncode != 0, f"expected a failure, got exit 0: {result.stdout!r}"
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {lines!r}"
    assert lines[0].strip(), "the message is blank"
    return lines[0]


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def password_file(folder: Path, password: str, name: str = "password.txt") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(password + "\n", encoding="utf-8")
    return path


def snapshot(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under `folder`: its bytes, mtime (ns) and mode."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns, mode_of(p))
            for p in sorted(folder.rglob("*")) if p.is_file()}


def sign_in(base_url: str, password: str) -> tuple[httpx.Client, httpx.Response]:
    """A fresh browser signing in through the HTML form; a 303 means it worked."""
    client = httpx.Client(base_url=base_url, timeout=10)
    page = client.get("/login")
    assert page.status_code == 200, page.text
    response = client.post("/login", data={"csrf_token": csrf_of(page.text), "password": password, "next": "/"})
    return client, response


def signed_in(base_url: str, password: str) -> httpx.Client:
    client, response = sign_in(base_url, password)
    assert response.status_code == 303, f"sign-in failed: {response.status_code} {response.text[:300]}"
    return client


def can_sign_in(base_url: str, password: str) -> bool:
    client, response = sign_in(base_url, password)
    client.close()
    return response.status_code == 303


def publish(client: httpx.Client, text: str) -> str:
    home = client.get("/")
    assert home.status_code == 200, "the client is not signed in"
    response = client.post("/compose", data={"csrf_token": csrf_of(home.text), "text": text,
                                             "visibility": "public"})
    assert response.status_code == 303, response.text
    return response.headers["location"]


def log_of(server: Server) -> str:
    return (server.folder / "serve.log").read_text(errors="replace")


def initialised(folder: Path) -> Server:
    """An instance initialised by the command line (not started)."""
    return Server(folder).init()


# 1. init

def test_init_creates_a_private_instance_and_prints_the_handle(tmp_path):
    config = tmp_path / "site" / "smallfedi.toml"
    pw = password_file(tmp_path, PASSWORD)
    result = cli("init", "--config", config, "--url", "https://social.example.org", "--username", USERNAME,
                 "--password-file", pw)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert f"@{USERNAME}@social.example.org" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr, "a password given in a file is never echoed"

    settings = tomllib.loads(config.read_text(encoding="utf-8"))
    assert settings["url"] == "https://social.example.org"
    data_dir = (config.parent / settings["data_dir"]).resolve()
    assert data_dir == (config.parent / "data").resolve()
    db = data_dir / "smallfedi.db"
    assert db.is_file()
    assert mode_of(db) == 0o600, oct(mode_of(db))
    assert mode_of(data_dir) == 0o700, oct(mode_of(data_dir))

    # The database really holds the owner: `check` agrees.
    checked = cli("check", "--config", config)
    assert checked.returncode == 0, checked.stderr
    assert f"@{USERNAME}@social.example.org" in checked.stdout


def test_a_second_init_is_refused_and_changes_nothing(tmp_path):
    config = tmp_path / "smallfedi.toml"
    pw = password_file(tmp_path, PASSWORD)
    first = cli("init", "--config", config, "--url", "https://social.example.org", "--username", USERNAME,
                "--password-file", pw)
    assert first.returncode == 0, first.stderr
    config_before = config.read_bytes()
    data_before = snapshot(tmp_path / "data")
    assert "smallfedi.db" in data_before
    time.sleep(0.05)  # so that a rewrite would show in the mtimes

    other_pw = password_file(tmp_path, NEW_PASSWORD, "other.txt")
    for args in (
        ("--url", "https://social.example.org", "--username", USERNAME, "--password-file", pw),
        ("--url", "https://social.example.org", "--username", "bob", "--password-file", other_pw),
    ):
        again = cli("init", "--config", config, *args)
        line = one_line_error(again)
        assert "already" in line, line
        assert config.read_bytes() == config_before
        assert snapshot(tmp_path / "data") == data_before


@pytest.mark.parametrize("args, setting", [
    (("--url", "ftp://social.example.org"), "url"),
    (("--url", "https://social.example.org/social"), "url"),
    (("--url", "https://social.example.org", "--username", "not a name!"), "username"),
    (("--url", "https://social.example.org", "--password-file", "{missing}"), "password-file"),
    (("--url", "https://social.example.org", "--password-file", "{short}"), "8"),
])
def test_init_with_bad_input_fails_in_one_line_and_leaves_nothing(tmp_path, args, setting):
    config = tmp_path / "smallfedi.toml"
    short = password_file(tmp_path, "short", "short.txt")
    args = [a.format(missing=tmp_path / "nope.txt", short=short) for a in args]
    if "--username" not in args:
        args += ["--username", USERNAME]
    if "--password-file" not in args:
        args += ["--password-file", str(password_file(tmp_path, PASSWORD))]
    line = one_line_error(cli("init", "--config", config, *args))
    assert setting in line, line
    assert not config.exists(), "a failed init must not leave a config behind"
    assert not (tmp_path / "data" / "smallfedi.db").exists(), "a failed init must not leave a database behind"


# 2. init with a generated password

def test_init_without_a_terminal_generates_a_password_that_signs_in(tmp_path):
    server = Server(tmp_path / "gen")
    server.folder.mkdir(parents=True)
    result = cli("init", "--config", server.config, "--url", server.url, "--username", USERNAME, input="")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "owner password" in line]
    assert len(lines) == 1, result.stdout
    generated = lines[0].rsplit(":", 1)[1].strip()
    assert len(generated) >= 8, generated
    assert result.stdout.count(generated) == 1, "the password is shown exactly once"
    assert generated not in result.stderr
    assert f"@{USERNAME}@127.0.0.1:{server.port}" in result.stdout

    server.password = generated
    server.start()
    try:
        assert can_sign_in(server.url, generated)
        assert not can_sign_in(server.url, PASSWORD)
    finally:
        server.stop()


# 3. Bad configuration

BASE_CONFIG = 'url = "https://x.example"\ndata_dir = "data"\n'


@pytest.mark.parametrize("text, setting", [
    ('url = "https://x.example/social"\ndata_dir = "data"\n', "url"),
    ('url = "ftp://x.example"\ndata_dir = "data"\n', "url"),
    ('url = "https://x.example:99999"\ndata_dir = "data"\n', "url"),
    ('data_dir = "data"\n', "url"),
    ('url = "https://x.example"\n', "data_dir"),
    ('url = "https://x.example"\ndata_dir = 5\n', "data_dir"),
    (BASE_CONFIG + "[server]\nport = 70000\n", "server.port"),
    (BASE_CONFIG + "[server]\nport = 0\n", "server.port"),
    (BASE_CONFIG + '[server]\nport = "8080"\n', "server.port"),
    (BASE_CONFIG + "[server]\nport = true\n", "server.port"),
    (BASE_CONFIG + 'colour = "blue"\n', "colour"),
    (BASE_CONFIG + '[server]\ncolour = "blue"\n', "server.colour"),
    (BASE_CONFIG + '[federation]\nallow_private_addresses = "yes"\n', "federation.allow_private_addresses"),
    (BASE_CONFIG + 'log_level = "loud"\n', "log_level"),
], ids=["url-path", "url-ftp", "url-bad-port", "url-missing", "data_dir-missing", "data_dir-number",
        "port-70000", "port-0", "port-string", "port-bool", "unknown-top", "unknown-server",
        "federation-type", "log_level"])
def test_check_reports_a_bad_setting_in_one_line(tmp_path, text, setting):
    config = tmp_path / "smallfedi.toml"
    config.write_text(text, encoding="utf-8")
    line = one_line_error(cli("check", "--config", config))
    assert setting in line, line


def test_check_reports_invalid_toml_in_one_line(tmp_path):
    config = tmp_path / "smallfedi.toml"
    config.write_text('url = "https://x.example\ndata_dir = \n[server\n', encoding="utf-8")
    line = one_line_error(cli("check", "--config", config))
    assert str(config) in line and "TOML" in line, line


def test_check_reports_a_missing_config_file_in_one_line(tmp_path):
    config = tmp_path / "nowhere" / "smallfedi.toml"
    line = one_line_error(cli("check", "--config", config))
    assert str(config) in line, line
    assert not config.exists()


def test_commands_on_a_config_without_an_instance_fail_in_one_line(tmp_path):
    config = tmp_path / "smallfedi.toml"
    config.write_text(render_config("http://127.0.0.1:8080", "data"), encoding="utf-8")
    dest = tmp_path / "backup"
    for args in (("check",), ("passwd", "--password-file", password_file(tmp_path, NEW_PASSWORD)),
                 ("backup", dest)):
        line = one_line_error(cli(args[0], "--config", config, *args[1:]))
        assert "init" in line, line
    assert not (tmp_path / "data" / "smallfedi.db").exists()
    assert not dest.exists()


# 4. passwd

def test_passwd_changes_the_password_and_signs_out_every_session(tmp_path):
    server = initialised(tmp_path / "instance").start()
    try:
        browser = signed_in(server.url, PASSWORD)
        assert browser.get("/").status_code == 200, "the session reaches the owner's home before passwd"

        result = cli("passwd", "--config", server.config,
                     "--password-file", password_file(tmp_path, NEW_PASSWORD, "new.txt"))
        assert result.returncode == 0, result.stderr
        assert NEW_PASSWORD not in result.stdout + result.stderr

        home = browser.get("/")
        assert home.status_code in (302, 303), "the old session still reaches the owner's home"
        assert home.headers["location"].endswith(f"/@{USERNAME}")
        browser.close()
        assert not can_sign_in(server.url, PASSWORD), "the old password still works"
        assert can_sign_in(server.url, NEW_PASSWORD), "the new password does not work"

        for bad in ("short", "1234567"):
            line = one_line_error(cli("passwd", "--config", server.config,
                                      "--password-file", password_file(tmp_path, bad, "bad.txt")))
            assert "8" in line, line
        empty = tmp_path / "empty.txt"
        empty.write_text("\n")
        one_line_error(cli("passwd", "--config", server.config, "--password-file", empty))
        assert can_sign_in(server.url, NEW_PASSWORD), "a refused passwd changed the password"

        # Without a file and without a terminal, a password is generated and printed once.
        generated_run = cli("passwd", "--config", server.config, input="")
        assert generated_run.returncode == 0, generated_run.stderr
        lines = [line for line in generated_run.stdout.splitlines() if "password" in line and ":" in line]
        assert len(lines) == 1, generated_run.stdout
        generated = lines[0].rsplit(":", 1)[1].strip()
        assert len(generated) >= 8 and generated_run.stdout.count(generated) == 1
        assert can_sign_in(server.url, generated)
    finally:
        server.stop()
    assert "Traceback" not in log_of(server)


# 5. check

def test_check_passes_on_a_fresh_instance_and_flags_a_readable_database(tmp_path):
    server = initialised(tmp_path / "instance")
    fine = cli("check", "--config", server.config)
    assert fine.returncode == 0, fine.stderr
    assert fine.stdout.strip().splitlines()[-1] == "ok"
    assert fine.stderr == ""

    db = server.folder / "data" / "smallfedi.db"
    db.chmod(0o644)
    bad = cli("check", "--config", server.config)
    assert bad.returncode != 0
    assert "Traceback" not in bad.stdout + bad.stderr
    problems = [line for line in bad.stderr.splitlines() if str(db) in line]
    assert len(problems) == 1, bad.stderr
    assert "ok" not in bad.stdout.strip().splitlines()


# 6. backup and restore

def test_an_online_backup_restores_to_a_working_instance(tmp_path):
    original = initialised(tmp_path / "a").start()
    dest = tmp_path / "backup"
    texts = ["first post kept by the backup", "second post kept by the backup"]
    try:
        browser = signed_in(original.url, PASSWORD)
        for text in texts:
            publish(browser, text)
        browser.close()

        result = cli("backup", "--config", original.config, dest)  # while the server runs
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        assert mode_of(dest / "smallfedi.db") == 0o600, oct(mode_of(dest / "smallfedi.db"))
        assert mode_of(dest) == 0o700, oct(mode_of(dest))

        # A folder that holds something is refused, and left as it was.
        full = tmp_path / "full"
        full.mkdir()
        (full / "keep.txt").write_text("mine")
        line = one_line_error(cli("backup", "--config", original.config, full))
        assert str(full) in line, line
        assert sorted(p.name for p in full.iterdir()) == ["keep.txt"]
        assert (full / "keep.txt").read_text() == "mine"

        # So is a folder inside the data folder.
        inside = original.folder / "data" / "backup"
        one_line_error(cli("backup", "--config", original.config, inside))
        assert not inside.exists()
    finally:
        original.stop()

    restored = Server(tmp_path / "b", port=original.port)  # same url: the restored instance is the same site
    restored.folder.mkdir()
    restored.config.write_text(render_config(original.url, str(dest), port=original.port), encoding="utf-8")
    checked = cli("check", "--config", restored.config)
    assert checked.returncode == 0, checked.stderr
    restored.start()
    try:
        profile = httpx.get(f"{restored.url}/@{USERNAME}", timeout=10)
        assert profile.status_code == 200
        for text in texts:
            assert text in profile.text, f"{text!r} is missing after the restore"
        assert can_sign_in(restored.url, PASSWORD)
    finally:
        restored.stop()
    assert "Traceback" not in log_of(restored)


# 7. serve

def test_serve_stops_gracefully_on_sigterm(tmp_path):
    server = initialised(tmp_path / "instance").start()
    try:
        browser = signed_in(server.url, PASSWORD)
        publish(browser, "written just before the stop")
        browser.close()
        started = time.monotonic()
        server.process.terminate()
        code = server.process.wait(timeout=10)
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    log = log_of(server)
    assert code == 0, f"serve exited with {code} on SIGTERM; log:\n{log}"
    assert elapsed < 5, f"serve took {elapsed:.1f} s to stop"
    assert "Traceback" not in log, log


def test_serve_without_an_instance_fails_in_one_line(tmp_path):
    config = tmp_path / "smallfedi.toml"
    config.write_text(render_config("http://127.0.0.1:8080", "data"), encoding="utf-8")
    line = one_line_error(cli("serve", "--config", config, timeout=15))
    assert "init" in line, line
    assert not (tmp_path / "data" / "smallfedi.db").exists()


def test_serve_on_a_busy_port_exits_non_zero_without_a_traceback(tmp_path):
    server = initialised(tmp_path / "instance")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", server.port))
        busy.listen()
        result = subprocess.run([sys.executable, "-m", "smallfedi", "serve", "--config", str(server.config)],
                                capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=15)
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr, result.stderr


# 8. Entry points

def test_version():
    result = cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"smallfedi {__version__}"


def test_console_script_help():
    script = Path(sys.executable).parent / "smallfedi"
    if not script.exists():
        found = shutil.which("smallfedi")
        assert found, "the smallfedi console script is not installed"
        script = Path(found)
    assert os.access(script, os.X_OK)
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    for command in ("init", "serve", "passwd", "check", "backup"):
        assert command in result.stdout, result.stdout
    bad = subprocess.run([str(script), "no-such-command"], capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=30)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
