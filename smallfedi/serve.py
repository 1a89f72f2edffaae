"""Running the server: uvicorn, one process, graceful stop on SIGTERM/SIGINT.

On a stop uvicorn stops accepting, lets the requests in flight finish, then runs the app's
shutdown, which closes the database; unsent deliveries simply stay queued in it.
"""

from __future__ import annotations

import importlib.util
import logging
import signal
import sys
from types import ModuleType

from smallfedi.config import Config

GRACEFUL_SECONDS = 20  # systemd's TimeoutStopSec in the unit is longer than this
# Apps send only small subscribe messages over the streaming WebSocket; a larger frame
# closes the connection before it is buffered (uvicorn's default would take 16 MiB).
WS_MAX_BYTES = 64 * 1024


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(levelname)s %(name)s: %(message)s")
    if level.lower() != "debug":
        # httpx logs every request at INFO: a line per delivery and per fetch, thousands a
        # minute when a post goes out, on an SD card. Failures are logged by our own code.
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)


def _uvicorn() -> ModuleType:
    """The uvicorn package, without its command line until something asks for it.

    uvicorn/__init__.py imports uvicorn.main, the `uvicorn` command: click, the reloaders and
    multiprocessing, some 2 MiB that a server started from Python never uses. So the package
    is set up without running its __init__, holding the two names the server needs (and that
    uvicorn's own modules import from it); asking it for any other name runs __init__ first,
    as a plain import would have. Should this uvicorn not load that way, it is imported plainly.
    """
    if "uvicorn" in sys.modules:
        return sys.modules["uvicorn"]
    spec = importlib.util.find_spec("uvicorn")
    if spec is None or spec.loader is None:
        import uvicorn  # fails as a plain import does

        return uvicorn
    package = importlib.util.module_from_spec(spec)

    def complete(name: str):
        del package.__getattr__
        spec.loader.exec_module(package)
        return getattr(package, name)

    package.__getattr__ = complete
    sys.modules["uvicorn"] = package
    try:
        from uvicorn.config import Config as UvicornConfig
        from uvicorn.server import Server
    except Exception:  # noqa: BLE001 - any surprise: forget the partial import, do the plain one
        for name in [name for name in sys.modules if name == "uvicorn" or name.startswith("uvicorn.")]:
            del sys.modules[name]
        import uvicorn

        return uvicorn
    package.Config, package.Server = UvicornConfig, Server
    return package


def serve(config: Config, host: str | None = None, port: int | None = None) -> None:
    from smallfedi.app import create_app

    uvicorn = _uvicorn()

    configure_logging(config.log_level)
    server = uvicorn.Server(uvicorn.Config(
        create_app(config),
        host=host or config.host,
        port=port or config.port,
        lifespan="on",
        proxy_headers=True,
        forwarded_allow_ips=config.forwarded_allow_ips,
        server_header=False,
        log_level=config.log_level,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        ws_max_size=WS_MAX_BYTES,
        access_log=config.log_level == "debug",
    ))
    # uvicorn re-raises the stop signal once it has shut down, so the default handler would
    # end the process with -15 and systemd would log a failure; a stop we handled is a clean exit.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    server.run()
    if not server.started:
        raise SystemExit("smallfedi: the server did not start (see the log above)")
