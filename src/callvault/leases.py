"""A lease kept while work runs: the heartbeat every background loop that claims work with a lease
(the erasure loop's batches, the redaction loop's redactions) holds around a long piece of work, so
that another worker does not take over work whose worker is alive, however long it takes, while a
worker that dies stops renewing and its lease runs out."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

log = logging.getLogger(__name__)


@contextlib.contextmanager
def heartbeat(renew: Callable[[], None], lease_seconds: float, name: str) -> Iterator[None]:
    """Call ``renew`` (which extends the lease by ``lease_seconds``) every third of the lease in
    a thread named ``name`` while the block runs. A renewal that fails is logged and tried again
    at the next beat: the work goes on either way."""
    done = threading.Event()
    every = lease_seconds / 3

    def beat() -> None:
        while not done.wait(every):
            try:
                renew()
            except Exception:
                log.warning("lease renewal failed", exc_info=True)

    thread = threading.Thread(target=beat, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
