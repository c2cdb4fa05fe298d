"""Request and response bodies of the JSON endpoints.

Request keys are case-insensitive (Tethr's clients send ``CallSessionIds`` and ``callSessionIds``):
each input model folds the keys it receives onto its canonical field names before validation.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from callvault.text import REFERENCE_PATTERN, CleanText


class CaseInsensitiveModel(BaseModel):
    """A body whose keys are matched case-insensitively. With ``extra="forbid"``, a key that
    matches no field in any case is a 400 naming it (contract §19, "Unknown keys fail closed"):
    every purge, hold, release and retention body, where a key dropped unread would make an
    erasure or a hold narrower than the one asked for (``email`` for ``emails``)."""

    model_config = ConfigDict(extra="ignore")
    _canonical: ClassVar[dict[str, str]] = {}
    # What a body refused for its keys did not do, said at the end of the 400's detail.
    _refused_means: ClassVar[str] = "nothing was changed"

    @model_validator(mode="before")
    @classmethod
    def _fold_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        names = {name.lower(): name for name in cls.model_fields}
        if cls.model_config.get("extra") == "forbid":
            unknown = [str(k) for k in data if str(k).lower() not in names]
            if unknown:
                raise ValueError(cls._unknown_keys(unknown))
        return {names.get(str(k).lower(), k): v for k, v in data.items()}

    @classmethod
    def _unknown_keys(cls, unknown: list[str]) -> str:
        named = ", ".join(f"`{key}`" for key in unknown)
        verb = "is not a key" if len(unknown) == 1 else "are not keys"
        known = ", ".join(f"`{name}`" for name in cls.model_fields)
        return (
            f"{named} {verb} of this body, which takes {known} (in any case); {cls._refused_means}"
        )


# What `CleanText` refuses, said in the schema (a lone surrogate cannot even be sent as UTF-8).
NO_NUL = "^[^\\u0000]*$"

# A call or session ID as a client may send it: session IDs are at most 256 characters.
Identifier = Annotated[
    CleanText,
    StringConstraints(max_length=256),
    WithJsonSchema({"type": "string", "maxLength": 256, "pattern": NO_NUL}),
]


class OneSpellingBody(CaseInsensitiveModel):
    """A body whose keys are each sent in one spelling: two spellings of one key ("callIds" and
    "CALLIDS") would let the last one silently narrow what was asked, which is what refusing
    unknown keys is meant to prevent. Where the endpoint previews with ``?whatIf=true``
    (``_what_if_in_query``), a ``whatIf`` body key is refused saying so."""

    _what_if_in_query: ClassVar[bool] = False

    @model_validator(mode="before")
    @classmethod
    def _one_spelling_each(cls, data: Any) -> Any:
        if isinstance(data, dict):
            seen: dict[str, str] = {}
            for key in data:
                folded = str(key).lower()
                if cls._what_if_in_query and spells_what_if(folded):
                    raise ValueError(
                        f"`{key}` is not a body key: preview with the query parameter "
                        f"`?whatIf=true`; {cls._refused_means}"
                    )
                if folded in seen:
                    raise ValueError(f"{seen[folded]!r} and {key!r} name the same field; send one")
                seen[folded] = str(key)
        return data


class SessionIdsIn(CaseInsensitiveModel):
    CallSessionIds: list[Identifier] = Field(
        max_length=100, description="Session IDs, at most 100."
    )

    @property
    def session_ids(self) -> list[str]:
        return self.CallSessionIds


TethrCallStatus = Literal["InProgress", "Concluded", "Complete", "NotFound", "Excluded"]


class CallSessionOut(BaseModel):
    """Tethr's clients throw on a null, so a value that is absent is an absent key (§4)."""

    callId: str | SkipJsonSchema[None] = None
    sessionId: str
    status: TethrCallStatus
    durationSec: int | SkipJsonSchema[None] = Field(default=None, description="Whole seconds.")


class CallSessionsOut(BaseModel):
    callSessions: list[CallSessionOut]


class CaptureOut(BaseModel):
    callId: str


HEARTBEAT_STATUSES = {0: "Unknown", 1: "Healthy", 10: "Warning", 20: "Error", 30: "Offline"}


