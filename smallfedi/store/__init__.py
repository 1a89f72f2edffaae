"""SQLite storage: the connection, numbered migrations, and one module of queries per table group."""
