"""Unguessable identifiers: 128 random bits, URL-safe, never sequential."""

from __future__ import annotations

import secrets


def new_call_id() -> str:
    return secrets.token_urlsafe(16)


def new_request_id() -> str:
    return secrets.token_urlsafe(16)
