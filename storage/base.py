"""The one interface the rest of the bot uses to persist runners."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from datetime import date
from typing import Any

from .inbox import Inbox
from .outbox import Outbox
from .wakeups import WakeupIndex


class RunnerStore(ABC):
    """Everything the bot keeps about its runners.

    A runner is identified by their Telegram user id. Per runner there is one
    *profile* (conversation state, answers, settings: opaque to storage) and a
    daily *check-in* history. Documents are plain JSON-able dicts; the store
    hands out copies, so mutating a returned dict never changes what is stored.
    Every write is durable when the method returns.

    Beside the runners: the clinics' challenges, `wakeups` (when each runner next
    needs the reminder scheduler), the `outbox` (messages for other chats) and the
    `inbox` (updates received and not yet handled).
    """

    wakeups: WakeupIndex
    outbox: Outbox
    inbox: Inbox

    @abstractmethod
    def load(self, runner_id: int) -> dict[str, Any] | None:
        """The runner's profile, or None if the runner is unknown."""

    @abstractmethod
    def save(self, runner_id: int, profile: dict[str, Any]) -> None:
        """Replace the runner's profile (atomically: a crash leaves old or new)."""

    @abstractmethod
    def add_checkin(self, runner_id: int, checkin: dict[str, Any]) -> None:
        """Store a daily row; its "date" (YYYY-MM-DD) replaces a row of the same day."""

    @abstractmethod
    def checkins(self, runner_id: int) -> list[dict[str, Any]]:
        """The runner's check-ins, oldest first."""

    @abstractmethod
    def export(self, runner_id: int) -> dict[str, Any]:
        """Everything stored about the runner: runner_id, profile, checkins."""

    @abstractmethod
    def delete(self, runner_id: int) -> None:
        """Erase every trace of the runner. Deleting an unknown runner is a no-op."""

    @abstractmethod
    def challenges(self) -> list[dict[str, Any]]:
        """Every clinic challenge group, each a dict with a unique "code"."""

    @abstractmethod
    def save_challenge(self, challenge: dict[str, Any]) -> None:
        """Store (insert or replace, by its "code") one challenge."""

    @abstractmethod
    def runner_ids(self) -> list[int]:
        """Ids of all runners with anything stored, ascending."""

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release cached resources; the store must not be used afterwards."""

    def __enter__(self) -> RunnerStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def check_runner_id(runner_id: object) -> int:
    # Ids end up in file names: only real ints, so nothing like "../x" gets through.
    if isinstance(runner_id, bool) or not isinstance(runner_id, int):
        raise TypeError(f"runner_id must be an int, not {type(runner_id).__name__}")
    return runner_id


def json_copy(document: object, what: str = "document") -> dict[str, Any]:
    """A deep copy through JSON: callers can't alias stored state, and both
    backends accept (and normalise) exactly what the file backend can write."""
    if not isinstance(document, dict):
        raise TypeError(f"{what} must be a dict, not {type(document).__name__}")
    return json.loads(json.dumps(document))


def checkin_day(checkin: dict[str, Any]) -> int:
    """The check-in's day as an int (proleptic ordinal), used as its document id
    so that one row per day is an O(1) replace and id order is date order."""
    value = checkin.get("date")
    try:
        day = date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        day = None
    # 3.11's fromisoformat also takes "20240131"; one spelling keeps dates sortable.
    if day is None or day.isoformat() != value:
        raise ValueError(f"check-in needs a 'date' as YYYY-MM-DD, got {value!r}")
    return day.toordinal()
