"""The federation face's route table, kept apart from its endpoints (routes.py, inbox.py) so
the app can be built without loading them: an endpoint's module loads on its first request.
"""

from __future__ import annotations

from starlette.routing import Route

from smallfedi.lazy import lazy

# Endpoints (in routes.py) whose path the HTML face shares; app.py negotiates between the two.
NEGOTIATED = {
    "/users/{username}": "actor",
    "/@{username}": "actor",
    "/users/{username}/statuses/{status_id}": "note",
    "/@{username}/{status_id}": "note",
}


def _checked(name: str):
    """routes.<name> behind routes._errors: domain errors as JSON, and with authorized fetch on,
    only signed GETs get through."""
    def make():
        from smallfedi.federation import routes

        return routes._errors(getattr(routes, name))
    return lazy(make, name=name)


def routes() -> list[Route]:
    inbox = lazy("smallfedi.federation.inbox:inbox")
    return [
        Route("/users/{username}/inbox", inbox, methods=["POST"]),
        Route("/inbox", inbox, methods=["POST"]),
        Route("/users/{username}/outbox", _checked("outbox")),
        Route("/users/{username}/followers", _checked("followers")),
        Route("/users/{username}/following", _checked("following_collection")),
        Route("/users/{username}/collections/featured", _checked("featured")),
        Route("/users/{username}/statuses/{status_id}/activity", _checked("note_activity")),
        Route("/activities/{key:path}", _checked("stored_activity")),  # Undo ids nest: /activities/N/undo
    ]


def negotiated() -> dict:
    return {path: _checked(name) for path, name in NEGOTIATED.items()}
