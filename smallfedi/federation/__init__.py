"""ActivityPub face: documents, inbox, delivery."""
