"""Group commit: many callers' small write transactions committed as one.

Every accepted purge must be durable before it is answered, so each one costs a commit: a WAL
write and an fsync on SQLite (``synchronous=FULL``), a WAL flush on PostgreSQL. Here callers
queue their unit of work; one of them (the leader) runs every queued unit in one transaction and
commits once, and the others, whose units it ran, wake with their results. A caller alone commits
alone, so an idle server answers as fast as before; a busy one pays one commit per batch.

Units run in queue order in one transaction, so a unit sees the writes of the units before it
(two requests for the same call: the second sees it ``Purging``). ``finish`` runs once after all
units of a batch, in the same transaction: the purge service appends the batch's audit events
there, so every batch takes its row locks first and the audit chain's lock last, in the order the
eraser takes them (taking the chain's lock between units could deadlock with it on PostgreSQL).

A unit that raises fails only its own caller: the units before it and after it are run again as
a batch without it. A failure outside the units (the store is down, the commit fails) fails every
caller of the batch once, rather than retrying each one behind the lock.
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
Finish = Callable[[Connection, list[Any]], None]
Entry = tuple[Unit, "Future[Any]"]


class _UnitFailed(Exception):
    def __init__(self, index: int, error: BaseException) -> None:
        super().__init__(index)
        self.index = index
        self.error = error


class GroupCommitter:
    def __init__(
        self,
        engine: Engine,
        max_batch: int = 64,
        finish: Finish | None = None,
        durable: bool = True,
    ) -> None:
        self._engine = engine
        self._durable = durable  # False: commits skip the flush (engine.write_transaction)
        self._max_batch = max_batch
        self._finish = finish
        self._queue: deque[Entry] = deque()
        self._cond = threading.Condition()
        self._leading = False

    def run(self, unit: Callable[[Connection], T]) -> T:
        """Run ``unit`` in a committed write transaction (perhaps shared) and return its result."""
        done: Future[T] = Future()
        with self._cond:
            self._queue.append((unit, done))
        while True:
            with self._cond:
                # Wait on our own result, not on the lock: a caller whose unit the last leader
                # committed returns at once instead of sitting through the next batch.
                while self._leading and not done.done():
                    self._cond.wait()
                if done.done():
                    break
                self._leading = True
                batch = [
                    self._queue.popleft() for _ in range(min(self._max_batch, len(self._queue)))
                ]
            try:
                self._commit(batch)
            finally:
                with self._cond:
                    self._leading = False
                    self._cond.notify_all()
        return done.result()

    def _commit(self, batch: list[Entry]) -> None:
        while batch:
            try:
                with write_transaction(self._engine, self._durable) as conn:
                    results = []
                    for index, (unit, _) in enumerate(batch):
                        try:
                            results.append(unit(conn))
                        except BaseException as exc:
                            raise _UnitFailed(index, exc) from exc
                    if self._finish is not None:
                        self._finish(conn, results)
            except _UnitFailed as failed:
                batch[failed.index][1].set_exception(failed.error)
                del batch[failed.index]  # the rest go again, as one batch, without it
                continue
            except BaseException as exc:  # handed to every caller, who re-raises it
                for _, done in batch:
                    done.set_exception(exc)
                return
            for (_, done), result in zip(batch, results, strict=True):
                done.set_result(result)
            return
