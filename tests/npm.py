"""Installing a test's npm packages once: `npm ci` into a cache folder outside the tree the
tests read, again only when package.json or the lockfile changed. A file lock keeps two test
processes from installing at once."""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import time
from pathlib import Path

LOCKED = ("package.json", "package-lock.json")


def npm_ci(source: Path, cache: Path, script: str, installed: Path) -> float:
    """Copy the lock files and `script` from `source` into `cache` and install there when
    needed (`installed`: a path that exists once the packages are in). Returns the seconds
    the install took, 0 when the cache was good."""
    stamp_value = hashlib.sha256(b"".join((source / name).read_bytes() for name in LOCKED)).hexdigest()
    stamp = cache / ".installed"
    started = time.monotonic()
    took = 0.0
    cache.parent.mkdir(parents=True, exist_ok=True)
    with open(cache.parent / f"{cache.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (stamp.exists() and stamp.read_text() == stamp_value and installed.exists()):
                cache.mkdir(parents=True, exist_ok=True)
                stamp.unlink(missing_ok=True)
                for name in LOCKED:
                    shutil.copyfile(source / name, cache / name)
                # No install scripts: nothing the tests use needs one, and nothing may download
                # past the registry.
                result = subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=cache,
                                        capture_output=True, text=True, timeout=600)
                if result.returncode != 0:
                    raise AssertionError(f"npm ci failed:\n{result.stdout}\n{result.stderr}")
                stamp.write_text(stamp_value)
                took = time.monotonic() - started
            shutil.copyfile(source / script, cache / script)  # next to its node_modules
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return took