def _any_case(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" for c in word)


class HeartbeatIn(CaseInsensitiveModel):
    # Strict: JSON `true` must not pass for status 1. A number or a name (any case) of
    # HEARTBEAT_STATUSES; the route checks the value, the schema says which are accepted.
    Status: Annotated[
        StrictInt | StrictStr,
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "integer", "enum": list(HEARTBEAT_STATUSES)},
                    {
                        "type": "string",
                        "pattern": "^("
                        + "|".join(_any_case(n) for n in HEARTBEAT_STATUSES.values())
                        + ")$",
                    },
                ]
            }
        ),
    ]
    TimeStamp: CleanText | None = Field(
        default=None, max_length=64, json_schema_extra={"pattern": NO_NUL}
    )
    # Tethr's v2 SDK leaves a null name out; the heartbeat is then its API user's one broker.
    Name: CleanText | None = Field(
        default=None, min_length=1, max_length=200, json_schema_extra={"pattern": NO_NUL}
    )
    SoftwareVersion: CleanText | None = Field(
        default=None, max_length=200, json_schema_extra={"pattern": NO_NUL}
    )


class HeartbeatOut(BaseModel):
    name: str
    status: str
    timeStamp: str | None
    softwareVersion: str | None
    receivedAt: str


class ContactOut(BaseModel):
    type: str
    channel: int | str | None
    phoneNumber: str | None
    phoneE164: str | None
    referenceId: str | None
    firstName: str | None
    lastName: str | None
    email: str | SkipJsonSchema[None] = Field(
        default=None, description="A v2 participant's e-mail address, as given; else absent."
    )


class CallOut(BaseModel):
    callId: str
    sessionId: str
    masterCallId: str | None
    startTime: str
    endTime: str | None
    direction: str
    numberDialed: str | None
    contacts: list[ContactOut]
    metadata: Any
    audioFormat: str | None
    durationSec: float | None
    status: str
    customerIndexed: bool = Field(
        description="False when a Customer phone number could not be indexed: no customer purge "
        "or hold finds the call by it (`callvault calls unindexed`, `callvault calls reindex`)."
    )


def spells_what_if(key: str) -> bool:
    """True for every key that may be meant as ``whatIf``: any case, with ``_``, ``-``, ``[]`` or
    other punctuation (``what_if``, ``whatIf[]``). A purge must not read such a key as absent."""
    return re.sub(r"[^a-z0-9]", "", key.lower()) == "whatif"


_SEP = "[^A-Za-z0-9]*"
# The keys `spells_what_if` refuses, for the schema (fuzzers then know them).
WHAT_IF_KEY_PATTERN = "^" + _SEP + _SEP.join(f"[{c}{c.upper()}]" for c in "whatif") + _SEP + "$"


class PurgeBodyIn(CaseInsensitiveModel):
    """A purge body: ``whatIf`` belongs in the query; in the body it is refused, not ignored,
    since ignoring it would turn an intended preview into an erasure (contract §19). Any other
    key the endpoint does not know is refused too (``sessionIds`` on ``/purge/v1/calls``,
    ``email`` for ``emails``): ignored, it would purge less than the client asked for."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"propertyNames": {"not": {"pattern": WHAT_IF_KEY_PATTERN}}},
    )
    _refused_means: ClassVar[str] = "nothing was purged"

    @model_validator(mode="before")
    @classmethod
    def _no_what_if(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in data:
                if spells_what_if(str(key)):
                    raise ValueError(
                        f"`{key}` is not a body key: preview with the query parameter "
                        "`?whatIf=true`; nothing was purged"
                    )
        return data


class PurgeIdsIn(PurgeBodyIn):
    ids: list[Identifier] = Field(
        min_length=1, max_length=100, description="1 to 100 call or session IDs."
    )

    @property
    def allow_incomplete(self) -> bool:
        """v1 knows no ``allowIncompleteInteraction``: a call still processing is purged too."""
        return True


class PurgeCustomerIn(PurgeBodyIn):
    phoneNumber: StrictStr = Field(description="The customer's phone number, any format.")


ConfirmToken = Annotated[
    str | SkipJsonSchema[None],
    Field(
        description="Customer whatIf only: confirms the purge of exactly the previewed calls "
        "(?confirm=), for this user, within 15 minutes, once.",
    ),
]


class PurgeItemOut(BaseModel):
    callId: str | None
    sessionId: str | None
    status: str
    errorMsg: str | None


class PurgeOut(BaseModel):
    items: list[PurgeItemOut]
    requestId: str
    confirmToken: ConfirmToken = None


class PurgeRequestItemOut(PurgeItemOut):
    erasedAt: str | None
    holdIds: list[str] = Field(description="While Held: the legal holds covering the call.")


class PurgeRequestFields(BaseModel):
    """What a purge request says of itself, in the resource and in a list's entries alike."""

    requestId: str
    createdAt: str
    kind: str
    whatIf: bool
    requestedBy: str
    state: str
    completedAt: str | None
    eraseAfter: str | None = Field(
        description="With a grace window: when erasure starts; cancel before it."
    )
    reference: str | None = Field(
        default=None, description="The privacy program's ticket it answers (`?reference=`)."
    )


