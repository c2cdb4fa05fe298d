"""The purge API: acceptance of erasure requests, the durable queue's workers, and erasure."""
