"""What Tethr's own clients accept in a call-status answer (contract §4, §10).

These are facts about real programs, observed by running them against callvault, not preferences:

- **v1 C++ SDK** (Poco 1.11): reads ``callId``, ``sessionId`` and ``status`` by exact,
  case-sensitive key and converts each present value to a string; a ``null`` throws
  ``Poco::InvalidAccessException: Can not convert empty value``. An absent key (or ``""``) is
  accepted. A ``status`` it does not know is left unset: the caller cannot tell what happened.
- **v1 .NET SDK** (AudioBroker, Newtonsoft.Json): keys are matched case-insensitively;
  ``DurationSec`` is a non-nullable ``long`` (``null`` throws ``JsonSerializationException``);
  ``Status`` is the enum ``CallStatus`` (an unknown name throws).
- **v2 .NET SDK** (System.Text.Json, case-sensitive camelCase): ``durationSec`` is a ``long``
  and a non-integer such as ``0.2`` is refused.

``tethr_client_errors(item)`` applies every rule and returns what each client would choke on, so a
test can assert it is empty for every answer of both status endpoints.
"""

from __future__ import annotations

from typing import Any

# Tethr's call statuses; a Tethr client fails (or loses the value) on any other string.
TETHR_CALL_STATUSES = ("InProgress", "Concluded", "Complete", "NotFound", "Excluded")
# Keys the C++ client reads and converts to a string.
CPP_STRING_KEYS = ("callId", "sessionId", "status")


def cpp_v1_errors(item: dict[str, Any]) -> list[str]:
    errors = []
    for key in CPP_STRING_KEYS:
        if key in item and item[key] is None:
            errors.append(f"C++ client: Can not convert empty value ({key} is null)")
    if item.get("status") not in TETHR_CALL_STATUSES:
        errors.append(f"C++ client: status {item.get('status')!r} unknown, left unset")
    return errors


def dotnet_v1_errors(item: dict[str, Any]) -> list[str]:
    by_lower = {k.lower(): v for k, v in item.items()}
    errors = []
    if "durationsec" in by_lower:
        value = by_lower["durationsec"]
        if value is None:
            errors.append(".NET v1 client: cannot convert null to System.Int64 (DurationSec)")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            errors.append(f".NET v1 client: DurationSec {value!r} is not a number")
    status = by_lower.get("status")
    if status not in TETHR_CALL_STATUSES:
        errors.append(f".NET v1 client: {status!r} is not a CallStatus")
    return errors


def dotnet_v2_errors(item: dict[str, Any]) -> list[str]:
    if "durationSec" not in item:
        return []
    value = item["durationSec"]
    if isinstance(value, bool) or not isinstance(value, int):
        return [f".NET v2 client: durationSec {value!r} is not a 64-bit integer"]
    return []


def tethr_client_errors(item: dict[str, Any]) -> list[str]:
    """Everything any of Tethr's clients would throw on (or lose) in one status item."""
    no_nulls = [
        f"{k} is null (an absent value must be an absent key)" for k, v in item.items() if v is None
    ]
    return cpp_v1_errors(item) + dotnet_v1_errors(item) + dotnet_v2_errors(item) + no_nulls


def assert_tethr_clients_read(item: dict[str, Any]) -> None:
    errors = tethr_client_errors(item)
    assert not errors, (item, errors)
