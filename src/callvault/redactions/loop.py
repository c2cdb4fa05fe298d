"""The redaction loop redactions offer the worker host: claim the oldest due redaction with a
lease (``CALLVAULT_REDACTION_LEASE_SECONDS``), renewed by a heartbeat every third of it while the
redaction runs (hours of audio take minutes), do it (``redactor.py``), and when a step fails for
a passing cause (the blob store or a database down) let it be claimed again after a backoff;
after ``max_attempts`` it ends Failed, the call's audio as it was (unless its old key was already
destroyed: then it is finished)."""

from __future__ import annotations

import logging
import secrets
import socket
from dataclasses import dataclass

from callvault.leases import heartbeat
from callvault.redactions.redactor import Redactor
from callvault.runtime import Runtime
from callvault.store import redactions as store
from callvault.store.redactions import SWAPPED

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RedactionOptions:
    # A redaction of a long call (hours of audio) takes minutes: the lease is renewed by a
    # heartbeat while it runs, so a worker that dies is replaced after at most this long.
    lease_seconds: float = 600.0
    max_attempts: int = 8
    retry_seconds: float = 5.0


class RedactionLoop:
    name = "redaction"
    every_seconds = 0.0
    when_idle = False

    def __init__(self, runtime: Runtime, options: RedactionOptions | None = None) -> None:
        self.runtime = runtime
        self.options = options or RedactionOptions()
        self.worker_id = f"{socket.gethostname()}:{secrets.token_hex(4)}"
        self.redactor = Redactor(runtime, self.worker_id)

    def step(self) -> int:
        """One redaction, if one is due; returns 1 when one was worked on, else 0."""
        opts = self.options
        row = store.claim(self.runtime.engine, self.worker_id, opts.lease_seconds)
        if row is None:
            return 0
        try:
            with heartbeat(
                lambda: store.extend_lease(
                    self.runtime.engine, row.redaction_id, self.worker_id, opts.lease_seconds
                ),
                opts.lease_seconds,
                "redaction-heartbeat",
            ):
                self.redactor.run(row)
        except Exception as exc:
            # The type only: a decoder's message may quote bytes of the decrypted audio.
            log.warning("a redaction step failed (%s); will retry", type(exc).__name__)
            if row.attempts >= opts.max_attempts and row.step != SWAPPED:
                self.redactor.give_up(row, f"gave up after {row.attempts} attempts")
            else:
                store.retry_later(self.runtime.engine, row.redaction_id, opts.retry_seconds)
        return 1
