"""Volume data for the benchmarks: a seeder that writes realistic tenants, mentions and
conversations with COPY (``seed.py``), and the bench database it writes into (``database.py``)."""
