"""The worker process: a generic host (host.py) running the loops services offer (process.py)."""