class PurgeRequestOut(PurgeRequestFields):
    suppressionId: str | None = Field(
        default=None, description="The suppression a ?suppress=true customer purge made."
    )
    items: list[PurgeRequestItemOut]


# --------------------------------------------------------------------------- Tethr v2 (§16)


class SessionIdsV2In(CaseInsensitiveModel):
    sessionIds: list[Identifier] = Field(max_length=100, description="Session IDs, at most 100.")

    @property
    def session_ids(self) -> list[str]:
        return self.sessionIds


class SessionV2Out(BaseModel):
    """Tethr.Sdk's ``SessionStatus``: an absent value is an absent key, as in v1 (§4)."""

    status: TethrCallStatus
    id: str | SkipJsonSchema[None] = None
    sessionId: str
    durationSec: int | SkipJsonSchema[None] = Field(default=None, description="Whole seconds.")


class SessionsV2Out(BaseModel):
    sessions: list[SessionV2Out]


class CaptureV2Out(BaseModel):
    id: str


AllowIncomplete = Annotated[
    StrictBool,
    Field(
        description="false (the SDK's default, also when absent): a call still processing "
        "(Concluded) answers Error and is not purged; true: it is purged too.",
    ),
]


class PurgeIdsV2In(PurgeIdsIn):
    allowIncompleteInteraction: AllowIncomplete = False

    @property
    def allow_incomplete(self) -> bool:
        return self.allowIncompleteInteraction


class PurgeCustomerV2In(PurgeBodyIn):
    phoneNumbers: list[StrictStr] | None = Field(
        default=None, max_length=100, description="The customer's phone numbers, any format."
    )
    emails: list[StrictStr] | None = Field(
        default=None,
        max_length=100,
        description="The customer's e-mail addresses, matched as contract §16 normalizes them: "
        "trimmed, NFKC, the domain's IDNA A-label (UTS #46), case-folded.",
    )
    allowIncompleteInteraction: AllowIncomplete = False


class PurgeItemV2Out(BaseModel):
    id: str | None
    sessionId: str | None
    status: str
    errorMsg: str | None


class PurgeV2Out(BaseModel):
    items: list[PurgeItemV2Out]
    requestId: str = Field(description="callvault's extension: GET /purge/v1/requests/{id}.")
    confirmToken: ConfirmToken = None


class AuditEventOut(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    requestId: str | None
    callId: str | None
    sessionId: str | None
    details: dict[str, Any]
    prevHash: str
    hash: str


class AuditPageOut(BaseModel):
    events: list[AuditEventOut]
    nextAfter: int | None


class CheckpointOut(BaseModel):
    seq: int = Field(description="The audit event this checkpoint signs the hash of.")
    hash: str = Field(description="That event's hash (SHA-256, hex): the chain's head then.")
    signedAt: str = Field(description="When it was signed (ISO 8601 UTC).")
    jws: str = Field(
        description="Compact JWS on the certificate keys (GET /.well-known/jwks.json), typ "
        "audit-checkpoint+jwt, claims {iss, iat, seq, hash}."
    )


class CheckpointsOut(BaseModel):
    checkpoints: list[CheckpointOut] = Field(description="Oldest first.")
    nextCursor: str | None = Field(
        default=None, description="While more follow: give it back as ?cursor=."
    )


class HoldIn(OneSpellingBody):
    """A legal hold to place (contract §12). Unknown keys are refused: a misspelt scope key
    would otherwise place a narrower hold than the one meant."""

    model_config = ConfigDict(extra="forbid")
    _refused_means: ClassVar[str] = "no hold was placed"

    matter: StrictStr = Field(
        min_length=1, max_length=200, pattern=r"\S", description="The legal matter."
    )
    reason: StrictStr = Field(
        min_length=1, max_length=2000, pattern=r"\S", description="Why the calls are kept."
    )
    callIds: list[Identifier] = Field(default_factory=list, max_length=1000)
    sessionIds: list[Identifier] = Field(default_factory=list, max_length=1000)
    phoneNumbers: list[StrictStr] = Field(
        default_factory=list,
        max_length=1000,
        description="Customer phone numbers, any format (normalized to E.164).",
    )
    startedAfter: StrictStr | None = Field(default=None, description="Calls started at or after.")
    startedBefore: StrictStr | None = Field(default=None, description="Calls started before.")
    reference: StrictStr | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=REFERENCE_PATTERN,
        description="The privacy program's ticket it answers (1–200 printable characters).",
    )


