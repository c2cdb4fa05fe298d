"""The calls database schema (the key store's lives in ``keystore.py``, in another database).

Personal data never appears in a column in clear: ``calls.sealed`` holds it encrypted with the
call's data key, and customer phones are reachable only through ``customer_phones.digest``, an
HMAC of the E.164 number (a blind index).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)

from callvault.store.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

api_users = Table(
    "api_users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("client_id", String(64), nullable=False, unique=True),
    # SHA-256 of a 256-bit random secret: a slow KDF adds nothing against brute force of such
    # entropy, and a fast hash keeps the token endpoint cheap.
    Column("secret_hash", LargeBinary(32), nullable=False),
    Column("permissions", String(200), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    # ISO 3166 region its captures and customer purges read national numbers in (NULL: the
    # instance's default region).
    Column("region", String(2), nullable=True),
    # The console's login (contract §17): an Argon2id PHC string, NULL for a machine-only user,
    # who cannot log in to the console at all.
    Column("password_hash", String(200), nullable=True),
    # Its own confirmation threshold (migration 0016; contract §10): NULL, the instance's
    # CALLVAULT_PURGE_CONFIRM_ABOVE; -1, never; N >= 0, a customer purge above N calls.
    Column("confirm_above", Integer, nullable=True),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    # SHA-256 of the session ID the cookie carries: a copy of the database opens no session.
    Column("id_hash", LargeBinary(32), primary_key=True),
    Column("user_id", Integer, ForeignKey("api_users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Idle timeout (CALLVAULT_CONSOLE_IDLE_MINUTES) counts from here.
    Column("last_seen_at", UTCDateTime, nullable=False),
    Index(None, "user_id"),
)

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("token_hash", LargeBinary(32), primary_key=True),
    Column("user_id", Integer, ForeignKey("api_users.id", ondelete="CASCADE"), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "expires_at"),
)

calls = Table(
    "calls",
    metadata,
    Column("call_id", String(32), primary_key=True),
    Column("session_id", String(256), nullable=False, unique=True),
    # Concluded | Complete | Excluded | Purging; an erased call has no row at all.
    Column("status", String(16), nullable=False),
    # While Purging: the status the call had when its erasure was accepted. Tethr's clients know
    # only Tethr's statuses, so the status API answers this one until the call is erased, and a
    # hold that saves the call restores it.
    Column("status_before_purge", String(16), nullable=True),
    Column("start_time", UTCDateTime, nullable=False),
    Column("end_time", UTCDateTime, nullable=True),
    Column("direction", String(16), nullable=False),
    Column("contact_types", Text, nullable=False),
    Column("sealed", LargeBinary, nullable=False),
    Column("audio_format", String(32), nullable=True),
    Column("audio_content_type", String(200), nullable=True),
    Column("audio_bytes", BigInteger, nullable=False),
    Column("blob_key", String(200), nullable=False),
    # The blob store's version ID of the audio (S3; migration 0014; "null" on a bucket without
    # versioning): erasure deletes exactly it instead of listing the key's versions. NULL: list
    # them (folder, old rows, a version not known for sure).
    Column("blob_version", String(200), nullable=True),
    Column("duration_sec", Float, nullable=True),
    Column("captured_at", UTCDateTime, nullable=False),
    # False when a Customer number could not be indexed (migration 0017; contract §19): no
    # customer purge or hold finds the call by it until `callvault calls reindex`.
    Column("customer_indexed", Boolean, nullable=False, default=True, server_default=true()),
    # True from a redaction's acceptance to its end (migration 0026; contract §21): the audio is
    # not served meanwhile (409), and a download in flight is cut as a purge cuts it.
    Column("redacting", Boolean, nullable=False, server_default=false()),
    # Only calls still awaiting processing are looked up by status. A partial index keeps purge
    # acceptance (Complete -> Purging) from rewriting index pages at a million calls.
    Index(
        "ix_calls_concluded",
        "status",
        sqlite_where=text("status = 'Concluded'"),
        postgresql_where=text("status = 'Concluded'"),
    ),
    # Retention (migration 0012): expired calls are a range per direction, found and paged in
    # start-time order without scanning the table or sorting the range.
    Index(None, "direction", "start_time", "call_id"),
)

# The blind index of customers: HMAC digests of Customer contacts' phone numbers and (v2) e-mail
# addresses, whose index forms never coincide (``+1512...`` / ``mailto:...``, crypto.blind_index).
customer_phones = Table(
    "customer_phones",
    metadata,
    Column("digest", LargeBinary(32), primary_key=True),
    Column(
        "call_id",
        String(32),
        ForeignKey("calls.call_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Index(None, "call_id"),
    # One B-tree keyed by (digest, call): an erased call's digests cost two pages, not three
    # (migration 0015).
    sqlite_with_rowid=False,
)

# Calls whose blind-index entries were made under a rule since changed (migration 0018: a
# Customer type spelt with spaces or in another case was not indexed; an e-mail was indexed
# trimmed and lower-cased only). The migration marks them from the clear contact types; it cannot
# re-index them itself, since their contacts are sealed with data keys held in the key store,
# which Alembic never sees. The store's opening re-indexes and unmarks them (store/reindex.py).
# A mark goes with its call.
calls_to_reindex = Table(
    "calls_to_reindex",
    metadata,
    Column(
        "call_id",
        String(32),
        ForeignKey("calls.call_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sqlite_with_rowid=False,
)

monitors = Table(
    "monitors",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("status", String(32), nullable=False),
    Column("reported_at", String(64), nullable=True),
    Column("software_version", String(200), nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
)

purge_requests = Table(
    "purge_requests",
    metadata,
    Column("request_id", String(32), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("kind", String(16), nullable=False),  # calls | sessions | customer
    Column("what_if", Boolean, nullable=False),
    Column("requested_by", String(200), nullable=False),
    # Purging | Complete | Failed | Held | Cancelled
    Column("state", String(16), nullable=False),
    # For a customer request: a keyed hash of the E.164 number, never the number.
    Column("phone_hash", String(64), nullable=True),
    Column("completed_at", UTCDateTime, nullable=True),
    # Calls this request queued at acceptance: the erasure quota counts them per user and hour.
    Column("queued", Integer, nullable=False, server_default=text("0")),
    # With a grace window: when erasure starts (until then the request may be cancelled).
    Column("erase_after", UTCDateTime, nullable=True),
    # A customer purge asked with ?suppress=true: the suppression made in the transaction that
    # accepted it (migration 0022; contract §22).
    Column("suppression_id", String(32), nullable=True),
    # The privacy program's ticket it answers (contract §23; migration 0023).
    Column("reference", String(200), nullable=True),
    Index(None, "state"),
    Index(None, "requested_by", "created_at"),
    Index(None, "reference"),
)

purge_items = Table(
    "purge_items",
    metadata,
    Column(
        "request_id",
        String(32),
        ForeignKey("purge_requests.request_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("position", Integer, primary_key=True),
    Column("call_id", String(256), nullable=True),
    Column("session_id", String(256), nullable=True),
    # Purging | Purged | NotFound | WhatIf | Error | Held
    Column("status", String(16), nullable=False),
    Column("error_msg", String(500), nullable=True),
    Column("erased_at", UTCDateTime, nullable=True),
    # While Held: JSON list of the legal holds covering the call.
    Column("hold_ids", Text, nullable=True),
    # Items are looked up by call only while Purging (by the eraser). Indexing only those keeps
    # the index as small as the backlog, and whatIf or NotFound items cost no index entry.
    Index(
        "ix_purge_items_purging",
        "call_id",
        sqlite_where=text("status = 'Purging'"),
        postgresql_where=text("status = 'Purging'"),
    ),
    # Items waiting on a legal hold are few; a release looks them up.
    Index(
        "ix_purge_items_held",
        "call_id",
        sqlite_where=text("status = 'Held'"),
        postgresql_where=text("status = 'Held'"),
    ),
)

purge_jobs = Table(
    "purge_jobs",
    metadata,
    # One job per call being erased: asking again while it runs queues nothing new.
    Column("call_id", String(32), primary_key=True),
    Column("request_id", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # queued | running | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("available_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("worker_id", String(64), nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "status", "available_at"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("request_id", String(32), nullable=True),
    Column("call_id", String(256), nullable=True),
    Column("session_id", String(256), nullable=True),
    # JSON: counts, bytes, phone hash, a hold's reason. SQLite ignores the length; on PostgreSQL
    # it is text (migration 0008), since a hold's reason alone may take 2,000 characters.
    Column("details", String(4000).with_variant(Text, "postgresql"), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    # SHA-256 of the event's canonical form, prevHash included: recomputable by anyone (audit/
    # trail.py; migration 0027 re-chained older events this way).
    Column("hash", String(64), nullable=False),
    # HMAC of ``hash`` under the instance's audit key: only the instance can make it, so a chain
    # rewritten by someone who can write the database but holds no key fails ``audit verify``.
    # NULL for events sequenced before migration 0027 (the checkpoints cover those).
    Column("mac", String(64), nullable=True),
    Index(None, "request_id"),
)

# Events written but not yet sequenced (PostgreSQL: the writers append here with no lock, and
# the sequencer moves them, in ``id`` order, into ``audit_events`` with their seq and chain).
# On SQLite the single writer chains them at once and this table stays empty.
audit_pending = Table(
    "audit_pending",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("request_id", String(32), nullable=True),
    Column("call_id", String(256), nullable=True),
    Column("session_id", String(256), nullable=True),
    Column("details", String(4000).with_variant(Text, "postgresql"), nullable=False),
)

# Signed heads of the chain (contract §23): a JWS on the certificate keys of {iss, iat, seq,
# hash}, so anyone holding the JWKS can check the events up to ``seq`` offline.
audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    ),
    Column("hash", String(64), nullable=False),
    Column("signed_at", UTCDateTime, nullable=False),
    Column("kid", String(64), nullable=False),
    Column("jws", Text, nullable=False),
)

legal_holds = Table(
    "legal_holds",
    metadata,
    Column("hold_id", String(32), primary_key=True),
    # Empty: the texts are sealed in sealed_texts. Only a hold placed before migration 0020 had
    # them here in clear, until the store's opening sealed them (store/holds.seal_clear_texts).
    Column("matter", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("state", String(16), nullable=False),  # Active | Released
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("released_by", String(200), nullable=True),
    Column("released_at", UTCDateTime, nullable=True),
    Column("release_reason", Text, nullable=True),
    Column("started_after", UTCDateTime, nullable=True),
    Column("started_before", UTCDateTime, nullable=True),
    # False: the hold names no call, session or phone, so only its time window narrows it.
    Column("has_entries", Boolean, nullable=False),
    # The scope as given (call IDs, session IDs, E.164 numbers), sealed under the master key: a
    # hold's phone numbers are personal data and never stored in clear.
    Column("sealed_scope", LargeBinary, nullable=False),
    # matter, reason and releaseReason, sealed under the master key like the scope: people type
    # names, numbers and addresses into them (contract §12).
    Column("sealed_texts", LargeBinary, nullable=True),
    Index(None, "state"),
    # The privacy program's ticket it answers (contract §23; migration 0023).
    Column("reference", String(200), nullable=True),
    Index(None, "reference"),
)

hold_entries = Table(
    "hold_entries",
    metadata,
    Column(
        "hold_id",
        String(32),
        ForeignKey("legal_holds.hold_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("kind", String(8), primary_key=True),  # call | session
    Column("value", String(256), primary_key=True),
    # A call's holds are looked up by its ID and session ID (store/holds.covering, 0021).
    Index(None, "kind", "value"),
)

hold_phones = Table(
    "hold_phones",
    metadata,
    Column(
        "hold_id",
        String(32),
        ForeignKey("legal_holds.hold_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # The blind-index digest of a customer phone the hold names (as customer_phones.digest).
    Column("digest", LargeBinary(32), primary_key=True),
    Index(None, "digest"),  # a call's holds, by its phones' digests (0021)
)

confirm_tokens = Table(
    "confirm_tokens",
    metadata,
    # SHA-256 of the token a customer whatIf answered: the token itself is never stored.
    Column("token_hash", LargeBinary(32), primary_key=True),
    Column("user_name", String(200), nullable=False),
    Column("phone_digest", LargeBinary(32), nullable=False),
    # SHA-256 over the sorted call IDs the preview would have queued.
    Column("calls_digest", LargeBinary(32), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Index(None, "expires_at"),
)

# Erasures charged to an API user's hourly quota (contract §13) that no purge request of that
# user records: a retention policy change, whose expirations are queued later by the sweep under
# ``retention:<name>``, is charged here to the user who saved it, when it is saved.
quota_charges = Table(
    "quota_charges",
    metadata,
    Column("charge_id", Integer, primary_key=True, autoincrement=True),
    Column("user_name", String(200), nullable=False),
    Column("charged_at", UTCDateTime, nullable=False),
    Column("calls", Integer, nullable=False),
    # What was charged, e.g. ``retention:<policy name>``.
    Column("what", String(100), nullable=False),
    Index(None, "user_name", "charged_at"),
)

certificates = Table(
    "certificates",
    metadata,
    # A certificate of erasure, issued once and kept (contract §14): every fetch answers these
    # bytes until what the request says changes; then a new one is issued and this one stays.
    Column("jti", String(64), primary_key=True),
    Column("request_id", String(32), nullable=False),
    # SHA-256 (hex) of the claims without jti, iat and iss: a certificate saying the same thing is
    # never issued twice for a request (the unique constraint settles concurrent issuers).
    Column("basis", String(64), nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("kid", String(64), nullable=False),
    Column("jws", Text, nullable=False),
    UniqueConstraint("request_id", "basis"),
    Index(None, "request_id", "issued_at"),
)

retention_policies = Table(
    "retention_policies",
    metadata,
    # A retention policy (contract §15): calls of its direction (every direction when NULL) are
    # erased once their startTime is more than max_age_days old.
    Column("name", String(64), primary_key=True),
    Column("max_age_days", Integer, nullable=False),
    Column("direction", String(16), nullable=True),  # Inbound | Outbound | Internal | Unknown
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

suppressions = Table(
    "suppressions",
    metadata,
    # A caller who objected is not recorded again (contract §22; migration 0022). Its
    # identifiers are only keyed hashes (``suppression_digests``): the list answers "is this
    # caller suppressed?" and cannot be read back as numbers or addresses, by anyone.
    Column("suppression_id", String(32), primary_key=True),
    Column("state", String(16), nullable=False),  # Active | Lifted (Expired is computed)
    Column("identifiers", Integer, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("lifted_by", String(200), nullable=True),
    Column("lifted_at", UTCDateTime, nullable=True),
    # The privacy program's ticket (contract §23): not personal data, searchable.
    Column("reference", String(200), nullable=True),
    # The customer purge that made it (``?suppress=true``), if one did.
    Column("request_id", String(32), nullable=True),
    # reason and liftReason, sealed under the master key: people type personal data into them.
    Column("sealed_texts", LargeBinary, nullable=False),
    Index(None, "created_at", "suppression_id"),
    Index(None, "reference"),
)

suppression_digests = Table(
    "suppression_digests",
    metadata,
    # The blind index's digest of a phone number or e-mail address (as customer_phones.digest):
    # a capture looks its customers' digests up here, one index seek each.
    Column("digest", LargeBinary(32), primary_key=True),
    Column(
        "suppression_id",
        String(32),
        ForeignKey("suppressions.suppression_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sqlite_with_rowid=False,
)

suppressed_captures = Table(
    "suppressed_captures",
    metadata,
    # The tombstone of a capture refused because its caller is suppressed: no audio, no personal
    # field, only what answers its status (``Excluded``) and what the audit trail names. It is
    # no live call: its session ID may be captured again, no purge or read finds it.
    Column("call_id", String(32), primary_key=True),
    Column("session_id", String(256), nullable=False),
    Column("suppression_id", String(32), nullable=False),
    Column("captured_at", UTCDateTime, nullable=False),
    Column("captured_by", String(200), nullable=False),
    Index(None, "session_id", "captured_at"),
)

webhooks = Table(
    "webhooks",
    metadata,
    # An endpoint of the privacy program told of events (contract §23; migration 0024). Its
    # signing secret must be usable for HMAC, so it is sealed under the master key (as holds'
    # texts are), never stored in clear and never shown again after the 201.
    Column("webhook_id", String(32), primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("events", Text, nullable=False),  # JSON list of event types
    Column("sealed_secret", LargeBinary, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "created_at", "webhook_id"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    # The outbox: one row per (subscribed webhook, event), written in the transaction that
    # records the event. ``delivery_id`` is the Standard Webhooks message ID (``webhook-id``),
    # the same at every attempt. ``payload`` is the exact body sent: IDs, states, counts and the
    # reference, never a personal value.
    Column("delivery_id", String(40), primary_key=True),
    Column("webhook_id", String(32), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("state", String(16), nullable=False),  # Pending | Delivered | Failed
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("worker_id", String(64), nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Index(None, "state", "next_attempt_at"),
    Index(None, "webhook_id", "created_at"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    # The delivery log: every attempt, its HTTP status or error (never a URL, body or secret)
    # and when the next one is due.
    Column("attempt_id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", String(40), nullable=False),
    Column("webhook_id", String(32), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("http_status", Integer, nullable=True),
    Column("error", String(500), nullable=True),
    Column("next_try_at", UTCDateTime, nullable=True),
    Index(None, "webhook_id", "attempt_id"),
    Index(None, "delivery_id"),
)

exports = Table(
    "exports",
    metadata,
    # A subject access export (contract §20; migration 0025). Its package is built from the
    # encrypted store each time it is downloaded: nothing of it is stored but this row.
    Column("export_id", String(32), primary_key=True),
    Column("state", String(16), nullable=False),  # Ready | Revoked (Expired is computed)
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    # The privacy program's ticket (contract §23): not personal data, searchable.
    Column("reference", String(200), nullable=True),
    Column("calls", Integer, nullable=False),
    Column("downloads", Integer, nullable=False),
    Column("max_downloads", Integer, nullable=False),
    # SHA-256 of the link's token (256 random bits): the token itself is shown once, never kept.
    Column("token_hash", LargeBinary(32), nullable=False),
    # The age X25519 public keys the package is encrypted to, as a JSON list (none: a plain ZIP).
    Column("recipients", Text, nullable=False),
    # The identifiers as asked (phone numbers, e-mail addresses, IDs, window), sealed under the
    # master key: the manifest names them, nothing else may read them.
    Column("sealed_subject", LargeBinary, nullable=False),
    Column("revoked_by", String(200), nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    Index(None, "created_at", "export_id"),
    Index(None, "reference"),
)

export_calls = Table(
    "export_calls",
    metadata,
    # The calls an export covers, fixed when it was created, in the order they are packed.
    Column(
        "export_id",
        String(32),
        ForeignKey("exports.export_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("position", Integer, primary_key=True),
    Column("call_id", String(32), nullable=False),
    Column("session_id", String(256), nullable=False),
    Column("start_time", UTCDateTime, nullable=False),
    sqlite_with_rowid=False,
)

redactions = Table(
    "redactions",
    metadata,
    # A time range of a call's audio replaced by silence (contract §21). No personal value: the
    # ranges, the reason's code word and the reference are what the certificate names.
    Column("redaction_id", String(32), primary_key=True),
    Column("call_id", String(32), nullable=False),
    Column("session_id", String(256), nullable=False),
    # Redacting | Redacted | Failed
    Column("state", String(16), nullable=False),
    # While Redacting, how far the worker got: queued -> written (the new audio and its staged
    # key exist) -> swapped (the call names the new audio; its old key is destroyed).
    Column("step", String(16), nullable=False),
    Column("ranges", Text, nullable=False),  # JSON [[startMs, endMs], ...], merged, sorted
    Column("reason", String(16), nullable=False),
    Column("reference", String(200), nullable=True),
    Column("requested_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime, nullable=True),
    Column("error", Text, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("old_blob_key", String(200), nullable=True),
    Column("old_blob_version", String(200), nullable=True),
    Column("new_blob_key", String(200), nullable=True),
    Column("new_blob_version", String(200), nullable=True),
    # The call's sealed details re-sealed under the new data key, until the swap writes them.
    Column("new_sealed", LargeBinary, nullable=True),
    Column("new_audio_bytes", BigInteger, nullable=True),
    Column("audio_sha256_before", String(64), nullable=True),
    Column("audio_sha256_after", String(64), nullable=True),
    Column("old_key_destroyed", Boolean, nullable=False, default=False),
    Column("blob_objects_deleted", Integer, nullable=True),
    Index(None, "call_id", "created_at"),
    Index(None, "created_at", "redaction_id"),
    Index(None, "state"),
    Index(None, "reference"),
)
