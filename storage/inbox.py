"""Updates received from Telegram and not yet handled.

    <data_dir>/inbox/<first update id>.json    one batch, as it came (a getUpdates answer or a
                                                webhook call), written durably before Telegram
                                                is told it arrived
    <data_dir>/inbox/<first update id>.done    the ids of that batch already handled, a line each
    <data_dir>/inbox/recent.json               the ids of the last RECENT updates received, and
                                                when the last of them came

Polling confirms a batch to Telegram with the next getUpdates; a webhook by answering 200. Both
happen only once the batch is here, so an update Telegram has let go of is never lost: whatever
is here at start-up and not marked done is handled again. A batch is removed once each of its
updates is done.

Telegram delivers again what was not confirmed before a crash; `put` lets through only updates
it has not received before (by id: Telegram's ids are not always increasing, they may start
again anywhere after a quiet week), so a runner never gets the same reply twice for one tap.
After a quiet spell (QUIET) the ids remembered are forgotten: Telegram delivers nothing again
that late, and the ids it hands out next may start again among them.
"""

from __future__ import annotations

import contextlib
import json
import time
from abc import ABC, abstractmethod
from collections import deque
from functools import partial
from pathlib import Path
from typing import Any

from .atomic import atomic_write, remove_temp_files
from .syncer import Syncer

RECENT = 1000  # far more than Telegram ever holds back unconfirmed (100 per getUpdates)
QUIET = 2 * 24 * 3600  # seconds: Telegram keeps an update 24 h, restarts ids after a quiet week


class Inbox(ABC):
    def __init__(self) -> None:
        self._recent: deque[int] = deque(maxlen=RECENT)
        self._seen: set[int] = set()
        self._last_put = 0.0  # when the newest remembered id came (time.time())

    def put(self, updates: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Keep a batch of updates (Telegram's JSON), durably, before it is confirmed; returns
        those not received before (the others are dropped: they are in hand already)."""
        now = time.time()
        if now - self._last_put > QUIET:
            self._recent.clear()
            self._seen.clear()
        self._last_put = now
        new, ids = [], set()
        for update in updates:
            if update["update_id"] not in self._seen and update["update_id"] not in ids:
                new.append(update)
                ids.add(update["update_id"])
        if new:
            self._keep(new)
            self._remember([update["update_id"] for update in new])
        return new

    @abstractmethod
    def pending(self) -> list[dict[str, Any]]:
        """Every update kept and not yet done, oldest first (at start-up: handle them again)."""

    @abstractmethod
    def done(self, update_id: int) -> None:
        """The update was handled (or dropped on purpose)."""

    @abstractmethod
    def _keep(self, updates: list[dict[str, Any]]) -> None: ...

    def _remember(self, ids: list[int]) -> None:
        for update_id in ids:
            if update_id in self._seen:
                continue
            if len(self._recent) == RECENT:
                self._seen.discard(self._recent[0])
            self._recent.append(update_id)
            self._seen.add(update_id)


class MemoryInbox(Inbox):
    def __init__(self) -> None:
        super().__init__()
        self._waiting: dict[int, dict[str, Any]] = {}

    def _keep(self, updates: list[dict[str, Any]]) -> None:
        for update in updates:
            self._waiting[update["update_id"]] = update

    def pending(self) -> list[dict[str, Any]]:
        return [self._waiting[key] for key in sorted(self._waiting)]

    def done(self, update_id: int) -> None:
        self._waiting.pop(update_id, None)


class FileInbox(Inbox):
    def __init__(self, directory: Path, syncer: Syncer | None = None) -> None:
        super().__init__()
        self._dir = directory
        self._syncer = syncer or Syncer()  # the store's; a lone one writes at once
        self._dir.mkdir(parents=True, exist_ok=True)
        remove_temp_files(self._dir)  # from a process killed mid-write
        self._recent_file = directory / "recent.json"
        self._left: dict[Path, set[int]] = {}  # each batch file's updates still to be done
        self._file_of: dict[int, Path] = {}
        with contextlib.suppress(FileNotFoundError, ValueError, KeyError, TypeError):
            recent = json.loads(self._recent_file.read_bytes())
            self._remember(recent["ids"])
            self._last_put = float(recent["at"])
        self.pending()  # a batch kept just before a crash counts as received, recent.json or not

    def _keep(self, updates: list[dict[str, Any]]) -> None:
        path = self._dir / f"{updates[0]['update_id']}.json"
        self._syncer.write(path, json.dumps(updates, ensure_ascii=False).encode())
        self._track(path, updates)
        # Not synced: lost in a power cut, it costs at most a reply shown twice, never an update.
        recent = json.dumps({"at": self._last_put, "ids": list(self._recent)}).encode()
        self._syncer.later(partial(atomic_write, self._recent_file, recent, durable=False))

    def pending(self) -> list[dict[str, Any]]:
        found = []
        for path in self._dir.glob("*.json"):
            if not path.stem.lstrip("-").isdigit():
                continue
            with contextlib.suppress(FileNotFoundError, ValueError):
                batch = json.loads(path.read_bytes())
                self._last_put = max(self._last_put, path.stat().st_mtime)  # received when written
                self._track(path, batch)
                found += [update for update in batch if update["update_id"] in self._left.get(path, ())]
        return sorted(found, key=lambda update: update["update_id"])

    def done(self, update_id: int) -> None:
        path = self._file_of.pop(update_id, None)
        if path is None:
            return
        left = self._left[path]
        left.discard(update_id)
        marks = path.with_suffix(".done")
        if left:
            # Not synced: a kill keeps it (the page cache survives); a power cut that undoes it
            # only shows that runner where they are once more.
            self._syncer.later(partial(mark_done, marks, update_id))
            return
        del self._left[path]
        self._syncer.discard(path)  # its write may still be on its way: it must not come back
        self._syncer.later(partial(remove, path, marks))

    def _track(self, path: Path, batch: list[dict[str, Any]]) -> None:
        if path not in self._left:  # a batch seen again keeps what is already done
            ids = [update["update_id"] for update in batch]
            self._remember(ids)
            done = done_marks(path)
            self._left[path] = set(ids) - done
            self._file_of.update((update_id, path) for update_id in ids if update_id not in done)
            if not self._left[path]:  # all done before the last was removed: remove it now
                del self._left[path]
                remove(path, path.with_suffix(".done"))


def mark_done(marks: Path, update_id: int) -> None:
    with marks.open("a") as done:
        done.write(f"{update_id}\n")


def remove(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def done_marks(batch: Path) -> set[int]:
    """The ids of a batch already handled (its .done file: one id a line, perhaps cut short)."""
    try:
        lines = batch.with_suffix(".done").read_text().split()
    except FileNotFoundError:
        return set()
    return {int(line) for line in lines if line.lstrip("-").isdigit()}
