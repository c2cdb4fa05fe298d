"""Permissions an API user may hold; ``admin`` implies every other one."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    CAPTURE = "capture"  # capture calls and read their status (not their content)
    READ = "read"  # read a call back, decrypted: details and audio (each read is audited)
    PURGE = "purge"  # erase calls
    AUDIT = "audit"  # read the audit trail, purge requests and legal holds
    HOLD = "hold"  # place and release legal holds
    RETENTION = "retention"  # change retention policies (read them: retention or audit)
    SUPPRESS = "suppress"  # suppress callers, lift suppressions (contract §22)
    EXPORT = "export"  # subject access exports: make, download, revoke (contract §20)
    REDACT = "redact"  # erase time ranges of a call's audio, keep the call (contract §21)
    ADMIN = "admin"  # everything, including heartbeats of recorders


def parse_permissions(values: list[str]) -> frozenset[Permission]:
    """Validate permission names; raises ValueError naming the bad one and the allowed set."""
    allowed = ", ".join(p.value for p in Permission)
    result = set()
    for value in values:
        try:
            result.add(Permission(value.strip().lower()))
        except ValueError:
            raise ValueError(f"unknown permission {value!r}; use one of: {allowed}") from None
    return frozenset(result)


def grants(held: frozenset[Permission], needed: Permission) -> bool:
    return Permission.ADMIN in held or needed in held
