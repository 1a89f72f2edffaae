"""smallfedi: one person's own ActivityPub server."""

__version__ = "0.1.0"
