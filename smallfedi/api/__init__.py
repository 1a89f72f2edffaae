"""The Mastodon client API face: what Tusky, Ice Cubes, Elk, Phanpy and the rest speak."""
