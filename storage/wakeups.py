"""When each runner next needs the scheduler: an index by UTC minute.

    <data_dir>/wakeups/<YYYYMMDDHHMM>/<runner id>     (empty files)

Adding or removing an entry creates or unlinks one empty file, so it costs the same with 100 or
100,000 runners, and a crash can never leave half an entry. The scheduler reads only the minutes
that have come due, so nothing else is held in memory. An entry is a hint, never the truth: the
runner's record says what is due, so a stale or repeated entry only makes the engine look and
find nothing. `built` says whether the index has ever been filled from the runners' records.
"""

from __future__ import annotations

import contextlib
import os
from abc import ABC, abstractmethod
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from .syncer import Syncer

MINUTE = "%Y%m%d%H%M"
BUILT = ".built"


def minute_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(MINUTE)


class WakeupIndex(ABC):
    @abstractmethod
    def add(self, runner_id: int, at: datetime) -> None:
        """The runner needs the scheduler at (the minute of) `at`."""

    @abstractmethod
    def remove(self, runner_id: int, at: datetime) -> None:
        """That entry is dealt with (a missing entry is fine)."""

    @abstractmethod
    def due(self, until: datetime) -> list[tuple[datetime, int]]:
        """Every entry at or before `until`, oldest first, as (minute, runner id)."""

    @abstractmethod
    def forget(self, runner_id: int) -> None:
        """Remove every entry of the runner (when they erase their data)."""

    @property
    @abstractmethod
    def built(self) -> bool:
        """Whether the index has been filled (else it is rebuilt from the records at start-up)."""

    @abstractmethod
    def mark_built(self) -> None: ...


class MemoryWakeups(WakeupIndex):
    def __init__(self) -> None:
        self._minutes: dict[str, set[int]] = defaultdict(set)
        self._built = False

    def add(self, runner_id: int, at: datetime) -> None:
        self._minutes[minute_of(at)].add(runner_id)

    def remove(self, runner_id: int, at: datetime) -> None:
        minute = minute_of(at)
        self._minutes[minute].discard(runner_id)
        if not self._minutes[minute]:
            del self._minutes[minute]

    def due(self, until: datetime) -> list[tuple[datetime, int]]:
        last = minute_of(until)
        return [(parse(minute), runner_id) for minute in sorted(self._minutes) if minute <= last
                for runner_id in sorted(self._minutes[minute])]

    def forget(self, runner_id: int) -> None:
        for minute in list(self._minutes):
            self.remove(runner_id, parse(minute))

    @property
    def built(self) -> bool:
        return self._built

    def mark_built(self) -> None:
        self._built = True


class FileWakeups(WakeupIndex):
    def __init__(self, directory: Path, syncer: Syncer | None = None) -> None:
        self._dir = directory
        self._dir.mkdir(parents=True, exist_ok=True)
        self._syncer = syncer or Syncer()  # the store's; a lone one writes at once

    def add(self, runner_id: int, at: datetime) -> None:
        folder = self._dir / minute_of(at)
        if not folder.is_dir():
            folder.mkdir(exist_ok=True)
            self._syncer.sync_dir(self._dir)
        entry = folder / str(runner_id)
        if not entry.exists():
            entry.touch()
            self._syncer.sync_dir(folder)

    def remove(self, runner_id: int, at: datetime) -> None:
        folder = self._dir / minute_of(at)
        with contextlib.suppress(FileNotFoundError):
            (folder / str(runner_id)).unlink()
            self._syncer.sync_dir(folder)
        with contextlib.suppress(OSError):  # not empty yet, or already gone
            folder.rmdir()

    def due(self, until: datetime) -> list[tuple[datetime, int]]:
        last = minute_of(until)
        found = []
        for minute in sorted(name for name in os.listdir(self._dir) if name.isdigit() and name <= last):
            with contextlib.suppress(FileNotFoundError):
                found += [(parse(minute), int(name)) for name in sorted(os.listdir(self._dir / minute))
                          if name.isdigit()]
        return found

    def forget(self, runner_id: int) -> None:
        for minute in os.listdir(self._dir):
            if minute.isdigit() and (self._dir / minute / str(runner_id)).exists():
                self.remove(runner_id, parse(minute))

    @property
    def built(self) -> bool:
        return (self._dir / BUILT).exists()

    def mark_built(self) -> None:
        (self._dir / BUILT).touch()
        self._syncer.sync_dir(self._dir)


def parse(minute: str) -> datetime:
    return datetime.strptime(minute, MINUTE).replace(tzinfo=UTC)