class HoldReleaseIn(CaseInsensitiveModel):
    """``{"reason"}``: any other key is refused (contract §19), and the hold stays active."""

    model_config = ConfigDict(extra="forbid")
    _refused_means: ClassVar[str] = "the hold was not released"

    reason: StrictStr = Field(
        min_length=1, max_length=2000, pattern=r"\S", description="Why the hold ends."
    )


class HoldScopeOut(BaseModel):
    callIds: list[str]
    sessionIds: list[str]
    phoneNumbers: list[str] = Field(description="E.164; empty once the hold is released.")
    phoneNumbersForgotten: int = Field(
        description="Phone numbers a released hold named and forgot (only their keyed hashes "
        "are kept); 0 while it is active."
    )
    startedAfter: str | None
    startedBefore: str | None


class HoldListItemOut(BaseModel):
    holdId: str
    reference: str | None = Field(default=None, description="The ticket it answers.")
    matter: str
    reason: str
    state: Literal["Active", "Released"]
    createdBy: str
    createdAt: str
    releasedBy: str | None
    releasedAt: str | None
    releaseReason: str | None
    scope: HoldScopeOut


class PendingErasuresOut(BaseModel):
    calls: int = Field(description="Calls whose erasure this hold alone still keeps.")
    requestIds: list[str] = Field(description="The purge requests those erasures belong to.")


class HoldOut(HoldListItemOut):
    coveredCalls: int = Field(description="Live calls the hold covers now.")
    pendingErasures: PendingErasuresOut = Field(
        description="What releasing the hold sets off (in a release's answer: what it set off): "
        "held items of purge requests that this hold alone keeps, resumed on release unless "
        "their requester has since been disabled or lost purge."
    )


class HoldsOut(BaseModel):
    holds: list[HoldListItemOut] = Field(
        description="Newest first; coverage is counted only on one hold's own resource."
    )
    nextCursor: str | None = Field(
        default=None, description="While more holds follow: give it back as ?cursor=."
    )


