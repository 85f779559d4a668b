"""In-memory backend for unit tests: same behaviour as the file backend, no disk."""

from __future__ import annotations

from tinydb import TinyDB
from tinydb.storages import MemoryStorage

from .inbox import MemoryInbox
from .outbox import MemoryOutbox
from .tinydb_store import TinyDBStore
from .wakeups import MemoryWakeups


class MemoryStore(TinyDBStore):
    def __init__(self) -> None:
        super().__init__()
        self._dbs: dict[int, TinyDB] = {}
        self._challenges_db = TinyDB(storage=MemoryStorage)
        self.wakeups = MemoryWakeups()
        self.outbox = MemoryOutbox()
        self.inbox = MemoryInbox()

    def _challenges(self) -> TinyDB:
        return self._challenges_db

    def _db(self, runner_id: int) -> TinyDB:
        db = self._dbs.get(runner_id)
        if db is None:
            db = self._dbs[runner_id] = TinyDB(storage=MemoryStorage)
        return db

    def _erase(self, runner_id: int) -> None:
        self._dbs.pop(runner_id, None)

    def runner_ids(self) -> list[int]:
        # Looking up an unknown runner makes an empty database; it doesn't count.
        return sorted(rid for rid, db in self._dbs.items() if db.storage.read())
