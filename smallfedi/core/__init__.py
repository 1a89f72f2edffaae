"""What the owner and the world can do, whichever face asked: the one model under all three."""
