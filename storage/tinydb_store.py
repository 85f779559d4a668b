"""RunnerStore on TinyDB: each runner is one small TinyDB database.

Per-runner databases keep every write proportional to one runner's data, not
to the number of runners. The backends differ only in where a runner's
database lives (see memory.py and files.py).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from tinydb import Query, TinyDB
from tinydb.table import Document, Table

from .base import RunnerStore, check_runner_id, checkin_day, json_copy
from .syncer import Syncer

PROFILE = "profile"
CHECKINS = "checkins"
CHALLENGES = "challenges"  # in the challenges database, one document per challenge
PROFILE_DOC_ID = 1  # the profile table holds exactly one document


def _put(table: Table, doc_id: int, document: dict[str, Any]) -> None:
    """Insert or replace one document with a single storage write, so a crash
    leaves the old or the new version (TinyDB's upsert merges fields and
    truncate + insert would be two writes)."""

    def replace(stored: dict[str, Any]) -> None:
        stored.clear()
        stored.update(document)

    if table.contains(doc_id=doc_id):
        table.update(replace, doc_ids=[doc_id])
    else:
        table.insert(Document(document, doc_id=doc_id))


class TinyDBStore(RunnerStore):
    def __init__(self) -> None:
        # No lock: TinyDB and the handle cache are not thread-safe, and the bot calls the store
        # from its event loop only (the syncer's thread gets bytes, never a database).
        self.syncer = Syncer()  # writes at once until the bot starts it (see syncer.py)

    @abstractmethod
    def _db(self, runner_id: int) -> TinyDB:
        """The runner's database; must not create anything until it is written."""

    @abstractmethod
    def _erase(self, runner_id: int) -> None:
        """Remove the runner's database and anything else that names them."""

    @abstractmethod
    def _challenges(self) -> TinyDB:
        """The one database of the clinics' challenges."""

    def load(self, runner_id: int) -> dict[str, Any] | None:
        runner_id = check_runner_id(runner_id)
        profile = self._db(runner_id).table(PROFILE).get(doc_id=PROFILE_DOC_ID)
        return None if profile is None else json_copy(profile)

    def save(self, runner_id: int, profile: dict[str, Any]) -> None:
        runner_id = check_runner_id(runner_id)
        document = json_copy(profile, "profile")
        _put(self._db(runner_id).table(PROFILE), PROFILE_DOC_ID, document)

    def add_checkin(self, runner_id: int, checkin: dict[str, Any]) -> None:
        runner_id = check_runner_id(runner_id)
        document = json_copy(checkin, "checkin")
        day = checkin_day(document)
        _put(self._db(runner_id).table(CHECKINS), day, document)

    def checkins(self, runner_id: int) -> list[dict[str, Any]]:
        runner_id = check_runner_id(runner_id)
        rows = self._db(runner_id).table(CHECKINS).all()
        return [json_copy(row) for row in sorted(rows, key=lambda row: row["date"])]

    def export(self, runner_id: int) -> dict[str, Any]:
        return {
            "runner_id": check_runner_id(runner_id),
            "profile": self.load(runner_id),
            "checkins": self.checkins(runner_id),
        }

    def challenges(self) -> list[dict[str, Any]]:
        return [json_copy(row) for row in self._challenges().table(CHALLENGES).all()]

    def save_challenge(self, challenge: dict[str, Any]) -> None:
        document = json_copy(challenge, "challenge")
        table = self._challenges().table(CHALLENGES)
        found = table.get(Query().code == document["code"])
        if found is None:
            table.insert(document)
        else:
            _put(table, found.doc_id, document)

    def delete(self, runner_id: int) -> None:
        runner_id = check_runner_id(runner_id)
        self.wakeups.forget(runner_id)
        self._erase(runner_id)
