"""The ``info`` part of a capture, as Tethr's clients send it.

Keys are matched case-insensitively (``SessionId``, ``sessionId``, ``sessionid``), ``utcStart`` /
``utcEnd`` are aliases, empty strings mean absent, and times may carry 0-7 fractional digits, a
``Z``, an offset, or no offset at all (then UTC).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from callvault import emails
from callvault.errors import BadInput
from callvault.text import CleanText, is_clean

DIRECTIONS = ("Unknown", "Inbound", "Outbound", "Internal")
# How far ahead of the server's clock a call may start (contract §15): beyond it, a 400.
MAX_START_AHEAD = timedelta(hours=24)

_ALIASES = {"utcstart": "starttime", "utcend": "endtime"}
# Tethr.Sdk (v2) names three fields differently; the rest of its info is v1's (contract §16).
_V2_ALIASES = {**_ALIASES, "masterid": "mastercallid", "participants": "contacts"}
# Validation context key: v2's client never sends a utcEnd after utcStart (its own check is the
# wrong way round), so an end before the start is taken as given there.
END_BEFORE_START_OK = "end_before_start_ok"


def _lower_keys(value: Any, aliases: dict[str, str] | None = None) -> Any:
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = str(key).lower()
        name = (aliases or {}).get(name, name)
        if item == "":
            continue  # Tethr's clients send "" for "not given"
        out[name] = item
    return out


CUSTOMER = "customer"


def is_customer_type(value: Any) -> bool:
    """A contact type that means Customer: trimmed (any Unicode space) and case-folded."""
    return isinstance(value, str) and value.strip().casefold() == CUSTOMER


def parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 time string such as 2024-01-01T04:23:00Z")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"{value!r} is not an ISO 8601 time; use e.g. 2024-01-01T04:23:00.123Z"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. year 1 at +01:00: not representable in UTC
        raise ValueError(f"{value!r} is out of the supported range of times") from None


class ContactInfo(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: CleanText = Field(min_length=1, max_length=100)
    channel: int | str | None = None
    # A phone number never fails a capture: kept as given (a JSON number too), sealed, and
    # normalized only where it parses.
    phonenumber: str | None = None
    referenceid: str | None = Field(default=None, max_length=500)
    firstname: str | None = Field(default=None, max_length=500)
    lastname: str | None = Field(default=None, max_length=500)
    # v2 participants (v1 never sends one): sealed as given, indexed as emails.index_form
    # (trimmed, NFKC, the domain's IDNA A-label, case-folded; contract §16).
    email: str | None = Field(default=None, max_length=emails.MAX_EMAIL_CHARS + 100)

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, data: Any) -> Any:
        return _lower_keys(data)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            emails.normalize(value)
        except emails.InvalidEmail as exc:
            raise ValueError(f"is not an e-mail address: {exc}") from None
        return value

    @field_validator("phonenumber", mode="before")
    @classmethod
    def _phone_as_text(cls, value: Any) -> Any:
        return (
            str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        )

    @property
    def is_customer(self) -> bool:
        """Whether the contact is the call's customer, its type read as a person means it
        (contract §19): trimmed and case-folded, so ``"Customer "``, ``"customer\\t"`` and
        ``" CUSTOMER"`` are Customer. The type itself is stored as it was sent."""
        return is_customer_type(self.type)


class AudioInfo(BaseModel):
    model_config = ConfigDict(extra="ignore")

    format: CleanText | None = Field(default=None, max_length=32)

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, data: Any) -> Any:
        return _lower_keys(data)


class CaptureInfo(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sessionid: CleanText = Field(min_length=1, max_length=256)
    mastercallid: str | None = Field(default=None, max_length=256)
    starttime: datetime
    endtime: datetime | None = None
    direction: str = "Unknown"
    numberdialed: str | None = None
    contacts: list[ContactInfo] = Field(min_length=1, max_length=100)
    metadata: Any = None
    audio: AudioInfo | None = None

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("info must be a JSON object")
        return _lower_keys(data, _ALIASES)

    @field_validator("starttime", "endtime", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        return None if value is None else parse_time(value)

    @field_validator("starttime")
    @classmethod
    def _not_far_ahead(cls, value: datetime) -> datetime:
        # Retention counts a call's age from its start (contract §15): a start years ahead
        # (9999-12-31) would keep the call from every policy. A day's slack absorbs recorders'
        # clock drift and a mislabelled time zone.
        latest = datetime.now(UTC) + MAX_START_AHEAD
        if value > latest:
            raise ValueError(
                "is more than 24 hours ahead of the server's clock (latest accepted now: "
                f"{latest.strftime('%Y-%m-%dT%H:%M:%SZ')}); send the time the call started, "
                "in UTC or with its offset"
            )
        return value

    @field_validator("direction", mode="before")
    @classmethod
    def _direction(cls, value: Any) -> Any:
        if value is None:
            return "Unknown"  # null means absent, as an empty string does
        if isinstance(value, str):
            for known in DIRECTIONS:
                if value.lower() == known.lower():
                    return known
        raise ValueError(f"must be one of {', '.join(DIRECTIONS)}")

    @model_validator(mode="after")
    def _order(self, info: ValidationInfo) -> CaptureInfo:
        lenient = bool(info.context and info.context.get(END_BEFORE_START_OK))
        if self.endtime is not None and self.endtime < self.starttime and not lenient:
            raise ValueError("endTime is before startTime")
        return self


_FIELD_NAMES = {
    "sessionid": "sessionId",
    "mastercallid": "masterCallId",
    "starttime": "startTime",
    "endtime": "endTime",
    "numberdialed": "numberDialed",
    "phonenumber": "phoneNumber",
    "referenceid": "referenceId",
    "firstname": "firstName",
    "lastname": "lastName",
}
_V2_FIELD_NAMES = {
    **_FIELD_NAMES,
    "mastercallid": "masterId",
    "starttime": "utcStart",
    "endtime": "utcEnd",
    "contacts": "participants",
}


def _describe(error: Any, names: dict[str, str] = _FIELD_NAMES) -> str:
    path = "".join(
        f"[{part}]" if isinstance(part, int) else f".{names.get(str(part), part)}"
        for part in error["loc"]
    )
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "is required"
    return f"info{path} {message}".replace("info ", "info: ", 1)


# Deeper metadata than any recorder sends; past it, serving the call back could hit a recursion
# limit (and a 256-deep document once made every read of its call a 500).
MAX_METADATA_DEPTH = 32


def _where(path: tuple[str | int, ...]) -> str:
    return "info" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _unservable(document: Any) -> str | None:
    """What in the document could be stored but never served back, or None.

    Every string (keys too) must be clean text (no NUL, no lone surrogate: JSON can spell both,
    neither a database nor a JSON response can carry them), and ``metadata`` may nest at most
    MAX_METADATA_DEPTH containers. Iterative, so no document can exhaust the stack here.
    """
    stack: list[tuple[tuple[str | int, ...], Any, int]] = [((), document, 0)]
    while stack:
        path, value, depth = stack.pop()
        if isinstance(value, str):
            if not is_clean(value):
                return f"{_where(path)} holds a NUL or a lone surrogate; send valid Unicode text"
            continue
        in_metadata = len(path) >= 1 and str(path[0]).lower() == "metadata"
        if isinstance(value, dict | list) and in_metadata:
            depth += 1
            if depth > MAX_METADATA_DEPTH:
                return (
                    f"info.metadata nests deeper than {MAX_METADATA_DEPTH} levels; "
                    "send flatter metadata"
                )
        if isinstance(value, dict):
            for key, item in value.items():
                if not is_clean(key):
                    return (
                        f"a key in {_where(path)} holds a NUL or a lone surrogate; "
                        "send valid Unicode text"
                    )
                stack.append(((*path, key), item, depth))
        elif isinstance(value, list):
            stack.extend(((*path, i), item, depth) for i, item in enumerate(value))
    return None


class _NonFinite(ValueError):
    """``NaN``, ``Infinity`` or ``-Infinity``: Python's JSON reads them, JSON has no such thing,
    and a stored one would be served back as ``null``."""


def _refuse_constant(name: str) -> Any:
    raise _NonFinite(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 overflows to infinity
        raise _NonFinite(text)
    return value


def parse_info(raw: bytes) -> CaptureInfo:
    """Validate the ``info`` part; BadInput lists every problem with the field it is in."""
    return _parse(raw, _ALIASES, _FIELD_NAMES, {})


def parse_v2_info(raw: bytes) -> CaptureInfo:
    """Validate a Tethr v2 ``info`` part (``POST /capture/v2/call``) into the same call model:
    ``masterId``, ``participants`` (with ``email``), ``utcStart``/``utcEnd``, where ``utcEnd``
    may be before ``utcStart``. Problems name v2's fields."""
    return _parse(raw, _V2_ALIASES, _V2_FIELD_NAMES, {END_BEFORE_START_OK: True})


def _parse(
    raw: bytes, aliases: dict[str, str], names: dict[str, str], context: dict[str, Any]
) -> CaptureInfo:
    try:
        document = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)
    except _NonFinite as exc:
        raise BadInput(
            f"the `info` part holds {exc}, which is not a JSON number; send a finite number"
        ) from None
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadInput("the `info` part is not valid JSON; send a JSON object") from None
    problem = _unservable(document)
    if problem is not None:
        raise BadInput(f"the `info` part is invalid: {problem}")
    if isinstance(document, dict):
        # Fold v2's names onto the model's here, so the model's own folding (v1's) is unchanged.
        document = {aliases.get(str(k).lower(), k): v for k, v in document.items()}
    try:
        return CaptureInfo.model_validate(document, context=context)
    except ValidationError as exc:
        problems = "; ".join(_describe(e, names) for e in exc.errors()[:20])
        raise BadInput(f"the `info` part is invalid: {problems}") from None
