"""The HTML face: public pages for visitors and the owner's own pages, no JavaScript needed."""
