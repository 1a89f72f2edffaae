"""fediverse-pasture's verify_actor web app, built for plain http on loopback.

Runs in the pasture virtual environment (not ours):
    PASTURE_DOMAIN=127.0.0.1:2909 python -m uvicorn --factory verify_actor_app:get_app \
        --app-dir THIS_FOLDER --host 127.0.0.1 --port 2909
from a folder that holds (or will hold) pasture's data.toml, the keys of its test actors.

fediverse_pasture.verify_actor.get_app in 0.2.25 cannot be used: it calls build_app without
the `timeout` argument and always asks for https. build_app itself is fine, so we call it.
"""

import os

from fediverse_pasture.verify_actor import build_app


def get_app():
    return build_app(
        False,  # only_generate_config: no, generate data.toml when missing and serve
        os.environ.get("PASTURE_DOMAIN", "127.0.0.1:2909"),  # host:port its actors live on
        False,  # https: no, the actors' ids are http://
        float(os.environ.get("PASTURE_TIMEOUT", "20")),  # seconds per request to the target
    )
