"""Benchmarks of the inbox (``make bench-inbox``: inbox/bench/pages.py)."""
