"""Suppressions: callers who objected, kept as keyed hashes and enforced at capture (§22)."""
