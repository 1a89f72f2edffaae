"""Running third-party software where nothing it tries can leave the machine.

A command runs in a fresh network namespace (`unshare -n`, which needs root or CAP_SYS_ADMIN)
whose only interface is loopback; the first thing the process inside does is bring that
interface up (`bring_loopback_up`). Whatever the independent software attempts (fetching a
JSON-LD context, a key, a WebFinger document from a real host) fails at once instead of going
out, and both servers inside can talk to each other over 127.0.0.1 only.

Python 3.11 has no os.unshare, so the `unshare` program from util-linux does the unsharing.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import struct
import subprocess

ENV_FLAG = "SMALLFEDI_IN_LOOPBACK_NETNS"

# From <linux/sockios.h> and <net/if.h>.
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_IFREQ = "16sH22x"  # struct ifreq: the name, then ifr_flags in the 24-byte union


def unshare_available() -> tuple[bool, str]:
    """Can this process create a network namespace? (A cheap probe: `unshare -n true`.)"""
    program = shutil.which("unshare")
    if program is None:
        return False, "the `unshare` program (util-linux) is not installed"
    try:
        result = subprocess.run([program, "-n", "true"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"`unshare -n` could not run: {exc}"
    if result.returncode != 0:
        return False, f"`unshare -n` failed (needs root or CAP_SYS_ADMIN): {result.stderr.strip()}"
    return True, ""


def in_loopback_namespace(argv: list[str]) -> list[str]:
    """The command line that runs `argv` inside a new network namespace."""
    return [shutil.which("unshare") or "unshare", "-n", "--", *argv]


def namespace_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a process started by `in_loopback_namespace`: marked, without proxies
    (there is nothing to proxy to in there)."""
    env = dict(os.environ if env is None else env)
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(name, None)
    env[ENV_FLAG] = "1"
    return env


def bring_loopback_up() -> list[str]:
    """Inside the new namespace: set `lo` up (what `ip link set lo up` does) and return the
    namespace's interfaces, which must be loopback alone."""
    if os.environ.get(ENV_FLAG) != "1":
        raise RuntimeError("not started through in_loopback_namespace(); refusing to touch interfaces")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack(_IFREQ, b"lo", 0)
        flags = struct.unpack(_IFREQ, fcntl.ioctl(s.fileno(), _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s.fileno(), _SIOCSIFFLAGS, struct.pack(_IFREQ, b"lo", flags | _IFF_UP))
    interfaces = sorted(name for _, name in socket.if_nameindex())
    if interfaces != ["lo"]:
        raise RuntimeError(f"expected a namespace with loopback only, found {interfaces}")
    return interfaces
