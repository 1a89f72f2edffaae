"""Fill bovine's JSON-LD context cache before fediverse-pasture starts.

bovine (which fediverse-pasture is built on) expands documents with PyLD and loads remote
@context documents through a cache kept in ./bovine_jsonld_cache.sqlite (table jsonld: url,
context). A context it cannot download is cached as an empty context; in our network namespace
every download fails, and an empty https://w3id.org/security/v1 would turn our actor's
publicKey into a blank node. So the contexts our documents and pasture's own use are put in the
cache first, from contexts.json beside this file.

Runs in the pasture virtual environment, in the folder pasture will run in:
    python seed_jsonld_cache.py [CACHE_FILE]
"""

import json
import sqlite3
import sys
from pathlib import Path

CONTEXTS = Path(__file__).with_name("contexts.json")


def main() -> None:
    contexts = json.loads(CONTEXTS.read_text(encoding="utf-8"))
    target = sys.argv[1] if len(sys.argv) > 1 else "bovine_jsonld_cache.sqlite"
    db = sqlite3.connect(target)
    db.execute("CREATE TABLE IF NOT EXISTS jsonld (url TEXT PRIMARY KEY, context TEXT)")
    for url, document in contexts.items():
        if url.startswith("_"):  # "_about": the file's own description
            continue
        # The cache holds the value of a document's "@context", as bovine's loader stores it.
        db.execute("INSERT OR REPLACE INTO jsonld VALUES (?, ?)", (url, json.dumps(document["@context"])))
    db.commit()
    db.close()


if __name__ == "__main__":
    main()
