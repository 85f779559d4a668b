"""Updates received from Telegram and not yet handled.

    <data_dir>/inbox/<first update id>.json    one batch, as it came (a getUpdates answer or a
                                                webhook call), written durably before Telegram
                                                is told it arrived

Polling confirms a batch to Telegram with the next getUpdates; a webhook by answering 200. Both
happen only once the batch is here, so an update Telegram has let go of is never lost: whatever
is here at start-up is handled again (the engine knows the ones it already applied). A batch is
removed once each of its updates is done.
"""

from __future__ import annotations

import contextlib
import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from .atomic import atomic_write, fsync_dir


class Inbox(ABC):
    @abstractmethod
    def put(self, updates: list[dict[str, Any]]) -> None:
        """Keep a batch of updates (Telegram's JSON), durably, before it is confirmed."""

    @abstractmethod
    def pending(self) -> list[dict[str, Any]]:
        """Every update kept and not yet done, oldest first (at start-up: handle them again)."""

    @abstractmethod
    def done(self, update_id: int) -> None:
        """The update was handled (or dropped on purpose)."""


class MemoryInbox(Inbox):
    def __init__(self) -> None:
        self._waiting: dict[int, dict[str, Any]] = {}

    def put(self, updates: list[dict[str, Any]]) -> None:
        for update in updates:
            self._waiting[update["update_id"]] = update

    def pending(self) -> list[dict[str, Any]]:
        return [self._waiting[key] for key in sorted(self._waiting)]

    def done(self, update_id: int) -> None:
        self._waiting.pop(update_id, None)


class FileInbox(Inbox):
    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._dir.mkdir(parents=True, exist_ok=True)
        self._left: dict[Path, set[int]] = {}  # each batch file's updates still to be done
        self._file_of: dict[int, Path] = {}

    def put(self, updates: list[dict[str, Any]]) -> None:
        if not updates:
            return
        path = self._dir / f"{updates[0]['update_id']}.json"
        atomic_write(path, json.dumps(updates, ensure_ascii=False).encode())
        self._track(path, updates)

    def pending(self) -> list[dict[str, Any]]:
        found = []
        for path in sorted(self._dir.glob("*.json"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0):
            with contextlib.suppress(FileNotFoundError, ValueError):
                batch = json.loads(path.read_bytes())
                self._track(path, batch)
                found += [update for update in batch if update["update_id"] in self._left[path]]
        return sorted(found, key=lambda update: update["update_id"])

    def done(self, update_id: int) -> None:
        path = self._file_of.pop(update_id, None)
        if path is None:
            return
        left = self._left[path]
        left.discard(update_id)
        if not left:
            del self._left[path]
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                fsync_dir(self._dir)

    def _track(self, path: Path, batch: list[dict[str, Any]]) -> None:
        if path not in self._left:  # a batch seen again keeps what is already done
            ids = [update["update_id"] for update in batch]
            self._left[path] = set(ids)
            self._file_of.update(dict.fromkeys(ids, path))
