"""The shop's order system: one client interface (``client.OrderBackend``), the embedded SQLite
demo store and the HTTP adapter behind it, and the reference server of the HTTP contract."""
