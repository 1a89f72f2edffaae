"""`smallfedi serve` with uvicorn's pure-Python event loop and HTTP parser (asyncio, h11),
as on a platform without uvloop/httptools wheels: bench/run.py compares the two.

Usage: plainloop.py serve --config CONFIG
"""

import sys

import uvicorn

_init = uvicorn.Config.__init__


def _plain(self, *args, **kwargs):
    kwargs["loop"], kwargs["http"] = "asyncio", "h11"
    _init(self, *args, **kwargs)


uvicorn.Config.__init__ = _plain

if __name__ == "__main__":
    from smallfedi.cli import main

    sys.argv = ["smallfedi", *sys.argv[1:]]
    main()