class RetentionPolicyIn(OneSpellingBody):
    """A retention policy's rule (contract §15). Unknown keys are refused: a misspelt
    ``direction`` would otherwise erase the calls of every direction."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"propertyNames": {"not": {"pattern": WHAT_IF_KEY_PATTERN}}},
    )
    _refused_means: ClassVar[str] = "nothing was saved"
    _what_if_in_query: ClassVar[bool] = True

    # JSON Schema counts 30.0 as an integer, so it is one here too; 30.5, "30" and true are not.
    maxAgeDays: Annotated[
        StrictInt | StrictFloat,
        WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 36500}),
    ] = Field(description="Calls whose startTime is older than this many days expire.")

    @field_validator("maxAgeDays")
    @classmethod
    def _whole_days(cls, value: float) -> int:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError("must be a whole number of days")
        if not 1 <= value <= 36500:
            raise ValueError("must be from 1 to 36500 days")
        return int(value)

    direction: Literal["Inbound", "Outbound", "Internal", "Unknown"] | None = Field(
        default=None, description="Only calls of this direction (null or absent: every call)."
    )


class RetentionPolicyOut(BaseModel):
    name: str
    maxAgeDays: int
    direction: str | None
    updatedBy: str
    updatedAt: str
    expiredNow: int = Field(
        description="Live calls this policy matches that are past it now, not held and not "
        "already being erased: the next sweep queues every one of them."
    )
    heldNow: int = Field(
        description="Live calls this policy matches that are past it now but kept by a legal "
        "hold: erased on release. With expiredNow, what the confirmation threshold and the "
        "hourly quota count when the policy is saved."
    )
    confirmToken: str | None = Field(
        default=None,
        description="Only a whatIf answers it: the token a save above the confirmation "
        "threshold must carry as ?confirm= (bound to the user, this policy and the calls it "
        "expires; 15 minutes; used once).",
    )


class RetentionPoliciesOut(BaseModel):
    policies: list[RetentionPolicyOut]


class ForecastDayOut(BaseModel):
    date: str
    calls: int


class ForecastOut(BaseModel):
    days: list[ForecastDayOut]
    overdue: int
    held: int


# --------------------------------------------------------------------------- suppressions (§22)


class SuppressionIn(CaseInsensitiveModel):
    """A suppression to make (contract §22). Unknown keys are refused (contract §19): a
    misspelt ``email`` would otherwise suppress fewer callers than the one meant."""

    model_config = ConfigDict(extra="forbid")
    _refused_means: ClassVar[str] = "no suppression was made"

    phoneNumbers: list[StrictStr] = Field(
        default_factory=list,
        max_length=100,
        description="Phone numbers, any format: normalized as a customer purge does, stored only "
        "as keyed hashes.",
    )
    emails: list[StrictStr] = Field(
        default_factory=list,
        max_length=100,
        description="E-mail addresses, normalized as contract §16 says, stored only as keyed "
        "hashes.",
    )
    reason: StrictStr = Field(
        min_length=1, max_length=2000, pattern=r"\S", description="Why (sealed; never audited)."
    )
    reference: StrictStr | None = Field(
        default=None, min_length=1, max_length=200, description="The privacy program's ticket."
    )
    expiresAt: StrictStr | None = Field(
        default=None, description="ISO 8601, in the future; absent: until lifted."
    )


class SuppressionLiftIn(CaseInsensitiveModel):
    """``{"reason"}``: any other key is refused (contract §19), and nothing is lifted."""

    model_config = ConfigDict(extra="forbid")
    _refused_means: ClassVar[str] = "the suppression was not lifted"

    reason: StrictStr = Field(
        min_length=1, max_length=2000, pattern=r"\S", description="Why the suppression ends."
    )


class SuppressionAskIn(CaseInsensitiveModel):
    """One identifier: ``{"phoneNumber"}`` or ``{"email"}``."""

    model_config = ConfigDict(extra="forbid")
    _refused_means: ClassVar[str] = "nothing was looked up"

    phoneNumber: StrictStr | None = Field(default=None, description="A phone number, any format.")
    email: StrictStr | None = Field(default=None, description="An e-mail address.")


class SuppressionOut(BaseModel):
    suppressionId: str
    state: Literal["Active", "Lifted", "Expired"]
    identifiers: int = Field(description="How many phone numbers and e-mail addresses it names.")
    reason: str
    reference: str | None
    createdBy: str
    createdAt: str
    expiresAt: str | None
    liftedBy: str | None
    liftedAt: str | None
    liftReason: str | None
    requestId: str | None = Field(description="The customer purge that made it, if one did.")


class SuppressionsOut(BaseModel):
    suppressions: list[SuppressionOut] = Field(description="Newest first.")
    nextCursor: str | None = Field(
        default=None, description="While more follow: give it back as ?cursor=."
    )


class SuppressionLookupOut(BaseModel):
    suppressed: bool
    suppressionIds: list[str]


class SuppressionCheckOut(BaseModel):
    suppressed: bool


# --------------------------------------------------------------------------- webhooks (§23)


class WebhookIn(CaseInsensitiveModel):
    """A webhook to register (contract §23): ``{"url", "events"}``. Unknown keys are refused
    (contract §19), and nothing is created."""

    model_config = ConfigDict(extra="forbid")
    _refused_means: ClassVar[str] = "no webhook was created"

    url: StrictStr = Field(
        max_length=2000,
        description="https:// (plain http:// only to a loopback address, or with "
        "CALLVAULT_WEBHOOK_ALLOW_HTTP).",
    )
    events: list[StrictStr] = Field(
        max_length=20,
        description="The event types to deliver: purge.completed, redaction.completed, "
        "export.created, export.downloaded, hold.placed, hold.released, suppression.created, "
        "capture.suppressed.",
    )


class WebhookOut(BaseModel):
    webhookId: str
    url: str
    events: list[str]
    createdBy: str
    createdAt: str


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(
        description="whsec_…: the signing secret, shown in this answer only (Standard Webhooks)."
    )


class WebhooksOut(BaseModel):
    webhooks: list[WebhookOut] = Field(description="Newest first.")
    nextCursor: str | None = Field(
        default=None, description="While more follow: give it back as ?cursor=."
    )


class WebhookAttemptOut(BaseModel):
    deliveryId: str = Field(description="The delivery's webhook-id, the same at every attempt.")
    type: str = Field(description="The event type delivered.")
    attempt: int = Field(description="1 for the first attempt of the delivery.")
    at: str = Field(description="When the attempt was made (ISO 8601 UTC).")
    httpStatus: int | None = Field(description="The receiver's status, if it answered.")
    error: str | None = Field(description="Why no answer came (no URL, body or secret).")
    nextTryAt: str | None = Field(
        description="When the next attempt is due; null once delivered or given up."
    )
    state: Literal["Pending", "Delivered", "Failed"] = Field(
        description="The delivery's state now."
    )


class WebhookDeliveriesOut(BaseModel):
    deliveries: list[WebhookAttemptOut] = Field(description="Newest attempt first.")
    nextCursor: str | None = Field(
        default=None, description="While more follow: give it back as ?cursor=."
    )


# --------------------------------------------------------------------------- redactions (§21)


class RedactionRangeIn(CaseInsensitiveModel):
    """One half-open span ``[startMs, endMs)`` of the call, in whole milliseconds."""

    model_config = ConfigDict(extra="forbid")
    _refused_means: ClassVar[str] = "nothing was redacted"

    # Whole numbers are checked by the service (a 400 naming the range): 62500.0 is one.
    startMs: Annotated[Any, WithJsonSchema({"type": "integer", "minimum": 0})] = Field(
        description="Start of the range, ms from the call's start (inclusive)."
    )
    endMs: Annotated[Any, WithJsonSchema({"type": "integer", "minimum": 1})] = Field(
        description="End of the range, ms from the call's start (exclusive)."
    )


class RedactionIn(CaseInsensitiveModel):
    """A redaction to make (contract §21). Unknown keys are refused (contract §19): a range a
    client thinks it asked for is never silently dropped."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"propertyNames": {"not": {"pattern": WHAT_IF_KEY_PATTERN}}},
    )
    _refused_means: ClassVar[str] = "nothing was redacted"

    @model_validator(mode="before")
    @classmethod
    def _one_spelling_each(cls, data: Any) -> Any:
        if isinstance(data, dict):
            seen: dict[str, str] = {}
            for key in data:
                folded = str(key).lower()
                if spells_what_if(folded):
                    raise ValueError(
                        f"`{key}` is not a body key: preview with the query parameter "
                        "`?whatIf=true`; nothing was redacted"
                    )
                if folded in seen:
                    raise ValueError(f"{seen[folded]!r} and {key!r} name the same field; send one")
                seen[folded] = str(key)
        return data

    # Their count and values are checked by the service (a 400 naming the range); the schema
    # says the same.
    ranges: list[RedactionRangeIn] = Field(
        description="1 to 100 ranges; overlapping or touching ranges are merged.",
        json_schema_extra={"minItems": 1, "maxItems": 100},
    )
    reason: Annotated[
        StrictStr, WithJsonSchema({"type": "string", "enum": ["pci", "pii", "phi", "other"]})
    ] = Field(description="pci, pii, phi or other.")
    reference: StrictStr | None = Field(
        default=None, min_length=1, max_length=200, description="The privacy program's ticket."
    )


class RedactionRangeOut(BaseModel):
    startMs: int
    endMs: int


class RedactionPreviewOut(BaseModel):
    ranges: list[RedactionRangeOut] = Field(description="Merged, in order.")
    redactedMs: int
    durationMs: int


class RedactionOut(BaseModel):
    redactionId: str
    callId: str
    state: Literal["Redacting", "Redacted", "Failed"]
    ranges: list[RedactionRangeOut]
    redactedMs: int
    reason: str
    reference: str | None
    requestedBy: str
    createdAt: str
    completedAt: str | None
    errorMsg: str | None = Field(description="Why a Failed redaction failed (the audio as it was).")


class RedactionsOut(BaseModel):
    redactions: list[RedactionOut] = Field(description="Newest first.")
    nextCursor: str | None = Field(
        default=None, description="While more follow: give it back as ?cursor=."
    )


class SuggestionOut(BaseModel):
    startMs: int
    endMs: int
    kind: Literal["dtmf"]
    tones: int = Field(description="How many keypad tones the run holds (never which).")


class SuggestionsOut(BaseModel):
    suggestions: list[SuggestionOut]
