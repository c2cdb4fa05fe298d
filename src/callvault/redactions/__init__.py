"""Redaction: erase time ranges of a call's audio, keep the call (contract section 21)."""
