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


# --------------------------------------------------------------------------- Tethr.Sdk (v2)
#
# What the v2 .NET SDK sends, read from its public source (github.com/CollabIP/Tethr.sdk-dotnet,
# commit 5cdb365; paths under src/Tethr.Sdk/). The v2 wire tests send exactly these bytes.
#
# - Session/TethrSession.cs, PostMultiPartAsync: ``new MultipartFormDataContent(
#   Guid.NewGuid().ToString())``, so the header is ``multipart/form-data;
#   boundary="<guid>"`` (.NET quotes the boundary) and each part's delimiter is ``--<guid>``.
#   Parts are added with ``content.Add(infoContent, "info")`` and ``content.Add(streamContent,
#   "data")``: ``Content-Disposition: form-data; name=info`` (name unquoted, no filename), after
#   the part's ``Content-Type``, which was set first: ``application/json`` (no charset) for info,
#   the caller's media type (e.g. ``audio/wav``) for data.
# - PostAsync: JSON bodies with ``Content-Type: application/json`` (no charset);
#   ``PostAsync(path)`` (exclude one session) sends no body at all. Every answer must be 2xx and
#   its media type ``application/json``; 400 is read as a ValidationException, 404 on a GET as
#   KeyNotFoundException.
# - Model/TethrModelSerializerContext.cs: System.Text.Json source generation, camelCase names,
#   ``WhenWritingNull`` (a null property is left out), string enums; the default encoder
#   (JavaScriptEncoder.Default) writes ``+`` as ``\u002B``, every non-ASCII character as
#   ``\uXXXX`` (upper-case hex, UTF-16 units), and ``"`` ``&`` ``'`` ``<`` ``>`` `````` escaped
#   the same way. Reading is case-sensitive (no PropertyNameCaseInsensitive).
# - Model/CaptureCallRequest.cs: ``sessionId, masterId, caseReferenceId, collectionId, utcStart,
#   utcEnd, participants, direction, numberDialed, audio, metadata`` in that order; DateTime in
#   UTC is written ``2024-01-01T04:23:00Z`` or with up to 7 fractional digits (trailing zeros
#   trimmed), the exact bytes of Tethr.Sdk.Tests/*.verified.bin. ``direction`` is always written
#   (an enum, default ``Unknown``); ``audio`` is ``{}`` or ``{"format": ...}``.
# - TethrCapture.cs UploadAsync: at least one participant; ``audio.format`` from the media type
#   (``audio/wav`` -> ``wav``); and ``if (info.UtcStart < info.UtcEnd) throw`` (the check is the
#   wrong way round): the SDK never sends a ``utcEnd`` later than ``utcStart``.
# - Model/CaptureCallContact.cs: ``referenceId, firstName, lastName, channel, phoneNumber, type``
#   (no email at this commit; contract §16 adds ``email``, which Tethr's chat and case contacts
#   carry).
# - Model/InteractionPurgeRequest.cs ``{ids, allowIncompleteInteraction}``;
#   InteractionPurgeByCustomerMetadataRequest.cs ``{allowIncompleteInteraction, phoneNumbers,
#   emails}`` (a null list left out); ``allowIncompleteInteraction`` is a plain bool, so it is
#   always sent, ``false`` unless set. TethrInteraction.cs: routes ``/interactions/v2/purge``,
#   ``/purge/sessions``, ``/purge/customer`` (``?whatIf=true`` appended when asked).
# - Model/InteractionPurgeSummary.cs: ``{items: [{id, sessionId, status, errorMsg}]}``, status
#   the enum InteractionPurgeStatus ``Error | NotFound | Purging | WhatIf`` (any other string
#   throws).
# - Model/SessionStatus.cs ``{status, id, sessionId, durationSec}`` (status: SessionStatuses
#   ``Unknown | InProgress | Concluded | Complete | NotFound | Excluded``; durationSec ``long?``);
#   SessionStatusResponse.cs ``{sessions}``; SessionStatusRequest.cs and
#   SessionExcludeBulkRequest.cs ``{sessionIds}``; routes in TethrCapture.cs:
#   ``GET /capture/v2/status/{sessionId}``, ``POST /capture/v2/status``,
#   ``POST /capture/v2/status/exclude``, ``POST /capture/v2/status/exclude/{sessionId}``.

V2_PURGE_STATUSES = ("Error", "NotFound", "Purging", "WhatIf")
V2_SESSION_STATUSES = ("Unknown", "InProgress", "Concluded", "Complete", "NotFound", "Excluded")
V2_USER_AGENT = "TethrAudioBroker/2.0.0.0 (Unix 6.1.0.0) DotNet-CLR/8.0.10"

# JavaScriptEncoder.Default lets through printable ASCII but these.
_DOTNET_ESCAPED = set("\"&'+<>`")
_DOTNET_SHORT = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def _dotnet_string(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in _DOTNET_SHORT:
            out.append(_DOTNET_SHORT[ch])
        elif " " <= ch <= "~" and ch not in _DOTNET_ESCAPED:
            out.append(ch)
        else:
            units = ch.encode("utf-16-be")
            out.extend(
                f"\\u{int.from_bytes(units[i : i + 2], 'big'):04X}" for i in range(0, len(units), 2)
            )
    out.append('"')
    return "".join(out)


def dotnet_json(value: Any) -> bytes:
    """``value`` as System.Text.Json writes it with Tethr.Sdk's options: compact, nulls left out
    of objects, every string escaped by JavaScriptEncoder.Default. Example::

        dotnet_json({"phoneNumbers": ["+1 512"], "x": None}) == b'{"phoneNumbers":["\\u002B1 512"]}'
    """

    def write(item: Any) -> str:
        if item is None:
            return "null"
        if item is True:
            return "true"
        if item is False:
            return "false"
        if isinstance(item, int | float):
            return repr(item)
        if isinstance(item, str):
            return _dotnet_string(item)
        if isinstance(item, list | tuple):
            return "[" + ",".join(write(v) for v in item) + "]"
        if isinstance(item, dict):
            pairs = [f"{_dotnet_string(k)}:{write(v)}" for k, v in item.items() if v is not None]
            return "{" + ",".join(pairs) + "}"
        raise TypeError(type(item))

    return write(value).encode("ascii")


def dotnet_multipart(boundary: str, info_json: bytes, audio: bytes, media_type: str) -> bytes:
    """The body MultipartFormDataContent writes for Tethr.Sdk's two parts (see above)."""
    return (
        (
            f"--{boundary}\r\nContent-Type: application/json\r\n"
            "Content-Disposition: form-data; name=info\r\n\r\n"
        ).encode()
        + info_json
        + (
            f"\r\n--{boundary}\r\nContent-Type: {media_type}\r\n"
            "Content-Disposition: form-data; name=data\r\n\r\n"
        ).encode()
        + audio
        + f"\r\n--{boundary}--\r\n".encode()
    )
