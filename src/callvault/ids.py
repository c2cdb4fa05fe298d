"""Unguessable identifiers: 128 random bits as 32 hex digits, never sequential.

Hex rather than URL-safe base64: an ID that starts with ``-`` would read as an option on a
command line.
"""

from __future__ import annotations

import secrets


def new_call_id() -> str:
    return secrets.token_hex(16)


def new_request_id() -> str:
    return secrets.token_hex(16)
