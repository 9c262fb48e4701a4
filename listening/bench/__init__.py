"""`make bench-ingest` and its helpers (not tests: they print figures)."""
