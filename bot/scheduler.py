"""Sends what nobody asked for just now: each runner's scheduled messages (daily reminder,
snooze, Sunday summary) on time, and the outbox (admins' alerts, announcements, admissions,
group-session reminders).

When each runner next needs a look is kept in storage's wakeup index, by minute: a tick reads
the minutes that have come due, so nothing about the other runners is held in memory, and every
outcome of the engine carries the schedules that changed (`apply`). For each runner the next
wake-up is written before the current one is let go, and a scheduled message is marked sent
before it goes: a crash, a full disk or one bad record never sends a reminder twice and never
stops the runners after it. A reminder missed while the bot was down is still sent if within
two hours of its time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from conversations.engine import Engine, reply_from_json, schedule_of
from conversations.reminders import CATCH_UP, next_wakeup
from conversations.replies import Reply

log = logging.getLogger(__name__)
RETRY_SOON = timedelta(minutes=1)

Send = Callable[[int, list[Reply]], Awaitable[None]]


class ReminderScheduler:
    def __init__(self, engine: Engine, send: Send) -> None:
        self.engine = engine
        self.send = send
        self.store = engine.store
        self._flushing = asyncio.Lock()

    def now(self) -> datetime:
        return self.engine.services.now()

    def load(self) -> None:
        """At start-up: an index never built (or lost) is rebuilt from the runners' records,
        looking back far enough to catch a reminder missed while the bot was down."""
        if self.store.wakeups.built:
            return
        since = self.now() - CATCH_UP
        for runner_id in self.store.runner_ids():
            record = self.store.load(runner_id)
            self.plan(runner_id, schedule_of(record) if record else None, after=since)
        self.store.wakeups.mark_built()

    def apply(self, schedules: dict[int, dict | None]) -> None:
        """The schedules an outcome changed: plan each runner's next wake-up."""
        for runner_id, schedule in schedules.items():
            self.plan(runner_id, schedule)

    def plan(self, runner_id: int, schedule: dict | None, after: datetime | None = None) -> None:
        # An older entry may stay behind: it only makes the engine look and find nothing due.
        if schedule is not None and schedule.get("active", True):
            self.store.wakeups.add(runner_id, next_wakeup(schedule, after or self.now()))

    async def tick(self) -> int:
        """Send everything due now; returns how many messages went out."""
        sent = 0
        for minute, runner_id in self.store.wakeups.due(self.now()):
            try:
                sent += await self.send_due(runner_id)
            except Exception:
                log.exception("scheduled messages for one runner failed; trying again shortly")
                self.store.wakeups.add(runner_id, self.now() + RETRY_SOON)
            finally:
                self.store.wakeups.remove(runner_id, minute)  # its next wake-up is already written
        self.engine.queue_session_reminders()
        return sent + await self.flush_outbox()

    async def send_due(self, runner_id: int) -> int:
        due, schedule = self.engine.claim_due(runner_id)  # marked sent: never twice
        self.plan(runner_id, schedule)
        sent = 0
        for kind, replies in due:
            try:
                await self.send(runner_id, replies)  # network failures are retried in there
                sent += 1
            except Forbidden:
                log.info("runner blocked the bot; no more reminders until they return")
                self.engine.mark_blocked(runner_id)
                break
            except BadRequest as error:  # final: trying again would only be refused again
                log.warning("a %s was refused: %s", kind, error)
                if "chat not found" in str(error).lower():
                    self.engine.mark_blocked(runner_id)
                    break
            except (NetworkError, RetryAfter) as error:
                log.warning("a %s could not be sent and is dropped for today: %s", kind, error)
        return sent

    async def flush_outbox(self) -> int:
        """Send what waits in the outbox, each message marked done once it went (or never can)."""
        sent = 0
        async with self._flushing:  # one sender at a time, so no message is picked up twice
            for message in self.store.outbox.pending():
                replies = [reply_from_json(data, self.engine.clinic) for data in message["replies"]]
                try:
                    await self.send(message["chat_id"], replies)
                    sent += 1
                except Forbidden:
                    self.engine.mark_blocked(message["chat_id"])
                except BadRequest as error:
                    log.warning("a message for another chat was refused: %s", error)
                except (NetworkError, RetryAfter) as error:
                    log.warning("a message for another chat waits for the next try: %s", error)
                    continue
                self.store.outbox.done(message["key"])
        return sent
