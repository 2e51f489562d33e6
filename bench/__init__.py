"""The benchmark: a generator that fills a separate PostgreSQL database, and timed scenarios."""
