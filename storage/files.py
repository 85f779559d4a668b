"""File backend: one TinyDB JSON file per runner under <data_dir>/runners/, and one
<data_dir>/shared.json for what spans runners (reminder schedules).

    <data_dir>/runners/<telegram id>.json   {"profile": {"1": {...}},
                                             "checkins": {"<day>": {"date": ...}, ...}}

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
from .tinydb_store import TinyDBStore

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
        self._shared_db = TinyDB(Path(data_dir) / "shared.json", storage=AtomicJSONStorage)

    def path_for(self, runner_id: int) -> Path:
        """Where the runner's file lives (also used by the benchmark to populate)."""
        return self._dir / f"{check_runner_id(runner_id)}.json"

    def _db(self, runner_id: int) -> TinyDB:
        db = self._cache.pop(runner_id, None)
        if db is None:
            db = TinyDB(self.path_for(runner_id), storage=AtomicJSONStorage)
        self._cache[runner_id] = db
        if len(self._cache) > self._cache_size:
            _, oldest = self._cache.popitem(last=False)
            oldest.close()
        return db

    def _shared(self) -> TinyDB:
        return self._shared_db

    def _erase(self, runner_id: int) -> None:
        db = self._cache.pop(runner_id, None)
        if db is not None:
            db.close()
        # The live file plus anything derived from its name: "<id>.json.*.corrupt"
        # copies and ".<id>.json.*.tmp" leftovers. The trailing dot keeps 12 from
        # matching 123.
        name = f"{runner_id}.json"
        for path in self._dir.iterdir():
            if path.name == name or path.name.startswith((f"{name}.", f".{name}.")):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        fsync_dir(self._dir)

    def runner_ids(self) -> list[int]:
        ids = []
        with self._lock:
            for path in self._dir.glob("*.json"):
                with contextlib.suppress(ValueError):
                    ids.append(int(path.stem))
        return sorted(ids)

    def close(self) -> None:
        with self._lock:
            while self._cache:
                self._cache.popitem()[1].close()
            self._shared_db.close()
