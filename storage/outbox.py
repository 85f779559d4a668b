"""Messages for other chats (admins' alerts, announcements, admissions, session reminders),
kept until they are sent.

    <data_dir>/outbox/<hash of key>.json    waiting: {"key", "chat_id", "replies", "queued"}
    <data_dir>/outbox/<hash of key>.done    sent (kept a few days, then pruned)

Every message has a key that names it once and for all (an alert carries the update that raised
it, an announcement its id and the recipient). Putting a key that is waiting or already sent
changes nothing, so a turn that is applied again after a crash never sends twice; the engine
puts a turn's messages before it saves the runner's record, so a crash never loses one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from .atomic import remove_temp_files
from .syncer import Syncer

KEEP_DONE_SECONDS = 3 * 24 * 3600  # longer than Telegram keeps an unconfirmed update


class Outbox(ABC):
    @abstractmethod
    def put(self, messages: list[dict[str, Any]]) -> None:
        """Keep messages to send; a key already waiting or sent is skipped."""

    @abstractmethod
    def pending(self) -> list[dict[str, Any]]:
        """What waits to be sent, oldest first."""

    @abstractmethod
    def done(self, key: str) -> None:
        """The message went out (or can never go): not sent again, whoever puts it again."""


class MemoryOutbox(Outbox):
    def __init__(self) -> None:
        self._waiting: dict[str, dict[str, Any]] = {}
        self._done: set[str] = set()

    def put(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            if message["key"] not in self._done:
                self._waiting.setdefault(message["key"], json.loads(json.dumps(message)))

    def pending(self) -> list[dict[str, Any]]:
        return [json.loads(json.dumps(m)) for m in self._waiting.values()]

    def done(self, key: str) -> None:
        self._waiting.pop(key, None)
        self._done.add(key)


class FileOutbox(Outbox):
    def __init__(self, directory: Path, syncer: Syncer | None = None) -> None:
        self._dir = directory
        self._syncer = syncer or Syncer()  # the store's; a lone one writes at once
        self._dir.mkdir(parents=True, exist_ok=True)
        remove_temp_files(self._dir)  # from a process killed mid-write
        self._prune()

    def _path(self, key: str, suffix: str) -> Path:
        return self._dir / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}{suffix}"

    def put(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            waiting = self._path(message["key"], ".json")
            handed = self._syncer.pending(waiting) is not None
            if handed or waiting.exists() or self._path(message["key"], ".done").exists():
                continue
            payload = {**message, "queued": time.time()}
            self._syncer.write(waiting, json.dumps(payload, ensure_ascii=False).encode())

    def pending(self) -> list[dict[str, Any]]:
        found = []
        for path in self._dir.glob("*.json"):
            with contextlib.suppress(FileNotFoundError, ValueError):
                found.append(json.loads(path.read_bytes()))
        return sorted(found, key=lambda message: message.get("queued", 0))

    def done(self, key: str) -> None:
        self._path(key, ".done").touch()
        with contextlib.suppress(FileNotFoundError):
            self._path(key, ".json").unlink()
        self._syncer.sync_dir(self._dir)

    def _prune(self) -> None:
        too_old = time.time() - KEEP_DONE_SECONDS
        for path in self._dir.glob("*.done"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < too_old:
                    path.unlink()
