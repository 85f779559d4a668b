"""File backend: one TinyDB JSON file per runner, and beside them what spans runners.

    <data_dir>/runners/<telegram id>.json   {"profile": {"1": {...}},
                                             "checkins": {"<day>": {"date": ...}, ...}}
    <data_dir>/challenges.json              the clinics' challenges (a corrupt file stops start-up)
    <data_dir>/wakeups/                     when each runner next needs the scheduler (wakeups.py)
    <data_dir>/outbox/                      messages for other chats until sent (outbox.py)
    <data_dir>/inbox/                       updates received and not yet handled (inbox.py)

Saving an answer rewrites only that runner's small file, so it costs the same
with 100 or 10,000 runners stored. Only one process may use a data dir at a time.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from pathlib import Path

from tinydb import TinyDB

from .atomic import AtomicJSONStorage, fsync_dir, remove_temp_files
from .base import check_runner_id
from .inbox import FileInbox
from .outbox import FileOutbox
from .tinydb_store import CHALLENGES, TinyDBStore
from .wakeups import FileWakeups

DEFAULT_CACHE_SIZE = 256


class FileStore(TinyDBStore):
    def __init__(self, data_dir: str | Path, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        super().__init__()
        self._dir = Path(data_dir) / "runners"
        self._dir.mkdir(parents=True, exist_ok=True)
        remove_temp_files(self._dir)  # from a process killed mid-save
        remove_temp_files(Path(data_dir))
        # Recently used runners' databases (with their parsed contents), oldest first.
        # Bounded so 10,000 runners don't mean 10,000 databases in memory.
        self._cache: OrderedDict[int, TinyDB] = OrderedDict()
        self._cache_size = max(1, cache_size)
        challenges = Path(data_dir) / "challenges.json"
        self._challenges_db = TinyDB(challenges, storage=AtomicJSONStorage, strict=True, syncer=self.syncer)
        self._challenges_db.tables()  # read now: a corrupt file stops start-up, naming the copy to restore
        self.wakeups = FileWakeups(Path(data_dir) / "wakeups", self.syncer)
        self.outbox = FileOutbox(Path(data_dir) / "outbox", self.syncer)
        self.inbox = FileInbox(Path(data_dir) / "inbox", self.syncer)
        self._migrate(Path(data_dir) / "shared.json")

    def path_for(self, runner_id: int) -> Path:
        """Where the runner's file lives (also used by the benchmark to populate)."""
        return self._dir / f"{check_runner_id(runner_id)}.json"

    def _db(self, runner_id: int) -> TinyDB:
        db = self._cache.pop(runner_id, None)
        if db is None:
            db = TinyDB(self.path_for(runner_id), storage=AtomicJSONStorage, syncer=self.syncer)
        self._cache[runner_id] = db
        if len(self._cache) > self._cache_size:
            _, oldest = self._cache.popitem(last=False)
            oldest.close()
        return db

    def _challenges(self) -> TinyDB:
        return self._challenges_db

    def _migrate(self, shared: Path) -> None:
        """Data dirs from before challenges.json kept challenges (and reminder schedules, now
        rebuilt from the runners' records) in shared.json."""
        if not shared.exists():
            return
        old = TinyDB(shared, storage=AtomicJSONStorage, strict=True)
        for challenge in old.table(CHALLENGES).all():
            self.save_challenge(dict(challenge))
        old.close()
        shared.rename(shared.with_name("shared.json.migrated"))
        fsync_dir(shared.parent)

    def _erase(self, runner_id: int) -> None:
        db = self._cache.pop(runner_id, None)
        if db is not None:
            db.close()
        # The live file plus anything derived from its name: "<id>.json.*.corrupt"
        # copies and ".<id>.json.*.tmp" leftovers. The trailing dot keeps 12 from
        # matching 123.
        name = f"{runner_id}.json"
        self.syncer.discard(self.path_for(runner_id))  # nothing on its way may bring it back
        for path in self._dir.iterdir():
            if path.name == name or path.name.startswith((f"{name}.", f".{name}.")):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        self.syncer.sync_dir(self._dir)

    def runner_ids(self) -> list[int]:
        ids = []
        for path in self._dir.glob("*.json"):
            with contextlib.suppress(ValueError):
                ids.append(int(path.stem))
        return sorted(ids)

    def close(self) -> None:
        while self._cache:
            self._cache.popitem()[1].close()
        self._challenges_db.close()
