"""Running the server: uvicorn, one process, graceful stop on SIGTERM/SIGINT.

On a stop uvicorn stops accepting, lets the requests in flight finish, then runs the app's
shutdown, which closes the database; unsent deliveries simply stay queued in it.
"""

from __future__ import annotations

import logging
import signal

from smallfedi.config import Config

GRACEFUL_SECONDS = 20  # systemd's TimeoutStopSec in the unit is longer than this
# Apps send only small subscribe messages over the streaming WebSocket; a larger frame
# closes the connection before it is buffered (uvicorn's default would take 16 MiB).
WS_MAX_BYTES = 64 * 1024


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(levelname)s %(name)s: %(message)s")


def serve(config: Config, host: str | None = None, port: int | None = None) -> None:
    import uvicorn

    from smallfedi.app import create_app

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
