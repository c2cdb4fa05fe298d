"""Group commit: many callers' small write transactions committed as one.

Every accepted purge must be durable before it is answered, so each one costs a commit, and on
SQLite with ``synchronous=FULL`` a commit is an fsync. Under load that fsync, not the work, bounds
intake. Here callers queue their unit of work; whichever caller takes the commit lock first (the
leader) runs every queued unit in one transaction and commits once, and the others, whose units
it ran, just collect their results. A caller alone commits alone, so an idle server answers as
fast as before; a busy one pays one fsync per batch instead of per request.

Units run in queue order in one transaction, so a unit sees the writes of the units before it
(two requests for the same call: the second sees it ``Purging``). If the batch fails, each unit is
run again in a transaction of its own, so one failing unit cannot fail the others'.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from callvault.store.engine import write_transaction

T = TypeVar("T")
Unit = Callable[[Connection], Any]


class GroupCommitter:
    def __init__(self, engine: Engine, max_batch: int = 64) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._queue: deque[tuple[Unit, Future[Any]]] = deque()
        self._leader = threading.Lock()

    def run(self, unit: Callable[[Connection], T]) -> T:
        """Run ``unit`` in a committed write transaction (perhaps shared) and return its result."""
        done: Future[T] = Future()
        self._queue.append((unit, done))
        while not done.done():
            with self._leader:
                if done.done():
                    break
                batch = [
                    self._queue.popleft() for _ in range(min(self._max_batch, len(self._queue)))
                ]
                self._commit(batch)
        return done.result()

    def _commit(self, batch: list[tuple[Unit, Future[Any]]]) -> None:
        try:
            with write_transaction(self._engine) as conn:
                results = [unit(conn) for unit, _ in batch]
        except BaseException as exc:
            if len(batch) == 1:
                batch[0][1].set_exception(exc)
            else:
                for entry in batch:
                    self._alone(entry)
            return
        for (_, done), result in zip(batch, results, strict=True):
            done.set_result(result)

    def _alone(self, entry: tuple[Unit, Future[Any]]) -> None:
        unit, done = entry
        try:
            with write_transaction(self._engine) as conn:
                result = unit(conn)
        except BaseException as exc:  # handed to the caller, who re-raises it
            done.set_exception(exc)
        else:
            done.set_result(result)
