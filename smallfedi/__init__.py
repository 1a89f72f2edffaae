"""smallfedi: one person's own ActivityPub server."""

__version__ = "0.1.0"
# The Mastodon version whose client API smallfedi speaks; apps gate features on it.
MASTODON_API_VERSION = "4.3.0"
