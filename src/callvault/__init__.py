"""callvault: a call-recording store with a Tethr-compatible API, built around provable erasure."""

from __future__ import annotations

__version__ = "0.1.0"
